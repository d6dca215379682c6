# Copyright (c) mmtde contributors. All rights reserved.
"""The cached-feature alpha sweep equals plain tools/test.py runs at the same alpha."""
import glob
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


@pytest.mark.parametrize('split, match', [
    ('val', 'is its test set'),  # the tiny config, like CIFAR-LT's, validates on its test set
    ('heldout', r'holds nothing out \(train_dataloader.dataset.heldout_per_class=0\)'),
])
def test_refuses_to_choose_alpha_on_the_test_set(tiny_cls_cfg, tmp_path, split, match):
    # refused before the checkpoint is even read
    with pytest.raises(AssertionError, match=match):
        run_cmd([sys.executable, SWEEP, tiny_cls_cfg, str(tmp_path / 'never_read.pth'),
                 '--split', split, '--out-dir', str(tmp_path / 'sweep')])
    assert not (tmp_path / 'sweep').exists()


def test_heldout_split_of_a_model_trained_with_it(tiny_folder, tmp_path):
    from mmtde_test_utils import tiny_cls_cfg_text
    cfg = tmp_path / 'held.py'
    cfg.write_text(tiny_cls_cfg_text(tiny_folder, extra='train_cfg.update(max_epochs=1)\n'))
    # the README's recipe: hold out with --cfg-options, sweep with the config dumped by mmengine
    train = [sys.executable, osp.join(REPO, 'tools/train.py'), str(cfg), '--work-dir',
             str(tmp_path / 'work'), '--cfg-options',
             'train_dataloader.dataset.heldout_per_class=2']
    # held out in training only: the evaluated split would describe another subset
    with pytest.raises(AssertionError, match=r'the training set ImageFolderLT has class counts '
                       r'\[6, .* but the validation set ImageFolderLT describes \[8, '):
        run_cmd(train)
    assert not glob.glob(str(tmp_path / 'work' / '*.pth'))
    run_cmd(train + ['val_dataloader.dataset.heldout_per_class=2',
                     'test_dataloader.dataset.heldout_per_class=2'])
    dumped = str(tmp_path / 'work' / 'held.py')
    out = run_cmd([sys.executable, SWEEP, dumped, str(tmp_path / 'work' / 'epoch_1.pth'),
                   '--split', 'heldout', '--alphas', '0', '1', '--out-dir',
                   str(tmp_path / 'sweep')])
    # 2 of the 8 training images of each of the 4 classes, never trained on
    assert 'extracting features of the heldout split (8 images)' in out.stdout
    assert 'best overall accuracy on the heldout split' in out.stdout
    swept = json.load(open(tmp_path / 'sweep' / 'alpha_sweep.json'))
    assert swept['split'] == 'heldout' and len(swept['rows']) == 2
