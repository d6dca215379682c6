# Copyright (c) mmtde contributors. All rights reserved.
"""The Emoji-LVIS benchmark end to end on a tiny generated set: two methods trained with
tools/train.py, scored with the LVIS metric, summarised; a rerun reuses everything."""
import glob
import json
import os
import os.path as osp

import pytest

pytest.importorskip('mmdet')
from mmtde.datagen import emoji_lvis as el  # noqa: E402

try:
    el.find_fonts()
    FONTS = None
except el.FontError as exc:
    FONTS = str(exc)

N = 6
SMOKE = ['train_cfg.max_iters=2', f'model.roi_head.bbox_head.num_classes={N}',
         f'model.roi_head.mask_head.num_classes={N}', f'train_dataloader.dataset.num_classes={N}',
         f'test_dataloader.dataset.num_classes={N}', 'train_dataloader.batch_size=2',
         'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
         'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False']


@pytest.mark.skipif(FONTS is not None, reason=f'Emoji-LVIS fonts missing: {FONTS}')
def test_benchmark_trains_scores_summarises_and_resumes(tmp_path):
    import emoji_lvis as bench
    data = str(tmp_path / 'data')
    el.make_emoji_lvis(data, num_classes=N, val_per_class=2, heldout_per_class=1,
                       max_images=110, progress=False)
    work = str(tmp_path / 'work')
    argv = ['--data-root', data, '--work-dir', work, '--seeds', '0', '--methods', 'ce',
            'causalnorm', '--alphas', '0', '2', '--norcal', '--gammas', '0', '0.5',
            '--cfg-options', *SMOKE]
    bench.main(argv)
    with open(osp.join(work, 'results.json')) as f:
        rows = json.load(f)['0']
    assert set(rows) == {'ce', 'deconfound', 'tde', 'tde_heldout', 'ce_norcal',
                         'deconfound_norcal'}
    # NorCal: gamma picked on the held-out split, the picked one scored on val
    for name in ('ce_norcal', 'deconfound_norcal'):
        assert set(map(float, [r['gamma'] for r in rows[name]['heldout_by_gamma']])) == {0, 0.5}
        assert rows[name]['gamma'] in (0.0, 0.5)
    # the class-rank diagnostic: the causal-norm model at alpha 0 and the paper's alpha
    assert len(rows['deconfound']['rank']['variants']) == 2
    assert len(rows['ce']['rank']['variants']) == 1
    for row in rows.values():
        assert set(bench.KEYS) <= set(row) and row['train_seconds'] > 0
        assert all(0 <= row[k] <= 100 for k in bench.KEYS)
        assert len(row['per_class_ap']) == N
    assert rows['deconfound']['alpha'] == 0 and rows['tde']['alpha'] == bench.PAPER_ALPHA
    sweep = rows['tde_heldout']['heldout_bbox_AP_by_alpha']
    assert set(map(float, sweep)) == {0.0, 2.0}
    assert rows['tde_heldout']['alpha'] == float(max(sweep, key=lambda a: (sweep[a], -float(a))))
    # each scoring tested the one checkpoint with its own alpha (the config the runner dumped)
    from mmengine.config import Config
    for tag, alpha in (('val_alpha0', 0), ('val_alpha1.5', 1.5), ('heldout_alpha2_boxes', 2)):
        dumped = Config.fromfile(glob.glob(osp.join(work, 'seed0', 'causalnorm', f'test_{tag}',
                                                    '*.py'))[0])
        assert dumped.model.roi_head.bbox_head.alpha == alpha
        assert dumped.load_from.endswith('iter_2.pth')
        assert ('mask_head' in dumped.model.roi_head) == ('boxes' not in tag)
    table = open(osp.join(work, 'results.md')).read()
    assert 'causal norm, TDE (alpha 1.5, paper)' in table and 'softmax CE' in table
    assert '| TDE (held-out alpha) - De-confound | 1 |' in table
    # Fixed AP: the same checkpoint, boxes only, K boxes a class and no 300-an-image cap
    fixed = bench.score('ce', 0, osp.join(work, 'seed0', 'ce'), 'val', None, data, SMOKE,
                        fixed=True)
    assert set(bench.FIXED_KEYS) <= set(fixed) and 'bbox_AP' not in fixed
    dumped = Config.fromfile(glob.glob(osp.join(work, 'seed0', 'ce', 'test_val_fixed',
                                                '*.py'))[0])
    assert dumped.test_evaluator.fixed_ap_dets_per_cat == bench.FIXED_AP_K
    assert dumped.model.test_cfg.rcnn.max_per_img == bench.FIXED_AP_K
    assert 'mask_head' not in dumped.model.roi_head
    assert osp.getsize(osp.join(work, 'per_class_ap.png')) > 1000
    # a rerun trains and tests nothing again
    logs = {m: os.path.getmtime(osp.join(work, 'seed0', m, 'train_stdout.log'))
            for m in ('ce', 'causalnorm')}
    bench.main(argv)
    assert logs == {m: os.path.getmtime(osp.join(work, 'seed0', m, 'train_stdout.log'))
                    for m in ('ce', 'causalnorm')}
    # the diagnostics: val box AP against alpha with the training d and a re-estimated one
    bench.main(argv + ['--diagnose', '0'])
    with open(osp.join(work, 'seed0', 'causalnorm', 'diagnostics.json')) as f:
        diag = json.load(f)
    assert set(diag['val_bbox_AP_by_alpha']) == {'training d', 're-estimated d'}
    assert all(set(map(float, c)) == {0.0, 2.0} for c in diag['val_bbox_AP_by_alpha'].values())
    assert len(diag['cos_d_train_vs_reestimated_per_head']) == 2
    assert all(-1 <= c <= 1 for c in diag['cos_d_train_vs_reestimated_per_head'])
    assert len(diag['train_mean_cos_logged']) == 1  # one "epoch" in an iteration-based loop


