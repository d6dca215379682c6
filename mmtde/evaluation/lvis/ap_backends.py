# Copyright (c) mmtde contributors. All rights reserved.
"""LVIS AP one group of categories at a time, by lvis-api or by faster-coco-eval.

A category's AP depends only on its own detections and ground truth (and on the images'
verified lists), so evaluating categories in groups and joining the precision arrays gives
the numbers of one evaluation of all, while only one group's detections exist as Python dicts
at a time. Both backends return lvis-api's arrays, precision (T, R, K, A) and recall
(T, K, A); :func:`summarize` then computes AP, AP50, ..., APr/c/f from the joined arrays with
lvis-api's own ``LVISEval.summarize``, whichever backend filled them.

Deliberate differences from mmdet's ``LVISMetric`` path, none of which changes a number (the
tests compare them with lvis-api): lvis-api gets the detections through
:class:`DetectionsView`, an ``LVISResults`` that shares the ground truth's image list instead
of deep-copying the whole ground truth, and that has neither the per-image cap (applied when
the detections were kept) nor the box polygon ``LVISResults`` adds for bbox results (unused).
"""
import logging
from typing import List, Sequence, Tuple

import numpy as np
from lvis import LVIS, LVISEval, LVISResults

#: ``backend=`` values of ``StrictLVISMetric``.
BACKENDS = ('lvis', 'faster-coco-eval')


class DetectionsView(LVISResults):
    """lvis-api's results object over ready result dicts (with ``area`` and ``id``).

    Args:
        gt (LVIS): The ground truth; its images and categories are shared, not copied.
        anns (list[dict]): Result dicts from
            :func:`mmtde.evaluation.lvis.compact_detections.chunk_annotations`.
    """

    def __init__(self, gt: LVIS, anns: List[dict]) -> None:
        # not LVISResults.__init__: it deep-copies ``gt.dataset`` and re-selects detections
        self.logger = logging.getLogger(__name__)
        self.dataset = dict(images=gt.dataset['images'], categories=gt.dataset['categories'],
                            annotations=anns)
        self._create_index()


class LVISAPIBackend:
    """lvis-api's ``LVISEval`` (the reference) on one group of categories."""

    def __init__(self, gt: LVIS) -> None:
        self.gt = gt

    def evaluate(self, anns: List[dict], iou_type: str, cat_ids: Sequence[int],
                 max_dets: int) -> Tuple[np.ndarray, np.ndarray]:
        ev = LVISEval(self.gt, DetectionsView(self.gt, anns), iou_type)
        ev.params.cat_ids = list(cat_ids)
        ev.params.max_dets = max_dets  # only printed: the detections are already selected
        ev.evaluate()
        ev.accumulate()
        return ev.eval['precision'], ev.eval['recall']


class FasterCocoEvalBackend:
    """faster-coco-eval's ``COCOeval_faster(lvis_style=True)`` on one group of categories.

    ``benchmarks/lvis_eval_cost.py`` measured it ~3.6x faster than lvis-api with equal box AP;
    the tests check boxes and masks against lvis-api.
    """

    def __init__(self, gt: LVIS) -> None:
        try:
            from faster_coco_eval import COCO
        except ImportError as exc:
            raise ImportError("backend='faster-coco-eval' needs `pip install "
                              "faster-coco-eval` (requirements/tests.txt pins the tested "
                              "version)") from exc
        self.gt = COCO()
        self.gt.dataset = gt.dataset  # shared with lvis-api's object, not copied
        self.gt.createIndex()

    def evaluate(self, anns: List[dict], iou_type: str, cat_ids: Sequence[int],
                 max_dets: int) -> Tuple[np.ndarray, np.ndarray]:
        from faster_coco_eval import COCOeval_faster
        ev = COCOeval_faster(self.gt, self.gt.loadRes(anns), iou_type, lvis_style=True,
                             print_function=lambda *args, **kwargs: None)
        ev.params.catIds = list(cat_ids)
        # its cap is per image *and category*; the per-image selection is already made
        ev.params.maxDets = [max_dets if max_dets > 0 else max(len(anns), 1)]
        ev.evaluate()
        ev.accumulate()
        return ev.eval['precision'][..., -1], ev.eval['recall'][..., -1]


def build_backend(name: str, gt: LVIS):
    """The backend called ``name`` (one of :data:`BACKENDS`) over the ground truth ``gt``."""
    return {'lvis': LVISAPIBackend, 'faster-coco-eval': FasterCocoEvalBackend}[name](gt)


def summarize(gt: LVIS, precision: np.ndarray, recall: np.ndarray, iou_type: str,
              max_dets: int) -> LVISEval:
    """lvis-api's summary (AP, AP50, AP75, APs/m/l, APr/c/f, AR@...) of joined arrays.

    Args:
        gt (LVIS): The ground truth (for the categories' frequency groups).
        precision (np.ndarray): (T, R, K, A) over all categories, sorted by id.
        recall (np.ndarray): (T, K, A).
        iou_type (str): ``'bbox'`` or ``'segm'``.
        max_dets (int): Detections an image (300), or -1 for none (Fixed AP), as lvis-api
            names its AR keys (``AR@300``).

    Returns:
        LVISEval: With ``results`` filled; ``print_results()`` prints lvis-api's table.
    """
    ev = LVISEval(gt, DetectionsView(gt, []), iou_type)
    ev.params.max_dets = max_dets
    ev.freq_groups = ev._prepare_freq_group()
    ev.eval = dict(precision=precision, recall=recall)
    ev.summarize()
    return ev
