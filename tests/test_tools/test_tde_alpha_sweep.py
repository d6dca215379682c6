# Copyright (c) mmtde contributors. All rights reserved.
"""The cached-feature alpha sweep equals plain tools/test.py runs at the same alpha."""
import json
import os.path as osp
import pickle
import re
import sys

import pytest
import torch

from mmtde_test_utils import REPO, run_cmd, runner_features

SWEEP = osp.join(REPO, 'tools/analysis/tde_alpha_sweep.py')


def printed_metrics(text):
    line = [ln for ln in text.splitlines() if 'lt/top1:' in ln][-1]
    return {k: float(v) for k, v in re.findall(r'lt/(\w+): ([\d.]+)', line)}


@pytest.fixture
def trained(tiny_cls_cfg, tmp_path):
    run_cmd([sys.executable, osp.join(REPO, 'tools/train.py'), tiny_cls_cfg, '--work-dir',
             str(tmp_path / 'work')])
    return tiny_cls_cfg, str(tmp_path / 'work' / 'epoch_3.pth')


def test_sweep_matches_test_py(trained, tmp_path):
    cfg, ckpt = trained
    alphas = ['0', '0.5', '2']
    out = run_cmd([sys.executable, SWEEP, cfg, ckpt, '--split', 'test', '--alphas', *alphas,
                   '--out-dir', str(tmp_path / 'sweep')])
    assert 'best overall accuracy on the test split' in out.stdout
    assert osp.getsize(tmp_path / 'sweep' / 'alpha_sweep.png') > 1000
    swept = json.load(open(tmp_path / 'sweep' / 'alpha_sweep.json'))
    rows = swept['rows']
    # The tool must see the features test.py sees: a continuous check (predictions alone hide
    # a missing normalisation on these easy images).
    from mmtde.cls.tde_sweep import mean_cosine
    model, feats = runner_features(cfg, ckpt, tmp_path / 'runner', 'test')
    assert swept['mean_cos'] == pytest.approx(mean_cosine(model.head, feats).mean().item(),
                                              abs=1e-5)
    for alpha, row in zip(alphas, rows):
        dump = tmp_path / f'preds_{alpha}.pkl'
        res = run_cmd([sys.executable, osp.join(REPO, 'tools/test.py'), cfg, ckpt,
                       '--work-dir', str(tmp_path / f'test_{alpha}'), '--out', str(dump),
                       '--cfg-options', f'model.head.alpha={alpha}'])
        metrics = printed_metrics(res.stdout + res.stderr)
        for key, value in metrics.items():
            assert row[key] == pytest.approx(value, abs=1e-3), (alpha, key)
        # and sample by sample, through the python API the tool uses
        with open(dump, 'rb') as f:
            dumped = [int(s['pred_label']) for s in pickle.load(f)]
        assert len(dumped) == 16
        preds = sweep_predictions(model, feats, float(alpha))
        assert preds == dumped


def sweep_predictions(model, feats, alpha):
    from mmtde.cls.tde_sweep import head_logits
    with torch.no_grad():
        return head_logits(model.head, feats, alpha).argmax(1).tolist()
