# Copyright (c) mmtde contributors. All rights reserved.
"""De-confound-TDE for mmdet 3.x: ``custom_imports=dict(imports=['mmtde.det'])``.

Importing this package registers the TDE bbox head and cascade / HTC RoI heads in
``mmdet.registry.MODELS`` (with ``BBoxHeadEQLV2Loss``, a usable EQLv2 baseline), the
``EmojiLVISDataset`` in ``mmdet.registry.DATASETS``, ``StrictLVISMetric`` and the ``EMAFeatureHook`` (``mmtde.engine``)
in mmengine's root registries, and makes the official LVIS API run on numpy >= 1.24 (scoped to
the ``lvis`` modules, see :mod:`mmtde.evaluation.lvis_compat`): every detection config needs
the last, so it happens where every config already points.
"""
from mmtde import engine  # noqa: F401  (registers EMAFeatureHook)
from mmtde.evaluation.lvis_compat import patch_lvis_numpy

from .datasets import EmojiLVISDataset
from .evaluation import StrictLVISMetric
from .losses import BBoxHeadEQLV2Loss
from .roi_heads import (CausalNormClassifier, CausalNormShared2FCBBoxHead, TDECascadeRoIHead,
                        TDEHybridTaskCascadeRoIHead)

patch_lvis_numpy()

__all__ = [
    'CausalNormClassifier', 'CausalNormShared2FCBBoxHead', 'TDECascadeRoIHead',
    'TDEHybridTaskCascadeRoIHead', 'StrictLVISMetric', 'patch_lvis_numpy', 'EmojiLVISDataset',
    'BBoxHeadEQLV2Loss'
]
