# Copyright (c) mmtde contributors. All rights reserved.
from mmdet.registry import MODELS

from .norcal_cascade_roi_head import NorCalCascadeMixin
from .tde_cascade_roi_head import TDECascadeRoIHead


@MODELS.register_module()
class NorCalTDECascadeRoIHead(NorCalCascadeMixin, TDECascadeRoIHead):
    """:class:`~mmtde.det.roi_heads.TDECascadeRoIHead` (the mean of the stage probabilities)
    scoring detections with NorCal (Pan et al., 2021), for causal-norm cascade checkpoints
    (usually at ``alpha=0``); ``norcal`` as in :class:`~mmtde.det.roi_heads.NorCalRoIHead`."""
