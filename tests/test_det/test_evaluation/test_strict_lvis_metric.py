# Copyright (c) mmtde contributors. All rights reserved.
import json

import numpy as np
import pytest
import torch
from lvis import LVIS

from mmtde.det import StrictLVISMetric


def perfect_predictions(ann_file):
    """Data samples whose predictions are the ground truth (boxes, labels and masks)."""
    gt = LVIS(ann_file)
    cat_ids = gt.get_cat_ids()
    samples = []
    for img_id in gt.get_img_ids():
        img = gt.imgs[img_id]
        anns = gt.load_anns(gt.get_ann_ids(img_ids=[img_id]))
        boxes = torch.tensor([[x, y, x + w, y + h] for x, y, w, h in (a['bbox'] for a in anns)])
        masks = np.stack([gt.ann_to_mask(a) for a in anns]).astype(bool)
        samples.append(dict(
            img_id=img_id, ori_shape=(img['height'], img['width']),
            pred_instances=dict(
                bboxes=boxes, scores=torch.ones(len(anns)),
                labels=torch.tensor([cat_ids.index(a['category_id']) for a in anns]),
                masks=torch.from_numpy(masks))))
    return samples


def test_perfect_detections_score_one_through_mmdet_lvis_metric(tiny_lvis):
    metric = StrictLVISMetric(ann_file=tiny_lvis['val_ann'], metric=['bbox', 'segm'])
    samples = perfect_predictions(tiny_lvis['val_ann'])
    metric.process({}, samples)
    results = metric.evaluate(size=len(samples))
    for iou_type in ('bbox', 'segm'):
        for key in ('AP', 'APr', 'APc', 'APf'):
            assert results[f'lvis/{iou_type}_{key}'] == pytest.approx(1.0, abs=1e-3), key


def test_annotations_without_frequency_are_refused_up_front(tiny_lvis, tmp_path):
    with open(tiny_lvis['val_ann']) as f:
        data = json.load(f)
    for cat in data['categories']:
        del cat['frequency']
    bad = tmp_path / 'no_frequency.json'
    bad.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=r'no_frequency\.json have no LVIS frequency group'):
        StrictLVISMetric(ann_file=str(bad))


def test_ann_file_is_required():
    with pytest.raises(ValueError, match='needs ann_file'):
        StrictLVISMetric()
