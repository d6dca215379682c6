# Copyright (c) mmtde contributors. All rights reserved.
from .causal_norm import CausalNormLinear, check_hparam
from .moving_average import MovingAverageFeature, check_mu
from .posthoc import (
    adjust_logits,
    check_correction_tau,
    log_class_prior,
    tau_normalize_weight,
    tau_normalized_logits,
)
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
    EPS,
    background_exempted_log_probs,
    causal_norm_logits,
    fold_tde_weight,
    head_cosine,
    moving_average_step,
    normalize_feature,
    normalize_weight,
    normalized_logits,
    remove_momentum_effect,
    split_heads,
    tde_logits,
    tde_projection,
    update_moving_average,
)

__all__ = [
    'EPS', 'split_heads', 'normalize_feature', 'normalize_weight', 'tde_projection',
    'remove_momentum_effect', 'fold_tde_weight', 'normalized_logits', 'causal_norm_logits',
    'tde_logits', 'head_cosine', 'background_exempted_log_probs', 'moving_average_step',
    'update_moving_average', 'MovingAverageFeature', 'check_mu', 'CausalNormLinear',
    'check_hparam', 'adjust_logits', 'check_correction_tau', 'log_class_prior',
    'tau_normalize_weight', 'tau_normalized_logits', 'Calibration', 'PriorEstimate',
    'bbse_prior', 'em_prior', 'fit_calibration', 'reweighted_accuracy', 'total_variation'
]
