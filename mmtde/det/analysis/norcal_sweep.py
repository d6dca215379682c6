# Copyright (c) mmtde contributors. All rights reserved.
"""Score NorCal's ``gamma`` on a held-out split from one pass of the detector.

The network runs once (:func:`~mmtde.det.analysis.roi_outputs.cache_roi_outputs`); every
gamma then only re-normalises the cached class scores and re-runs mmdet's post-processing
(softmax, box decoding, NMS) and the LVIS evaluation. Boxes only: the mask head would need the
network again for every gamma's detections. :func:`run_gamma_sweep` does all of it for a
config and a checkpoint (``tools/analysis/norcal_gamma_sweep.py`` is its command line).
"""
import copy
import os.path as osp
from typing import List, Optional, Sequence

import torch

from mmtde.functional.norcal import check_norcal_gamma, norcal_log_probs

from .roi_outputs import cache_roi_outputs, predict_from_cache

#: Summary columns printed by :func:`format_gamma_table` (StrictLVISMetric's keys).
TABLE_KEYS = ('bbox_AP', 'bbox_APr', 'bbox_APc', 'bbox_APf')


def sweep_gamma(roi_head, cache: Sequence[dict], gammas: Sequence[float],
                class_counts: torch.Tensor, metric) -> List[dict]:
    """Box metrics of NorCal at each gamma, from cached RoI outputs.

    Args:
        roi_head: The detector's ``StandardRoIHead`` (its bbox head and ``test_cfg``).
        cache (Sequence[dict]): From ``cache_roi_outputs`` on the held-out split.
        gammas (Sequence[float]): The gammas to score, each >= 0 (0: the model as trained).
        class_counts (torch.Tensor): Training count of each foreground class, shape (C,)
            (:func:`mmtde.functional.norcal.check_class_counts`).
        metric: A box metric with ``process`` / ``evaluate`` (e.g. ``StrictLVISMetric`` with
            ``metric='bbox'`` and the held-out annotation file), ``dataset_meta`` set.

    Returns:
        list[dict]: Per gamma, ``gamma`` and the metric's results without their prefix
        (``bbox_AP``, ``bbox_APr``, ...).
    """
    gammas = [check_norcal_gamma(g, allow_zero=True) for g in gammas]
    rows = []
    for gamma in gammas:
        preds = predict_from_cache(
            roi_head, cache, lambda score: norcal_log_probs(score, class_counts, gamma))
        for item, pred in zip(cache, preds):
            metric.process({}, [dict(item['img_meta'], pred_instances=pred.to_dict())])
        results = metric.evaluate(len(cache))
        rows.append(dict(gamma=gamma, **{k.split('/')[-1]: float(v) for k, v in results.items()
                                         if not k.endswith('_precision')}))
    return rows


def pick_gamma(rows: Sequence[dict], key: str = 'bbox_AP') -> float:
    """The gamma with the highest ``key``; the smallest such gamma on ties."""
    if not rows or key not in rows[0]:
        have = sorted(rows[0]) if rows else []
        raise ValueError(f'cannot pick gamma by {key!r}: the sweep reports {have}')
    best = max(row[key] for row in rows)
    return min(row['gamma'] for row in rows if row[key] == best)


def format_gamma_table(rows: Sequence[dict], keys: Optional[Sequence[str]] = None) -> str:
    """A plain-text table of the sweep, one line per gamma (AP in %)."""
    keys = [k for k in (keys or TABLE_KEYS) if rows and k in rows[0]]
    lines = ['gamma   ' + ''.join(f'{k:>10}' for k in keys)]
    for row in rows:
        lines.append(f'{row["gamma"]:<8g}' + ''.join(f'{100 * row[k]:>10.2f}' for k in keys))
    return '\n'.join(lines)


def training_ann_file(cfg) -> str:
    """The annotation file of a config's training set (through dataset wrappers)."""
    dataset = (cfg.get('train_dataloader') or {}).get('dataset')
    while dataset is not None and 'dataset' in dataset:
        dataset = dataset['dataset']  # ClassBalancedDataset (RFS), RepeatDataset, ...
    if dataset is None or not dataset.get('ann_file'):
        raise ValueError(f'{cfg.filename} names no training annotation file: give '
                         f'train_ann_file')
    return osp.join(dataset.get('data_root') or '', dataset['ann_file'])


