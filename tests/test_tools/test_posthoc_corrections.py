# Copyright (c) mmtde contributors. All rights reserved.
"""``tde_alpha_sweep.py --posthoc / --test-priors``: TDE against logit adjustment and tau-norm,
picked on the held-out split, scored on shifted test sets, checked by float64 hand computation.
"""
import json
import math
import os.path as osp
import runpy
import sys

import numpy as np
import pytest
import torch

from mmtde_test_utils import REPO, tiny_cls_cfg_text

SWEEP = osp.join(REPO, 'tools/analysis/tde_alpha_sweep.py')
CE_CFG = osp.join(REPO, 'configs/cifar_lt/resnet32-ce_1xb256-200e_cifar10-lt-if100.py')
# every split holds the same 2 training images a class out (as the README's recipe)
HELDOUT = '''
train_dataloader['dataset']['heldout_per_class'] = 2
val_dataloader['dataset']['heldout_per_class'] = 2
'''
TRAIN_COUNTS = [6, 3, 2, 1]  # 8 - 2 a class, imbalance 4


def build_runner(cfg_path, work_dir):
    from mmengine.runner import Runner

    from mmtde.utils import load_config
    cfg = load_config(cfg_path)
    cfg.work_dir = str(work_dir)
    return cfg, Runner.from_cfg(cfg)


