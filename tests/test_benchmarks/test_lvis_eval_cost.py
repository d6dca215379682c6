# Copyright (c) mmtde contributors. All rights reserved.
import json
from collections import Counter

import pytest
from benchlib import lvis_ap_keys

import lvis_eval_cost as bench

CATS = [{'id': i + 1, 'name': f'c{i}', 'synonyms': [], 'synset': f's{i}', 'def': '',
         'image_count': 1, 'frequency': 'rcf'[i % 3]} for i in range(12)]


def test_synthetic_set_is_lvis_shaped():
    gt, dets = bench.make_dataset(CATS, num_images=6, dets_per_image=40, seed=0)
    assert Counter(d['image_id'] for d in dets) == {i: 40 for i in range(1, 7)}
    assert len({a['id'] for a in gt['annotations']}) == len(gt['annotations'])
    for img in gt['images']:
        pos = {a['category_id'] for a in gt['annotations'] if a['image_id'] == img['id']}
        assert pos and not pos & set(img['neg_category_ids'])
        assert set(img['not_exhaustive_category_ids']) <= pos
    for d in dets:
        img = gt['images'][d['image_id'] - 1]
        x, y, w, h = d['bbox']
        assert 0 <= x and 0 <= y and w >= 1 and h >= 1
        assert x + w <= img['width'] + 1e-6 and y + h <= img['height'] + 1e-6
    assert bench.make_dataset(CATS, 6, 40, 0)[1] == dets  # seeded


def test_lvis_api_worker_reports_time_memory_and_metrics(tmp_path, capsys):
    pytest.importorskip('lvis')
    gt, dets = bench.make_dataset(CATS, num_images=4, dets_per_image=30, seed=0)
    gt_file = tmp_path / 'lvis_v1_val_synthetic_4.json'
    dt_file = tmp_path / 'results_4x30.json'
    gt_file.write_text(json.dumps(gt))
    dt_file.write_text(json.dumps(dets))
    bench.run_worker('lvis-api', str(gt_file), str(dt_file))
    line = capsys.readouterr().out.strip().splitlines()[-1]
    res = json.loads(line)
    assert res['evaluator'] == 'lvis-api' and res['seconds'] > 0
    assert res['peak_rss_mb'] >= res['rss_before_mb'] > 0
    assert set(res['metrics']) == set(lvis_ap_keys())
    assert 0 < res['metrics']['AP'] <= 1  # near-duplicates of every object were "detected"


def test_missing_categories_say_how_to_provide_them(tmp_path):
    with pytest.raises(SystemExit, match='--categories'):
        bench.load_categories(str(tmp_path / 'nope.json'))
