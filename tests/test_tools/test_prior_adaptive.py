# Copyright (c) mmtde contributors. All rights reserved.
"""Prior-adaptive alpha / tau: ``tools/test.py --prior-adaptive`` end to end on a tiny model,
and the adaptive rows of ``tde_alpha_sweep.py --test-priors``, each choice recomputed here
from the features, the held-out labels and the estimated prior."""
import json
import os
import os.path as osp
import pickle
import re
import runpy
import sys

import numpy as np
import pytest
import torch

from mmtde_test_utils import REPO, TINY_CLASSES, run_cmd, tiny_cls_cfg_text

SWEEP = osp.join(REPO, 'tools/analysis/tde_alpha_sweep.py')
TEST = osp.join(REPO, 'tools/test.py')
CE_CFG = osp.join(REPO, 'configs/cifar_lt/resnet32-ce_1xb256-200e_cifar10-lt-if100.py')
HELDOUT = '''
train_dataloader['dataset']['heldout_per_class'] = 4
val_dataloader['dataset']['heldout_per_class'] = 4
'''
GRID = [round(0.1 * i, 1) for i in range(31)]  # the default grid of tools/test.py


@pytest.fixture(scope='module')
def folder(tmp_path_factory):
    """20 training and 30 test images a class (16x16): 4 held out, 16 ... 4 trained on
    (imbalance 4), and test sets large enough for an estimate (forward3: 30, 20, 14, 10)."""
    import cv2
    root = tmp_path_factory.mktemp('prior_folder')
    rng = np.random.default_rng(0)
    for split, per_class in (('train', 20), ('test', 30)):
        for c, name in enumerate(TINY_CLASSES):
            os.makedirs(root / split / name)
            for i in range(per_class):
                img = rng.integers(0, 90, (16, 16, 3), dtype=np.uint8)
                img[..., c % 3] += np.uint8(60 + 50 * (c // 3))
                cv2.imwrite(str(root / split / name / f'{i:03d}.png'), img)
    return str(root)


@pytest.fixture(params=['causal_norm', 'linear'])
def setup(request, folder, tmp_path):
    """A tiny config with a held-out split and a checkpoint of random weights (the adaptation
    needs a classifier, not a trained one); the linear head leans to the head classes."""
    from mmengine.runner import Runner

    from mmtde.utils import load_config
    cfg_path = tmp_path / f'{request.param}.py'
    base = {'base': CE_CFG} if request.param == 'linear' else {}
    cfg_path.write_text(tiny_cls_cfg_text(folder, extra=HELDOUT, **base))
    torch.manual_seed(0)
    cfg = load_config(str(cfg_path))
    cfg.work_dir = str(tmp_path / 'runner')
    model = Runner.from_cfg(cfg).model
    with torch.no_grad():
        if request.param == 'linear':
            model.head.fc.bias.copy_(torch.tensor([2.0, 1.0, 0.0, -1.0]))
        else:
            ema = model.head.fc.feat_ema
            ema.d.copy_(torch.rand(ema.d.shape, generator=torch.Generator().manual_seed(1)))
            ema.num_updates.fill_(1)
    ckpt = str(tmp_path / 'model.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    return request.param, str(cfg_path), ckpt, cfg, model


def split_features(cfg, model, split, test_prior=None):
    from mmengine.runner import Runner

    from mmtde.cls.tde_sweep import extract_features
    dataset = dict(cfg.test_dataloader.dataset, split=split, test_prior=test_prior)
    loader = Runner.build_dataloader(dict(cfg.test_dataloader, dataset=dataset))
    return extract_features(model, loader, progress=False)


def logits_at(model, kind, feats, value, train_counts):
    """TDE at ``value`` (causal norm) or ``logits - value log pi_train`` (linear)."""
    from mmtde.cls.posthoc_sweep import correction_logits
    from mmtde.functional import log_class_prior
    correction = 'tde' if kind == 'causal_norm' else 'logit_adjustment'
    return correction_logits(model.head, feats, correction, value,
                             log_class_prior(train_counts))


def expected_choice(model, kind, held, held_labels, test_feats, train_counts, grid=GRID):
    """The estimate and the choice restated: fixed value on plain held-out accuracy, EM on
    BCTS-calibrated logits of the estimator's classifier, then sum_c q_c acc_c per value."""
    from mmtde.functional import em_prior, fit_calibration
    per_class = np.array([[(logits_at(model, kind, held, v, train_counts).argmax(1)
                            == held_labels)[held_labels == c].double().mean().item()
                           for c in range(4)] for v in grid])
    prior_h = np.bincount(held_labels.numpy(), minlength=4) / len(held_labels)

    def best(q):
        score = per_class @ q
        return grid[max(range(len(grid)), key=lambda i: (round(100 * score[i], 9), -grid[i]))]

    fixed = best(prior_h)
    base = fixed if kind == 'causal_norm' else 0.0
    cal = fit_calibration(logits_at(model, kind, held, base, train_counts), held_labels)
    est = em_prior(cal.log_probs(logits_at(model, kind, test_feats, base, train_counts)),
                   torch.from_numpy(prior_h))
    return fixed, est, best(est.prior.numpy())


def test_test_py_estimates_the_prior_and_uses_its_choice(setup, tmp_path):
    kind, cfg_path, ckpt, cfg, model = setup
    work = tmp_path / 'test'
    dump = tmp_path / 'preds.pkl'
    res = run_cmd([sys.executable, TEST, cfg_path, ckpt, '--work-dir', str(work), '--out',
                   str(dump), '--prior-adaptive', 'em', '--cfg-options',
                   'test_dataloader.dataset.test_prior=forward3'])
    log = res.stdout + res.stderr
    chosen = json.load(open(next(work.glob('*/prior_adaptive.json'))))
    param = 'alpha' if kind == 'causal_norm' else 'tau'
    assert chosen['correction'] == ('tde' if kind == 'causal_norm' else 'logit_adjustment')
    assert chosen['test_size'] == 74 and chosen['fallback'] is None and chosen['converged']
    # logged: the estimated prior and the value chosen for it
    printed = re.search(r'prior-adaptive \(em, 74 test samples\): estimated test prior '
                        r'\[([\d., ]+)\]', log)
    assert printed, log[-3000:]
    assert [float(p) for p in printed.group(1).split(',')] == pytest.approx(chosen['prior'],
                                                                             abs=6e-4)
    assert (f"prior-adaptive: {param}={chosen['value']:g} for this test prior (held-out "
            f"choice {chosen['heldout_value']:g})") in log

    # the same choice restated from the features
    train_counts = [16, 10, 6, 4]
    held, held_labels = split_features(cfg, model, 'heldout')
    test_feats, _ = split_features(cfg, model, 'test', 'forward3')
    assert len(held_labels) == 16 and len(test_feats) == 74
    fixed, est, value = expected_choice(model, kind, held, held_labels, test_feats, train_counts)
    assert chosen['heldout_value'] == fixed
    assert chosen['prior'] == pytest.approx(est.prior.tolist(), abs=1e-6)
    assert chosen['value'] == value
    # and the test loop scored the model at that value, sample by sample
    with open(dump, 'rb') as f:
        dumped = [int(s['pred_label']) for s in pickle.load(f)]
    with torch.no_grad():
        expected = logits_at(model, kind, test_feats, value, train_counts).argmax(1).tolist()
    assert dumped == expected


@pytest.mark.parametrize('setup', ['causal_norm'], indirect=True)
def test_test_py_falls_back_on_a_test_set_too_small(setup, tiny_folder, tmp_path):
    _, _, ckpt, _, _ = setup  # the same network, on the 16 test images of the tiny folder
    cfg_path = tmp_path / 'small.py'
    cfg_path.write_text(tiny_cls_cfg_text(tiny_folder, extra=HELDOUT.replace('4', '2')))
    work = tmp_path / 'test'
    res = run_cmd([sys.executable, TEST, str(cfg_path), ckpt, '--work-dir', str(work),
                   '--prior-adaptive', 'bbse'])
    chosen = json.load(open(next(work.glob('*/prior_adaptive.json'))))
    assert chosen['test_size'] == 16 and chosen['estimator'] == 'bbse'
    assert chosen['fallback'] == 'the test set has 16 samples, fewer than 10 a class'
    assert chosen['value'] == chosen['heldout_value']
    assert (f"the test set has 16 samples, fewer than 10 a class; falling back to the held-out "
            f"choice alpha={chosen['value']:g}") in res.stdout + res.stderr


def test_test_py_without_a_heldout_split_names_the_fix(folder, tmp_path):
    cfg_path = tmp_path / 'cfg.py'
    cfg_path.write_text(tiny_cls_cfg_text(folder))
    with pytest.raises(AssertionError, match=r'--prior-adaptive: the training set of .* holds '
                       r'nothing out \(train_dataloader.dataset.heldout_per_class=0\).*'
                       r'heldout_per_class=50'):
        run_cmd([sys.executable, TEST, str(cfg_path), str(tmp_path / 'never_read.pth'),
                 '--work-dir', str(tmp_path / 'test'), '--prior-adaptive', 'em'])


@pytest.mark.parametrize('setup', ['causal_norm'], indirect=True)
def test_sweep_scores_fixed_adaptive_and_hindsight_on_shifted_sets(setup, tmp_path,
                                                                   monkeypatch, capsys):
    kind, cfg_path, ckpt, cfg, model = setup
    out = tmp_path / 'sweep'
    alphas = ['0', '0.5', '1', '1.5', '2', '3']
    taus = ['0', '1', '2']
    monkeypatch.setattr(sys, 'argv', [SWEEP, cfg_path, ckpt, '--split', 'heldout', '--alphas',
                                      *alphas, '--la-taus', *taus, '--test-priors', 'forward3',
                                      'uniform', 'backward3', '--out-dir', str(out)])
    runpy.run_path(SWEEP, run_name='__main__')
    printed = capsys.readouterr().out
    res = json.load(open(out / 'corrections.json'))['prior_adaptive']
    assert osp.getsize(out / 'prior_adaptive.png') > 1000
    assert list(res['sets']) == ['forward3', 'uniform', 'backward3']
    assert '| TDE adaptive, EM prior |' in printed and '| TV error of the BBSE prior |' in printed

    train_counts = [16, 10, 6, 4]
    held, held_labels = split_features(cfg, model, 'heldout')
    grid = [float(a) for a in alphas]
    for name, record in res['sets'].items():
        feats, labels = split_features(cfg, model, 'test', name)
        true = np.bincount(labels.numpy(), minlength=4) / len(labels)
        assert record['true_prior'] == pytest.approx(true.tolist())
        fixed, est, value = expected_choice(model, kind, held, held_labels, feats,
                                            train_counts, grid)
        assert record['em']['prior'] == pytest.approx(est.prior.tolist(), abs=1e-6)
        for estimator in ('em', 'bbse'):
            tv = 0.5 * np.abs(np.array(record[estimator]['prior']) - true).sum()
            assert record[estimator]['tv'] == pytest.approx(tv, abs=1e-9)
        tde = record['tde']
        assert tde['fixed']['value'] == fixed and tde['adaptive_em']['value'] == value
        accs = {a: 100 * (logits_at(model, kind, feats, a, train_counts).argmax(1)
                          == labels).double().mean().item() for a in grid}
        for choice in tde.values():
            assert choice['top1'] == pytest.approx(accs[choice['value']], abs=1e-9)
        assert tde['hindsight']['top1'] == pytest.approx(max(accs.values()))
        assert tde['hindsight']['value'] == min(a for a in grid
                                                if accs[a] == max(accs.values()))
        # logit adjustment with the estimated prior plugged in (tau 1)
        from mmtde.cls.posthoc_sweep import correction_logits
        from mmtde.functional import log_class_prior
        adjusted = correction_logits(model.head, feats, 'logit_adjustment', 1.0,
                                     log_class_prior(train_counts),
                                     torch.tensor(record['em']['prior']).clamp_min(1e-12).log())
        top1 = 100 * (adjusted.argmax(1) == labels).double().mean().item()
        assert record['logit_adjustment']['estimated_prior_em']['top1'] == pytest.approx(top1)
