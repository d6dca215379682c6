# Copyright (c) mmtde contributors. All rights reserved.
"""Alias of :mod:`mmtde.evaluation.lvis.strict_lvis_metric`, kept for code that imports
``StrictLVISMetric`` from this old path.

LVIS evaluation lives in :mod:`mmtde.evaluation.lvis`; import from there.
"""
from mmtde.evaluation.lvis.strict_lvis_metric import StrictLVISMetric

__all__ = ['StrictLVISMetric']