def check_cache_size(model, num_images: int, max_gb: float) -> float:
    """The cache's size bound in GB (proposals an image from ``test_cfg.rpn.max_per_img``);
    raises when it exceeds ``max_gb``."""
    bbox_head = model.roi_head.bbox_head
    rpn_cfg = (model.test_cfg or {}).get('rpn') or {}
    proposals = rpn_cfg.get('max_per_img', 1000)
    deltas = 4 if bbox_head.reg_class_agnostic else 4 * bbox_head.num_classes
    size = num_images * proposals * (bbox_head.num_classes + 1 + deltas) * 4 / 1e9
    if size > max_gb:
        raise ValueError(f'caching {num_images} images x {proposals} proposals x '
                         f'{bbox_head.num_classes + 1} scores (+ {deltas} box deltas) takes up '
                         f'to {size:.1f} GB, above max_cache_gb={max_gb:g}: score a held-out '
                         f'subset with fewer images, or raise the limit (--max-cache-gb)')
    return size


def run_gamma_sweep(cfg, checkpoint: str, ann_file: str, gammas: Sequence[float],
                    train_ann_file: Optional[str] = None, count: str = 'image',
                    source: str = 'annotations', select: str = 'bbox_AP',
                    device: str = 'cpu', progress: bool = True,
                    max_cache_gb: float = 16.0) -> dict:
    """Score NorCal gammas for a checkpoint on a held-out annotation file; pick the best.

    Args:
        cfg (Config): The model's config (its model, test dataloader and test evaluator are
            used; the default scope must be mmdet's).
        checkpoint (str): The trained weights (any softmax bbox head; no retraining).
        ann_file (str): The held-out split (LVIS format; images are found as the test
            dataloader finds them). Refused when it is the config's test set.
        gammas (Sequence[float]): Gammas to score, each >= 0 (0: the model as trained).
        train_ann_file (str, optional): Where the class counts come from. Defaults to the
            config's training annotation file.
        count (str): ``'image'`` or ``'instance'`` counts. Defaults to 'image'.
        source (str): ``'annotations'`` or ``'categories'`` (see
            :func:`mmtde.evaluation.class_counts.lvis_class_counts`). Defaults to
            'annotations'.
        select (str): The metric that picks gamma. Defaults to 'bbox_AP'.
        device (str): Where the detector runs. Defaults to 'cpu'.
        progress (bool): Show a progress bar. Defaults to True.
        max_cache_gb (float): Refuse before running when the cache would exceed this (images
            x proposals x (C + 1 + box deltas) float32 numbers). Defaults to 16.

    Returns:
        dict: ``rows`` (per gamma, the box metrics), ``best_gamma``, ``select``, the files
        used, ``count``, ``source`` and ``head`` (the bbox head's type).
    """
    from mmdet.registry import METRICS, MODELS
    from mmengine.runner import Runner, load_checkpoint

    from mmtde.det.roi_heads.norcal_roi_head import check_softmax_bbox_head, norcal_class_counts
    from mmtde.utils import model_cfg

    gammas = [check_norcal_gamma(g, allow_zero=True) for g in gammas]
    ann_file = osp.abspath(ann_file)
    if not osp.isfile(ann_file):
        raise FileNotFoundError(f'the held-out annotation file {ann_file} does not exist')
    test_ann = (cfg.get('test_evaluator') or {}).get('ann_file')
    if test_ann and osp.abspath(test_ann) == ann_file:
        raise ValueError(f'{ann_file} is the test set of {cfg.filename}: a gamma picked on it '
                         f'is tuned on the test set; give a held-out split')
    train_ann_file = train_ann_file or training_ann_file(cfg)
    model = MODELS.build(model_cfg(cfg))
    check_softmax_bbox_head(model.roi_head.bbox_head, 'NorCal')
    # gamma=1 only passes the check: the counts are what is read here (before the network)
    _, counts = norcal_class_counts(
        dict(gamma=1.0, ann_file=train_ann_file, count=count, source=source),
        model.roi_head.bbox_head.num_classes)
    load_checkpoint(model, checkpoint, map_location='cpu')
    model.to(device)

    loader_cfg = copy.deepcopy(cfg.test_dataloader)
    loader_cfg.dataset.ann_file = ann_file
    loader = Runner.build_dataloader(loader_cfg)
    check_cache_size(model, len(loader.dataset), max_cache_gb)
    evaluator = copy.deepcopy(cfg.test_evaluator)
    if isinstance(evaluator, (list, tuple)):
        evaluator = evaluator[0]
    evaluator.update(ann_file=ann_file, metric='bbox')
    for key in ('per_class_ap', 'classwise'):
        evaluator.pop(key, None)
    metric = METRICS.build(evaluator)
    metric.dataset_meta = loader.dataset.metainfo

    cache = cache_roi_outputs(model, loader, progress)
    rows = sweep_gamma(model.roi_head, cache, gammas, counts, metric)
    return dict(checkpoint=checkpoint, ann_file=ann_file, train_ann_file=train_ann_file,
                count=count, source=source, head=type(model.roi_head.bbox_head).__name__,
                select=select, best_gamma=pick_gamma(rows, select), rows=rows)
