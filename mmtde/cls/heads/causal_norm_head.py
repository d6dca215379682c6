# Copyright (c) mmtde contributors. All rights reserved.
import math
from typing import List, Optional, Tuple

import torch
from mmpretrain.models.heads import ClsHead
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample
from torch import nn

from mmtde.functional import (MovingAverageFeature, causal_norm_logits, normalize_feature,
                              normalized_logits, fold_tde_weight)


def check_nonneg(name: str, value: float, strict: bool = False) -> float:
    """Validate a non-negative (or positive) finite hyper-parameter."""
    bad = isinstance(value, bool) or not isinstance(value, (int, float)) or \
        not math.isfinite(value) or value < 0 or (strict and value == 0)
    if bad:
        rule = 'a positive number' if strict else 'a number >= 0'
        raise ValueError(f'{name}={value!r} must be {rule} (paper defaults: tau=16, '
                         f'gamma=1/32, alpha 1.0-3.0; alpha=0 turns TDE off)')
    return float(value)


@MODELS.register_module()
class CausalNormHead(ClsHead):
    """Multi-head normalised ("causal norm") classifier with TDE inference.

    Training (``loss``) uses the causal-norm logits with plain cross-entropy and folds the
    pre-classifier feature into the moving average ``d``; inference (``predict``) subtracts the
    part of each logit that comes from ``d`` (Tang et al., NeurIPS 2020):
    ``TDE_i = (tau/K) sum_k [<x_k, w_ik> - alpha cos(x_k, d_k) <d_k, w_ik>]`` (hats omitted).

    Args:
        num_classes (int): Number of categories C.
        in_channels (int): Feature size D (the pooled feature, e.g. 2048 for ResNeXt-50).
        num_head (int): K, the number of heads; must divide ``in_channels``. Defaults to 2.
        tau (float): Temperature of the normalised logits. Defaults to 16.
        gamma (float): Offset in ``w / (|w| + gamma)``; 0 is a cosine classifier.
            Defaults to 1/32.
        alpha (float): TDE strength at test time; 0 gives the "De-confound" logits.
            Defaults to 1.0.
        use_tde (bool): Apply TDE in ``predict``; False is the same as ``alpha=0``.
            Defaults to True.
        mu (float): Momentum of ``d``; the ``EMAFeatureHook`` may reset it every epoch.
            Defaults to 0.9.
        **kwargs: Passed to :class:`ClsHead` (``loss``, ``topk``, ``cal_acc``, ``init_cfg``).
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 num_head: int = 2,
                 tau: float = 16.0,
                 gamma: float = 1 / 32,
                 alpha: float = 1.0,
                 use_tde: bool = True,
                 mu: float = 0.9,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if num_classes < 1:
            raise ValueError(f'num_classes={num_classes} must be a positive integer')
        if num_head < 1 or in_channels % num_head != 0:
            raise ValueError(
                f'num_head={num_head} must divide in_channels={in_channels}; use a divisor '
                f'such as {[k for k in (1, 2, 4, 8) if in_channels % k == 0]}')
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.num_head = num_head
        self.tau = check_nonneg('tau', tau, strict=True)
        self.gamma = check_nonneg('gamma', gamma)
        self.alpha = alpha
        self.use_tde = bool(use_tde)
        # No bias; W ~ U(-1/sqrt(D), 1/sqrt(D)) as in the reference.
        bound = 1.0 / math.sqrt(in_channels)
        self.weight = nn.Parameter(torch.empty(num_classes, in_channels).uniform_(-bound, bound))
        self.feat_ema = MovingAverageFeature(in_channels, num_head, mu)

    @property
    def alpha(self) -> float:
        """float: TDE strength used by ``predict``; validated on every assignment."""
        return self._alpha

    @alpha.setter
    def alpha(self, value: float) -> None:
        self._alpha = check_nonneg('alpha', value)

    def pre_logits(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """The pooled feature of the last stage, shape (N, in_channels)."""
        x = feats[-1]
        if x.dim() != 2 or x.shape[1] != self.in_channels:
            raise ValueError(
                f'CausalNormHead expects pooled features of shape (N, {self.in_channels}), got '
                f'{tuple(x.shape)}. Set in_channels to the feature size and put a neck such as '
                f"dict(type='GlobalAveragePooling') between the backbone and the head.")
        return x

    def forward(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """Causal-norm logits (N, C), float32; no state changes."""
        return causal_norm_logits(self.pre_logits(feats), self.weight, self.num_head, self.tau,
                                  self.gamma)

    def loss(self, feats: Tuple[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> dict:
        """Cross-entropy on the causal-norm logits; the only place that updates ``d``."""
        x = self.pre_logits(feats)
        cls_score = causal_norm_logits(x, self.weight, self.num_head, self.tau, self.gamma)
        self.feat_ema.update(x)
        return self._get_loss(cls_score, data_samples, **kwargs)

    def tde_logits(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """Logits used at test time: TDE when enabled, else the causal-norm logits."""
        x = self.pre_logits(feats)
        alpha = self.alpha if self.use_tde else 0.0
        d = None
        if alpha > 0:
            self.feat_ema.check_ready(type(self).__name__)
            d = self.feat_ema.d
        # alpha and d are fixed at test time: fold them into the weights once per call, so TDE
        # costs one product, exactly like the plain causal-norm classifier.
        w = fold_tde_weight(self.weight, d, self.num_head, self.gamma, alpha)
        return normalized_logits(normalize_feature(x, self.num_head), w, self.tau)

    def predict(self, feats: Tuple[torch.Tensor],
                data_samples: Optional[List[Optional[DataSample]]] = None) -> List[DataSample]:
        """Predictions from the TDE logits (``alpha`` / ``use_tde`` decide)."""
        return self._get_predictions(self.tde_logits(feats), data_samples)

    def extra_repr(self) -> str:
        return (f'num_classes={self.num_classes}, in_channels={self.in_channels}, '
                f'num_head={self.num_head}, tau={self.tau}, gamma={self.gamma}, '
                f'alpha={self.alpha}, use_tde={self.use_tde}')