def test_summary_counts_a_collapsed_seed_as_a_failure(tmp_path):
    """A seed whose training diverged to background (AP 0 everywhere) stays in its method's
    mean (its zeros) and in the failure rate; the log's loss peak is reported."""
    import emoji_lvis as bench

    def row(ap, trace=None):
        return dict({k: ap for k in bench.KEYS}, train_seconds=600.0,
                    per_class_ap={'cat': ap / 100}, training=trace)
    results = {0: {'ce': row(10.0), 'seesaw': row(8.0), 'eqlv2': row(9.0)},
               1: {'ce': row(0.0, dict(max_loss_cls=156.2, max_loss_cls_iter=150,
                                       last_loss_cls=1.67, last_iter=800)),
                   'seesaw': row(6.0)}}
    table = bench.summarise(results, {0: {'cat': 5}, 1: {'cat': 5}}, str(tmp_path))
    assert osp.getsize(tmp_path / 'per_class_ap.png') > 1000
    ce = next(line for line in table.splitlines() if line.startswith('| softmax CE'))
    cells = [c.strip() for c in ce.split('|')[2:-1]]
    # AP over both seeds (10 and 0), one failure in two runs, the wall time of both trainings
    assert cells == ['5.0 ± 5.0'] * len(bench.KEYS) + ['1 of 2', '10.0 ± 0.0']
    seesaw = next(line for line in table.splitlines() if line.startswith('| Seesaw'))
    assert '| 7.0 ± 1.0 |' in seesaw and '| 0 of 2 |' in seesaw
    assert 'loss_cls peaked at 156.2 (iteration 150)' in table
    # a method that a seed has not reached yet: its row says which seeds it holds
    eqlv2 = next(line for line in table.splitlines() if line.startswith('| EQL v2'))
    assert '(seed 0 only)' in eqlv2 and '| 9.0 |' in eqlv2 and '| 0 of 1 |' in eqlv2
    assert bench.collapsed(results[1]['ce']) and not bench.collapsed(results[1]['seesaw'])


def test_training_trace_reads_every_run_of_a_resumed_training(tmp_path):
    import emoji_lvis as bench
    assert bench.training_trace(str(tmp_path)) is None
    for run, steps in (('20261202_095831', [(50, 1.8), (100, 28.9)]),
                       ('20261202_101500', [(150, 156.2), (200, 1.3)])):
        (tmp_path / run / 'vis_data').mkdir(parents=True)
        (tmp_path / run / 'vis_data' / 'scalars.json').write_text(''.join(
            json.dumps(dict(step=s, loss_cls=v, lr=0.04)) + '\n' + json.dumps(dict(step=s)) + '\n'
            for s, v in steps))
    assert bench.training_trace(str(tmp_path)) == dict(
        max_loss_cls=156.2, max_loss_cls_iter=150, last_loss_cls=1.3, last_iter=200)