@pytest.fixture(params=['causal_norm', 'linear'])
def setup(request, tiny_folder, tmp_path):
    """A tiny config with a held-out split and a checkpoint of random weights (no training:
    the corrections only need a classifier; d is set to a positive direction)."""
    cfg_path = tmp_path / f'{request.param}.py'
    base = CE_CFG if request.param == 'linear' else None
    text = tiny_cls_cfg_text(tiny_folder, extra=HELDOUT, **({'base': base} if base else {}))
    cfg_path.write_text(text)
    torch.manual_seed(0)
    cfg, runner = build_runner(cfg_path, tmp_path / 'runner')
    model = runner.model
    if request.param == 'linear':
        fit_like_ce(model.head.fc, *split_features(cfg, runner, 'train'))
    else:
        ema = model.head.fc.feat_ema
        ema.d.copy_(torch.rand(ema.d.shape, generator=torch.Generator().manual_seed(1)) + 0.1)
        ema.num_updates.fill_(1)
    ckpt = str(tmp_path / 'model.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    return request.param, str(cfg_path), ckpt, cfg, runner


def fit_like_ce(fc, feats, labels):
    """Cross-entropy on the 12 long-tailed training features, then the row norms set in
    proportion to the class sizes: the norm imbalance that CE leaves on long-tailed data,
    large enough here for tau-norm and logit adjustment to change predictions."""
    with torch.no_grad():
        fc.bias.zero_()
    optim = torch.optim.SGD([fc.weight], lr=5.0, momentum=0.9, weight_decay=5e-3)
    for _ in range(100):
        optim.zero_grad()
        torch.nn.functional.cross_entropy(fc(feats.float()), labels).backward()
        optim.step()
    with torch.no_grad():
        sizes = torch.tensor(TRAIN_COUNTS, dtype=torch.float)[:, None]
        fc.weight.mul_(sizes / fc.weight.norm(dim=1, keepdim=True))
        fc.bias.copy_(torch.tensor([0.2, 0.1, 0.0, -0.1]))  # that tau-norm leaves out


def run_sweep(monkeypatch, *args):
    monkeypatch.setattr(sys, 'argv', [SWEEP, *args])
    runpy.run_path(SWEEP, run_name='__main__')


def split_features(cfg, runner, split):
    from mmtde.cls.tde_sweep import extract_features
    loader = dict(cfg.test_dataloader, dataset=dict(cfg.test_dataloader.dataset, split=split))
    feats, labels = extract_features(runner.model, runner.build_dataloader(loader),
                                     progress=False)
    return feats.double(), labels


def reference_logits(head, feats, kind, correction, value, test_counts=None):
    """The corrections restated in float64 from the weights (independent of mmtde)."""
    prior = np.log(np.array(TRAIN_COUNTS, float) / sum(TRAIN_COUNTS))
    w = head.fc.weight.detach().double()
    if kind == 'linear':
        plain = feats @ w.t() + head.fc.bias.detach().double()
    else:  # causal norm with TDE at alpha (0 for the plain logits), K heads
        num_head, tau, gamma = head.fc.num_head, head.fc.tau, head.fc.gamma
        d = head.fc.feat_ema.d.double()
        size = feats.shape[1] // num_head
        plain = torch.zeros(feats.shape[0], w.shape[0], dtype=torch.float64)
        alpha = value if correction == 'tde' else 0.0
        for k in range(num_head):
            sl = slice(k * size, (k + 1) * size)
            x = feats[:, sl] / feats[:, sl].norm(dim=1, keepdim=True)
            dk = d[sl] / d[sl].norm()
            wk = w[:, sl] / (w[:, sl].norm(dim=1, keepdim=True) + gamma)
            x = x - alpha * (x @ dk)[:, None] * dk
            plain += tau / num_head * x @ wk.t()
    if correction in ('none', 'tde'):
        return plain
    if correction == 'tau_norm':
        return feats @ (w / w.norm(dim=1, keepdim=True) ** value).t()
    shift = -value * torch.from_numpy(prior)
    if test_counts is not None:
        shift += torch.from_numpy(np.log(np.array(test_counts, float) / sum(test_counts)))
    return plain + shift


def top1(logits, labels):
    return 100.0 * (logits.argmax(1) == labels).double().mean().item()


def test_corrections_picked_on_heldout_and_scored_on_shifted_sets(setup, tmp_path, monkeypatch,
                                                                  capsys):
    kind, cfg_path, ckpt, cfg, runner = setup
    out = tmp_path / 'sweep'
    run_sweep(monkeypatch, cfg_path, ckpt, '--split', 'heldout', '--alphas', '0', '1', '2',
              '--la-taus', '0', '0.5', '1', '2', '--taunorm-taus', '0', '0.5', '1',
              '--test-priors', 'forward2', 'uniform', 'backward2', '--out-dir', str(out))
    printed = capsys.readouterr().out
    res = json.load(open(out / 'corrections.json'))
    head = runner.model.head

    # which corrections applied, said in the JSON and printed
    if kind == 'causal_norm':
        assert res['applicable'] == ['tde', 'logit_adjustment']
        assert list(res['not_applicable']) == ['tau_norm']
        assert 'not applicable to CausalNormHead: tau_norm' in printed
        assert len(json.load(open(out / 'alpha_sweep.json'))['rows']) == 3  # as before
    else:
        assert res['applicable'] == ['logit_adjustment', 'tau_norm']
        assert list(res['not_applicable']) == ['tde']
        assert 'not applicable to LinearClsHead: tde' in printed
        assert not (out / 'alpha_sweep.json').exists()
    assert res['class_counts'] == TRAIN_COUNTS

    # every tau (and alpha) is picked on the 8 held-out images, by hand in float64
    held, held_labels = split_features(cfg, runner, 'heldout')
    assert len(held_labels) == 8
    for correction, rows in res['selection'].items():
        param = 'alpha' if correction == 'tde' else 'tau'
        accs = [top1(reference_logits(head, held, kind, correction, r[param]), held_labels)
                for r in rows]
        assert [r['top1'] for r in rows] == pytest.approx(accs, abs=1e-6), correction
        assert len(set(accs)) > 1, f'{correction}: a sweep without a choice tests nothing'
        best = max(zip(accs, [-r[param] for r in rows]))  # ties to the smaller value
        assert res['picked'][correction] == -best[1], correction

    # the shifted test sets: the protocol's counts, subsets of one pass over the 16 test images
    sets = {s['name']: s for s in res['test_sets']}
    assert sets['forward2']['class_sizes'] == [4, 3, 2, 2]
    assert sets['uniform']['class_sizes'] == [4, 4, 4, 4]
    assert sets['backward2']['class_sizes'] == [2, 2, 3, 4]
    from mmtde.cls.datasets import shifted_test_indices
    test, test_labels = split_features(cfg, runner, 'test')
    rows = {r['name']: r for r in res['rows']}
    for row in rows.values():
        for name, sizes in ((s, sets[s]['class_sizes']) for s in sets):
            idx = torch.as_tensor(shifted_test_indices(test_labels.tolist(), name, 0))
            logits = reference_logits(head, test[idx], kind, row['correction'], row['value'],
                                      sizes if row.get('test_prior') else None)
            assert row['results'][name]['top1'] == pytest.approx(
                top1(logits, test_labels[idx]), abs=1e-6), (row['name'], name)
    oracle = rows['logit adjustment with the test prior (oracle, tau 1)']
    assert oracle['correction'] == 'logit_adjustment' and oracle['value'] == 1.0
    la = res['picked']['logit_adjustment']
    assert rows[f'logit adjustment, tau picked on heldout ({la:g})']['picked_on'] == 'heldout'
    if kind == 'causal_norm':
        assert {'De-confound (alpha 0)', 'TDE, alpha 1', 'TDE, alpha 2'} <= set(rows)
    else:
        assert 'linear CE, as trained' in rows
        assert f"tau-norm, tau picked on heldout ({res['picked']['tau_norm']:g})" in rows
    # the printed table has a row per correction and a column per test set
    assert '| correction | forward2 | uniform | backward2 |' in printed
    assert all(f"| {name} |" in printed for name in rows)


def test_without_test_priors_scores_the_configured_test_split(setup, tmp_path, monkeypatch):
    kind, cfg_path, ckpt, cfg, runner = setup
    run_sweep(monkeypatch, cfg_path, ckpt, '--split', 'heldout', '--posthoc', '--alphas', '0',
              '1', '--out-dir', str(tmp_path / 'sweep'))
    res = json.load(open(tmp_path / 'sweep' / 'corrections.json'))
    assert [s['name'] for s in res['test_sets']] == ['test']
    assert res['test_sets'][0]['size'] == 16
    # the default grids
    assert [r['tau'] for r in res['selection']['logit_adjustment']][-1] == 3.0
    if kind == 'linear':
        assert len(res['selection']['tau_norm']) == 21


@pytest.mark.parametrize('setup', ['linear'], indirect=True)
def test_linear_head_without_posthoc_is_refused(setup, tmp_path, monkeypatch):
    _, cfg_path, ckpt, _, _ = setup
    with pytest.raises(TypeError, match=r'LinearClsHead is not a TDE head: .* \(--posthoc '
                       r'scores logit adjustment and tau-norm on this one\)'):
        run_sweep(monkeypatch, cfg_path, ckpt, '--split', 'heldout', '--out-dir',
                  str(tmp_path / 'sweep'))


@pytest.mark.parametrize('args, match', [
    (['--split', 'test', '--posthoc'], r'picking them on the test split itself would tune'),
    (['--split', 'test', '--test-priors', 'uniform'], r'picking them on the test split'),
    (['--split', 'heldout', '--test-priors', 'forward2', 'sideways5'],
     r"--test-priors: test_prior='sideways5' is unknown"),
    (['--split', 'heldout', '--test-priors', 'all', '--cfg-options',
      'test_dataloader.dataset.test_prior=forward2'],
     r"test_dataloader.dataset.test_prior='forward2': --test-priors draws every shifted set"),
])
def test_bad_settings_fail_before_the_checkpoint_is_read(tiny_folder, tmp_path, monkeypatch,
                                                         args, match):
    cfg_path = tmp_path / 'cfg.py'
    cfg_path.write_text(tiny_cls_cfg_text(tiny_folder, extra=HELDOUT))
    with pytest.raises(SystemExit, match=match):
        run_sweep(monkeypatch, str(cfg_path), str(tmp_path / 'never_read.pth'), *args,
                  '--out-dir', str(tmp_path / 'sweep'))
    assert not (tmp_path / 'sweep').exists()


def test_library_refuses_a_correction_that_does_not_apply():
    from mmpretrain.models.heads import LinearClsHead

    from mmtde.cls.heads import CausalNormHead
    from mmtde.cls.posthoc_sweep import applicable_corrections, correction_logits
    feats = torch.rand(3, 8)
    with pytest.raises(ValueError, match=r'tau_norm does not apply to CausalNormHead: the '
                       r'causal-norm head already divides every weight chunk by its norm'):
        correction_logits(CausalNormHead(4, 8), feats, 'tau_norm', 1.0)
    linear = LinearClsHead(4, 8)
    with pytest.raises(ValueError, match=r'tde does not apply to LinearClsHead: TDE needs'):
        correction_logits(linear, feats, 'tde', 1.0)
    with pytest.raises(ValueError, match=r"correction='la' is unknown"):
        correction_logits(linear, feats, 'la', 1.0)
    assert applicable_corrections(linear)[0] == ['logit_adjustment', 'tau_norm']
    assert math.isfinite(correction_logits(linear, feats, 'tau_norm', 1.0).sum().item())


@pytest.mark.parametrize('setup', ['causal_norm'], indirect=True)
@pytest.mark.parametrize('args, match', [
    (['--posthoc', '--cfg-options', 'test_dataloader.dataset.heldout_per_class=0'],
     r'the test split describes training class counts \[8, 5, 3, 2\] but the heldout split '
     r'\[6, 3, 2, 1\]: give every split the same heldout_per_class'),
    (['--test-priors', 'forward2', 'backward5'],  # 4 test images a class
     r"--test-priors: test_prior='backward5' leaves the rarest test class with no image "
     r'\(int\(4 / 5\) = 0\): use a test imbalance factor <= 4'),
])
def test_refused_before_any_feature_pass(setup, tmp_path, monkeypatch, args, match):
    _, cfg_path, ckpt, _, _ = setup
    with pytest.raises(SystemExit, match=match):
        run_sweep(monkeypatch, cfg_path, ckpt, '--split', 'heldout', *args,
                  '--out-dir', str(tmp_path / 'sweep'))
    assert not (tmp_path / 'sweep').exists()
