# Copyright (c) mmtde contributors. All rights reserved.
import json
import pickle

import numpy as np
import pytest
from benchlib import lvis_ap_keys

import lvis_eval_memory as bench
from mmtde.testing.tiny_lvis import ellipse_rle

CATS = [{'id': i + 1, 'name': f'c{i}', 'synonyms': [], 'synset': f's{i}', 'def': '',
         'image_count': 1, 'frequency': 'rcf'[i % 3]} for i in range(12)]


@pytest.mark.parametrize('seed', range(3))
def test_ellipse_rle_is_the_drawn_ellipse(seed):
    mask_utils = pytest.importorskip('pycocotools.mask')
    rng = np.random.default_rng(seed)
    for _ in range(40):
        height, width = int(rng.integers(20, 60)), int(rng.integers(20, 60))
        box = (rng.uniform(-5, width), rng.uniform(-height / 2, height),
               rng.uniform(1, width), rng.uniform(1, 1.5 * height))  # some fill whole columns
        x, y, w, h = box
        rows, cols = np.mgrid[0:height, 0:width] + 0.5
        drawn = ((cols - x - w / 2) / (w / 2)) ** 2 + ((rows - y - h / 2) / (h / 2)) ** 2 <= 1
        rle = ellipse_rle(box, height, width)
        assert (mask_utils.decode(rle).astype(bool) == drawn).all(), box


@pytest.mark.parametrize('num_images', [7, 8])
def test_ranks_get_the_images_mmengines_sampler_gives_them(num_images, monkeypatch):
    from mmengine.dataset import sampler as sampler_module
    for rank in range(2):
        monkeypatch.setattr(sampler_module, 'get_dist_info', lambda: (rank, 2))
        sampler = sampler_module.DefaultSampler(list(range(num_images)), shuffle=False)
        assert bench.my_images(num_images, rank, 2) == list(sampler)
    assert bench.my_images(num_images, 0, 1) == list(range(num_images))


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp('lvis_mem')
    cats = root / 'cats.json'
    cats.write_text(json.dumps(CATS))
    args = bench.parse_args(['--categories', str(cats), '--scale', str(3 / 19809),
                             '--dets-per-image', '40', '--work-dir', str(root)])
    args.set_dir = str(root / 'data')
    return args, bench.generate(args, args.set_dir)


def test_generated_files_agree(data):
    args, info = data
    assert info['num_images'] == 3 and info['num_dets'] == 120
    with open(f'{args.set_dir}/results_segm.json') as f:
        segm = json.load(f)
    offsets = np.load(f'{args.set_dir}/offsets.npy')
    with open(f'{args.set_dir}/predictions.pkl', 'rb') as f:
        f.seek(offsets[2])
        last = pickle.load(f)
    dets = [d for d in segm if d['image_id'] == last['img_id']]
    assert len(dets) == len(last['masks']) == 40
    for d, rle, box in zip(dets, last['masks'], last['bboxes']):
        assert d['segmentation']['counts'] == rle['counts'].decode()
        assert np.allclose(box, [d['bbox'][0], d['bbox'][1], d['bbox'][0] + d['bbox'][2],
                                 d['bbox'][1] + d['bbox'][3]], atol=1e-3)
    assert bench.generate(args, args.set_dir) == info  # reused, not regenerated


def test_workers_agree_with_lvis_api(data, tmp_path, capsys):
    pytest.importorskip('mmdet')
    from mmdet.evaluation.metrics import lvis_metric
    encoder = lvis_metric.encode_mask_results
    args, _ = data
    metrics = {}
    for worker in ('lvis-api', 'ours'):
        bench.run_worker(bench.parse_args(['--worker', worker, '--set-dir', args.set_dir,
                                           '--work-dir', str(tmp_path)]))
        res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert res['peak_rss_mb'] >= res['rss_before_mb'] > 0
        metrics[worker] = res['metrics']
        # the worker patches mmdet's mask encoder for its run only (later tests use mmdet)
        assert lvis_metric.encode_mask_results is encoder
    for iou_type in ('bbox', 'segm'):
        assert 0 < metrics['lvis-api'][iou_type]['AP'] < 1
        for key in lvis_ap_keys():
            assert metrics['ours'][iou_type][key] == pytest.approx(
                metrics['lvis-api'][iou_type][key], abs=1e-12)


