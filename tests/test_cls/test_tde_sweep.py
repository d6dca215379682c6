# Copyright (c) mmtde contributors. All rights reserved.
"""sweep_alpha is sweep_correction('tde'): one sweep path, the old name kept."""
import torch
from mmpretrain.registry import MODELS

import mmtde.cls  # noqa: F401  (registers CausalNormHead)
from mmtde.cls.posthoc_sweep import sweep_correction
from mmtde.cls.tde_sweep import score_predictions, sweep_alpha


def test_sweep_alpha_is_the_tde_sweep():
    torch.manual_seed(0)
    head = MODELS.build(dict(type='CausalNormHead', num_classes=4, in_channels=8))
    head.fc.feat_ema.update(torch.rand(16, 8))
    feats, labels = torch.randn(40, 8), torch.arange(40) % 4
    alphas = [0.0, 1.0, 2.5]
    # a class without training images: TDE needs no class prior, so the sweep must not ask one
    counts = [120, 40, 5, 0]
    expected = [dict(alpha=a, **score_predictions(head.fc.tde_logits(feats, a).argmax(1),
                                                  labels, counts)) for a in alphas]
    assert sweep_alpha(head, feats, labels, alphas, counts) == expected
    assert sweep_correction(head, feats, labels, 'tde', alphas, counts) == expected
    assert [r['alpha'] for r in expected] == alphas and expected[0] != expected[2]