def test_a_seed_runs_only_the_methods_its_results_lack(tmp_path, monkeypatch):
    """Resumable per method: results.json's rows are the record of what ran (a fresh checkout
    has them without the work dirs), and every finished method is saved before the next."""
    import emoji_lvis as bench
    data = tmp_path / 'data' / 'annotations'
    data.mkdir(parents=True)
    for split in ('train', 'val'):
        (data / f'lvis_v1_{split}.json').write_text(json.dumps(
            dict(info=dict(seed=0), categories=[dict(name='cat', image_count=5)])))
    work = tmp_path / 'work'
    work.mkdir()
    ap = {k: 5.0 for k in bench.KEYS}
    old = dict(ap, train_seconds=600.0, per_class_segm_ap={'cat': 0.05}, training=None)
    # (rows written before the per-class key was renamed are read as they are)
    (work / 'results.json').write_text(json.dumps(
        {'0': {'ce': old, 'deconfound': dict(old, alpha=0.0), 'tde': dict(old, alpha=1.5),
               'tde_heldout': dict(old, alpha=1.0)}, '1': {'ce': old}}))
    calls, saved = [], []

    def train(method, seed, work_dir, cfg_options):
        calls.append(('train', method, seed))
        return 60.0

    def score(method, seed, work_dir, split, alpha, *args, **kwargs):
        if method == 'causalnorm':  # the run stops after the first method it trains
            saved.append(json.loads((work / 'results.json').read_text()))
            raise KeyboardInterrupt
        return dict(ap, per_class_ap={'cat': 0.05})

    monkeypatch.setattr(bench, 'train', train)
    monkeypatch.setattr(bench, 'score', score)
    argv = ['--data-root', str(tmp_path / 'data'), '--work-dir', str(work), '--seeds', '0', '1',
            '--methods', 'ce', 'seesaw', 'causalnorm']
    with pytest.raises(KeyboardInterrupt):
        bench.main(argv)
    # seed 0 lacks only Seesaw; seed 1 lacks Seesaw and causal norm
    assert calls == [('train', 'seesaw', 0), ('train', 'seesaw', 1), ('train', 'causalnorm', 1)]
    assert set(saved[0]['0']) == {'ce', 'seesaw', 'deconfound', 'tde', 'tde_heldout'}
    assert set(saved[0]['1']) == {'ce', 'seesaw'} and saved[0]['1']['ce'] == old


def test_gate_asks_for_the_lvis_regime():
    import emoji_lvis as bench
    ok, line = bench.gate(dict(ce=dict(bbox_APc=25.0), deconfound=dict(bbox_APr=3.0,
                                                                        bbox_APc=15.0)))
    assert ok and 'gate passed' in line and 'APr / APc 0.20' in line
    assert not bench.gate(dict(ce=dict(bbox_APc=24.9), deconfound=dict(bbox_APr=9.0)))[0]
    assert not bench.gate(dict(ce=dict(bbox_APc=40.0), deconfound=dict(bbox_APr=2.9)))[0]
    ok, line = bench.gate(dict(ce=dict(bbox_APc=40.0)))
    assert not ok and 'train and score ce and causalnorm first' in line


def test_lvis_like_design_draws_data_for_every_seed(tmp_path, monkeypatch):
    import emoji_lvis as bench

    from mmtde.datagen import emoji_lvis as datagen
    made = []

    def fake(root, seed, cifar10, **kwargs):
        made.append((osp.relpath(root, str(tmp_path)), seed, kwargs))
        os.makedirs(osp.join(root, 'annotations'))
        with open(osp.join(root, 'annotations', 'lvis_v1_val.json'), 'w') as f:
            json.dump(dict(info=dict(kwargs, seed=seed)), f)

    monkeypatch.setattr(datagen, 'make_emoji_lvis', fake)
    design = bench.use_design('lt')
    try:
        args = bench.parse_args(['--design', 'lt', '--data-root', str(tmp_path)])
        assert bench.seed_data(3, args) == str(tmp_path / 'seed3')
        assert os.environ['MMTDE_EMOJI_LVIS_LT'] == str(tmp_path / 'seed3')
        bench.seed_data(3, args)  # present: not drawn again
        assert made == [('seed3', 3, design['data'])]
        # a folder drawn with other settings is refused, not silently reused
        with open(tmp_path / 'seed3' / 'annotations' / 'lvis_v1_val.json', 'w') as f:
            json.dump(dict(info=dict(design['data'], seed=3, max_images=500)), f)
        with pytest.raises(SystemExit, match='max_images.: 500.*give another --data-root'):
            bench.seed_data(3, args)
        assert bench.METHODS['causalnorm'][0].endswith('_emoji-lvis-lt.py')
        assert all(osp.isfile(osp.join(bench.CONFIGS, c)) for c, _ in bench.METHODS.values())
    finally:
        bench.use_design('800i')
        monkeypatch.delenv('MMTDE_EMOJI_LVIS_LT', raising=False)


def test_a_work_dir_of_other_settings_is_refused(tmp_path):
    import emoji_lvis as bench
    settings = dict(design='lt', data=dict(max_images=200), cfg_options=[])
    bench.check_work_dir(str(tmp_path), settings)
    bench.check_work_dir(str(tmp_path), settings)  # the same settings resume
    with pytest.raises(SystemExit, match='give another --work-dir'):
        bench.check_work_dir(str(tmp_path), dict(settings, cfg_options=['train_cfg.max_iters=9']))


