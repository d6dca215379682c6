# Copyright (c) mmtde contributors. All rights reserved.
from typing import List, Optional, Tuple

import torch
from mmpretrain.models.heads import ClsHead
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from mmtde.functional import CausalNormLinear


@MODELS.register_module()
class CausalNormHead(ClsHead):
    """Multi-head normalised ("causal norm") classifier with TDE inference.

    Training (``loss``) uses the causal-norm logits with plain cross-entropy and folds the
    pre-classifier feature into the moving average ``d``; inference (``predict``) subtracts the
    part of each logit that comes from ``d`` (Tang et al., NeurIPS 2020):
    ``TDE_i = (tau/K) sum_k [<x_k, w_ik> - alpha cos(x_k, d_k) <d_k, w_ik>]`` (hats omitted).
    The classifier and ``d`` live in ``self.fc`` (:class:`mmtde.functional.CausalNormLinear`),
    shared with the detection head.

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
        mu (float): Momentum of ``d`` (``d <- mu d + mean(x)``); the head owns it, and
            ``EMAFeatureHook(mu_policy='lr')`` replaces it before every epoch.
            Defaults to 0.9 (paper, CIFAR-LT).
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
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.fc = CausalNormLinear(in_channels, num_classes, num_head, tau, gamma, alpha,
                                   use_tde, mu)

    @property
    def alpha(self) -> float:
        """float: TDE strength used by ``predict`` (validated on assignment)."""
        return self.fc.alpha

    @alpha.setter
    def alpha(self, value: float) -> None:
        self.fc.alpha = value

    @property
    def use_tde(self) -> bool:
        """bool: Whether ``predict`` applies TDE."""
        return self.fc.use_tde

    @use_tde.setter
    def use_tde(self, value: bool) -> None:
        self.fc.use_tde = value  # validated there: a bool, not a string such as 'False'

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
        return self.fc(self.pre_logits(feats))

    def loss(self, feats: Tuple[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> dict:
        """Cross-entropy on the causal-norm logits; the only place that updates ``d``."""
        x = self.pre_logits(feats)
        cls_score = self.fc(x)
        self.fc.feat_ema.update(x)
        return self._get_loss(cls_score, data_samples, **kwargs)

    def predict(self, feats: Tuple[torch.Tensor],
                data_samples: Optional[List[Optional[DataSample]]] = None) -> List[DataSample]:
        """Predictions from the TDE logits (``alpha`` / ``use_tde`` decide)."""
        return self._get_predictions(self.fc.tde_logits(self.pre_logits(feats)), data_samples)
