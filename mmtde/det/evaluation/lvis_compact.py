# Copyright (c) mmtde contributors. All rights reserved.
"""Alias of :mod:`mmtde.evaluation.lvis.compact_detections`, kept for code that imports
this old path.

LVIS evaluation lives in :mod:`mmtde.evaluation.lvis`; import from there.
"""
from mmtde.evaluation.lvis.compact_detections import IOU_TYPES, chunk_annotations, compact_image

__all__ = ['IOU_TYPES', 'chunk_annotations', 'compact_image']
