# Copyright (c) mmtde contributors. All rights reserved.
"""NorCal, post-hoc calibration of a softmax detector, in pure torch (no OpenMMLab import).

Pan, Cong, Chen, Zhou, Xie, Yang, "On Model Calibration for Long-Tailed Object Detection and
Instance Segmentation" (NeurIPS 2021). A RoI classifier with a softmax over ``C`` foreground
classes and a background (last column) gives ``exp(z_c)`` for every class; NorCal divides each
foreground score by ``n_c ** gamma`` (``n_c`` the class's training count), leaves the background
score ``exp(z_bg)`` as it is, and normalises each row again:

    ``q_c  = exp(z_c) / n_c**gamma / Z``,  ``q_bg = exp(z_bg) / Z``,
    ``Z    = exp(z_bg) + sum_c exp(z_c) / n_c**gamma``.

Written in log space (``z_c - gamma log n_c``, then ``log_softmax``), so that no ``exp``
overflows; the authors' code takes ``exp`` of the raw scores. The formula is invariant to adding
one constant to a row of ``z``, so ``z`` may be logits or log-probabilities (a TDE head's
output): both give the same ``q``.
"""
import math
from typing import Sequence, Union

import torch
from torch import Tensor

from .tde import _no_autocast


def check_norcal_gamma(gamma: float, allow_zero: bool = False) -> float:
    """Validate NorCal's ``gamma``; return it as a float.

    Args:
        gamma (float): The exponent of the class counts.
        allow_zero (bool): Accept 0 (the uncalibrated model, a reference row of a sweep).
            Defaults to False.
    """
    ok = not isinstance(gamma, bool) and isinstance(gamma, (int, float)) \
        and math.isfinite(gamma) and (gamma >= 0 if allow_zero else gamma > 0)
    if not ok:
        rule = '>= 0' if allow_zero else '> 0 (gamma=0 is the uncalibrated model: leave NorCal ' \
            'out instead)'
        raise ValueError(f'NorCal gamma={gamma!r} must be a finite number {rule}; pick it on a '
                         f'held-out split with tools/analysis/norcal_gamma_sweep.py')
    return float(gamma)


def check_class_counts(class_counts: Union[Sequence[float], Tensor], num_classes: int,
                       source: str = 'class_counts') -> Tensor:
    """Training counts of the ``num_classes`` foreground classes as a float64 tensor.

    Args:
        class_counts (Sequence[float] | Tensor): One count per foreground class, in label
            order (background not included).
        num_classes (int): C, the model's number of foreground classes.
        source (str): Where the counts come from, for the error messages.
            Defaults to 'class_counts'.

    Returns:
        Tensor: Shape (C,), float64, every entry finite and >= 1.
    """
    counts = torch.as_tensor(class_counts, dtype=torch.float64).flatten()
    if counts.numel() != num_classes:
        raise ValueError(f'{source} gives {counts.numel()} class counts but the model has '
                         f'num_classes={num_classes}: use the training annotation file of the '
                         f'dataset this model was trained on (one count per foreground class, '
                         f'in label order)')
    bad = torch.nonzero(~torch.isfinite(counts) | (counts < 1)).flatten()
    if bad.numel():
        c = int(bad[0])
        raise ValueError(f'class {c} has count {counts[c].item():g} in {source} '
                         f'({bad.numel()} classes below 1): NorCal divides by n_c ** gamma, '
                         f'which needs every class to have been seen in training. Check that '
                         f'the file is the training split of this model\'s classes, or give '
                         f'class_counts with a count >= 1 for every class')
    return counts


def norcal_log_probs(cls_score: Tensor, class_counts: Tensor, gamma: float) -> Tensor:
    """NorCal-calibrated class probabilities, as log-probabilities.

    Args:
        cls_score (Tensor): Scores whose softmax is the model's class probability, shape
            (N, C + 1), background last: logits, or log-probabilities (equal results).
        class_counts (Tensor): Training count ``n_c`` of each foreground class, shape (C,),
            every entry >= 1 (:func:`check_class_counts`).
        gamma (float): The exponent, >= 0; 0 gives ``log_softmax(cls_score)``.

    Returns:
        Tensor: ``log q`` of shape (N, C + 1), float32 (float64 for float64 input); rows of
        ``exp`` sum to 1, and ``softmax`` of it is ``q`` (what mmdet's ``predict_by_feat``
        computes from a bbox head's ``cls_score``).
    """
    gamma = check_norcal_gamma(gamma, allow_zero=True)
    if cls_score.dim() != 2 or cls_score.shape[-1] != class_counts.numel() + 1:
        raise ValueError(f'cls_score of shape {tuple(cls_score.shape)} does not score the '
                         f'{class_counts.numel()} counted classes plus a background: expected '
                         f'(N, {class_counts.numel() + 1})')
    with _no_autocast(cls_score.device):
        dtype = torch.promote_types(cls_score.dtype, torch.float32)
        shift = gamma * class_counts.to(cls_score.device, torch.float64).log()
        shift = torch.cat([shift, shift.new_zeros(1)])  # background: exp(z_bg) as it is
        return torch.log_softmax(cls_score.to(dtype) - shift.to(dtype), dim=-1)