def test_paired_differences_pair_classes_and_seeds_by_group():
    """A - B per group, each seed with its own rare classes; the difference is the mean over
    seeds of the mean per-class difference, as restated here by hand."""
    import emoji_lvis as bench
    import numpy as np
    counts = {0: dict(a=5, b=50, c=500, d=3), 1: dict(a=50, b=5, c=500, d=700)}
    results = {
        0: dict(tde_heldout=dict(per_class_ap=dict(a=0.30, b=0.40, c=0.50, d=0.10)),
                deconfound=dict(per_class_ap=dict(a=0.10, b=0.40, c=0.55, d=0.00))),
        1: dict(tde_heldout=dict(per_class_ap=dict(a=0.20, b=0.25, c=0.60, d=0.70)),
                deconfound=dict(per_class_ap=dict(a=0.20, b=0.05, c=0.60, d=0.80)))}
    out = bench.paired_differences(results, counts, num_resamples=500)
    assert list(out) == [('tde_heldout', 'deconfound')]  # the only pair both seeds hold
    r = out[('tde_heldout', 'deconfound')]
    # rare: seed 0 classes a, d -> (20 + 10) / 2 = 15; seed 1 class b -> 20
    assert r['r']['per_seed'] == pytest.approx([15.0, 20.0])
    assert r['r']['diff'] == pytest.approx(17.5)
    # frequent: seed 0 class c -> -5; seed 1 classes c, d -> (0 - 10) / 2 = -5
    assert r['f']['diff'] == pytest.approx(-5.0)
    assert r['all']['diff'] == pytest.approx(
        np.mean([(20 + 0 - 5 + 10) / 4, (0 + 20 + 0 - 10) / 4]))
    assert r['r']['low'] <= r['r']['diff'] <= r['r']['high'] and r['seeds'] == [0, 1]


def test_val_scores_add_fixed_ap_where_the_design_asks(monkeypatch):
    import emoji_lvis as bench
    calls = []

    def score(method, seed, work_dir, split, alpha, data_root, options, **kwargs):
        calls.append(kwargs)
        if kwargs.get('fixed'):
            return {k: 1.0 for k in bench.FIXED_KEYS}
        return dict(bbox_AP=2.0, per_class_ap={})

    monkeypatch.setattr(bench, 'score', score)
    for design, fixed in (('800i', False), ('lt', True)):
        args = bench.parse_args(['--design', design])
        calls.clear()
        row = bench.val_scores('ce', 0, 'w', None, 'd', args, ('x=1',), tag_suffix='_t')
        assert (set(bench.FIXED_KEYS) <= set(row)) == fixed and row['bbox_AP'] == 2.0
        assert calls == [dict(tag_suffix='_t')] + ([dict(tag_suffix='_t', fixed=True)]
                                                     if fixed else [])


def test_data_options_override_the_design_and_bad_ones_are_refused():
    import emoji_lvis as bench
    args = bench.parse_args(['--design', 'lt', '--data-options', 'head_instances=0',
                             'max_images=150'])
    settings = bench.data_settings(args)
    assert settings == dict(bench.DESIGNS['lt']['data'], head_instances=0, max_images=150)
    assert isinstance(settings['max_images'], int)
    for bad, says in (('heads=2', 'a key among'), ('max_images', 'key=value'),
                      ('seed=3', 'a key among'), ('min_fill=thin', 'must be a number')):
        with pytest.raises(SystemExit, match=says):
            bench.data_settings(bench.parse_args(['--design', 'lt', '--data-options', bad]))


def test_out_elsewhere_gets_the_results_and_the_work_dir_keeps_the_record(tmp_path, monkeypatch):
    import emoji_lvis as bench
    data = tmp_path / 'data' / 'annotations'
    data.mkdir(parents=True)
    for split in ('train', 'val'):
        (data / f'lvis_v1_{split}.json').write_text(json.dumps(
            dict(info=dict(seed=0), categories=[dict(name='cat', image_count=5)])))
    ap = {k: 5.0 for k in bench.KEYS}
    monkeypatch.setattr(bench, 'train', lambda *args: 60.0)
    monkeypatch.setattr(bench, 'score', lambda *args, **kwargs: dict(ap, per_class_ap={'cat': .05}))
    work, out = tmp_path / 'work', tmp_path / 'out'
    bench.main(['--data-root', str(tmp_path / 'data'), '--work-dir', str(work), '--out', str(out),
                '--seeds', '0', '--methods', 'ce'])
    record = json.loads((work / 'results.json').read_text())
    assert record == json.loads((out / 'results.json').read_text())
    assert record['0']['ce']['bbox_AP'] == 5.0 and not (work / 'results.md').exists()
    assert '| softmax CE (baseline) |' in (out / 'results.md').read_text()
    assert (out / 'per_class_ap.png').exists()
