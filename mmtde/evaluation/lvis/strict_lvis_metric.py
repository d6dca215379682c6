# Copyright (c) mmtde contributors. All rights reserved.
import copy
import logging
import os
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional

import numpy as np
from lvis import LVIS
from mmdet.evaluation import LVISMetric
from mmengine.dist import get_rank
from mmengine.fileio import exists, get_local_path
from mmengine.logging import MMLogger
from mmengine.registry import METRICS

from .annotation_checks import check_classes_match, check_lvis_categories
from .ap_backends import build_backend, summarize
from .compact_detections import chunk_annotations, compact_image
from .detection_caps import MAX_DETS_PER_IMAGE, top_per_category
from .json_reader import read_lvis_json, training_image_counts
from .metric_settings import SUMMARY_KEYS, check_settings
from .numpy_patch import patch_lvis_numpy
from .per_class_ap import per_class_ap, per_class_rows, plot_per_class_ap, write_per_class_json

PER_CLASS_FILE = 'lvis_per_class_ap.json'


@METRICS.register_module()
class StrictLVISMetric(LVISMetric):
    """mmdet's ``LVISMetric`` that checks its annotation file first and keeps memory bounded.

    Same numbers and keys as mmdet (``lvis/bbox_AP``, ``lvis/segm_APr``, ... rounded to 3
    decimals; ``classwise`` and ``metric_items`` as there). What it adds:

    * lvis-api runs on numpy >= 1.24
      (:func:`~mmtde.evaluation.lvis.numpy_patch.patch_lvis_numpy`), and an annotation file
      without LVIS ``frequency`` groups, a missing ``ann_file`` or a dataset whose classes are
      not the file's categories is refused before the test runs.
    * Memory (``metric='bbox'`` / ``'segm'``): each rank keeps only what lvis-api scores, in
      numpy arrays and RLE bytes (:mod:`~mmtde.evaluation.lvis.compact_detections`), not the
      annotation file (read once, streamed; rank 0 loads it after the test); categories are
      then evaluated ``cats_per_chunk`` at a time (:mod:`~mmtde.evaluation.lvis.ap_backends`).
    * ``backend='faster-coco-eval'`` for boxes and masks, ``fixed_ap_dets_per_cat`` (Fixed AP,
      see :mod:`~mmtde.evaluation.lvis.detection_caps`) and ``per_class_ap``.

    ``format_only`` and the ``proposal`` metrics run mmdet's code unchanged.

    Args:
        ann_file (str, optional): The LVIS json (e.g. ``lvis_v1_val.json``). Required unless
            ``format_only=True``.
        backend (str): ``'lvis'`` (lvis-api, the reference) or ``'faster-coco-eval'`` (same
            AP for bbox and segm in the tests, ~3.6x faster; ``pip install faster-coco-eval``).
            Defaults to ``'lvis'``.
        fixed_ap_dets_per_cat (int, optional): None for LVIS AP (300 detections an image).
            K for Fixed AP (Dave et al. 2021; K=10000 on LVIS v1 val): each class keeps its K
            best detections of the whole set, images are not capped; keys become
            ``{metric}_fixed_AP``, ... The model must then output more than mmdet's 300 an
            image (``model.test_cfg.rcnn.max_per_img``, lower ``score_thr``), or classes
            get fewer than K (logged). Defaults to None.
        per_class_ap (bool): Write each class's AP (and the summary) to
            ``lvis_per_class_ap.json`` in ``per_class_dir``. Defaults to False.
        train_ann_file (str, optional): The training json; with ``per_class_ap``, each class's
            training images are counted from it and ``lvis_per_class_ap_{metric}.png`` plots
            AP against them. Defaults to None.
        per_class_dir (str, optional): Where the per-class files go. Defaults to the Runner's
            log dir (next to its summary ``{timestamp}.json``).
        cats_per_chunk (int): Categories evaluated at a time: memory against (small) repeated
            per-image work. Defaults to 100.
        **kwargs: Passed to ``LVISMetric`` (``metric``, ``classwise``, ``format_only``, ...).
    """

    def __init__(self, ann_file: Optional[str] = None, backend: str = 'lvis',
                 fixed_ap_dets_per_cat: Optional[int] = None, per_class_ap: bool = False,
                 train_ann_file: Optional[str] = None, per_class_dir: Optional[str] = None,
                 cats_per_chunk: int = 100, **kwargs) -> None:
        patch_lvis_numpy()
        self._compact = check_settings(ann_file, backend, fixed_ap_dets_per_cat, per_class_ap,
                                       train_ann_file, cats_per_chunk, kwargs)
        super().__init__(ann_file=None if self._compact else ann_file, **kwargs)
        self.backend, self.fixed_ap_dets_per_cat = backend, fixed_ap_dets_per_cat
        self.per_class_ap, self.cats_per_chunk = per_class_ap, cats_per_chunk
        self._ann_file_name, self.train_ann_file = ann_file, train_ann_file
        if train_ann_file is not None and not exists(train_ann_file, self.backend_args):
            raise FileNotFoundError(f'train_ann_file={train_ann_file!r} does not exist: give '
                                    f'the training json (e.g. lvis_v1_train.json) whose '
                                    f'annotations count the training images of each class')
        self.per_class_dir = per_class_dir
        if per_class_ap and per_class_dir is None and get_rank() == 0 and _log_dir() is None:
            raise ValueError('per_class_ap=True writes next to the Runner\'s log, but no log '
                             'file is open (not in a Runner?): pass per_class_dir=...')
        if self._compact:
            self._index_ground_truth(ann_file)
        elif self._lvis_api is not None:
            self._categories = self._lvis_api.dataset['categories']
            check_lvis_categories(self._categories, ann_file)

    def _index_ground_truth(self, ann_file: str) -> None:
        """Per image, the labels lvis-api scores there; nothing else of the file stays."""
        with get_local_path(ann_file, backend_args=self.backend_args) as path:
            data = read_lvis_json(path)
        self._categories = data['categories']  # label i is the i-th, as in mmdet
        check_lvis_categories(self._categories, ann_file)
        label = {c['id']: i for i, c in enumerate(self._categories)}
        verified = {img['id']: [label[c] for c in img.get('neg_category_ids', [])]
                    for img in data['images']}
        for img_id, cat_id in data['annotations'].tolist():
            verified[img_id].append(label[cat_id])
        self._verified = {k: np.unique(np.array(v, np.int32)) for k, v in verified.items()}

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
        if classes is not None and getattr(self, '_categories', None) is not None:
            cats = sorted(self._categories, key=lambda c: c['id'])
            check_classes_match(list(classes), [c['name'] for c in cats],
                                self._ann_file_name)
        self._dataset_meta = copy.deepcopy(dataset_meta)

    def process(self, data_batch: dict, data_samples: List[dict]) -> None:
        """Keep each image's scored detections compactly (mmdet's way outside bbox / segm)."""
        if not self._compact:
            return super().process(data_batch, data_samples)
        cap = None if self.fixed_ap_dets_per_cat else MAX_DETS_PER_IMAGE
        for sample in data_samples:
            verified = self._verified.get(sample['img_id'])
            if verified is None:
                raise ValueError(f"image id {sample['img_id']} is not in "
                                 f'{self._ann_file_name}: test the split of that file')
            labels = sample['pred_instances']['labels']
            if len(labels) and not 0 <= int(labels.min()) <= int(labels.max()) < len(
                    self._categories):
                raise ValueError(f'labels {int(labels.min())}..{int(labels.max())} of image '
                                 f"{sample['img_id']} are not all among the "
                                 f'{len(self._categories)} categories of '
                                 f'{self._ann_file_name}: the model\'s num_classes must be '
                                 f'the number of categories')
            record = compact_image(sample['pred_instances'], self.metrics, verified, cap)
            record['img_id'] = sample['img_id']
            self.results.append(record)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """AP per IoU type, ``cats_per_chunk`` categories at a time, summarized by lvis-api."""
        if not self._compact:
            return super().compute_metrics(results)
        logger = MMLogger.get_current_instance()
        with get_local_path(self._ann_file_name, backend_args=self.backend_args) as path:
            gt = LVIS(path)
        cat_ids = sorted(gt.get_cat_ids())
        rank = {c: k for k, c in enumerate(cat_ids)}
        label_rank = np.array([rank[c['id']] for c in self._categories])
        backend = build_backend(self.backend, gt)
        fixed = self.fixed_ap_dets_per_cat
        max_dets = -1 if fixed else MAX_DETS_PER_IMAGE
        eval_results, per_class = OrderedDict(), {}
        for metric in self.metrics:
            logger.info(f'Evaluating {metric} ({self.backend}, {self._ap_name()})...')
            selected = self._fixed_ap_selection(results, metric, logger) if fixed else None
            precisions, recalls = [], []
            for start in range(0, len(cat_ids), self.cats_per_chunk):
                ranks = range(start, min(start + self.cats_per_chunk, len(cat_ids)))
                anns = chunk_annotations(results, metric, label_rank, ranks, cat_ids, selected)
                p, r = backend.evaluate(anns, metric, [cat_ids[k] for k in ranks], max_dets)
                precisions.append(p)
                recalls.append(r)
                del anns  # before the next chunk's are made
            precision = np.concatenate(precisions, axis=2)
            recall = np.concatenate(recalls, axis=1)
            summary = summarize(gt, precision, recall, metric, max_dets)
            summary.print_results()
            name = f'{metric}_fixed' if fixed else metric
            ap = per_class_ap(precision)
            if self.classwise:
                self._log_classwise(gt.load_cats(cat_ids), ap, eval_results, logger)
            for k, v in summary.get_results().items():
                if k in (self.metric_items or SUMMARY_KEYS):
                    eval_results[f'{name}_{k}'] = float(f'{float(v):.3f}')
            per_class[metric] = dict(summary={k: float(v) for k, v in summary.results.items()},
                                     ap=ap)
        if self.per_class_ap:
            self._write_per_class(gt.load_cats(cat_ids), per_class, logger)
        return eval_results

    def _ap_name(self) -> str:
        if self.fixed_ap_dets_per_cat:
            return f'Fixed AP, {self.fixed_ap_dets_per_cat} detections a class'
        return f'LVIS AP, {MAX_DETS_PER_IMAGE} detections an image'

    def _fixed_ap_selection(self, results: list, metric: str, logger) -> List[np.ndarray]:
        """Per image, which kept detections are within their class's budget."""
        scores = np.concatenate([r[metric]['all_scores'] for r in results] or [[]])
        labels = np.concatenate([r[metric]['all_labels'] for r in results] or [[]])
        within = top_per_category(scores, labels, self.fixed_ap_dets_per_cat)
        counts = np.bincount(labels.astype(np.int64), minlength=len(self._categories))
        full = int((counts >= self.fixed_ap_dets_per_cat).sum())
        logger.info(f'Fixed AP ({metric}): {full} of {len(counts)} classes have '
                    f'{self.fixed_ap_dets_per_cat} detections or more, the others fewer (the '
                    f'model\'s max_per_img and score_thr limit them; Dave et al. output '
                    f'{self.fixed_ap_dets_per_cat} for every class)')
        offsets = np.cumsum([0] + [len(r[metric]['all_scores']) for r in results])
        return [within[off + r[metric]['idx']] for r, off in zip(results, offsets)]

    def _log_classwise(self, cats: List[dict], ap: np.ndarray, eval_results: dict,
                       logger) -> None:
        """mmdet's ``classwise``: one ``{name}_precision`` key a class and a logged table."""
        cells = []
        for cat, value in zip(cats, ap.tolist()):
            eval_results[f"{cat['name']}_precision"] = round(value, 3)
            cells.append(f"{cat['name'][:24]:<24} {value:6.3f}")
        logger.info('\n' + '\n'.join('   '.join(cells[i:i + 3]) for i in range(0, len(cells), 3)))

    def _write_per_class(self, cats: List[dict], per_class: dict, logger) -> None:
        out_dir = self.per_class_dir or _log_dir()
        if out_dir is None:
            raise ValueError('per_class_ap=True: no Runner log dir to write to; pass '
                             'per_class_dir=...')
        os.makedirs(out_dir, exist_ok=True)
        counts = None
        if self.train_ann_file is not None:
            with get_local_path(self.train_ann_file, backend_args=self.backend_args) as path:
                counts = training_image_counts(path, [c['id'] for c in cats])
        payload = dict(ann_file=self._ann_file_name, train_ann_file=self.train_ann_file,
                       ap=self._ap_name(), backend=self.backend)
        for metric, value in per_class.items():
            rows = per_class_rows(cats, value['ap'], counts)
            payload[metric] = dict(summary=value['summary'], classes=rows)
            if counts is not None:
                png = osp.join(out_dir, f'lvis_per_class_ap_{metric}.png')
                plot_per_class_ap(rows, png, f'{metric} AP per class ({self._ap_name()})')
                logger.info(f'per-class {metric} AP plotted in {png}')
        path = osp.join(out_dir, PER_CLASS_FILE)
        write_per_class_json(path, payload)
        logger.info(f'per-class AP written to {path}')


def _log_dir() -> Optional[str]:
    """The folder of the current MMLogger's log file (a Runner's ``log_dir``), if any."""
    for handler in MMLogger.get_current_instance().handlers:
        if isinstance(handler, logging.FileHandler):
            return osp.dirname(handler.baseFilename)
    return None
