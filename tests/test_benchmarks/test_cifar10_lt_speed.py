# Copyright (c) mmtde contributors. All rights reserved.
import json

import cifar10_lt_speed as speed
import pytest
import torch
from torch import nn


def test_forward_flops_counts_convolutions_and_linears_by_hand():
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(),
                          nn.Conv2d(4, 8, 3, stride=2, padding=1, groups=2), nn.Flatten(),
                          nn.Linear(8 * 3 * 3, 5))
    # 2 x MACs: 4 x 5 x 5 outputs x 3 x 9; 8 x 3 x 3 outputs x 2 x 9; 5 outputs x 72
    expected = 2 * (4 * 25 * 27 + 8 * 9 * 18 + 5 * 72)
    assert speed.forward_flops(model, torch.randn(1, 3, 5, 5)) == expected
    assert speed.forward_flops(model, torch.randn(2, 3, 5, 5)) == 2 * expected


def test_resnet32_step_variants_report_consistent_figures(tmp_path):
    out = tmp_path / 'speed.json'
    res = speed.main(['--threads', '1', '--batch', '4', '--steps', '1', '--warmup', '0',
                      '--variants', 'fp32', 'channels_last', '--out', str(out)])
    # ResNet-32 (BBN) forward at 32 x 32: ~0.07 GMAC, i.e. ~0.14 GFLOP an image
    assert 0.1 < res['forward_gflop_per_image'] < 0.2
    assert set(res['step']) == {'fp32', 'channels_last'}
    best = max(v['gflops'] for v in res['peak'].values())
    for fig in res['step'].values():
        assert fig['ms'] > 0
        assert fig['gflops'] == pytest.approx(
            3 * res['forward_gflop_per_image'] * 4 / fig['ms'] * 1e3)
        assert fig['of_sgemm_peak'] == pytest.approx(fig['gflops'] / best)
    assert json.loads(out.read_text())['step'].keys() == res['step'].keys()
    assert '| channels_last |' in (tmp_path / 'speed.md').read_text()  # beside the JSON


def test_bad_arguments_are_refused():
    with pytest.raises(SystemExit):
        speed.parse_args(['--batch', '0'])


def test_bfloat16_variants_are_skipped_where_the_cpu_would_emulate_them(monkeypatch, tmp_path):
    import mmtde.engine
    monkeypatch.setattr(mmtde.engine, 'bf16_supported', lambda device_type: False)
    res = speed.main(['--threads', '1', '--batch', '2', '--steps', '1', '--warmup', '0',
                      '--variants', 'bf16+channels_last', 'fp32', '--work-dir', str(tmp_path)])
    assert json.loads((tmp_path / 'results.json').read_text())['step'].keys() == res['step'].keys()
    assert 'no native bfloat16' in res['step']['bf16+channels_last']['skipped']
    assert res['step']['fp32']['ms'] > 0
