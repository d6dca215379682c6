# Copyright (c) mmtde contributors. All rights reserved.
"""The post-hoc corrections that TDE is compared with, in pure torch (no OpenMMLab import).

Both act on a trained classifier at test time only, like TDE's ``alpha``:

* post-hoc logit adjustment (Menon et al., "Long-tail learning via logit adjustment",
  ICLR 2021): ``y_i + tau (log pi_test_i - log pi_train_i)``; ``pi_train`` is the training
  class frequency, ``pi_test`` the test one, uniform unless given (a uniform prior adds the
  same constant to every logit, so it is left out). ``tau = 1`` with a known test prior is the
  Bayes correction for a calibrated model that LADE (Hong et al., CVPR 2021) calls prior
  correction.
* tau-normalised classifier (Kang et al., "Decoupling representation and classifier for
  long-tailed recognition", ICLR 2020): every class row becomes ``w_i / |w_i| ** tau`` and the
  logit is ``<x, w_i> / |w_i| ** tau``, without the bias, as in the authors' released
  ``tau_normalization.py``.
"""
import math
from typing import Optional, Sequence

import torch
from torch import Tensor

from .tde import EPS, _no_autocast


def check_correction_tau(name: str, tau: float) -> float:
    """Validate the ``tau`` of a post-hoc correction (a finite number >= 0); return it."""
    if isinstance(tau, bool) or not isinstance(tau, (int, float)) or not math.isfinite(tau) \
            or tau < 0:
        raise ValueError(f'{name} tau={tau!r} must be a number >= 0 (0 leaves the classifier '
                         f'as trained; logit adjustment: 1 in Menon et al.; tau-norm: between '
                         f'0 and 1 in Kang et al.)')
    return float(tau)


def log_class_prior(class_counts: Sequence[int], what: str = 'training') -> Tensor:
    """``log(n_i / sum n)`` of per-class counts, float64.

    Args:
        class_counts (Sequence[int]): Images per class (C entries), each >= 1.
        what (str): Which counts these are, for the error message. Defaults to 'training'.

    Returns:
        Tensor: Shape (C,), float64.
    """
    counts = torch.as_tensor([float(n) for n in class_counts], dtype=torch.float64)
    if counts.numel() == 0:
        raise ValueError(f'the {what} class counts are empty: give one count per class')
    bad = torch.nonzero(~torch.isfinite(counts) | (counts <= 0)).flatten()
    if bad.numel():
        c = int(bad[0])
        raise ValueError(f'class {c} has {class_counts[c]} {what} images: a class prior needs '
                         f'every class to have at least one (check the class counts, or that '
                         f'the classes of the model and the dataset agree)')
    return counts.log() - counts.sum().log()


def adjust_logits(logits: Tensor, train_log_prior: Tensor, tau: float = 1.0,
                  test_log_prior: Optional[Tensor] = None) -> Tensor:
    """Post-hoc logit adjustment: ``logits + tau (log pi_test - log pi_train)``.

    Args:
        logits (Tensor): Shape (N, C).
        train_log_prior (Tensor): ``log pi_train``, shape (C,) (:func:`log_class_prior`).
        tau (float): Strength; 0 returns the logits unchanged. Defaults to 1.
        test_log_prior (Tensor, optional): ``log pi_test``, shape (C,); None is a uniform test
            prior. Defaults to None.

    Returns:
        Tensor: Shape (N, C), in the dtype of ``logits`` (float32 at least).
    """
    tau = check_correction_tau('logit adjustment', tau)
    num_classes = logits.shape[-1]
    for name, prior in (('train_log_prior', train_log_prior), ('test_log_prior', test_log_prior)):
        if prior is not None and tuple(prior.shape) != (num_classes, ):
            raise ValueError(f'{name} has shape {tuple(prior.shape)} but the logits score '
                             f'{num_classes} classes: give one entry per class')
    with _no_autocast(logits.device):
        dtype = torch.promote_types(logits.dtype, torch.float32)
        shift = -train_log_prior.to(logits.device, torch.float64)
        if test_log_prior is not None:
            shift = shift + test_log_prior.to(logits.device, torch.float64)
        return logits.to(dtype) + (tau * shift).to(dtype)


def tau_normalize_weight(weight: Tensor, tau: float) -> Tensor:
    """``w_i / |w_i| ** tau`` for every class row ``w_i`` of ``weight`` (C, D).

    ``tau = 0`` keeps the weights, ``tau = 1`` gives unit rows; a zero row stays zero.

    Returns:
        Tensor: Shape (C, D), float32 at least.
    """
    tau = check_correction_tau('tau-norm', tau)
    if weight.dim() != 2:
        raise ValueError(f'expected classifier weights of shape (C, D), got {tuple(weight.shape)}')
    with _no_autocast(weight.device):
        weight = weight.to(torch.promote_types(weight.dtype, torch.float32))
        return weight / weight.norm(dim=1, keepdim=True).clamp_min(EPS).pow(tau)


def tau_normalized_logits(x: Tensor, weight: Tensor, tau: float) -> Tensor:
    """Logits ``<x, w_i / |w_i| ** tau>`` (N, C) of features (N, D); no bias (Kang et al.)."""
    w = tau_normalize_weight(weight, tau)
    with _no_autocast(x.device):
        return x.to(w.dtype) @ w.t()
