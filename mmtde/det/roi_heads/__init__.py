# Copyright (c) mmtde contributors. All rights reserved.
from .bbox_heads import CausalNormClassifier, CausalNormShared2FCBBoxHead
from .norcal_cascade_roi_head import NorCalCascadeRoIHead
from .norcal_roi_head import NorCalRoIHead
from .norcal_tde_cascade_roi_head import NorCalTDECascadeRoIHead
from .tde_cascade_roi_head import (
    StageProbabilityMeanMixin,
    TDECascadeRoIHead,
    TDEHybridTaskCascadeRoIHead,
)

__all__ = [
    'CausalNormClassifier', 'CausalNormShared2FCBBoxHead', 'StageProbabilityMeanMixin',
    'TDECascadeRoIHead', 'TDEHybridTaskCascadeRoIHead', 'NorCalRoIHead',
    'NorCalCascadeRoIHead', 'NorCalTDECascadeRoIHead'
]
