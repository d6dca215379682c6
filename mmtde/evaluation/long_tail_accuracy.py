# Copyright (c) mmtde contributors. All rights reserved.
"""Top-1 accuracy overall and on the many / medium / few-shot class groups."""
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger
from mmengine.registry import METRICS

GROUPS = ('many', 'medium', 'few')


def _to_int(value) -> int:
    """A label given as a one-element tensor or array, or a plain int."""
    array = np.asarray(value.cpu() if hasattr(value, 'cpu') else value).reshape(-1)
    if array.size != 1:
        raise ValueError(f'expected one label per sample, got {array.size} values')
    return int(array[0])


@METRICS.register_module()
class LongTailAccuracy(BaseMetric):
    """Top-1 accuracy (%) overall and per group of classes sized by their training images.

    A class is *many*-shot with more than ``many_thr`` training images, *few*-shot with fewer
    than ``few_thr``, *medium* otherwise (so counts of exactly 100 and 20 are medium). A group
    accuracy is the mean of its classes' accuracies (the reference ``shot_acc``); ``top1`` is
    over samples. Keys: ``top1``, ``many``, ``medium``, ``few`` and, with ``tail_k > 0``,
    ``tail`` (mean accuracy of the ``tail_k`` classes with fewest training images, useful on
    CIFAR-10-LT where no class is few-shot). A group with no class evaluated is left out of
    the results (and logged as empty) rather than given a number.

    Training counts come from, in order: ``class_counts``; ``train_dataset`` (a dataset config,
    built once on first use; its ``class_counts`` attribute, else its ``get_cat_ids``); the
    evaluated dataset's ``metainfo['class_counts']`` (set by mmtde's long-tailed datasets).

    Args:
        class_counts (Sequence[int], optional): Training images per class. Defaults to None.
        train_dataset (dict, optional): Config of the training set. Defaults to None.
        many_thr (int): Many-shot classes have more training images than this.
            Defaults to 100.
        few_thr (int): Few-shot classes have fewer training images than this. Defaults to 20.
        tail_k (int): Size of the ``tail`` group; 0 disables it. Defaults to 3.
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Metric name prefix. Defaults to ``'lt'``.

    Attributes:
        per_class_accuracy (list[float]): After :meth:`compute_metrics`, the accuracy (%) of
            each class, NaN where the class has no evaluated sample.
        groups (dict[str, list[int]]): The classes of each group, set with the above.
    """

    default_prefix = 'lt'

    def __init__(self,
                 class_counts: Optional[Sequence[int]] = None,
                 train_dataset: Optional[dict] = None,
                 many_thr: int = 100,
                 few_thr: int = 20,
                 tail_k: int = 3,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if few_thr > many_thr:
            raise ValueError(f'few_thr={few_thr} must not exceed many_thr={many_thr} '
                             f'(the paper uses few_thr=20, many_thr=100)')
        if tail_k < 0:
            raise ValueError(f'tail_k={tail_k} must be >= 0 (0 turns the tail group off)')
        self.class_counts = None if class_counts is None else [int(n) for n in class_counts]
        self.train_dataset = train_dataset
        self.many_thr = many_thr
        self.few_thr = few_thr
        self.tail_k = tail_k
        self.per_class_accuracy: List[float] = []
        self.groups: Dict[str, List[int]] = {}

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Keep ``(predicted label, true label)`` of each sample.

        Args:
            data_batch: Unused.
            data_samples (Sequence[dict]): mmpretrain data samples as dicts, with
                ``gt_label`` and ``pred_label`` (or ``pred_score`` of shape (C,)).
        """
        for sample in data_samples:
            if 'pred_label' in sample:
                pred = _to_int(sample['pred_label'])
            elif 'pred_score' in sample:
                pred = int(sample['pred_score'].argmax())
            else:
                raise KeyError('LongTailAccuracy needs `pred_label` or `pred_score` in each '
                               'data sample')
            self.results.append((pred, _to_int(sample['gt_label'])))

    def _training_counts(self) -> List[int]:
        if self.class_counts is not None:
            return self.class_counts
        if self.train_dataset is not None:
            self.class_counts = self._count_dataset(self.train_dataset)
            return self.class_counts
        meta = self.dataset_meta or {}
        if meta.get('class_counts') is not None:
            return [int(n) for n in meta['class_counts']]
        raise ValueError(
            'LongTailAccuracy needs the training images per class: pass class_counts=[...] '
            'or train_dataset=dict(...) (the training dataset config), or evaluate a dataset '
            'whose metainfo has class_counts (CIFAR10LT, CIFAR100LT, ImageFolderLT, ImageNetLT, '
            'PlacesLT, INaturalist2018, ListFileLT)')

    @staticmethod
    def _count_dataset(cfg: dict) -> List[int]:
        try:  # mmpretrain's registry sees our datasets and mmpretrain's; fall back to the root.
            from mmpretrain.registry import DATASETS
        except ImportError:
            from mmengine.registry import DATASETS
        dataset = DATASETS.build(cfg)
        counts = getattr(dataset, 'class_counts', None)
        if counts is not None:
            return [int(n) for n in counts]
        num_classes = len(dataset.metainfo['classes'])
        labels = [c for i in range(len(dataset)) for c in dataset.get_cat_ids(i)]
        return np.bincount(labels, minlength=num_classes).tolist()

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Compute ``top1`` and the group accuracies (%) from all ranks' results."""
        counts = np.asarray(self._training_counts(), dtype=np.int64)
        num_classes = counts.size
        classes = (self.dataset_meta or {}).get('classes')
        if classes is not None and len(classes) != num_classes:
            raise ValueError(f'{num_classes} class counts given but the evaluated dataset has '
                             f'{len(classes)} classes: the counts must have one entry per class')
        if not results:
            raise ValueError('LongTailAccuracy got no sample: check the evaluation dataloader')
        preds = np.array([p for p, _ in results], dtype=np.int64)
        gts = np.array([g for _, g in results], dtype=np.int64)
        if gts.size and (gts.min() < 0 or gts.max() >= num_classes):
            raise ValueError(f'label {int(gts.max())} is outside the {num_classes} classes that '
                             f'the class counts describe: the counts must have one entry per class')

        total = np.bincount(gts, minlength=num_classes)
        correct = np.bincount(gts[preds == gts], minlength=num_classes)
        with np.errstate(invalid='ignore', divide='ignore'):
            per_class = np.where(total > 0, 100.0 * correct / total, np.nan)
        self.per_class_accuracy = per_class.tolist()

        evaluated = total > 0
        members = {
            'many': counts > self.many_thr,
            'medium': (counts >= self.few_thr) & (counts <= self.many_thr),
            'few': counts < self.few_thr,
        }
        self.groups = {name: np.flatnonzero(mask).tolist() for name, mask in members.items()}
        metrics = {'top1': 100.0 * float((preds == gts).mean())}
        logger = MMLogger.get_current_instance()
        for name in GROUPS:
            mask = members[name] & evaluated
            if mask.any():
                metrics[name] = float(per_class[mask].mean())
            else:
                logger.info(f'LongTailAccuracy: {name}: no class in this group')
        if self.tail_k:
            # the tail_k rarest classes, whether evaluated or not: quietly moving on to the next
            # rarest would report a different group under the same name
            tail = np.argsort(counts, kind='stable')[:self.tail_k]
            self.groups['tail'] = tail.tolist()
            if evaluated[tail].all():
                metrics['tail'] = float(per_class[tail].mean())
            else:
                logger.warning(
                    f'LongTailAccuracy: tail: classes {tail[~evaluated[tail]].tolist()} (among '
                    f'the {self.tail_k} rarest) have no evaluation sample, so tail is not '
                    f'reported; evaluate on a split that has them, or set tail_k')
        return metrics
