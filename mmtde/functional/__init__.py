# Copyright (c) mmtde contributors. All rights reserved.
"""The TDE maths and the post-hoc corrections in pure torch (no OpenMMLab import).

The public API is what heads, tools and users call: the two classifier modules, the TDE logits
and the moving-average update as functions, and the post-hoc baselines. The building blocks
(``split_heads``, ``normalize_weight``, ``fold_tde_weight``, the validators, ...) stay in their
modules (:mod:`mmtde.functional.tde`, ``.causal_norm``, ``.moving_average``, ``.posthoc``).
"""
from .causal_norm import CausalNormLinear
from .moving_average import MovingAverageFeature, moving_average_step
from .posthoc import adjust_logits, log_class_prior, tau_normalize_weight, tau_normalized_logits
from .prior_shift import (
    Calibration,
    PriorEstimate,
    bbse_prior,
    em_prior,
    fit_calibration,
    reweighted_accuracy,
    total_variation,
)
from .tde import (
    background_exempted_log_probs,
    causal_norm_logits,
    normalize_feature,
    tde_logits,
    tde_projection,
)

__all__ = [
    'CausalNormLinear', 'MovingAverageFeature', 'causal_norm_logits', 'tde_logits',
    'tde_projection', 'normalize_feature', 'background_exempted_log_probs',
    'moving_average_step', 'adjust_logits', 'log_class_prior', 'tau_normalize_weight',
    'tau_normalized_logits', 'Calibration', 'PriorEstimate', 'bbse_prior', 'em_prior',
    'fit_calibration', 'reweighted_accuracy', 'total_variation'
]
