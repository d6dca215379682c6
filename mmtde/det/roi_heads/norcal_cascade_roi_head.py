# Copyright (c) mmtde contributors. All rights reserved.
from mmdet.models.roi_heads import CascadeRoIHead
from mmdet.registry import MODELS

from .norcal_roi_head import NorCalMixin


class NorCalCascadeMixin(NorCalMixin):
    """NorCal on a cascade's final class scores: those the last stage's ``predict_by_feat``
    receives, after the host has combined the stages (mean of the stages' scores in mmdet,
    mean of their probabilities in :class:`~mmtde.det.roi_heads.TDECascadeRoIHead`). Either
    way a row of those scores is a log-probability up to a constant, which NorCal ignores."""

    def _refine_roi(self, *args, **kwargs) -> tuple:
        rois, cls_scores, bbox_preds = super()._refine_roi(*args, **kwargs)
        return rois, [self.calibrate(score) for score in cls_scores], bbox_preds


@MODELS.register_module()
class NorCalCascadeRoIHead(NorCalCascadeMixin, CascadeRoIHead):
    """mmdet's ``CascadeRoIHead`` scoring detections with NorCal (Pan et al., 2021), for a
    stock (softmax) Cascade R-CNN checkpoint; ``norcal`` as in
    :class:`~mmtde.det.roi_heads.NorCalRoIHead`. Stage refinement and training are mmdet's."""
