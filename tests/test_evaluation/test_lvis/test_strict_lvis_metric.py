# Copyright (c) mmtde contributors. All rights reserved.
import importlib.util
import json

import numpy as np
import pytest
import torch
from lvis import LVIS
from mmdet.evaluation import LVISMetric
from mmengine.logging import MMLogger

from lvis_eval_cases import copy_samples, lvis_api, mmdet_results, per_class_json
from mmtde.evaluation.lvis.numpy_patch import patch_lvis_numpy
from mmtde.evaluation.lvis.strict_lvis_metric import StrictLVISMetric

KEYS = ('AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'APr', 'APc', 'APf')
NEEDS_FASTER = pytest.mark.skipif(importlib.util.find_spec('faster_coco_eval') is None,
                                  reason='faster-coco-eval is not installed')
BACKENDS = ['lvis', pytest.param('faster-coco-eval', marks=NEEDS_FASTER)]


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


def evaluate(metric, samples):
    metric.process({}, copy_samples(samples))
    return metric.evaluate(size=len(samples))


@pytest.mark.parametrize('backend', BACKENDS)
def test_perfect_detections_score_one(tiny_lvis, backend):
    metric = StrictLVISMetric(ann_file=tiny_lvis['val_ann'], metric=['bbox', 'segm'],
                              backend=backend)
    results = evaluate(metric, perfect_predictions(tiny_lvis['val_ann']))
    for iou_type in ('bbox', 'segm'):
        for key in ('AP', 'APr', 'APc', 'APf'):
            assert results[f'lvis/{iou_type}_{key}'] == pytest.approx(1.0, abs=1e-3), key


@pytest.mark.parametrize('backend,cats_per_chunk', [
    ('lvis', 1203), ('lvis', 7), pytest.param('faster-coco-eval', 50, marks=NEEDS_FASTER)])
def test_lvis_ap_is_lvis_apis_on_mmdets_results(lvis_384, noisy, tmp_path, backend,
                                                cats_per_chunk):
    """Every summary number, unrounded, equals lvis-api's on the json mmdet would have
    written (all detections; lvis-api caps and filters them itself)."""
    ann = lvis_384['val_ann']
    metric = StrictLVISMetric(ann_file=ann, metric=['bbox', 'segm'], backend=backend,
                              cats_per_chunk=cats_per_chunk, per_class_ap=True,
                              per_class_dir=str(tmp_path))
    rounded = evaluate(metric, noisy)
    ours = per_class_json(tmp_path)
    tol = 1e-12 if backend == 'lvis' else 1e-4
    for iou_type in ('bbox', 'segm'):
        ref, _ = lvis_api(ann, mmdet_results(noisy, ann, iou_type), iou_type)
        assert 0.05 < ref['AP'] < 0.95 and min(ref['APm'], ref['APl']) > 0  # not a trivial case
        for key in KEYS:
            assert ours[iou_type]['summary'][key] == pytest.approx(ref[key], abs=tol), key
            assert rounded[f'lvis/{iou_type}_{key}'] == float(f'{ref[key]:.3f}'), key


def test_mask_scores_rank_the_masks(lvis_384, noisy, tmp_path):
    """Detectors with a mask-scoring head: segm uses ``mask_scores`` (also for the 300 cap)."""
    ann = lvis_384['val_ann']
    rng = np.random.default_rng(1)
    samples = copy_samples(noisy)
    for s in samples:
        s['pred_instances']['mask_scores'] = torch.from_numpy(
            rng.uniform(0, 1, len(s['pred_instances']['scores']))).float()
    metric = StrictLVISMetric(ann_file=ann, metric='segm', per_class_ap=True,
                              per_class_dir=str(tmp_path))
    evaluate(metric, samples)
    ref, _ = lvis_api(ann, mmdet_results(samples, ann, 'segm'), 'segm')
    plain, _ = lvis_api(ann, mmdet_results(noisy, ann, 'segm'), 'segm')
    assert abs(ref['AP'] - plain['AP']) > 0.01  # the scores matter here
    ours = per_class_json(tmp_path)['segm']['summary']
    assert ours == pytest.approx(ref, abs=1e-12)


def test_only_what_lvis_api_scores_is_kept(lvis_384, noisy):
    """The cap (300 an image, by score), the image's verified categories, a positive area."""
    ann = lvis_384['val_ann']
    metric = StrictLVISMetric(ann_file=ann, metric=['bbox', 'segm'])
    assert metric._lvis_api is None  # the annotation file is not held during the test
    metric.process({}, copy_samples(noisy))
    gt = LVIS(ann)
    cat_ids = gt.get_cat_ids()
    for record, sample in zip(metric.results, noisy):
        pred = sample['pred_instances']
        img = gt.imgs[sample['img_id']]
        verified = set(img['neg_category_ids']) | {
            a['category_id'] for a in gt.load_anns(gt.get_ann_ids(img_ids=[img['id']]))}
        order = np.argsort(-pred['scores'].numpy(), kind='stable')[:300]
        boxes = pred['bboxes'].numpy().astype(np.float64)
        area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        expected = [i for i in sorted(order.tolist()) if area[i] > 0 and
                    cat_ids[int(pred['labels'][i])] in verified]
        for iou_type in ('bbox', 'segm'):
            assert record[iou_type]['idx'].tolist() == expected
        assert len(record['segm']['rle_ends']) == len(expected)
    assert len(noisy[0]['pred_instances']['scores']) > 300  # the cap was exercised


def test_classwise_keys_are_mmdets(lvis_384, noisy):
    ann = lvis_384['val_ann']
    patch_lvis_numpy()
    theirs = evaluate(LVISMetric(ann_file=ann, metric='segm', classwise=True), noisy)
    ours = evaluate(StrictLVISMetric(ann_file=ann, metric='segm', classwise=True), noisy)
    per_class = {k: v for k, v in theirs.items() if k.endswith('_precision')}
    assert len(per_class) == 1203
    assert {k: ours[k] for k in per_class} == pytest.approx(per_class, nan_ok=True)


def test_per_class_ap_json_and_plot(lvis_384, noisy, tmp_path):
    ann = lvis_384['val_ann']
    metric = StrictLVISMetric(ann_file=ann, metric=['bbox', 'segm'], per_class_ap=True,
                              train_ann_file=lvis_384['train_ann'],
                              per_class_dir=str(tmp_path / 'new_dir'))
    evaluate(metric, noisy)
    out = per_class_json(tmp_path / 'new_dir')
    assert out['ann_file'] == ann and out['ap'].startswith('LVIS AP, 300')
    with open(lvis_384['train_ann']) as f:
        train = json.load(f)
    images = {}
    for a in train['annotations']:
        images.setdefault(a['category_id'], set()).add(a['image_id'])
    _, precision = lvis_api(ann, mmdet_results(noisy, ann, 'segm'), 'segm')
    rows = out['segm']['classes']
    assert [r['id'] for r in rows] == sorted(c['id'] for c in train['categories'])
    for k, row in enumerate(rows):
        p = precision[:, :, k, 0]
        assert row['train_images'] == len(images.get(row['id'], ()))
        if (p > -1).any():  # mmdet's classwise formula
            assert row['AP'] == pytest.approx(np.mean(p[p > -1]), abs=1e-12)
        else:
            assert row['AP'] is None
    assert sum(r['AP'] is not None for r in rows) == 9
    for iou_type in ('bbox', 'segm'):
        assert (tmp_path / 'new_dir' / f'lvis_per_class_ap_{iou_type}.png').stat().st_size > 1e4


def test_per_class_files_go_next_to_the_runner_log(tiny_lvis, tmp_path):
    log_dir = tmp_path / '20261202_101010'  # a Runner's log_dir: work_dir/timestamp
    log_dir.mkdir()
    MMLogger.get_instance(str(tmp_path), log_file=str(log_dir / '20261202_101010.log'))
    metric = StrictLVISMetric(ann_file=tiny_lvis['val_ann'], per_class_ap=True)
    evaluate(metric, perfect_predictions(tiny_lvis['val_ann']))
    rows = per_class_json(log_dir)['bbox']['classes']
    assert [r['AP'] for r in rows if r['AP'] is not None] == pytest.approx([1.0] * 6)


def test_annotations_without_frequency_are_refused_up_front(tiny_lvis, tmp_path):
    with open(tiny_lvis['val_ann']) as f:
        data = json.load(f)
    for cat in data['categories']:
        del cat['frequency']
    bad = tmp_path / 'no_frequency.json'
    bad.write_text(json.dumps(data))
    for metric in ('bbox', 'proposal_fast'):  # both of our paths, and mmdet's
        with pytest.raises(ValueError, match=r'no_frequency\.json have no LVIS frequency'):
            StrictLVISMetric(ann_file=str(bad), metric=metric)


def test_ann_file_is_required():
    with pytest.raises(ValueError, match='needs ann_file'):
        StrictLVISMetric()


@pytest.mark.parametrize('kwargs,match', [
    (dict(backend='coco'), "backend='coco' must be"),
    (dict(metric='proposal_fast', backend='faster-coco-eval'),
     r"\['backend'\] evaluate metric='bbox' / 'segm'; with metric=\['proposal_fast'\]"),
    (dict(format_only=True, outfile_prefix='x', per_class_ap=True),
     r"\['per_class_ap'\] evaluate .* format_only=True mmdet's code runs unchanged"),
    (dict(fixed_ap_dets_per_cat=0), 'fixed_ap_dets_per_cat=0 must be a positive integer'),
    (dict(fixed_ap_dets_per_cat=True), 'fixed_ap_dets_per_cat=True must be a positive'),
    (dict(cats_per_chunk=0.5), 'cats_per_chunk=0.5 must be a positive integer'),
    (dict(train_ann_file='train.json'), 'train_ann_file is only read for the per-class plot'),
    (dict(per_class_ap=True, per_class_dir='.', train_ann_file='nope/train.json'),
     r"train_ann_file='nope/train\.json' does not exist: give the training json"),
    (dict(per_class_ap=True), 'no log file is open .* pass per_class_dir'),
    (dict(outfile_prefix='out/results'), 'run a test with format_only=True and outfile_prefix'),
    (dict(metric_items=['AP', 'mAP']), r"metric_items \['mAP'\] are not lvis-api summary keys"),
    (dict(metric_items=['AR@300'], fixed_ap_dets_per_cat=5), r"\['AR@300'\] are not lvis-api"),
    (dict(iou_thrs=[0.5]), r"only apply to metric='proposal_fast'"),
    (dict(proposal_nums=(100, )), r"only apply to metric='proposal_fast'"),
])
def test_bad_settings_are_refused_with_the_fix(tiny_lvis, tmp_path, kwargs, match):
    MMLogger.get_instance(str(tmp_path))  # the current logger has no file (as outside a Runner)
    with pytest.raises((ValueError, FileNotFoundError), match=match):
        StrictLVISMetric(ann_file=tiny_lvis['val_ann'], **kwargs)


def test_bad_inputs_are_refused_with_the_fix(tiny_lvis):
    samples = perfect_predictions(tiny_lvis['val_ann'])
    metric = StrictLVISMetric(ann_file=tiny_lvis['val_ann'], metric='segm')
    with pytest.raises(ValueError, match=r'image id 123456 is not in .*lvis_v1_val\.json'):
        metric.process({}, [dict(samples[0], img_id=123456)])
    wrong = dict(samples[0], pred_instances=dict(samples[0]['pred_instances']))
    wrong['pred_instances']['labels'] = wrong['pred_instances']['labels'] + 1203
    with pytest.raises(ValueError, match=r"labels \d+\.\.\d+ of image \d+ are not all "
                       r"among the 1203 categories .* num_classes must be the number"):
        metric.process({}, [wrong])
    del samples[0]['pred_instances']['masks']
    with pytest.raises(KeyError, match="metric 'segm' needs pred_instances.masks"):
        metric.process({}, samples[:1])


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
