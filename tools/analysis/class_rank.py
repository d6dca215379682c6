# Copyright (c) mmtde contributors. All rights reserved.
"""Rank of the true class among a two-stage detector's class scores for ground-truth boxes.

Example::

    python tools/analysis/class_rank.py CONFIG CHECKPOINT --split val --alphas 0 1.5 \
        --out-dir work_dirs/class_rank

feeds every ground-truth box of the split to the RoI head as the RoI (no proposals, no NMS,
no threshold) and reports, by the frequency group of the true class (LVIS's r / c / f): the
share whose true class ranks first among the foreground classes (top-1) and within the top
k, the median and mean rank, which group the top class belongs to (for rare boxes: "top is
f" is the head-class bias), and how often the background outscores every class. Prints the
table and writes ``class_rank.json`` (with per-class rows).

Heads: any softmax bbox head. A causal-norm (TDE) head is scored at its configured alpha;
``--alphas 0 1.5`` scores those instead (0: De-confound), from one pass of the backbone. A
``NorCalRoIHead`` config is scored with its calibration, as it would detect.

Groups come from the ``frequency`` of the split's LVIS categories; for a file without them,
``--train-ann-file`` derives them from training image counts (rare <= 10 < common <= 100).
"""
import argparse
import contextlib
import json
import os
import os.path as osp

import numpy as np
import torch
from mmengine.config import DictAction
from mmengine.registry import init_default_scope
from mmengine.runner import Runner, load_checkpoint

from mmtde.det.analysis import ground_truth_loader_cfg, gt_box_scores
from mmtde.evaluation.class_counts import lvis_class_counts
from mmtde.evaluation.class_rank import format_rank_table, frequency_groups, summarize_ranks
from mmtde.evaluation.lvis_json import read_lvis_json
from mmtde.utils import load_config, model_cfg


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='True-class rank of ground-truth boxes')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--split', choices=['val', 'test'], default='val',
                        help="the config's val or test dataloader (default: val)")
    parser.add_argument('--ann-file', help='score this annotation file instead (LVIS format, '
                        "images found as the split's dataloader finds them)")
    parser.add_argument('--alphas', type=float, nargs='+',
                        help='TDE alphas to score (causal-norm heads; default: the configured)')
    parser.add_argument('--train-ann-file',
                        help='training annotation file, for groups when the categories of the '
                        'split have no LVIS "frequency"')
    parser.add_argument('--topk', type=int, default=5)
    parser.add_argument('--out-dir', default='work_dirs/class_rank')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def class_groups(ann_file: str, train_ann_file, num_classes: int):
    """Names and r / c / f groups of the classes, in label order."""
    cats = read_lvis_json(ann_file, ('category_id', ), skip=('images', ))['categories']
    if len(cats) != num_classes:
        raise SystemExit(f'{ann_file} lists {len(cats)} categories but the model has '
                         f'num_classes={num_classes}: score a split of the dataset the model '
                         f'was trained on')
    names = [c.get('name', str(c['id'])) for c in cats]
    if all(c.get('frequency') in ('r', 'c', 'f') for c in cats):
        return names, [c['frequency'] for c in cats], 'frequency of the categories'
    if train_ann_file is None:
        raise SystemExit(f'the categories of {ann_file} have no LVIS "frequency": pass '
                         f'--train-ann-file to group classes by their training images')
    train_cats, counts = lvis_class_counts(train_ann_file, 'image')
    if [c['id'] for c in train_cats] != [c['id'] for c in cats]:
        raise SystemExit(f'{train_ann_file} and {ann_file} list different categories')
    return names, frequency_groups(counts).tolist(), f'training images in {train_ann_file}'


def variants_of(bbox_head, alphas):
    """Name -> context manager factory, one per scored setting of the classifier."""
    fc_cls = bbox_head.fc_cls
    if not hasattr(fc_cls, 'test_alpha'):
        if alphas:
            raise SystemExit(f'--alphas applies to causal-norm (TDE) bbox heads; '
                             f'{type(bbox_head).__name__} has none')
        return {type(bbox_head).__name__: contextlib.nullcontext}
    if not alphas:
        return {f'alpha {fc_cls.test_alpha():g} (config)': contextlib.nullcontext}

    def at(alpha):
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


def main(argv=None):
    args = parse_args(argv)
    import mmtde.det  # noqa: F401  registers the heads
    cfg = load_config(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    loader_cfg = cfg.get(f'{args.split}_dataloader')
    if loader_cfg is None:
        raise SystemExit(f'{args.config} has no {args.split}_dataloader')
    loader_cfg = ground_truth_loader_cfg(loader_cfg)
    if args.ann_file:
        loader_cfg['dataset']['ann_file'] = osp.abspath(args.ann_file)
    dataset_cfg = loader_cfg['dataset']
    ann_file = osp.join(dataset_cfg.get('data_root') or '', dataset_cfg['ann_file'])

    from mmdet.registry import MODELS
    model = MODELS.build(model_cfg(cfg))
    bbox_head = model.roi_head.bbox_head
    names, groups, group_source = class_groups(ann_file, args.train_ann_file,
                                               bbox_head.num_classes)
    variants = variants_of(bbox_head, args.alphas)
    load_checkpoint(model, args.checkpoint, map_location='cpu')
    model.to(args.device)
    loader = Runner.build_dataloader(loader_cfg)
    scores = gt_box_scores(model, loader, variants)
    labels = scores['labels'].numpy()
    if not len(labels):
        raise SystemExit(f'{ann_file} has no ground-truth boxes to score')
    summaries = {name: summarize_ranks(scores[name].numpy(), labels, np.asarray(groups), names,
                                       args.topk)
                 for name in variants}
    print(f'rank of the true class among {bbox_head.num_classes} classes, ground-truth boxes '
          f'of {osp.basename(ann_file)} as RoIs (groups: {group_source}):')
    print(format_rank_table(summaries, args.topk))
    os.makedirs(args.out_dir, exist_ok=True)
    out = osp.join(args.out_dir, 'class_rank.json')
    with open(out, 'w') as f:
        json.dump(dict(config=args.config, checkpoint=args.checkpoint, ann_file=ann_file,
                       head=type(bbox_head).__name__, groups_from=group_source,
                       roi_head=type(model.roi_head).__name__, topk=args.topk,
                       variants=summaries), f, indent=1)
    print(f'wrote {out}')


if __name__ == '__main__':
    main()
