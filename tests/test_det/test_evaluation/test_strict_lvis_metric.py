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


def test_faster_coco_eval_backend_reproduces_lvis_api(tiny_lvis, monkeypatch):
    pytest.importorskip('faster_coco_eval')
    from mmtde.det.evaluation import faster_lvis_eval
    built = []  # proves the swap happens: without it both backends would be lvis-api
    original_init = faster_lvis_eval.FasterLVISEval.__init__

    def counting_init(self, *args, **kwargs):
        built.append(1)
        original_init(self, *args, **kwargs)

    monkeypatch.setattr(faster_lvis_eval.FasterLVISEval, '__init__', counting_init)
    samples = perfect_predictions(tiny_lvis['val_ann'])
    rng = np.random.default_rng(0)
    for s in samples:  # imperfect boxes and scores, so that AP is not trivially 1
        inst = s['pred_instances']
        inst['bboxes'] = inst['bboxes'] + torch.from_numpy(
            rng.normal(0, 4, inst['bboxes'].shape)).float()
        inst['scores'] = torch.from_numpy(rng.uniform(0.1, 1, len(inst['scores']))).float()
        del inst['masks']
    out = {}
    for backend in ('lvis', 'faster-coco-eval'):
        metric = StrictLVISMetric(ann_file=tiny_lvis['val_ann'], metric='bbox', backend=backend)
        metric.process({}, [dict(s, pred_instances=dict(s['pred_instances'])) for s in samples])
        out[backend] = metric.evaluate(size=len(samples))
        assert len(built) == (backend == 'faster-coco-eval')
    assert out['lvis'].keys() == out['faster-coco-eval'].keys()
    assert 0 < out['lvis']['lvis/bbox_AP'] < 1
    for key, value in out['lvis'].items():
        assert out['faster-coco-eval'][key] == pytest.approx(value, abs=1e-3), key


def test_faster_backend_refuses_segm(tiny_lvis):
    with pytest.raises(ValueError, match="evaluates metric='bbox' only"):
        StrictLVISMetric(ann_file=tiny_lvis['val_ann'], metric=['bbox', 'segm'],
                         backend='faster-coco-eval')
    with pytest.raises(ValueError, match="backend='coco' must be"):
        StrictLVISMetric(ann_file=tiny_lvis['val_ann'], backend='coco')


def test_dataset_classes_must_be_the_json_categories(tiny_lvis):
    metric = StrictLVISMetric(ann_file=tiny_lvis['val_ann'])
    with open(tiny_lvis['val_ann']) as f:
        names = [c['name'] for c in sorted(json.load(f)['categories'], key=lambda c: c['id'])]
    metric.dataset_meta = dict(classes=names)  # as LVISV1Dataset gives them
    typo = list(names)
    typo[3] = typo[3] + 'x'  # mmdet and the json spell one LVIS v1 name differently
    metric.dataset_meta = dict(classes=typo)
    with pytest.raises(ValueError, match=r'has 1203 categories but the test dataset lists '
                       r'1230 classes: use the dataset type of this annotation file'):
        metric.dataset_meta = dict(classes=names + [f'extra{i}' for i in range(27)])
    with pytest.raises(ValueError, match=r"class 0 is 'air_conditioner' but category 0 .* is "
                       r"'aerosol_can'"):
        metric.dataset_meta = dict(classes=names[1:] + names[:1])


@pytest.mark.parametrize('kwargs', [dict(iou_thrs=[0.5]), dict(proposal_nums=(100, ))])
def test_options_that_lvis_api_ignores_are_refused(tiny_lvis, kwargs):
    with pytest.raises(ValueError, match=r"only apply to metric='proposal_fast'"):
        StrictLVISMetric(ann_file=tiny_lvis['val_ann'], metric='bbox', **kwargs)
