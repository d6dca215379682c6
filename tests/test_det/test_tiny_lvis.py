# Copyright (c) mmtde contributors. All rights reserved.
import json
import os
import os.path as osp
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest
from lvis import LVIS
from mmcv.transforms import LoadImageFromFile
from mmdet.datasets import LVISV1Dataset
from mmdet.datasets.transforms import LoadAnnotations

from mmtde.testing import make_tiny_lvis
from mmtde.testing.tiny_lvis import make_synthetic_val, synthetic_val_images

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_official_layout_read_by_lvis_api(tiny_lvis):
    for split, num in (('train', 8), ('val', 4)):
        gt = LVIS(tiny_lvis[f'{split}_ann'])
        assert len(gt.get_cat_ids()) == 1203  # all categories: num_classes=1203 works
        assert len(gt.get_img_ids()) == num
        picked = {int(i) for i in tiny_lvis['category_ids'].split(',')}
        assert set(gt.cat_img_map) == picked  # every picked category occurs in every split
        assert Counter(gt.cats[c]['frequency'] for c in picked) == dict(r=2, c=2, f=2)
        for img in gt.dataset['images']:
            present = {a['category_id'] for a in gt.img_ann_map[img['id']]}
            assert set(img['neg_category_ids']) == picked - present
            assert img['not_exhaustive_category_ids'] == []
            assert img['coco_url'].startswith(f'http://images.cocodataset.org/{split}2017/')
        for ann in gt.dataset['annotations']:
            x, y, w, h = ann['bbox']
            assert 0 <= x and 0 <= y and x + w <= 64 and y + h <= 64 and ann['area'] > 0
            assert gt.ann_to_mask(ann).sum() > 0


def test_mmdet_lvis_v1_dataset_loads_it(tiny_lvis):
    dataset = LVISV1Dataset(
        data_root=tiny_lvis['data_root'], ann_file='annotations/lvis_v1_val.json',
        data_prefix=dict(img=''), pipeline=[LoadImageFromFile(), LoadAnnotations(with_mask=True)])
    assert len(dataset) == 4
    sample = dataset[0]
    assert sample['img'].shape == (64, 64, 3)
    assert len(sample['gt_bboxes']) == 2 and len(sample['gt_masks']) == 2
    assert osp.isfile(sample['img_path'])


def test_command_line(tmp_path, lvis_categories):
    env = dict(os.environ, PYTHONPATH=REPO, MMTDE_LVIS_CATEGORIES=lvis_categories)
    cmd = [sys.executable, '-W', 'error::RuntimeWarning', '-m', 'mmtde.testing.tiny_lvis',
           '--out', str(tmp_path / 'out'), '--num-train', '3', '--num-val', '3']
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    assert 'val_ann' in proc.stdout
    assert len(os.listdir(tmp_path / 'out' / 'train2017')) == 3
    env.pop('MMTDE_LVIS_CATEGORIES')
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert proc.returncode == 2 and 'MMTDE_LVIS_CATEGORIES' in proc.stderr


def test_bad_inputs(tmp_path):
    cats = [dict(id=i, name=str(i), frequency='f') for i in range(1, 10)]
    with pytest.raises(ValueError, match="frequency 'r'"):
        make_tiny_lvis(str(tmp_path), cats)
    bad = tmp_path / 'cats.json'
    bad.write_text(json.dumps(dict(images=[])))
    with pytest.raises(ValueError, match='neither a list'):
        make_tiny_lvis(str(tmp_path), str(bad))


def test_synthetic_val_set_with_and_without_masks():
    """The LVIS benchmarks' set: the same objects and detections either way; with masks the
    objects are the ellipses inscribed in their boxes."""
    cats = [dict(id=i + 1, name=str(i), frequency='rcf'[i % 3]) for i in range(12)]
    plain = list(synthetic_val_images(cats, 5, 50, seed=1))
    masked = list(synthetic_val_images(cats, 5, 50, seed=1, masks=True))
    gt, dets = make_synthetic_val(cats, 5, 50, seed=1, description='test')
    assert gt['info'] == dict(description='test') and gt['categories'] == cats
    assert gt['images'] == [image for image, _, _ in plain]
    assert dets == [d for _, _, img_dets in plain for d in img_dets]
    assert Counter(d['image_id'] for d in dets) == {i: 50 for i in range(1, 6)}
    for (image, anns, img_dets), (image_m, anns_m, img_dets_m) in zip(plain, masked):
        assert image == image_m and img_dets == img_dets_m
        for a, m in zip(anns, anns_m):
            assert a['bbox'] == m['bbox'] and a['area'] == a['bbox'][2] * a['bbox'][3]
            x, y, w, h = a['bbox']
            poly = np.array(m['segmentation'][0]).reshape(-1, 2)
            assert len(poly) == 24
            assert (poly >= [x - 0.01, y - 0.01]).all() and (poly <= [x + w + 0.01,
                                                                      y + h + 0.01]).all()
            # a 24-gon inscribed in the ellipse: just under its area pi / 4 * w * h
            assert 0.98 * np.pi / 4 * w * h < m['area'] < np.pi / 4 * w * h
