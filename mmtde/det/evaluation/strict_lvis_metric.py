# Copyright (c) mmtde contributors. All rights reserved.
import copy
import difflib
from typing import List, Optional

from mmdet.evaluation import LVISMetric
from mmengine.registry import METRICS

from mmtde.evaluation.lvis_compat import check_lvis_categories, patch_lvis_numpy

from .faster_lvis_eval import FasterLVISEval


@METRICS.register_module()
class StrictLVISMetric(LVISMetric):
    """mmdet's ``LVISMetric`` that checks its annotation file before anything is predicted.

    The numbers are mmdet's (same evaluation, same keys such as ``lvis/bbox_APr``). What it
    adds: the official LVIS API is made to run on numpy >= 1.24 (see
    :func:`mmtde.evaluation.lvis_compat.patch_lvis_numpy`), and an annotation file whose
    categories lack the LVIS ``frequency`` group, or a missing ``ann_file``, is refused when
    the metric is built instead of with a ``KeyError`` after the whole test set ran (mmdet's
    fallback, a json converted from the dataset, never has frequencies).

    Args:
        ann_file (str, optional): The LVIS json (e.g. ``lvis_v1_val.json``). Required unless
            ``format_only=True``.
        backend (str): ``'lvis'`` (lvis-api, the reference) or ``'faster-coco-eval'``
            (bbox only; equal AP to 1e-16 and ~3.6x faster in ``benchmarks/lvis_eval_cost.py``;
            needs ``pip install faster-coco-eval``). Defaults to ``'lvis'``.
        **kwargs: Passed to ``LVISMetric`` (``metric``, ``format_only``, ...).
    """

    def __init__(self, ann_file: Optional[str] = None, backend: str = 'lvis',
                 **kwargs) -> None:
        patch_lvis_numpy()
        if backend not in ('lvis', 'faster-coco-eval'):
            raise ValueError(f"backend={backend!r} must be 'lvis' (lvis-api, the reference) or "
                             f"'faster-coco-eval' (same bbox AP, ~3.6x faster)")
        metrics = kwargs.get('metric', 'bbox')
        metrics = [metrics] if isinstance(metrics, str) else list(metrics)
        if backend == 'faster-coco-eval':
            if metrics != ['bbox']:
                raise ValueError(f"backend='faster-coco-eval' evaluates metric='bbox' only, got "
                                 f"metric={metrics}; use backend='lvis' for segm")
            try:
                import faster_coco_eval  # noqa: F401
            except ImportError as exc:
                raise ImportError("backend='faster-coco-eval' needs `pip install "
                                  "faster-coco-eval`") from exc
        self.backend = backend
        ignored = [k for k in ('iou_thrs', 'proposal_nums') if kwargs.get(k) is not None]
        if ignored and 'proposal_fast' not in metrics:
            raise ValueError(f'{ignored} only apply to metric=\'proposal_fast\' in mmdet\'s '
                             f'LVISMetric; with metric={metrics} the LVIS API uses its own IoU '
                             f'thresholds (0.50:0.95) and up to 300 detections per image, so '
                             f'they would be ignored: remove them')
        if ann_file is None and not kwargs.get('format_only', False):
            raise ValueError(
                f'{type(self).__name__} needs ann_file (the LVIS json with category '
                f"frequencies, e.g. 'data/lvis_v1/annotations/lvis_v1_val.json'): mmdet's "
                f'fallback converts the dataset to a json without frequency groups, on which '
                f'APr/APc/APf cannot be computed')
        super().__init__(ann_file=ann_file, **kwargs)
        self._ann_file_name = ann_file
        if self._lvis_api is not None:
            check_lvis_categories(self._lvis_api.dataset['categories'], ann_file)

    @property
    def dataset_meta(self) -> Optional[dict]:
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, dataset_meta: Optional[dict]) -> None:
        """Refuse, before testing, a dataset whose classes are not the json's categories.

        mmdet maps label ``i`` to the ``i``-th category id of the json: a dataset with another
        class list would fail with an ``IndexError`` after the whole test set, or, with as many
        classes, score every box under a wrong category.
        """
        classes = (dataset_meta or {}).get('classes')
        if classes is not None and self._lvis_api is not None:
            cats = sorted(self._lvis_api.dataset['categories'], key=lambda c: c['id'])
            check_classes_match(list(classes), [c['name'] for c in cats],
                                self._ann_file_name)
        self._dataset_meta = copy.deepcopy(dataset_meta)

    def compute_metrics(self, results: list) -> dict:
        """mmdet's computation, with lvis-api's ``LVISEval`` swapped for the chosen backend."""
        if self.backend == 'lvis':
            return super().compute_metrics(results)
        from mmdet.evaluation.metrics import lvis_metric
        original = lvis_metric.LVISEval
        lvis_metric.LVISEval = FasterLVISEval
        try:
            return super().compute_metrics(results)
        finally:
            lvis_metric.LVISEval = original


def check_classes_match(classes: List[str], names: List[str], ann_file: str) -> None:
    """Raise unless the dataset's classes are the json's category names, in id order.

    A name may differ slightly (mmdet spells ``speaker_(stereo_equipment)``, the LVIS v1
    json ``speaker_(stero_equipment)``); a different count or a shifted order is refused.
    """
    fix = ('use the dataset type of this annotation file (LVISV1Dataset for lvis_v1_*.json, '
           'LVISV05Dataset for lvis_v0.5_*.json) with its own classes, and the same '
           'num_classes in the model')
    if len(classes) != len(names):
        raise ValueError(f'{ann_file} has {len(names)} categories but the test dataset lists '
                         f'{len(classes)} classes: {fix}')
    unlike = [(i, a, b) for i, (a, b) in enumerate(zip(classes, names))
              if a != b and difflib.SequenceMatcher(None, a, b).ratio() < 0.8]
    if unlike:
        i, a, b = unlike[0]
        raise ValueError(f'the test dataset\'s class {i} is {a!r} but category {i} of '
                         f'{ann_file} (by id) is {b!r} ({len(unlike)} such pairs): labels '
                         f'would be scored under the wrong categories; {fix}')
