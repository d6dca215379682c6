# Copyright (c) mmtde contributors. All rights reserved.
from typing import List, Optional

import torch
from mmdet.models.roi_heads.bbox_heads import Shared2FCBBoxHead
from mmdet.models.task_modules.samplers import SamplingResult
from mmdet.registry import MODELS
from mmengine.config import ConfigDict
from torch import Tensor

from .causal_norm_classifier import CausalNormClassifier


def _overrides(cfg: dict, name: str) -> bool:
    override = cfg.get('override', [])
    override = override if isinstance(override, (list, tuple)) else [override]
    return any(o.get('name') == name for o in override)


@MODELS.register_module()
class CausalNormShared2FCBBoxHead(Shared2FCBBoxHead):
    """mmdet's two-fc bbox head with the De-confound-TDE classifier (Tang et al., NeurIPS 2020).

    The classifier ``fc_cls`` is a :class:`CausalNormClassifier` over ``num_classes + 1`` rows
    (background last) trained with mmdet's own cross-entropy. Each training step folds the
    classifier input of the foreground RoIs (``0 <= label < num_classes``) into the moving
    average ``d`` (mean over the global batch; a batch without foreground leaves ``d``
    unchanged). At test time the head returns ``log`` of the background-exempted TDE
    probabilities, so the softmax in ``predict_by_feat`` yields exactly them:
    ``p_bg`` from the plain logits, ``(1 - p_bg) q_i / (1 - q_bg)`` for foreground ``i``, where
    ``q = softmax(TDE logits)``. With ``alpha=0`` or ``use_tde=False`` it gives the plain
    causal-norm ("De-confound") probabilities.

    Regression, sampling and post-processing are mmdet's, untouched.

    Args:
        num_head (int): K, the number of heads; must divide ``fc_out_channels``. Defaults to 2.
        tau (float): Temperature of the normalised logits. Defaults to 16.
        gamma (float): Offset in ``w / (|w| + gamma)``. Defaults to 1/32.
        alpha (float): TDE strength at test time (paper, LVIS: 1.5). Defaults to 1.5.
        use_tde (bool): Apply TDE at test time. Defaults to True.
        mu (float): Momentum of ``d``; the ``EMAFeatureHook`` may override it. Defaults to
            0.9998.
        **kwargs: Passed to mmdet's ``Shared2FCBBoxHead`` (``num_classes``,
            ``fc_out_channels``, ``loss_cls``, ...).
    """

    def __init__(self,
                 num_head: int = 2,
                 tau: float = 16.0,
                 gamma: float = 1 / 32,
                 alpha: float = 1.5,
                 use_tde: bool = True,
                 mu: float = 0.9998,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        # TDE exempts the background of a softmax over C + 1 classes: a sigmoid loss (focal,
        # EQL-v2, CrossEntropyLoss(use_sigmoid=True)) trains scores that this inference would
        # then misread, and a loss with its own channels has no background row.
        use_sigmoid = getattr(self.loss_cls, 'use_sigmoid', None)
        if not self.with_cls or self.custom_cls_channels or use_sigmoid is not False \
                or getattr(self.loss_cls, 'use_mask', False):
            raise ValueError(
                f'{type(self).__name__} needs with_cls=True and a softmax cross-entropy '
                f'loss_cls over C + 1 classes (got with_cls={self.with_cls}, loss_cls='
                f'{type(self.loss_cls).__name__} with use_sigmoid={use_sigmoid}, '
                f'custom_cls_channels={self.custom_cls_channels}); use loss_cls=dict('
                f"type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)")
        self.fc_cls = CausalNormClassifier(
            self.cls_last_dim, self.num_classes + 1, num_head=num_head, tau=tau, gamma=gamma,
            alpha=alpha, use_tde=use_tde, mu=mu)
        if kwargs.get('init_cfg') is None:
            # mmdet's default init draws fc_cls from N(0, 0.01); ours keeps its uniform init.
            self.init_cfg = [c for c in self.init_cfg if not _overrides(c, 'fc_cls')]

    def loss_and_target(self,
                        cls_score: Tensor,
                        bbox_pred: Tensor,
                        rois: Tensor,
                        sampling_results: List[SamplingResult],
                        rcnn_train_cfg: ConfigDict,
                        concat: bool = True,
                        reduction_override: Optional[str] = None) -> dict:
        """mmdet's loss and targets; also folds the foreground RoI features into ``d``.

        This is where the RoI labels become known, so ``d`` is updated here (every rank calls
        it once per step, which the all-reduce inside the update requires).
        """
        results = super().loss_and_target(cls_score, bbox_pred, rois, sampling_results,
                                          rcnn_train_cfg, concat, reduction_override)
        labels = results['bbox_targets'][0]
        if not concat:
            labels = torch.cat(labels)
        self.fc_cls.update_feature((labels >= 0) & (labels < self.num_classes))
        return results
