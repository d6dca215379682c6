# Copyright (c) mmtde contributors. All rights reserved.
"""Alias of :mod:`mmtde.evaluation.lvis.detection_caps`, kept for code that imports this old path.

LVIS evaluation lives in :mod:`mmtde.evaluation.lvis`; import from there.
"""
from mmtde.evaluation.lvis.detection_caps import (
    FIXED_AP_DETS_PER_CAT,
    MAX_DETS_PER_IMAGE,
    top_per_category,
    top_per_image,
)

__all__ = ['FIXED_AP_DETS_PER_CAT', 'MAX_DETS_PER_IMAGE', 'top_per_category', 'top_per_image']