def test_watchdog_stops_a_run_over_the_limit(data):
    args, _ = data
    out = bench.launch(args, 'lvis-api', 1, limit_mb=1)
    assert out['error'].startswith('stopped by the watchdog at')


def test_each_command_adds_its_runs_to_the_saved_results(tmp_path, monkeypatch):
    """The full-size benchmark is measured one evaluator at a time (hours each): the results
    file keeps every run, compared against the lvis-api run whichever command made it."""
    pytest.importorskip('mmdet')
    cats = tmp_path / 'cats.json'
    cats.write_text(json.dumps(CATS))
    common = ['--categories', str(cats), '--scale', str(3 / 19809), '--dets-per-image', '40',
              '--work-dir', str(tmp_path / 'work')]
    bench.main(common + ['--evaluators', 'lvis-api'])
    results = bench.main(common + ['--evaluators', 'ours', '--ranks', '1'])
    assert set(results) == {'lvis-api x1', 'ours x1'}
    assert results['ours x1']['matches'] and results['ours x1']['max_abs_diff'] < 1e-12
    assert results['lvis-api x1']['date'] and 'CPUs' in results['lvis-api x1']['machine']
    out = tmp_path / 'work' / f'scale{3 / 19809:g}' / 'results.json'
    saved = json.loads(out.read_text())
    assert set(saved['results']) == set(results) and '| ours | 1 |' in saved['table']
    assert saved['table'] in (out.parent / 'results.md').read_text()

    def no_launch(*args):
        raise AssertionError('a saved run was measured again')

    monkeypatch.setattr(bench, 'launch', no_launch)
    assert bench.main(common + ['--evaluators', 'lvis-api', 'ours', '--ranks', '1']) == results
    # the same set generated again in another session (its generation time differs) is kept
    saved['data']['generate_seconds'] += 100
    out.write_text(json.dumps(saved))
    assert bench.main(common + ['--evaluators', 'lvis-api']) == results
    monkeypatch.setattr(bench, 'launch', lambda *a: dict(error='rank failed: boom', seconds=1))
    after = bench.main(common + ['--evaluators', 'ours', '--ranks', '1', '--rerun'])
    assert set(after) == {'lvis-api x1'}  # a crashed rank is dropped, to be measured again
    with pytest.raises(SystemExit, match='another generated set'):
        bench.main(common[:-3] + ['41'] + common[-2:] + ['--out', str(out)])


def test_without_a_finished_lvis_api_run_the_table_compares_with_ours_and_says_so():
    metrics = {t: {k: 0.25 for k in lvis_ap_keys()} for t in bench.IOU_TYPES}
    rank = dict(rank=0, process_seconds=1.0, evaluate_seconds=2.0, peak_rss_mb=10.0,
                rss_before_mb=5.0)
    results = {'ours x1': dict(seconds=3.0, ranks=[rank], metrics=metrics),
               'ours-faster x1': dict(seconds=1.0, ranks=[rank], metrics={
                   t: dict(m, AP=0.2502) for t, m in metrics.items()}),
               'lvis-api x1': dict(error='stopped by the watchdog at 21.0 GiB', seconds=9.0)}
    table = bench.results_table(results, 1e-4)
    assert results['ours-faster x1']['reference'] == 'ours x1'
    assert not results['ours-faster x1']['matches']  # 2e-4 apart
    assert 'OVER 0.0001; lvis-api did not finish: vs ours x1' in table
    assert 'stopped by the watchdog' in table and 'max_abs_diff' not in results['ours x1']
    results['lvis-api x1'] = dict(seconds=9.0, ranks=[rank], metrics=metrics)
    bench.results_table(results, 1e-4)
    assert results['ours-faster x1']['reference'] == 'lvis-api x1'
    assert results['ours x1']['matches']
