# Copyright (c) mmtde contributors. All rights reserved.
from typing import List, Sequence, Tuple

import torch
from mmdet.models.roi_heads import CascadeRoIHead, HybridTaskCascadeRoIHead
from mmdet.registry import MODELS
from torch import Tensor


class StageProbabilityMeanMixin:
    """Test-time class scores of a cascade as the mean of the stage probabilities.

    mmdet's cascade heads average the stages' raw ``cls_score`` and the last bbox head applies
    softmax to the mean, i.e. they score ``softmax(mean of logits)``. A TDE bbox head returns
    log-probabilities (background-exempted TDE, see :class:`CausalNormShared2FCBBoxHead`), for
    which a mean of logs is a normalised geometric mean, not what the method prescribes: each
    stage applies TDE with its own ``d``, then the stage scores are averaged as probabilities.
    This mixin does exactly that,

        ``p = mean_s softmax(cls_score_s)``,

    and hands ``log p`` to the last stage's ``predict_by_feat``, whose softmax gives back ``p``
    (rows of ``p`` sum to 1). Stage-to-stage box refinement is unchanged (the argmax of a
    softmax is the argmax of its input). Training is mmdet's, untouched; with stock
    ``Shared2FCBBoxHead`` stages it scores the mean of the stages' softmax.
    """

    #: Read by ``EMAFeatureHook``, which refuses TDE bbox heads in a cascade without it.
    averages_stage_probabilities = True

    # Only True while _refine_roi runs: the stage outputs are then turned into probabilities.
    _stage_probs = False

    def init_bbox_head(self, *args, **kwargs) -> None:
        super().init_bbox_head(*args, **kwargs)
        custom = [type(h).__name__ for h in self.bbox_head if h.custom_cls_channels]
        if custom:
            raise ValueError(f'{type(self).__name__} averages softmax probabilities of the '
                             f'stages, which does not apply to bbox heads with a custom '
                             f'activation ({custom}); use the stock cascade head for those')

    def _bbox_forward(self, stage: int, x: Tuple[Tensor], rois: Tensor, **kwargs) -> dict:
        """mmdet's stage forward; within :meth:`_refine_roi`, ``cls_score`` is a probability.
        ``kwargs`` (HTC's ``semantic_feat``) go to the host's own stage forward."""
        results = super()._bbox_forward(stage, x, rois, **kwargs)
        if self._stage_probs:
            results['cls_score'] = torch.softmax(results['cls_score'].float(), dim=-1)
        return results

    def _refine_roi(self, x: Tuple[Tensor], rois: Tensor, batch_img_metas: List[dict],
                    num_proposals_per_img: Sequence[int], **kwargs) -> tuple:
        """mmdet's multi-stage refinement, averaging probabilities instead of raw scores.

        Returns:
            tuple: The refined RoIs, per image ``log`` of the mean stage probabilities of shape
            (n_i, C + 1), and the last stage's box deltas.
        """
        self._stage_probs = True
        try:
            rois, cls_scores, bbox_preds = super()._refine_roi(
                x, rois, batch_img_metas, num_proposals_per_img, **kwargs)
        finally:
            self._stage_probs = False
        return rois, [score.log() for score in cls_scores], bbox_preds


@MODELS.register_module()
class TDECascadeRoIHead(StageProbabilityMeanMixin, CascadeRoIHead):
    """mmdet's ``CascadeRoIHead`` scoring the mean of the stage probabilities (Cascade Mask
    R-CNN with TDE bbox heads); see :class:`StageProbabilityMeanMixin`."""


@MODELS.register_module()
class TDEHybridTaskCascadeRoIHead(StageProbabilityMeanMixin, HybridTaskCascadeRoIHead):
    """mmdet's ``HybridTaskCascadeRoIHead`` (HTC, the paper's other LVIS detector) scoring the
    mean of the stage probabilities; see :class:`StageProbabilityMeanMixin`."""
