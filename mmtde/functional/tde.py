# Copyright (c) mmtde contributors. All rights reserved.
"""The TDE maths in pure torch (no OpenMMLab import), shared by every head.

Notation follows Tang et al., NeurIPS 2020 ("Long-Tailed Classification by Keeping the Good and
Removing the Bad Momentum Causal Effect"): a feature ``x`` of width ``D`` and every classifier row
``w_i`` are split into ``K = num_head`` contiguous chunks of width ``D / K``.

* causal-norm logits: ``y_i = (tau/K) sum_k <x_k/|x_k|, w_ik/(|w_ik| + gamma)>``
* TDE logits:         ``y_i - alpha (tau/K) sum_k cos(x_k, d_k) <d_k/|d_k|, w_ik/(|w_ik| + gamma)>``
* moving average:     ``d <- mu d + mean(x)``; not an exponential moving average (there is no
  ``1 - mu``): a momentum-weighted sum whose norm grows to ~1/(1-mu) times the feature's. Only
  its direction is used, which is that of the EMA.

The correction (the second term of the TDE logit) is written once, in :func:`tde_projection`.
Two fast paths use it: :func:`remove_momentum_effect` subtracts it from logits already computed
(detection, which needs both), and :func:`fold_tde_weight` moves it into the weights, since it
is linear in the normalised feature, so that TDE costs one product (classification).

Everything here computes in float32, whatever the input dtype or autocast state: the norms of
fp16 features overflow, and ``d`` (an un-normalised sum that grows to ~1/(1-mu) times the feature)
must never be rounded to fp16.
"""
import contextlib
import numbers
from typing import Optional, Tuple

import torch
from torch import Tensor

#: Smallest norm a chunk may have before it is divided by; keeps an all-zero feature finite.
EPS = 1e-12


def _no_autocast(device: torch.device):
    if device.type == 'meta':  # shape-only tensors (e.g. a model built on 'meta'): no autocast
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, enabled=False)


def check_num_head(num_head: int, dim: int) -> int:
    """Validate ``num_head`` (K) against the feature size D that it splits; return it.

    The one check of K: :func:`split_heads`, :class:`~mmtde.functional.CausalNormLinear` and
    :class:`~mmtde.functional.MovingAverageFeature` call it, so a bad K reads the same wherever
    it is caught.

    Args:
        num_head (int): K.
        dim (int): D.

    Returns:
        int: ``num_head``.
    """
    if isinstance(num_head, bool) or not isinstance(num_head, numbers.Integral) \
            or num_head < 1 or dim % num_head != 0:
        divisors = [k for k in range(1, dim + 1) if dim % k == 0][:8]
        raise ValueError(
            f'num_head={num_head!r} must be a positive divisor of the feature size {dim} '
            f'(in_channels of CausalNormHead, fc_out_channels of a bbox head): set num_head to '
            f'one of {divisors}')
    return num_head


