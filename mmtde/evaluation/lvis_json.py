# Copyright (c) mmtde contributors. All rights reserved.
"""Alias of :mod:`mmtde.evaluation.lvis.json_reader`, kept for code that imports this old path.

LVIS evaluation lives in :mod:`mmtde.evaluation.lvis`; import from there.
"""
from mmtde.evaluation.lvis.json_reader import read_lvis_json, training_image_counts

__all__ = ['read_lvis_json', 'training_image_counts']
