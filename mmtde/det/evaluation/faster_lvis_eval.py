# Copyright (c) mmtde contributors. All rights reserved.
"""faster-coco-eval's LVIS mode behind the interface mmdet's ``LVISMetric`` calls.

``benchmarks/lvis_eval_cost.py`` measured it 3.6x faster than lvis-api 0.5.3 on 500 images x 300
detections with the real LVIS v1 categories, with AP, AP50, AP75, APs/m/l and APr/c/f equal to
1e-16 for boxes. Only ``bbox`` is offered: mask AP has not been checked against lvis-api.
"""
from typing import Dict

# lvis-api's result names -> faster-coco-eval's ``stats_as_dict`` names.
_NAMES = dict(AP='AP_all', AP50='AP_50', AP75='AP_75', APs='AP_small', APm='AP_medium',
              APl='AP_large', APr='APr', APc='APc', APf='APf')


class FasterLVISEval:
    """Drop-in for ``lvis.LVISEval`` (bbox) used by ``StrictLVISMetric(backend=...)``.

    Args:
        lvis_gt (lvis.LVIS): Ground truth, as mmdet loaded it.
        lvis_dt (lvis.LVISResults): Detections, as mmdet loaded them (at most 300 a image).
        iou_type (str): Only ``'bbox'``.
    """

    def __init__(self, lvis_gt, lvis_dt, iou_type: str = 'bbox') -> None:
        if iou_type != 'bbox':
            raise ValueError(f"backend='faster-coco-eval' evaluates bbox only (iou_type="
                             f"{iou_type!r}); use backend='lvis' for segm")
        from faster_coco_eval import COCO, COCOeval_faster
        gt = COCO()
        gt.dataset = lvis_gt.dataset
        gt.createIndex()
        dt = gt.loadRes([dict(a) for a in lvis_dt.dataset['annotations']])
        self._eval = COCOeval_faster(gt, dt, 'bbox', lvis_style=True,
                                     print_function=lambda *args, **kwargs: None)
        self._eval.params.maxDets = [300]
        self.params = self._eval.params  # mmdet sets params.imgIds

    def evaluate(self) -> None:
        self._eval.evaluate()

    def accumulate(self) -> None:
        self._eval.accumulate()

    def summarize(self) -> None:
        self._eval.summarize()

    @property
    def eval(self) -> dict:
        return self._eval.eval

    def get_results(self) -> Dict[str, float]:
        stats = self._eval.stats_as_dict
        return {k: float(stats[v]) for k, v in _NAMES.items() if v in stats}

    def print_results(self) -> None:
        from mmengine.logging import print_log
        print_log('faster-coco-eval (LVIS mode): ' + ', '.join(
            f'{k}={v:.3f}' for k, v in self.get_results().items()), logger='current')