def split_heads(x: Tensor, num_head: int) -> Tensor:
    """Split the last dimension of ``x`` into ``num_head`` contiguous chunks.

    Args:
        x (Tensor): Shape (..., D).
        num_head (int): K, which must divide D (:func:`check_num_head`).

    Returns:
        Tensor: Shape (..., K, D / K).
    """
    dim = x.shape[-1]
    check_num_head(num_head, dim)
    return x.reshape(*x.shape[:-1], num_head, dim // num_head)


def normalize_feature(x: Tensor, num_head: int) -> Tensor:
    """``x_k / |x_k|`` per head, in float32.

    Args:
        x (Tensor): Features of shape (N, D).
        num_head (int): K.

    Returns:
        Tensor: Shape (N, K, D / K); all-zero chunks stay zero instead of becoming NaN.
    """
    with _no_autocast(x.device):
        xk = split_heads(x.float(), num_head)
        return xk / xk.norm(dim=-1, keepdim=True).clamp_min(EPS)


def normalize_weight(weight: Tensor, num_head: int, gamma: float) -> Tensor:
    """``w_ik / (|w_ik| + gamma)`` per head, in float32.

    Args:
        weight (Tensor): Classifier weights of shape (C, D).
        num_head (int): K.
        gamma (float): The norm offset; 0 gives a cosine classifier.

    Returns:
        Tensor: Shape (C, K, D / K).
    """
    with _no_autocast(weight.device):
        wk = split_heads(weight.float(), num_head)
        return wk / (wk.norm(dim=-1, keepdim=True) + gamma).clamp_min(EPS)


def tde_projection(w_hat: Tensor, d: Tensor, num_head: int) -> Tuple[Tensor, Tensor]:
    """The factors of the TDE correction that do not depend on the feature.

    The correction, written once here and used by every fast path: TDE removes from logit ``i``

        ``alpha (tau/K) sum_k cos(x_k, d_k) <d_hat_k, w_hat_ik>``

    (:func:`remove_momentum_effect` applies it to logits, :func:`fold_tde_weight` to weights).

    Args:
        w_hat (Tensor): Normalised weights, shape (C, K, D / K).
        d (Tensor): The moving-average feature, shape (D,).
        num_head (int): K.

    Returns:
        tuple[Tensor, Tensor]: ``d_hat`` of shape (K, D / K) and ``<d_hat_k, w_hat_ik>`` of
        shape (C, K), float32.
    """
    with _no_autocast(w_hat.device):
        d_hat = normalize_feature(d.reshape(1, -1), num_head)[0]
        return d_hat, (w_hat * d_hat).sum(dim=-1)


def remove_momentum_effect(logits: Tensor, x_hat: Tensor, d_hat: Tensor, proj: Tensor,
                           tau: float, alpha: float) -> Tensor:
    """TDE logits from causal-norm logits: ``y_i - alpha (tau/K) sum_k cos_k proj_ik``.

    Costs a (N, K) x (K, C) product instead of a second (N, D) x (D, C) one, for hosts that
    need both logits (detection keeps the plain background probability).

    Args:
        logits (Tensor): Causal-norm logits ``y``, shape (N, C).
        x_hat (Tensor): Normalised features, shape (N, K, D / K).
        d_hat (Tensor), proj (Tensor): From :func:`tde_projection`.
        tau (float): The temperature.
        alpha (float): The TDE strength.

    Returns:
        Tensor: Shape (N, C), float32.
    """
    with _no_autocast(logits.device):
        cos = (x_hat * d_hat).sum(dim=-1)  # (N, K)
        return logits - (alpha * tau / x_hat.shape[-2]) * cos @ proj.t()


def fold_tde_weight(weight: Tensor, d: Optional[Tensor], num_head: int, gamma: float,
                    alpha: float) -> Tensor:
    """Normalised weights with the TDE correction folded in.

    The correction of :func:`tde_projection` is linear in ``x_hat``
    (``cos_k = <x_hat_k, d_hat_k>``), so it moves into the weights:
    ``w_hat_ik - alpha <d_hat_k, w_hat_ik> d_hat_k``, and ``(tau/K) <x_hat, folded>`` is the TDE
    logit in one product. With ``alpha == 0`` (or ``d is None``) this is just the normalised
    weight.

    Args:
        weight (Tensor): Shape (C, D).
        d (Tensor, optional): The moving-average feature, shape (D,).
        num_head (int): K.
        gamma (float): The norm offset.
        alpha (float): The TDE strength.

    Returns:
        Tensor: Shape (C, K, D / K), float32.
    """
    w_hat = normalize_weight(weight, num_head, gamma)
    if d is None or alpha == 0:
        return w_hat
    d_hat, proj = tde_projection(w_hat, d, num_head)
    with _no_autocast(weight.device):
        return w_hat - alpha * proj.unsqueeze(-1) * d_hat


def normalized_logits(x_hat: Tensor, w_hat: Tensor, tau: float) -> Tensor:
    """``(tau/K) sum_k <x_hat_k, w_hat_ik>``.

    Args:
        x_hat (Tensor): Normalised features, shape (N, K, D / K).
        w_hat (Tensor): Normalised (possibly folded) weights, shape (C, K, D / K).
        tau (float): The temperature.

    Returns:
        Tensor: Logits of shape (N, C), float32.
    """
    with _no_autocast(x_hat.device):
        num_head = x_hat.shape[-2]
        return (tau / num_head) * x_hat.flatten(1) @ w_hat.flatten(1).t()


def causal_norm_logits(x: Tensor, weight: Tensor, num_head: int = 2, tau: float = 16.0,
                       gamma: float = 1 / 32) -> Tensor:
    """Multi-head normalised ("causal norm") logits, the training-time classifier.

    Args:
        x (Tensor): Features of shape (N, D).
        weight (Tensor): Shape (C, D).
        num_head (int): K. Defaults to 2.
        tau (float): Temperature. Defaults to 16.
        gamma (float): Norm offset. Defaults to 1/32.

    Returns:
        Tensor: Shape (N, C), float32.
    """
    return normalized_logits(
        normalize_feature(x, num_head), normalize_weight(weight, num_head, gamma), tau)


def tde_logits(x: Tensor, weight: Tensor, d: Tensor, num_head: int = 2, tau: float = 16.0,
               gamma: float = 1 / 32, alpha: float = 1.0) -> Tensor:
    """Counterfactual TDE logits: causal-norm logits minus the part that comes from ``d``.

    Args:
        x (Tensor): Features of shape (N, D).
        weight (Tensor): Shape (C, D).
        d (Tensor): Moving-average feature of shape (D,).
        num_head (int): K. Defaults to 2.
        tau (float): Temperature. Defaults to 16.
        gamma (float): Norm offset. Defaults to 1/32.
        alpha (float): TDE strength; 0 gives :func:`causal_norm_logits`. Defaults to 1.

    Returns:
        Tensor: Shape (N, C), float32.
    """
    x_hat = normalize_feature(x, num_head)
    w_hat = normalize_weight(weight, num_head, gamma)
    logits = normalized_logits(x_hat, w_hat, tau)
    if alpha == 0:
        return logits
    return remove_momentum_effect(logits, x_hat, *tde_projection(w_hat, d, num_head), tau,
                                  alpha)


def head_cosine(x: Tensor, d: Tensor, num_head: int) -> Tensor:
    """``cos(x_k, d_k)`` for every sample and head.

    Args:
        x (Tensor): Shape (N, D).
        d (Tensor): Shape (D,).
        num_head (int): K.

    Returns:
        Tensor: Shape (N, K), float32.
    """
    with _no_autocast(x.device):
        d_hat = normalize_feature(d.reshape(1, -1), num_head)
        return (normalize_feature(x, num_head) * d_hat).sum(dim=-1)


def background_exempted_log_probs(logits: Tensor, tde: Tensor) -> Tensor:
    """Background-exempted TDE for detection, as log-probabilities.

    ``p = softmax(logits)``, ``q = softmax(tde)``, background is the last column. The background
    probability stays ``p_bg``; foreground ``i`` gets ``(1 - p_bg) q_i / (1 - q_bg)``. The log is
    returned so that a host which applies its own softmax (mmdet's ``predict_by_feat``) recovers
    exactly these probabilities, instead of squashing them with a second softmax.

    Args:
        logits (Tensor): Original logits over C+1 classes, shape (N, C + 1).
        tde (Tensor): TDE logits over C+1 classes, shape (N, C + 1).

    Returns:
        Tensor: ``log`` of the final probabilities, shape (N, C + 1), rows of whose ``exp``
        sum to 1.
    """
    with _no_autocast(logits.device):
        log_p = torch.log_softmax(logits.float(), dim=-1)
        # 1 - p_bg is the foreground mass of p and q_i / (1 - q_bg) the softmax of the TDE
        # logits over the foreground alone: both exact in log space, with no 1 - x that
        # cancels when either background probability is close to 1.
        log_fg_mass = torch.logsumexp(log_p[:, :-1], dim=-1, keepdim=True)
        log_fg = log_fg_mass + torch.log_softmax(tde[:, :-1].float(), dim=-1)
        return torch.cat([log_fg, log_p[:, -1:]], dim=-1)


def __getattr__(name: str):
    # moving_average_step lived here before it joined MovingAverageFeature in
    # moving_average.py: the old import path keeps working (lazily: that module imports this).
    if name == 'moving_average_step':
        from .moving_average import moving_average_step
        return moving_average_step
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
