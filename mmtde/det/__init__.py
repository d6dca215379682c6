# Copyright (c) mmtde contributors. All rights reserved.
"""De-confound-TDE for mmdet 3.x: ``custom_imports=dict(imports=['mmtde.det'])``.

Importing this package registers the TDE bbox head, cascade / HTC RoI heads and the
NorCal RoI head (test-time calibration of a softmax detector) in
``mmdet.registry.MODELS`` (with ``BBoxHeadEQLV2Loss``, a usable EQLv2 baseline), the
``EmojiLVISDataset`` in ``mmdet.registry.DATASETS``, ``StrictLVISMetric`` and the hooks
(``mmtde.engine``) in mmengine's root registries, and adds mmengine's checkpoint contents to
torch's ``weights_only`` allow-list (see :mod:`mmtde.engine.checkpoint`): mmdet's own
``tools/test.py`` and ``init_detector`` then load checkpoints under torch >= 2.6, which
downstream projects rely on.
"""
from mmtde import engine
from mmtde.evaluation.lvis.strict_lvis_metric import StrictLVISMetric

from .datasets import EmojiLVISDataset
from .losses import BBoxHeadEQLV2Loss
from .roi_heads import (
    CausalNormClassifier,
    CausalNormShared2FCBBoxHead,
    NorCalRoIHead,
    TDECascadeRoIHead,
    TDEHybridTaskCascadeRoIHead,
)

engine.register_checkpoint_safe_globals()

__all__ = [
    'CausalNormClassifier', 'CausalNormShared2FCBBoxHead', 'TDECascadeRoIHead',
    'TDEHybridTaskCascadeRoIHead', 'StrictLVISMetric', 'EmojiLVISDataset', 'BBoxHeadEQLV2Loss',
    'NorCalRoIHead'
]
