# Copyright (c) mmtde contributors. All rights reserved.
"""Predictions on a generated LVIS set, and lvis-api's numbers for them computed the way mmdet's
``LVISMetric`` feeds it (the reference the metric's options are checked against)."""
import json
from collections import defaultdict

import numpy as np
import torch
from lvis import LVIS, LVISEval, LVISResults
from mmdet.structures.mask import encode_mask_results

from mmtde.evaluation.lvis.numpy_patch import patch_lvis_numpy


def noisy_predictions(ann_file, seed=0, crowded_image_dets=350):
    """Data samples as a Mask R-CNN gives them: near-duplicates of each object (right and wrong
    labels), random boxes on the image's categories and on any of the 1203, a degenerate box,
    and, on the first image, ``crowded_image_dets`` detections (past the 300 cap)."""
    gt = LVIS(ann_file)
    cat_ids = gt.get_cat_ids()
    on_images = sorted({a['category_id'] for a in gt.dataset['annotations']})
    rng = np.random.default_rng(seed)
    samples = []
    for n, img_id in enumerate(gt.get_img_ids()):
        img = gt.imgs[img_id]
        height, width = img['height'], img['width']
        boxes, labels, masks = [], [], []
        for ann in gt.load_anns(gt.get_ann_ids(img_ids=[img_id])):
            x, y, w, h = ann['bbox']
            mask = gt.ann_to_mask(ann).astype(bool)
            for k in range(3):
                dx, dy, dw, dh = rng.normal(0, 0.08, 4) * [w, h, w, h]
                boxes.append([x + dx, y + dy, x + w + dx + dw, y + h + dy + dh])
                labels.append(cat_ids.index(ann['category_id']) if k < 2
                              else int(rng.integers(len(cat_ids))))
                masks.append(np.roll(mask, (int(dy), int(dx)), axis=(0, 1)))
        extra = crowded_image_dets - len(boxes) if n == 0 else 12
        for _ in range(extra):
            w, h = rng.uniform(4, width / 2), rng.uniform(4, height / 2)
            x, y = rng.uniform(0, width - w), rng.uniform(0, height - h)
            boxes.append([x, y, x + w, y + h])
            cat = rng.choice(on_images) if rng.random() < 0.7 else rng.choice(cat_ids)
            labels.append(cat_ids.index(int(cat)))
            mask = np.zeros((height, width), bool)
            mask[int(y):int(y + h), int(x):int(x + w)] = True
            masks.append(mask)
        boxes[-1][2] = boxes[-1][0]  # zero width: lvis-api drops it (area 0)
        samples.append(dict(img_id=img_id, ori_shape=(height, width), pred_instances=dict(
            bboxes=torch.tensor(boxes, dtype=torch.float32),
            scores=torch.from_numpy(rng.uniform(0.01, 1, len(boxes))).float(),
            labels=torch.tensor(labels), masks=torch.from_numpy(np.stack(masks)))))
    return samples


def copy_samples(samples):
    """Fresh sample dicts (a metric may edit what it is given)."""
    return [dict(s, pred_instances=dict(s['pred_instances'])) for s in samples]


def mmdet_results(samples, ann_file, iou_type):
    """mmdet's ``results2json`` restated: one dict a detection, masks as RLE strings."""
    cat_ids = LVIS(ann_file).get_cat_ids()
    dets = []
    for sample in samples:
        pred = sample['pred_instances']
        masks = encode_mask_results(pred['masks'].numpy()) if iou_type == 'segm' else None
        scores = pred.get('mask_scores', pred['scores']) if iou_type == 'segm' \
            else pred['scores']
        for i, label in enumerate(pred['labels'].tolist()):
            x1, y1, x2, y2 = pred['bboxes'][i].numpy().tolist()
            det = dict(image_id=sample['img_id'], bbox=[x1, y1, x2 - x1, y2 - y1],
                       score=float(scores[i]), category_id=cat_ids[label])
            if masks is not None:
                det['segmentation'] = dict(masks[i], counts=masks[i]['counts'].decode())
            dets.append(det)
    return dets


def lvis_api(ann_file, dets, iou_type, max_dets=300):
    """lvis-api 0.5.3 as mmdet calls it (``max_dets=-1``: as Dave et al. do):
    ``(results, precision)`` unrounded."""
    patch_lvis_numpy()
    gt = LVIS(ann_file)
    ev = LVISEval(gt, LVISResults(gt, dets, max_dets=max_dets), iou_type)
    ev.params.max_dets = max_dets
    ev.run()
    return dict(ev.get_results()), ev.eval['precision']


def fixed_ap_reference(ann_file, dets, iou_type, dets_per_cat):
    """Dave et al.'s ``scripts/evaluate_ap_fixed.py`` restated: each category's
    ``dets_per_cat`` best detections, no per-image cap (``max_dets=-1``)."""
    by_cat = defaultdict(list)
    for det in dets:
        by_cat[det['category_id']].append(det)
    kept = [d for anns in by_cat.values()
            for d in sorted(anns, key=lambda d: d['score'], reverse=True)[:dets_per_cat]]
    return lvis_api(ann_file, kept, iou_type, max_dets=-1)


def per_class_json(out_dir):
    with open(out_dir / 'lvis_per_class_ap.json') as f:
        return json.load(f)
