# Copyright (c) mmtde contributors. All rights reserved.
"""Alias of :mod:`mmtde.evaluation.lvis.per_class_ap`, kept for code that imports this old path.

LVIS evaluation lives in :mod:`mmtde.evaluation.lvis`; import from there.
"""
from mmtde.evaluation.lvis.per_class_ap import (
    GROUP_EDGES,
    per_class_ap,
    per_class_rows,
    plot_per_class_ap,
    write_per_class_json,
)

__all__ = [
    'GROUP_EDGES', 'per_class_ap', 'per_class_rows', 'plot_per_class_ap', 'write_per_class_json'
]
