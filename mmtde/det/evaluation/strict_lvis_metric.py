# Copyright (c) mmtde contributors. All rights reserved.
from typing import Optional

from mmdet.evaluation import LVISMetric
from mmengine.registry import METRICS

from mmtde.evaluation.lvis_compat import check_lvis_categories, patch_lvis_numpy


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
        **kwargs: Passed to ``LVISMetric`` (``metric``, ``format_only``, ...).
    """

    def __init__(self, ann_file: Optional[str] = None, **kwargs) -> None:
        patch_lvis_numpy()
        if ann_file is None and not kwargs.get('format_only', False):
            raise ValueError(
                f'{type(self).__name__} needs ann_file (the LVIS json with category '
                f"frequencies, e.g. 'data/lvis_v1/annotations/lvis_v1_val.json'): mmdet's "
                f'fallback converts the dataset to a json without frequency groups, on which '
                f'APr/APc/APf cannot be computed')
        super().__init__(ann_file=ann_file, **kwargs)
        if self._lvis_api is not None:
            check_lvis_categories(self._lvis_api.dataset['categories'], ann_file)
