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
import json
import os
import os.path as osp

import torch
from mmengine.config import DictAction

from mmtde.det.analysis import load_model_config, run_class_rank
from mmtde.evaluation.class_rank import format_rank_table


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


def main(argv=None):
    args = parse_args(argv)
    cfg = load_model_config(args.config, args.cfg_options)
    try:
        result = run_class_rank(cfg, args.checkpoint, args.split, args.ann_file, args.alphas,
                                args.train_ann_file, args.topk, args.device)
    except ValueError as err:
        raise SystemExit(f'error: {err}')
    print(f'rank of the true class among {result["num_classes"]} classes, ground-truth boxes '
          f'of {osp.basename(result["ann_file"])} as RoIs (groups: {result["groups_from"]}):')
    print(format_rank_table(result['variants'], args.topk))
    os.makedirs(args.out_dir, exist_ok=True)
    out = osp.join(args.out_dir, 'class_rank.json')
    with open(out, 'w') as f:
        json.dump(dict(config=args.config, **result), f, indent=1)
    print(f'wrote {out}')


if __name__ == '__main__':
    main()
