# Copyright (c) mmtde contributors. All rights reserved.
"""Fixed AP (Dave et al. 2021): a hand-made case with known values, and their definition."""
import importlib.util
import json

import numpy as np
import pytest
import torch

from lvis_eval_cases import copy_samples, fixed_ap_reference, mmdet_results, per_class_json
from mmtde.evaluation.lvis.strict_lvis_metric import StrictLVISMetric

RARE, FREQUENT = 1, 2  # category ids; labels 0 and 1
A_BOX = [10.0, 10.0, 40.0, 40.0]  # x, y, w, h of the one rare object


@pytest.fixture
def hand_case(tmp_path):
    """Image 1: one rare object; the frequent class is verified absent there (so its boxes are
    false positives). Image 2: one frequent object."""
    def image(img_id, neg):
        return dict(id=img_id, height=200, width=200, neg_category_ids=neg,
                    not_exhaustive_category_ids=[])

    def obj(ann_id, img_id, cat, x, y, w, h):
        return dict(id=ann_id, image_id=img_id, category_id=cat, bbox=[x, y, w, h],
                    area=w * h, segmentation=[[x, y, x + w, y, x + w, y + h, x, y + h]])

    data = dict(images=[image(1, [FREQUENT]), image(2, [])],
                annotations=[obj(1, 1, RARE, *A_BOX), obj(2, 2, FREQUENT, 50, 50, 60, 60)],
                categories=[dict(id=RARE, name='rare_thing', frequency='r'),
                            dict(id=FREQUENT, name='frequent_thing', frequency='f')])
    path = tmp_path / 'hand_lvis.json'
    path.write_text(json.dumps(data))
    return str(path)


def sample(img_id, dets):
    """``dets``: (label, (x, y, w, h), score)."""
    boxes = torch.tensor([[x, y, x + w, y + h] for _, (x, y, w, h), _ in dets])
    return dict(img_id=img_id, ori_shape=(200, 200), pred_instances=dict(
        bboxes=boxes.float(), scores=torch.tensor([s for _, _, s in dets]).float(),
        labels=torch.tensor([lab for lab, _, _ in dets])))


def frequent_crowd(score):
    """300 false positives of the frequent class on image 1, all scored ``score``."""
    rng = np.random.default_rng(0)
    return [(1, (*rng.uniform(60, 150, 2), 20.0, 20.0), score) for _ in range(300)]


def run(ann_file, samples, **kwargs):
    metric = StrictLVISMetric(ann_file=ann_file, metric='bbox', **kwargs)
    metric.process({}, samples)
    return metric.evaluate(size=len(samples))


def test_per_class_budget_keeps_the_rare_detection_the_cap_drops(hand_case):
    """The predicted direction: the rare class's only (correct) detection scores below 300
    frequent-class boxes in its image. LVIS AP's cap drops it (APr 0); Fixed AP keeps it
    (APr 1). Scaling the frequent class's scores down by 10 (its own ranking unchanged) moves
    LVIS AP's APr to 1 and changes no Fixed AP number."""
    frequent_hit = sample(2, [(1, (50.0, 50.0, 60.0, 60.0), 0.9)])
    for scale, lvis_apr in ((1.0, 0.0), (0.1, 1.0)):
        samples = [sample(1, frequent_crowd(0.5 * scale) + [(0, A_BOX, 0.1)]), frequent_hit]
        lvis_ap = run(hand_case, samples)
        assert lvis_ap['lvis/bbox_APr'] == lvis_apr
        fixed = run(hand_case, samples, fixed_ap_dets_per_cat=10000)
        assert fixed['lvis/bbox_fixed_APr'] == 1.0
        assert fixed['lvis/bbox_fixed_APf'] == 1.0  # its 300 false positives rank below its hit
        assert 'lvis/bbox_AP' not in fixed  # never mistaken for LVIS AP in a log


@pytest.mark.parametrize('budget,apr', [(2, 0.0), (3, 0.333), (4, 0.333)])
def test_budget_counts_every_detection_of_the_class(hand_case, budget, apr):
    """Two false positives score above the hit: a budget of 2 leaves the class no true
    positive; with 3 the hit comes at recall 1 with precision 1/3 at every IoU threshold."""
    samples = [sample(1, [(0, (100.0, 100.0, 30.0, 30.0), 0.9), (0, A_BOX, 0.7),
                          (0, (150.0, 10.0, 30.0, 30.0), 0.8)]), sample(2, [])]
    fixed = run(hand_case, samples, fixed_ap_dets_per_cat=budget)
    assert fixed['lvis/bbox_fixed_APr'] == apr


@pytest.mark.parametrize('backend', ['lvis', pytest.param('faster-coco-eval', marks=(
    pytest.mark.skipif(importlib.util.find_spec('faster_coco_eval') is None,
                       reason='faster-coco-eval is not installed')))])
def test_fixed_ap_is_dave_et_als_definition(lvis_384, noisy, tmp_path, backend):
    """Against their script restated (top K of each category of mmdet's results file,
    ``LVISResults(max_dets=-1)``), with K small enough that the budget bites."""
    ann = lvis_384['val_ann']
    metric = StrictLVISMetric(ann_file=ann, metric=['bbox', 'segm'], backend=backend,
                              fixed_ap_dets_per_cat=6, cats_per_chunk=5, per_class_ap=True,
                              per_class_dir=str(tmp_path))
    metric.process({}, copy_samples(noisy))
    metric.evaluate(size=len(noisy))
    ours = per_class_json(tmp_path)
    assert ours['ap'] == 'Fixed AP, 6 detections a class'
    tol = 1e-12 if backend == 'lvis' else 1e-4
    for iou_type in ('bbox', 'segm'):
        dets = mmdet_results(noisy, ann, iou_type)
        ref, _ = fixed_ap_reference(ann, dets, iou_type, 6)
        loose, _ = fixed_ap_reference(ann, dets, iou_type, 10000)
        assert ref['AP'] < loose['AP'] - 0.01  # the budget of 6 removed true positives
        for key, value in ref.items():
            assert ours[iou_type]['summary'][key] == pytest.approx(value, abs=tol), key
