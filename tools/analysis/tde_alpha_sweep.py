# Copyright (c) mmtde contributors. All rights reserved.
"""Score many TDE alphas on one split while running the network only once.

Example::

    python tools/analysis/tde_alpha_sweep.py CONFIG CHECKPOINT --split val \
        --alphas 0 0.5 1 1.5 2 2.5 3 --out-dir work_dirs/sweep

prints the overall / many / medium / few table, writes ``alpha_sweep.png`` and
``alpha_sweep.json`` and recommends the alpha with the best overall accuracy *on that split*
(choose it on a validation split, not on the test set).
"""
import argparse
import json
import os
import os.path as osp
import sys

# Run from a checkout, the tools use that checkout's mmtde rather than an installed copy.
_REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if osp.isdir(osp.join(_REPO, 'mmtde')) and _REPO not in sys.path:
    sys.path.insert(0, _REPO)

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmengine.runner import Runner, load_checkpoint

from mmtde.cls.tde_sweep import (extract_features, format_table, mean_cosine, plot_sweep,
                                 recommend_alpha, sweep_alpha)
from mmtde.engine import register_checkpoint_safe_globals
from mmtde.evaluation import LongTailAccuracy
from mmtde.functional import CausalNormLinear
from mmtde.utils import load_config, model_cfg


def parse_args():
    parser = argparse.ArgumentParser(description='Sweep the TDE alpha on cached features')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--split', choices=['val', 'test'], default='val',
                        help='which dataloader of the config to run (default: val)')
    parser.add_argument('--alphas', type=float, nargs='+',
                        default=[0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 2, 2.5, 3])
    parser.add_argument('--out-dir', default='work_dirs/tde_alpha_sweep')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def training_class_counts(cfg: Config, split: str, dataset) -> list:
    """The training counts the config's evaluator would use for many/medium/few."""
    evaluator = cfg.get(f'{split}_evaluator')
    metric_cfg = evaluator if isinstance(evaluator, dict) else None
    if metric_cfg is not None and metric_cfg.get('type') == 'LongTailAccuracy':
        kwargs = {k: v for k, v in metric_cfg.items() if k != 'type'}
        metric = LongTailAccuracy(**kwargs)
    else:
        metric = LongTailAccuracy()
    metric.dataset_meta = dataset.metainfo
    return metric._training_counts()


def main():
    args = parse_args()
    register_checkpoint_safe_globals()
    cfg = load_config(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    from mmpretrain.registry import MODELS

    model = MODELS.build(model_cfg(cfg))
    load_checkpoint(model, args.checkpoint, map_location='cpu')
    model.to(args.device)
    if not isinstance(getattr(model.head, 'fc', None), CausalNormLinear):
        raise TypeError(f'{type(model.head).__name__} is not a TDE head: the alpha sweep needs '
                        f'a CausalNormHead checkpoint')
    loader = Runner.build_dataloader(cfg.get(f'{args.split}_dataloader'))
    counts = training_class_counts(cfg, args.split, loader.dataset)

    print(f'extracting features of the {args.split} split ({len(loader.dataset)} images) ...')
    feats, labels = extract_features(model, loader)
    rows = sweep_alpha(model.head, feats, labels, args.alphas, counts)
    cos = mean_cosine(model.head, feats).mean().item()
    best = recommend_alpha(rows)

    os.makedirs(args.out_dir, exist_ok=True)
    print(format_table(rows))
    print(f'mean cos(x, d) on this split = {cos:.4f}: the rule alpha * mean cos = 1 gives '
          f'alpha = {1 / cos:.3g}' if cos > 0 else 'mean cos(x, d) <= 0 on this split')
    print(f'best overall accuracy on the {args.split} split at alpha = {best:g}')
    plot_sweep(rows, osp.join(args.out_dir, 'alpha_sweep.png'),
               title=f'{osp.basename(args.config)} ({args.split})')
    with open(osp.join(args.out_dir, 'alpha_sweep.json'), 'w') as f:
        json.dump(dict(config=args.config, checkpoint=args.checkpoint, split=args.split,
                       mean_cos=cos, best_alpha=best, rows=rows), f, indent=1)
    print(f'wrote {args.out_dir}/alpha_sweep.png and alpha_sweep.json')


if __name__ == '__main__':
    main()
