# Copyright (c) mmtde contributors. All rights reserved.
"""The TDE bbox head; the path of a RoI feature through training and testing is all here.

``x`` is what mmdet's ``fc_cls`` receives: the post-ReLU output of the shared fcs, (N, D).

* train: :meth:`CausalNormClassifier.forward` returns the causal-norm logits ``y`` (C + 1 rows,
  background last) for mmdet's cross-entropy and keeps ``x``; mmdet then calls
  :meth:`CausalNormShared2FCBBoxHead.loss_and_target`, where the RoI labels become known, and
  the foreground rows of ``x`` go into ``d`` (:meth:`CausalNormClassifier.update_feature`).
  ``x`` is kept between the two calls because mmdet passes features to the first only.
* test: :meth:`CausalNormClassifier.forward` returns ``log`` of the background-exempted TDE
  probabilities, so the softmax in mmdet's ``predict_by_feat`` gives exactly them (cascades:
  :class:`~mmtde.det.roi_heads.TDECascadeRoIHead` averages the stages' probabilities).

The maths is in :mod:`mmtde.functional`.
"""
from typing import List, Optional

import torch
from mmdet.models.roi_heads.bbox_heads import Shared2FCBBoxHead
from mmdet.models.task_modules.samplers import SamplingResult
from mmdet.registry import MODELS
from mmengine.config import ConfigDict
from torch import Tensor

from mmtde.functional import CausalNormLinear, background_exempted_log_probs, normalize_feature


class CausalNormClassifier(CausalNormLinear):
    """``fc_cls`` of the TDE bbox head: causal-norm logits over C + 1 rows and ``d``.

    It stands in for mmdet's ``Linear(D, C + 1)``, so the host's ``forward`` runs unchanged;
    mode decides what it returns because mmdet calls the same ``forward`` for the loss and for
    prediction (see the module docstring). Arguments are those of :class:`CausalNormLinear`
    (``out_features`` = C + 1).
    """

    num_extra_rows = 1  # background
    # The last train-mode input, until loss_and_target folds its foreground rows into d.
    _train_feature: Optional[Tensor] = None

    def forward(self, x: Tensor) -> Tensor:
        """Scores of shape (N, C + 1), float32: logits (train) or log-probabilities (eval).

        Args:
            x (Tensor): Classifier input (the post-ReLU RoI feature), shape (N, D).
        """
        x_hat = normalize_feature(x, self.num_head)
        logits = self.logits_at(x_hat, 0.0)
        if self.training:
            self._train_feature = x.detach()
            return logits
        alpha = self.effective_alpha()
        if alpha == 0:
            return logits
        return background_exempted_log_probs(logits,
                                             self.tde_from_logits(logits, x_hat, alpha))

    def update_feature(self, foreground: Tensor) -> Tensor:
        """Fold the foreground rows of the last training input into ``d``.

        Args:
            foreground (Tensor): Bool mask (N,) over the rows of the last train-mode input.

        Returns:
            Tensor: 0-dim bool, whether ``d`` changed (False when the global batch has no
            foreground RoI); ``bool()`` of it waits for the device.
        """
        feature, self._train_feature = self._train_feature, None
        if feature is None or feature.shape[0] != foreground.numel():
            got = 'none' if feature is None else f'{feature.shape[0]} rows'
            raise RuntimeError(
                f'update_feature needs the features of the {foreground.numel()} RoIs just '
                f'classified in train mode, but the last train-mode forward kept {got}: call '
                f'the bbox head forward and its loss_and_target on the same RoIs, in order.')
        return self.feat_ema.update(feature, foreground.to(feature.device))


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
        mu (float): Momentum of ``d`` (``d <- mu d + mean(x)``); the head owns it, and
            ``EMAFeatureHook(mu_policy='lr')`` replaces it before every epoch.
            Defaults to 0.9998 (paper, LVIS v1).
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
