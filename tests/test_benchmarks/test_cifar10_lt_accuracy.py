# Copyright (c) mmtde contributors. All rights reserved.
import glob
import json
import os
import os.path as osp

import pytest

import cifar10_lt_accuracy as bench
from mmtde.cls.datasets import long_tail_counts
from test_cifar10_arrays import write_npz


def test_help_names_the_flags(capsys):
    with pytest.raises(SystemExit):
        bench.parse_args(['--help'])
    out = capsys.readouterr().out
    for flag in ('--full', '--data-root', '--data-dir', '--work-dir', '--out',
                 '--imbalance-factors', '--heldout-per-class'):
        assert flag in out
    # --data-dir stays an alias of --data-root, for old commands
    assert bench.parse_args(['--data-dir', 'x']).data_root == 'x'


def test_micro_run_writes_table_json_and_pictures(tmp_path):
    data = tmp_path / 'data'
    data.mkdir()
    write_npz(data / 'cifar10-uint8.npz', per_class_train=20, per_class_test=3)
    work = tmp_path / 'work'
    bench.main(['--data-root', str(data), '--work-dir', str(work), '--imbalance-factors', '4',
                '--epochs', '1', '--batch-size', '32', '--heldout-per-class', '4',
                '--alphas', '0', '1', '0.5', '--threads', '1'])
    with open(work / 'results.json') as f:
        res = json.load(f)['results']['4']
    keys = [r['key'] for r in res['rows']]
    assert keys == ['ce', 'tde_off', 'tde_paper', 'tde_heldout', 'tde_rule']
    assert res['class_counts'] == long_tail_counts(16, 10, 4)  # 20 a class, 4 held out
    assert [r['alpha'] for r in res['sweep_heldout']] == [0.0, 0.5, 1.0]
    # the pick is the best of the held-out sweep (ties to the smaller alpha), never the test's
    best = max(res['sweep_heldout'], key=lambda r: (r['top1'], -r['alpha']))
    assert res['alpha_picked'] == best['alpha']
    assert res['rows'][3]['alpha'] == best['alpha']
    assert res['rows'][3]['top1'] == next(r['top1'] for r in res['sweep_test']
                                          if r['alpha'] == best['alpha'])
    # TDE off is the sweep's alpha = 0 row on the test set, the same checkpoint.
    assert res['rows'][1]['top1'] == res['sweep_test'][0]['top1']
    assert len(res['cos_test']) == 30
    table = (work / 'results.md').read_text()
    assert '| linear CE (baseline) |' in table and 'IF 4' in table
    for png in ('cifar10lt_per_class_if4.png', 'cifar10lt_alpha_sweep.png',
                'cifar10lt_cos_hist.png'):
        assert osp.getsize(work / png) > 1000
    # --resume reuses a run only if it was made with the same settings
    caches = sorted(glob.glob(str(work / 'if4_*' / 'eval_cache.pth')))
    stamps = [os.path.getmtime(c) for c in caches]
    bench.main(['--data-dir', str(data), '--work-dir', str(work), '--imbalance-factors', '4',
                '--epochs', '1', '--batch-size', '32', '--heldout-per-class', '4',
                '--alphas', '0', '1', '0.5', '--threads', '1', '--resume',
                '--methods', 'causalnorm'])
    assert os.path.getmtime(caches[0]) == stamps[0]  # if4_causalnorm: reused
    bench.main(['--data-dir', str(data), '--work-dir', str(work), '--imbalance-factors', '4',
                '--epochs', '2', '--batch-size', '32', '--heldout-per-class', '4',
                '--alphas', '0', '1', '0.5', '--threads', '1', '--resume',
                '--methods', 'causalnorm'])
    assert os.path.getmtime(caches[0]) > stamps[0]  # other epochs: trained again
    with open(work / 'results.json') as f:
        assert json.load(f)['results']['4']['epochs']['causalnorm'] == 2


@pytest.mark.parametrize('epochs', [1, 2, 8])
def test_the_short_schedule_comes_from_its_config(tmp_path, epochs):
    """One warm-up epoch from lr/3, then cosine to 0 at the last epoch (mmengine's default
    end); a single epoch is all cosine."""
    args = bench.parse_args(['--epochs', str(epochs)])
    cfg = bench.build_cfg(args, 'causalnorm', '100', str(tmp_path / 'x.npz'), str(tmp_path))
    assert cfg.train_cfg.max_epochs == epochs
    expected = [dict(type='LinearLR', start_factor=1 / 3, by_epoch=True, begin=0, end=1,
                     convert_to_iter_based=True),
                dict(type='CosineAnnealingLR', by_epoch=True, begin=1, eta_min=0,
                     convert_to_iter_based=True)]
    if epochs == 1:
        expected = [dict(expected[1], begin=0)]
    assert [dict(s) for s in cfg.param_scheduler] == expected
    assert cfg.optim_wrapper.optimizer.lr == 0.1 and cfg.train_dataloader.batch_size == 128


@pytest.mark.parametrize('precision, wrapper', [('fp32', 'OptimWrapper'),
                                                ('bf16', 'BF16OptimWrapper')])
def test_precision_selects_the_optim_wrapper(tmp_path, precision, wrapper):
    args = bench.parse_args(['--precision', precision])
    cfg = bench.build_cfg(args, 'causalnorm', '100', str(tmp_path / 'x.npz'), str(tmp_path))
    assert cfg.optim_wrapper.get('type', 'OptimWrapper') == wrapper  # mmengine's default
    with pytest.raises(SystemExit):
        bench.parse_args(['--precision', 'fp16'])
