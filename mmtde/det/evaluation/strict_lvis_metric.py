# Copyright (c) mmtde contributors. All rights reserved.
from typing import Optional

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
        if backend == 'faster-coco-eval':
            metrics = kwargs.get('metric', 'bbox')
            metrics = [metrics] if isinstance(metrics, str) else list(metrics)
            if metrics != ['bbox']:
                raise ValueError(f"backend='faster-coco-eval' evaluates metric='bbox' only, got "
                                 f"metric={metrics}; use backend='lvis' for segm")
            try:
                import faster_coco_eval  # noqa: F401
            except ImportError as exc:
                raise ImportError("backend='faster-coco-eval' needs `pip install "
                                  "faster-coco-eval`") from exc
        self.backend = backend
        if ann_file is None and not kwargs.get('format_only', False):
            raise ValueError(
                f'{type(self).__name__} needs ann_file (the LVIS json with category '
                f"frequencies, e.g. 'data/lvis_v1/annotations/lvis_v1_val.json'): mmdet's "
                f'fallback converts the dataset to a json without frequency groups, on which '
                f'APr/APc/APf cannot be computed')
        super().__init__(ann_file=ann_file, **kwargs)
        if self._lvis_api is not None:
            check_lvis_categories(self._lvis_api.dataset['categories'], ann_file)

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
