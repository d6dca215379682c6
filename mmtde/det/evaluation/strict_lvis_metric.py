# Copyright (c) mmtde contributors. All rights reserved.
"""Alias of :mod:`mmtde.evaluation.lvis.strict_lvis_metric`, kept for code that imports
this old path.

LVIS evaluation lives in :mod:`mmtde.evaluation.lvis`; import from there.
"""
from mmtde.evaluation.lvis.strict_lvis_metric import PER_CLASS_FILE, StrictLVISMetric

__all__ = ['PER_CLASS_FILE', 'StrictLVISMetric']
