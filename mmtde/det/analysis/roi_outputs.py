# Copyright (c) mmtde contributors. All rights reserved.
"""Run a two-stage detector once and keep what its RoI classifier says, for cheap sweeps.

* :func:`cache_roi_outputs`: per image, the proposals, the raw class scores and box deltas
  of the bbox head, exactly as ``StandardRoIHead.predict_bbox`` computes them before
  post-processing; :func:`predict_from_cache` then post-processes them (mmdet's own
  ``predict_by_feat``) after any change of the class scores, without the network.
* :func:`gt_box_scores`: the class probabilities of every ground-truth box used as the RoI.
"""
import copy
from typing import Callable, Dict, Iterable, List, Optional, Sequence

import torch
from mmdet.models.roi_heads import StandardRoIHead
from mmdet.models.utils import empty_instances
from mmdet.structures.bbox import bbox2roi
from mmengine.structures import InstanceData
from torch import Tensor


def check_standard_roi_head(model, what: str) -> StandardRoIHead:
    """The model's RoI head, refused unless a single-stage ``StandardRoIHead``."""
    roi_head = getattr(model, 'roi_head', None)
    if not isinstance(roi_head, StandardRoIHead) or not roi_head.with_bbox:
        raise TypeError(f'{what} needs a two-stage detector with a StandardRoIHead (Faster / '
                        f'Mask R-CNN); {type(model).__name__} has '
                        f'{type(roi_head).__name__} (cascade heads are not supported)')
    return roi_head


def _progress(loader, progress: bool, label: str) -> Iterable:
    if not progress:
        return loader
    from mmengine.utils import ProgressBar
    print(label)
    bar = ProgressBar(len(loader.dataset))

    def gen():
        for data in loader:
            yield data
            for _ in range(len(data['data_samples'])):
                bar.update()
        print()  # the bar does not end its line
    return gen()


@torch.no_grad()
def cache_roi_outputs(model, loader, progress: bool = True) -> List[dict]:
    """Per image, what the bbox head outputs for the RPN's proposals, before post-processing.

    Args:
        model: A two-stage detector (eval mode is set), with a ``StandardRoIHead``.
        loader: The dataloader of the split to score (the config's test pipeline).
        progress (bool): Show a progress bar. Defaults to True.

    Returns:
        list[dict]: One dict per image, on the CPU: ``rois`` (n, 5), ``cls_score`` (n, C + 1)
        as the bbox head returns it (logits, or a TDE head's log-probabilities at its alpha),
        ``bbox_pred`` (n, 4 or 4C, or None), ``img_meta`` (its metainfo).
        Memory: n x (C + 1 + 4C) floats an image with class-specific regression.
    """
    model.eval()
    roi_head = check_standard_roi_head(model, 'caching RoI outputs')
    cache = []
    for data in _progress(loader, progress, 'running the detector once ...'):
        data = model.data_preprocessor(data, False)
        samples = data['data_samples']
        x = model.extract_feat(data['inputs'])
        if samples[0].get('proposals', None) is None:
            rpn_results = model.rpn_head.predict(x, samples, rescale=False)
        else:
            rpn_results = [s.proposals for s in samples]
        proposals = [r.bboxes for r in rpn_results]
        sizes = [len(p) for p in proposals]
        rois = bbox2roi(proposals)
        if rois.shape[0]:
            # StandardRoIHead._bbox_forward, the raw scores (NorCalRoIHead calibrates them only
            # inside its predict_bbox)
            results = roi_head._bbox_forward(x, rois)
            cls_scores = results['cls_score'].float().cpu().split(sizes)
            bbox_pred = results['bbox_pred']
            bbox_preds = (bbox_pred.float().cpu().split(sizes) if bbox_pred is not None else
                          (None, ) * len(sizes))
        else:
            num = roi_head.bbox_head.num_classes + 1
            cls_scores = [rois.new_zeros((0, num)).cpu()] * len(sizes)
            bbox_preds = [None] * len(sizes)
        for img_rois, cls, deltas, sample in zip(rois.cpu().split(sizes), cls_scores,
                                                 bbox_preds, samples):
            cache.append(dict(rois=img_rois, cls_score=cls, bbox_pred=deltas,
                              img_meta=sample.metainfo))
    return cache


