# Copyright (c) mmtde contributors. All rights reserved.
"""benchmarks/cifar10_lt_epochs.py: the last and the best epoch of a run, from its logs."""
import json
import os.path as osp
import shutil

import cifar10_lt_epochs as epochs
import pytest

from mmtde_test_utils import REPO

SHIPPED_RUN = osp.join(REPO, 'docs/results/cifar10_lt_200e/train_scalars.json')


def _log(work, stamp, records):
    path = work / stamp / 'vis_data'
    path.mkdir(parents=True)
    with open(path / 'scalars.json', 'w') as f:
        f.writelines(json.dumps(r) + '\n' for r in records)


def _val(step, top1, many=50.0):
    return {'lt/top1': top1, 'lt/many': many, 'lt/medium': 40.0, 'data_time': 0.0,
            'step': step}


def test_resumed_run_every_epoch_from_the_first_step(tmp_path):
    train = {'lr': 0.1, 'loss': 1.0, 'epoch': 1, 'iter': 10, 'step': 10}
    # the first start evaluated epochs 10 and 20; the second went back to an earlier checkpoint
    # and evaluated 20 again (its value wins), then every epoch from the step (20) to 23
    _log(tmp_path, '20261207_100000', [train, _val(10, 30.0), _val(20, 61.0)])
    _log(tmp_path, '20261207_120000', [train, _val(20, 60.0), _val(21, 70.0, many=80.0),
                                       _val(22, 70.0), _val(23, 69.5)])
    evals = epochs.read_evaluations(str(tmp_path), 'lt/top1')
    assert sorted(evals) == [10, 20, 21, 22, 23] and evals[20]['lt/top1'] == 60.0
    assert 'data_time' not in evals[20]
    res = epochs.select_epochs(evals, 'lt/top1', first_step=20)
    assert res['last_epoch'] == dict(epoch=23, **{'lt/top1': 69.5, 'lt/many': 50.0,
                                                  'lt/medium': 40.0})
    # a tie keeps the earlier epoch, as the authors' strict `acc1 > best_acc1`
    assert res['best_epoch']['epoch'] == 21 and res['best_epoch']['lt/many'] == 80.0
    assert res['every_epoch_from'] == 20 and res['complete']
    assert not epochs.select_epochs(evals, 'lt/top1', first_step=19)['complete']
    lines = epochs.format_markdown(res)
    assert any(line.startswith(f'| {epochs.LAST} | 23 | 69.50 | 50.00 | 40.00 |')
               for line in lines)
    assert any(line.startswith(f'| {epochs.BEST} | 21 | 70.00 | 80.00 |') for line in lines)


def test_first_lr_step_of_the_configs():
    from mmtde.utils import load_config
    for name, step in (('resnet32-causalnorm-tde_1xb256-200e_cifar10-lt-if100', 120),
                       ('resnet32-ce_1xb128-ldam-erm-200e_cifar10-lt-if100', 160)):
        cfg = load_config(osp.join(REPO, 'configs/cifar_lt', name + '.py'))
        assert epochs.first_lr_step(cfg.param_scheduler) == step
    assert epochs.first_lr_step(dict(type='CosineAnnealingLR', T_max=90)) is None


def test_the_shipped_200_epoch_run(tmp_path):
    """The causal-norm run of docs/results, validated every 10 epochs only (before the configs
    validated every epoch from the lr step): its last epoch is the published 74.73."""
    (tmp_path / '20261203_091428' / 'vis_data').mkdir(parents=True)
    shutil.copy(SHIPPED_RUN, tmp_path / '20261203_091428' / 'vis_data' / 'scalars.json')
    res = epochs.main([str(tmp_path)])  # no config there: no first lr step, no seed
    assert res['last_epoch']['epoch'] == 200
    assert res['last_epoch']['lt/top1'] == pytest.approx(74.73)
    assert (res['best_epoch']['epoch'], res['best_epoch']['lt/top1']) == (150, 75.0)
    assert res['evaluated_epochs'] == list(range(10, 201, 10))
    with open(tmp_path / 'results.json') as f:
        assert json.load(f)['best_epoch']['epoch'] == 150
    assert epochs.BEST in (tmp_path / 'results.md').read_text()


def test_a_run_without_validation_says_so(tmp_path):
    _log(tmp_path, '20261207_100000', [{'lr': 0.1, 'loss': 1.0, 'step': 10}])
    with pytest.raises(SystemExit, match='no validation'):
        epochs.main([str(tmp_path)])
