# Copyright (c) mmtde contributors. All rights reserved.
"""The class-rank diagnostic for a config and a checkpoint (``tools/analysis/class_rank.py``).

Every ground-truth box of a split goes to the RoI head as the RoI; the statistics are
:func:`mmtde.evaluation.class_rank.summarize_ranks`.
"""
import contextlib
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from mmtde.evaluation.class_counts import lvis_class_counts
from mmtde.evaluation.class_rank import frequency_groups, summarize_ranks
from mmtde.evaluation.lvis.json_reader import read_lvis_json

from .roi_outputs import ground_truth_loader_cfg, gt_box_scores


def class_groups(ann_file: str, train_ann_file: Optional[str],
                 num_classes: int) -> Tuple[List[str], List[str], str]:
    """Names and r / c / f groups of the classes in label order, and where the groups come
    from: the LVIS ``frequency`` of ``ann_file``'s categories, else LVIS's thresholds on the
    training image counts of ``train_ann_file``."""
    cats = read_lvis_json(ann_file, ('category_id', ), skip=('images', ))['categories']
    if len(cats) != num_classes:
        raise ValueError(f'{ann_file} lists {len(cats)} categories but the model has '
                         f'num_classes={num_classes}: score a split of the dataset the model '
                         f'was trained on')
    names = [c.get('name', str(c['id'])) for c in cats]
    if all(c.get('frequency') in ('r', 'c', 'f') for c in cats):
        return names, [c['frequency'] for c in cats], 'frequency of the categories'
    if train_ann_file is None:
        raise ValueError(f'the categories of {ann_file} have no LVIS "frequency": give the '
                         f'training annotation file (--train-ann-file) to group classes by '
                         f'their training images')
    train_cats, counts = lvis_class_counts(train_ann_file, 'image')
    if [c['id'] for c in train_cats] != [c['id'] for c in cats]:
        raise ValueError(f'{train_ann_file} and {ann_file} list different categories')
    return names, frequency_groups(counts).tolist(), f'training images in {train_ann_file}'


def alpha_variants(bbox_head, alphas: Optional[Sequence[float]]) -> Dict[str, Callable]:
    """Name -> context manager factory, one per scored setting of the classifier: the
    configured one, or each TDE ``alpha`` of a causal-norm head."""
    fc_cls = bbox_head.fc_cls
    if not hasattr(fc_cls, 'effective_alpha'):
        if alphas:
            raise ValueError(f'--alphas applies to causal-norm (TDE) bbox heads; '
                             f'{type(bbox_head).__name__} has none')
        return {type(bbox_head).__name__: contextlib.nullcontext}
    if not alphas:
        return {f'alpha {fc_cls.effective_alpha():g} (config)': contextlib.nullcontext}

    def at(alpha: float) -> Callable:
        @contextlib.contextmanager
        def setup():
            saved = fc_cls.alpha, fc_cls.use_tde
            fc_cls.alpha, fc_cls.use_tde = alpha, True
            try:
                yield
            finally:
                fc_cls.alpha, fc_cls.use_tde = saved
        return setup

    return {f'alpha {a:g}': at(a) for a in alphas}


def run_class_rank(cfg, checkpoint: str, split: str = 'val', ann_file: Optional[str] = None,
                   alphas: Optional[Sequence[float]] = None,
                   train_ann_file: Optional[str] = None, topk: int = 5, device: str = 'cpu',
                   progress: bool = True) -> dict:
    """True-class rank statistics of a checkpoint's RoI classifier on ground-truth boxes.

    Args:
        cfg (Config): The model's config (default scope mmdet's).
        checkpoint (str): The trained weights.
        split (str): ``'val'`` or ``'test'``: whose dataloader reads the images. Defaults to
            'val'.
        ann_file (str, optional): Score this annotation file instead of the split's.
            Defaults to None.
        alphas (Sequence[float], optional): TDE alphas to score (causal-norm heads only);
            None scores the configured head. Defaults to None.
        train_ann_file (str, optional): Training file, for groups when the categories carry
            no LVIS ``frequency``. Defaults to None.
        topk (int): The k of the top-k share. Defaults to 5.
        device (str): Where the detector runs. Defaults to 'cpu'.
        progress (bool): Show a progress bar. Defaults to True.

    Returns:
        dict: ``variants`` (name -> :func:`~mmtde.evaluation.class_rank.summarize_ranks`
        result), ``ann_file``, ``groups_from``, ``head``, ``roi_head``, ``topk``.
    """
    from mmdet.registry import MODELS
    from mmengine.runner import Runner, load_checkpoint

    from mmtde.utils import model_cfg

    loader_cfg = cfg.get(f'{split}_dataloader')
    if loader_cfg is None:
        raise ValueError(f'{cfg.filename} has no {split}_dataloader')
    loader_cfg = ground_truth_loader_cfg(loader_cfg)
    if ann_file:
        loader_cfg['dataset']['ann_file'] = osp.abspath(ann_file)
    dataset_cfg = loader_cfg['dataset']
    ann_file = osp.join(dataset_cfg.get('data_root') or '', dataset_cfg['ann_file'])
    model = MODELS.build(model_cfg(cfg))
    bbox_head = model.roi_head.bbox_head
    names, groups, group_source = class_groups(ann_file, train_ann_file, bbox_head.num_classes)
    variants = alpha_variants(bbox_head, alphas)
    load_checkpoint(model, checkpoint, map_location='cpu')
    model.to(device)
    scores = gt_box_scores(model, Runner.build_dataloader(loader_cfg), variants, progress)
    labels = scores['labels'].numpy()
    if not len(labels):
        raise ValueError(f'{ann_file} has no ground-truth boxes to score')
    summaries = {name: summarize_ranks(scores[name].numpy(), labels, np.asarray(groups), names,
                                       topk)
                 for name in variants}
    return dict(checkpoint=checkpoint, ann_file=ann_file, head=type(bbox_head).__name__,
                roi_head=type(model.roi_head).__name__, groups_from=group_source, topk=topk,
                num_classes=bbox_head.num_classes, variants=summaries)
