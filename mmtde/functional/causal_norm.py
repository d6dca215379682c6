# Copyright (c) mmtde contributors. All rights reserved.
"""The causal-norm classifier with its moving-average feature: the core both heads share."""
import math
from typing import Optional

import torch
from torch import Tensor, nn

from .moving_average import MovingAverageFeature
from .tde import (
    check_num_head,
    fold_tde_weight,
    head_cosine,
    normalize_feature,
    normalized_logits,
    remove_momentum_effect,
    tde_projection,
)


def check_hparam(name: str, value: float, positive: bool = False) -> float:
    """Validate a finite hyper-parameter that must be >= 0 (or > 0); return it as float."""
    bad = isinstance(value, bool) or not isinstance(value, (int, float)) or \
        not math.isfinite(value) or value < 0 or (positive and value == 0)
    if bad:
        rule = 'a positive number' if positive else 'a number >= 0'
        raise ValueError(f'{name}={value!r} must be {rule} (paper: tau=16, gamma=1/32, alpha '
                         f'1.0-3.0 for classification and 1.5 for LVIS; alpha=0 turns TDE off)')
    return float(value)


class CausalNormLinear(nn.Module):
    """Multi-head normalised ("causal norm") classifier that owns the moving average ``d``.

    ``y_i = (tau/K) sum_k <x_k/|x_k|, w_ik/(|w_ik| + gamma)>`` for training; at test time the
    TDE logits, either with ``alpha`` and ``d`` folded into the weights so that they cost one
    product (:meth:`tde_logits`), or from the plain logits (:meth:`tde_from_logits`, when a host
    needs both); both apply the one correction of :func:`~mmtde.functional.tde_projection`.
    No bias; ``W ~ U(-1/sqrt(D), 1/sqrt(D))`` as in the reference. Heads wrap this module and
    decide when ``d`` is updated (``feat_ema.update``) and which logits they return.

    Args:
        in_features (int): Feature size D.
        out_features (int): Number of rows of ``W`` (classes, plus background in detection).
        num_head (int): K; must divide D (:func:`~mmtde.functional.tde.check_num_head`).
            Defaults to 2.
        tau (float): Temperature. Defaults to 16.
        gamma (float): Offset of the weight norm; 0 is a cosine classifier. Defaults to 1/32.
        alpha (float): TDE strength at test time; 0 gives the causal-norm logits.
            Defaults to 1.0.
        use_tde (bool): Apply TDE at test time; False is the same as ``alpha=0``.
            Defaults to True.
        mu (float): Momentum of ``d``. Defaults to 0.9.
    """

    #: Rows of ``W`` that are not classes of the dataset (1 in detection: background).
    num_extra_rows = 0

    def __init__(self, in_features: int, out_features: int, num_head: int = 2,
                 tau: float = 16.0, gamma: float = 1 / 32, alpha: float = 1.0,
                 use_tde: bool = True, mu: float = 0.9) -> None:
        super().__init__()
        check_num_head(num_head, in_features)
        if out_features <= self.num_extra_rows:
            raise ValueError(f'out_features={out_features}: the classifier needs at least one '
                             f'class; check num_classes')
        self.in_features = in_features
        self.out_features = out_features
        self.num_head = num_head
        self.tau = check_hparam('tau', tau, positive=True)
        self.gamma = check_hparam('gamma', gamma)
        self.alpha = alpha
        self.use_tde = use_tde
        bound = 1.0 / math.sqrt(in_features)
        self.weight = nn.Parameter(torch.empty(out_features, in_features).uniform_(-bound, bound))
        self.feat_ema = MovingAverageFeature(in_features, num_head, mu)

    @property
    def alpha(self) -> float:
        """float: TDE strength at test time; validated on every assignment."""
        return self._alpha

    @alpha.setter
    def alpha(self, value: float) -> None:
        self._alpha = check_hparam('alpha', value)

    @property
    def use_tde(self) -> bool:
        """bool: Apply TDE at test time; validated on every assignment."""
        return self._use_tde

    @use_tde.setter
    def use_tde(self, value: bool) -> None:
        if not isinstance(value, bool):  # bool('False') is True: refuse rather than guess
            raise ValueError(f'use_tde={value!r} must be True or False (a bool, not a '
                             f'{type(value).__name__}); alpha=0 also turns TDE off')
        self._use_tde = value

    @property
    def num_classes(self) -> int:
        """int: Classes of the dataset this classifier scores."""
        return self.out_features - self.num_extra_rows

    def effective_alpha(self) -> float:
        """The ``alpha`` that test-time logits use: 0 when TDE is switched off."""
        return self.alpha if self.use_tde else 0.0

    def test_alpha(self) -> float:
        """Alias of :meth:`effective_alpha`, its old name (which read like a test), kept for
        callers that use it."""
        return self.effective_alpha()

    def folded_weight(self, alpha: float) -> Tensor:
        """Normalised weights (C, K, D/K) with TDE at ``alpha`` folded in (0: none).

        Without gradients (inference) the result is cached until the weights, ``d`` or
        ``alpha`` change, so test-time TDE costs one product, like a linear head.
        """
        if alpha > 0:
            self.feat_ema.check_ready(type(self).__name__)
        d = self.feat_ema.d if alpha > 0 else None
        if torch.is_grad_enabled() and self.weight.requires_grad:
            return fold_tde_weight(self.weight, d, self.num_head, self.gamma, alpha)
        key = (alpha, self.gamma, self.weight.data_ptr(), self.weight._version,
               self.feat_ema.d.data_ptr(), self.feat_ema.d._version)
        if getattr(self, '_folded_key', None) != key:
            with torch.no_grad():
                self._folded = fold_tde_weight(self.weight, d, self.num_head, self.gamma, alpha)
            self._folded_key = key
        return self._folded

    def logits_at(self, x_hat: Tensor, alpha: float) -> Tensor:
        """Logits (N, C) of normalised features (N, K, D/K) at ``alpha`` (0: causal norm)."""
        return normalized_logits(x_hat, self.folded_weight(alpha), self.tau)

    def tde_from_logits(self, logits: Tensor, x_hat: Tensor, alpha: float) -> Tensor:
        """TDE logits (N, C) from already computed causal-norm ``logits`` (N, C) and normalised
        features (N, K, D/K), without a second (N, D) x (D, C) product."""
        self.feat_ema.check_ready(type(self).__name__)
        w_hat = self.folded_weight(0.0)  # the normalised weight, cached at test time
        d_hat, proj = tde_projection(w_hat, self.feat_ema.d, self.num_head)
        return remove_momentum_effect(logits, x_hat, d_hat, proj, self.tau, alpha)

    def forward(self, x: Tensor) -> Tensor:
        """Causal-norm logits (N, C), float32, from features (N, D); no state change."""
        return self.logits_at(normalize_feature(x, self.num_head), 0.0)

    def tde_logits(self, x: Tensor, alpha: Optional[float] = None) -> Tensor:
        """TDE logits (N, C) at ``alpha`` (default: the test-time one); no state change."""
        alpha = self.effective_alpha() if alpha is None else check_hparam('alpha', alpha)
        return self.logits_at(normalize_feature(x, self.num_head), alpha)

    def cosine(self, x: Tensor) -> Tensor:
        """``cos(x_k, d_k)`` per sample and head, shape (N, K)."""
        self.feat_ema.check_ready(type(self).__name__)
        return head_cosine(x, self.feat_ema.d, self.num_head)

    def extra_repr(self) -> str:
        return (f'in_features={self.in_features}, out_features={self.out_features}, '
                f'num_head={self.num_head}, tau={self.tau}, gamma={self.gamma}, '
                f'alpha={self.alpha}, use_tde={self.use_tde}')
