# Copyright (c) mmtde contributors. All rights reserved.
"""Per-image LVIS detections in the compact form the evaluation needs, and nothing more.

mmdet's ``LVISMetric`` keeps every detection until the end (300 an image on LVIS v1 val: 5.9
million), turns each into a Python dict, dumps them all to a json and has lvis-api read it
back, which first deep-copies the ground truth: several KB a detection, on the rank that
collected all of them. Here each image keeps, per IoU type, numpy arrays (boxes, scores,
labels) and its masks' RLE strings joined into one ``bytes``, of only the detections lvis-api
would score: the 300 best of the image (LVIS AP) or all (Fixed AP), of a category verified in
the image (lvis-api drops the others in ``LVISEval._prepare``) and with a positive box area
(``LVIS.get_ann_ids`` drops the others). Fixed AP's per-class budget is global, so for it
every detection also keeps its score and label (8 bytes).

:func:`chunk_annotations` turns the kept detections of some categories back into the dicts
lvis-api and faster-coco-eval take, the same as mmdet's ``results2json`` writes them.
"""
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np
import torch
from mmdet.structures.mask import encode_mask_results

from .detection_caps import top_per_image

IOU_TYPES = ('bbox', 'segm')


def _numpy(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def compact_image(pred: Mapping, iou_types: Sequence[str], verified: np.ndarray,
                  max_dets_per_image: Optional[int]) -> Dict[str, dict]:
    """The detections of one image that LVIS evaluation scores, per IoU type.

    Args:
        pred (Mapping): mmdet's ``pred_instances``: ``bboxes`` (N, 4) xyxy, ``scores`` (N, ),
            ``labels`` (N, ); for segm ``masks`` ((N, H, W) tensor, or a list of RLE dicts)
            and optionally ``mask_scores`` (N, ).
        iou_types (Sequence[str]): ``'bbox'`` and / or ``'segm'``.
        verified (np.ndarray): Sorted labels whose category is verified in this image
            (annotated, or listed in ``neg_category_ids``).
        max_dets_per_image (int, optional): The per-image cap of LVIS AP; None for Fixed AP,
            which keeps every detection's score and label for its per-class budget.

    Returns:
        dict: Per IoU type: ``idx`` (kept detections' positions, int32), ``boxes`` (float32
        (K, 4) xyxy), ``scores`` (float32), ``labels`` (int32); for segm ``rles`` (``bytes``),
        ``rle_ends`` (int64 (K, )) and ``sizes`` (int32 (K, 2)); for Fixed AP ``all_scores``
        and ``all_labels`` of every detection.
    """
    boxes = _numpy(pred['bboxes']).astype(np.float32).reshape(-1, 4)
    labels = _numpy(pred['labels']).astype(np.int32).reshape(-1)
    wh = boxes[:, 2:].astype(np.float64) - boxes[:, :2]
    scorable = np.isin(labels, verified) & (wh[:, 0] * wh[:, 1] > 0)
    out = {}
    for iou_type in iou_types:
        key = 'mask_scores' if iou_type == 'segm' and 'mask_scores' in pred else 'scores'
        scores = _numpy(pred[key]).astype(np.float32).reshape(-1)
        idx = (np.arange(len(scores)) if max_dets_per_image is None
               else top_per_image(scores, max_dets_per_image))
        idx = idx[scorable[idx]]
        kept = dict(idx=idx.astype(np.int32), boxes=boxes[idx], scores=scores[idx],
                    labels=labels[idx])
        if max_dets_per_image is None:
            kept.update(all_scores=scores, all_labels=labels)
        if iou_type == 'segm':
            if 'masks' not in pred:
                raise KeyError("metric 'segm' needs pred_instances.masks (a mask head)")
            masks = pred['masks']
            if isinstance(masks, torch.Tensor):
                rles = encode_mask_results(masks[torch.from_numpy(idx).long()].cpu().numpy())
            else:  # already RLE-encoded, as mmdet's CocoMetric accepts
                rles = [masks[i] for i in idx]
            counts = [r['counts'].encode() if isinstance(r['counts'], str) else r['counts']
                      for r in rles]
            kept.update(rles=b''.join(counts),
                        rle_ends=np.cumsum([len(c) for c in counts], dtype=np.int64),
                        sizes=np.array([r['size'] for r in rles], np.int32).reshape(-1, 2))
        out[iou_type] = kept
    return out


def chunk_annotations(records: Sequence[dict], iou_type: str, label_rank: np.ndarray,
                      ranks: range, cat_ids: Sequence[int],
                      selected: Optional[List[np.ndarray]] = None) -> List[dict]:
    """Result dicts of the kept detections whose category is in ``ranks``.

    Args:
        records (Sequence[dict]): Per image ``{'img_id': ..., iou_type: compact_image(...)}``.
        iou_type (str): ``'bbox'`` or ``'segm'``.
        label_rank (np.ndarray): Label -> position of its category id in ``cat_ids``.
        ranks (range): Consecutive positions in ``cat_ids`` to take.
        cat_ids (Sequence[int]): Category ids, sorted (lvis-api's order).
        selected (list[np.ndarray], optional): Per image, a mask over its kept detections
            (Fixed AP's budget). Defaults to all.

    Returns:
        list[dict]: ``image_id``, ``category_id``, ``bbox`` (xywh), ``score``, ``area`` (the
        box's, as ``LVISResults`` sets it when a result has a bbox), ``id`` (from 1), and for
        segm ``segmentation`` (compressed RLE).
    """
    anns = []
    for i, record in enumerate(records):
        kept = record[iou_type]
        rank = label_rank[kept['labels']]
        take = (rank >= ranks.start) & (rank < ranks.stop)
        if selected is not None:
            take &= selected[i]
        for j in np.flatnonzero(take).tolist():
            x1, y1, x2, y2 = kept['boxes'][j].tolist()
            w, h = x2 - x1, y2 - y1  # mmdet's xyxy2xywh, in float64
            ann = dict(image_id=record['img_id'], category_id=cat_ids[rank[j]],
                       bbox=[x1, y1, w, h], score=float(kept['scores'][j]), area=w * h,
                       id=len(anns) + 1)
            if iou_type == 'segm':
                start = int(kept['rle_ends'][j - 1]) if j else 0
                ann['segmentation'] = dict(size=kept['sizes'][j].tolist(),
                                           counts=kept['rles'][start:kept['rle_ends'][j]])
            anns.append(ann)
    return anns
