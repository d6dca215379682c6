# Copyright (c) mmtde contributors. All rights reserved.
"""Alias of :mod:`mmtde.evaluation.lvis.ap_backends`, kept for code that imports this old path.

LVIS evaluation lives in :mod:`mmtde.evaluation.lvis`; import from there.
"""
from mmtde.evaluation.lvis.ap_backends import (
    BACKENDS,
    DetectionsView,
    FasterCocoEvalBackend,
    LVISAPIBackend,
    build_backend,
    summarize,
)

__all__ = [
    'BACKENDS', 'DetectionsView', 'FasterCocoEvalBackend', 'LVISAPIBackend', 'build_backend',
    'summarize'
]
