# Copyright (c) mmtde contributors. All rights reserved.
"""Alias of :mod:`mmtde.evaluation.lvis.numpy_patch` and
:mod:`mmtde.evaluation.lvis.annotation_checks`, kept for code that imports this old path.

LVIS evaluation lives in :mod:`mmtde.evaluation.lvis`; import from there.
"""
from .lvis.annotation_checks import LVIS_FREQUENCIES, check_classes_match, check_lvis_categories
from .lvis.numpy_patch import LVIS_NUMPY_MODULES, REMOVED_NUMPY_ALIASES, patch_lvis_numpy

__all__ = [
    'LVIS_FREQUENCIES', 'LVIS_NUMPY_MODULES', 'REMOVED_NUMPY_ALIASES', 'check_classes_match',
    'check_lvis_categories', 'patch_lvis_numpy'
]