@torch.no_grad()
def predict_from_cache(roi_head: StandardRoIHead, cache: Sequence[dict],
                       transform: Optional[Callable[[Tensor], Tensor]] = None,
                       rescale: bool = True) -> List[InstanceData]:
    """Detections of every cached image, with ``transform`` applied to the class scores.

    The same steps as ``StandardRoIHead.predict_bbox`` after its ``_bbox_forward`` (mmdet's
    ``predict_by_feat``: softmax, box decoding, score threshold, NMS, ``max_per_img``), on the
    CPU. With ``rescale=True`` boxes are in original image coordinates, as a Faster R-CNN
    test outputs them (a Mask R-CNN rescales them in its mask head instead: the same boxes up
    to rounding).

    Args:
        roi_head (StandardRoIHead): The model's RoI head (its ``bbox_head`` and ``test_cfg``).
        cache (Sequence[dict]): From :func:`cache_roi_outputs`.
        transform (callable, optional): Maps ``cls_score`` (n, C + 1) to what
            ``predict_by_feat`` receives. Defaults to None (unchanged).
        rescale (bool): Boxes in original image coordinates. Defaults to True.

    Returns:
        list[InstanceData]: ``bboxes``, ``scores``, ``labels`` per image.
    """
    out = []
    for item in cache:
        if item['rois'].shape[0] == 0:
            out += empty_instances([item['img_meta']], torch.device('cpu'), task_type='bbox',
                                   box_type=roi_head.bbox_head.predict_box_type,
                                   num_classes=roi_head.bbox_head.num_classes)
            continue
        cls = item['cls_score'] if transform is None else transform(item['cls_score'])
        out += roi_head.bbox_head.predict_by_feat(
            rois=(item['rois'], ), cls_scores=(cls, ), bbox_preds=(item['bbox_pred'], ),
            batch_img_metas=[item['img_meta']], rcnn_test_cfg=roi_head.test_cfg,
            rescale=rescale)
    return out


def _ground_truth_pipeline(pipeline: Sequence[dict]) -> List[dict]:
    """The test pipeline with the boxes loaded right after the image, so that every
    transform (resize, flip, pad) moves them with it; mmdet's test pipelines load them after
    ``Resize`` to keep them in original coordinates for evaluation."""
    steps = [dict(p) for p in pipeline if p.get('type') != 'LoadAnnotations']
    first = [i for i, p in enumerate(steps) if p.get('type') == 'LoadImageFromFile']
    if not first:
        raise ValueError(f'the test pipeline {[p.get("type") for p in pipeline]} has no '
                         f'LoadImageFromFile to load the ground truth after')
    steps.insert(first[0] + 1, dict(type='LoadAnnotations', with_bbox=True))
    return steps


def ground_truth_loader_cfg(loader_cfg: dict) -> dict:
    """A copy of a test dataloader config that loads ground-truth boxes in network
    coordinates (see :func:`gt_box_scores`)."""
    cfg = copy.deepcopy(loader_cfg)
    cfg['dataset']['pipeline'] = _ground_truth_pipeline(cfg['dataset']['pipeline'])
    return cfg


@torch.no_grad()
def gt_box_scores(model, loader, variants: Dict[str, Callable[[], object]],
                  progress: bool = True) -> Dict[str, object]:
    """Class probabilities (C + 1, background last) of every ground-truth box as the RoI.

    Args:
        model: A two-stage detector with a ``StandardRoIHead``.
        loader: A dataloader whose samples carry ``gt_instances`` in network input
            coordinates (:func:`ground_truth_loader_cfg`).
        variants (dict[str, callable]): Name -> a context manager factory that sets the model
            up for that variant (e.g. a TDE alpha); each variant reuses the backbone features.
        progress (bool): Show a progress bar. Defaults to True.

    Returns:
        dict: ``labels`` (N,) int64 and, per variant name, ``probs`` (N, C + 1) float32: the
        softmax of what the bbox head hands to ``predict_by_feat`` (for a ``NorCalRoIHead``,
        its calibrated scores).
    """
    model.eval()
    roi_head = check_standard_roi_head(model, 'scoring ground-truth boxes')
    calibrate = getattr(roi_head, 'calibrate', None)
    labels, probs = [], {name: [] for name in variants}
    for data in _progress(loader, progress, 'scoring ground-truth boxes ...'):
        data = model.data_preprocessor(data, False)
        samples = data['data_samples']
        boxes = [s.gt_instances.bboxes for s in samples]
        boxes = [b.tensor if hasattr(b, 'tensor') else b for b in boxes]
        if sum(len(b) for b in boxes) == 0:
            continue
        x = model.extract_feat(data['inputs'])
        rois = bbox2roi(boxes)
        labels.append(torch.cat([s.gt_instances.labels for s in samples]).cpu())
        for name, setup in variants.items():
            with setup():
                score = roi_head._bbox_forward(x, rois)['cls_score']
                if calibrate is not None:
                    score = calibrate(score)
            probs[name].append(torch.softmax(score.float(), dim=-1).cpu())
    num = roi_head.bbox_head.num_classes + 1
    out = dict(labels=torch.cat(labels) if labels else torch.zeros(0, dtype=torch.long))
    for name, p in probs.items():
        out[name] = torch.cat(p) if p else torch.zeros((0, num))
    return out
