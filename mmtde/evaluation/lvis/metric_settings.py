# Copyright (c) mmtde contributors. All rights reserved.
"""The settings of ``StrictLVISMetric`` that would be ignored or cannot work, refused up front."""
from typing import Optional

from .ap_backends import BACKENDS
from .compact_detections import IOU_TYPES
from .detection_caps import MAX_DETS_PER_IMAGE

#: lvis-api's summary keys that ``metric_items`` may pick (``AR@300`` and its area variants
#: are named after the per-image cap, ``AR@-1`` under Fixed AP, as lvis-api names them).
SUMMARY_KEYS = ('AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'APr', 'APc', 'APf')


def _positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def check_settings(ann_file: Optional[str], backend: str, fixed_ap_dets_per_cat: Optional[int],
                   per_class_ap: bool, train_ann_file: Optional[str], cats_per_chunk: int,
                   kwargs: dict) -> bool:
    """Refuse settings that would be ignored or cannot work, naming the fix.

    Args:
        ann_file, backend, fixed_ap_dets_per_cat, per_class_ap, train_ann_file,
            cats_per_chunk: ``StrictLVISMetric``'s arguments.
        kwargs (dict): The arguments it passes on to mmdet's ``LVISMetric``.

    Returns:
        bool: Whether our (compact) path evaluates: ``metric`` is ``'bbox'`` and / or
        ``'segm'`` and not ``format_only``; otherwise mmdet's code runs unchanged.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend={backend!r} must be 'lvis' (lvis-api, the reference) or "
                         f"'faster-coco-eval' (same AP, ~3.6x faster)")
    metrics = kwargs.get('metric', 'bbox')
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    format_only = kwargs.get('format_only', False)
    ignored = [k for k in ('iou_thrs', 'proposal_nums') if kwargs.get(k) is not None]
    if ignored and 'proposal_fast' not in metrics:
        raise ValueError(f'{ignored} only apply to metric=\'proposal_fast\' in mmdet\'s '
                         f'LVISMetric; with metric={metrics} the LVIS API uses its own IoU '
                         f'thresholds (0.50:0.95) and up to 300 detections per image, so '
                         f'they would be ignored: remove them')
    if ann_file is None and not format_only:
        raise ValueError(
            "StrictLVISMetric needs ann_file (the LVIS json with category frequencies, e.g. "
            "'data/lvis_v1/annotations/lvis_v1_val.json'): mmdet's fallback converts the "
            'dataset to a json without frequency groups, on which APr/APc/APf cannot be '
            'computed')
    compact = set(metrics) <= set(IOU_TYPES) and not format_only
    ours = dict(backend=backend != 'lvis', fixed_ap_dets_per_cat=fixed_ap_dets_per_cat,
                per_class_ap=per_class_ap, train_ann_file=train_ann_file)
    if not compact and any(ours.values()):
        raise ValueError(f"{[k for k, v in ours.items() if v]} evaluate metric='bbox' / "
                         f"'segm'; with metric={metrics} and format_only={format_only} "
                         f"mmdet's code runs unchanged")
    if compact and kwargs.get('outfile_prefix') is not None:
        raise ValueError('outfile_prefix: StrictLVISMetric evaluates without writing result '
                         'files and keeps only the detections LVIS AP scores; to save every '
                         'detection, run a test with format_only=True and outfile_prefix')
    if fixed_ap_dets_per_cat is not None and not _positive_int(fixed_ap_dets_per_cat):
        raise ValueError(f'fixed_ap_dets_per_cat={fixed_ap_dets_per_cat!r} must be a positive '
                         f'integer (Dave et al. use 10000 on LVIS v1 val) or None for LVIS AP')
    if not _positive_int(cats_per_chunk):
        raise ValueError(f'cats_per_chunk={cats_per_chunk!r} must be a positive integer')
    if train_ann_file is not None and not per_class_ap:
        raise ValueError('train_ann_file is only read for the per-class plot: set '
                         'per_class_ap=True, or remove it')
    items = kwargs.get('metric_items')
    if compact and items is not None:
        cap = -1 if fixed_ap_dets_per_cat else MAX_DETS_PER_IMAGE
        known = SUMMARY_KEYS + tuple(f'AR{a}@{cap}' for a in ('', 's', 'm', 'l'))
        unknown = [k for k in items if k not in known]
        if unknown:
            raise ValueError(f'metric_items {unknown} are not lvis-api summary keys; choose '
                             f'from {list(known)}')
    if backend == 'faster-coco-eval':  # its import error now, not after the test
        try:
            import faster_coco_eval  # noqa: F401
        except ImportError as exc:
            raise ImportError("backend='faster-coco-eval' needs `pip install faster-coco-eval` "
                              "(requirements/tests.txt pins the tested version)") from exc
    return compact
