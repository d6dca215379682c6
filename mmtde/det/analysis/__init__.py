# Copyright (c) mmtde contributors. All rights reserved.
"""Analysis of trained two-stage detectors: NorCal's gamma sweep and the class-rank diagnostic
(used by ``tools/analysis/norcal_gamma_sweep.py`` and ``tools/analysis/class_rank.py``), and
the config loading both do first (:func:`load_model_config`)."""
from .class_rank import alpha_variants, class_groups, run_class_rank
from .model_config import load_model_config
from .norcal_sweep import format_gamma_table, pick_gamma, run_gamma_sweep, sweep_gamma
from .roi_outputs import (
    cache_roi_outputs,
    ground_truth_loader_cfg,
    gt_box_scores,
    predict_from_cache,
)

__all__ = [
    'cache_roi_outputs', 'predict_from_cache', 'gt_box_scores', 'ground_truth_loader_cfg',
    'sweep_gamma', 'pick_gamma', 'format_gamma_table', 'run_gamma_sweep',
    'run_class_rank', 'class_groups', 'alpha_variants', 'load_model_config'
]
