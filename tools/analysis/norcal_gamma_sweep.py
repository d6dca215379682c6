# Copyright (c) mmtde contributors. All rights reserved.
"""Pick NorCal's gamma for a trained two-stage detector on a held-out split.

Example::

    python tools/analysis/norcal_gamma_sweep.py CONFIG CHECKPOINT \
        --ann-file data/lvis_v1/annotations/lvis_v1_heldout.json \
        --gammas 0 0.25 0.5 0.75 1 1.25 1.5 --out-dir work_dirs/norcal_sweep

runs the detector once on the images of ``--ann-file`` (read with the config's test
dataloader), then for every gamma re-normalises the cached class scores, re-runs mmdet's
post-processing and scores the boxes with the config's evaluator (``StrictLVISMetric``,
``metric='bbox'``). Prints the table and the gamma with the best ``--select`` (box AP by
default), with the ``--cfg-options`` that test the model with it; writes
``norcal_gamma_sweep.json``. Gamma 0 is the model as trained.

Class counts come from the training annotation file (``--train-ann-file``, by default the
config's ``train_dataloader`` one): images per class by default (``--count instance`` for
instances), counted from its annotations (``--count-source categories`` reads LVIS's
``image_count`` / ``instance_count`` instead).
"""
import argparse
import json
import os
import os.path as osp

import torch
from mmengine.config import DictAction

from mmtde.det.analysis import format_gamma_table, load_model_config, run_gamma_sweep
from mmtde.evaluation.class_counts import COUNT_SOURCES, COUNT_TYPES


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Score NorCal gammas on a held-out split')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--ann-file', required=True,
                        help='held-out annotation file (LVIS format; images are found as the '
                        "config's test dataloader finds them); not the test set")
    parser.add_argument('--train-ann-file',
                        help="training annotation file for the class counts (default: the "
                        "config's train_dataloader one)")
    parser.add_argument('--count', choices=COUNT_TYPES, default='image')
    parser.add_argument('--count-source', choices=COUNT_SOURCES, default='annotations')
    parser.add_argument('--gammas', type=float, nargs='+',
                        default=[0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5])
    parser.add_argument('--select', default='bbox_AP',
                        help='metric that picks gamma (e.g. bbox_AP, bbox_APr); default bbox_AP')
    parser.add_argument('--max-cache-gb', type=float, default=16.0,
                        help='refuse when the cached RoI outputs would exceed this (default 16)')
    parser.add_argument('--out-dir', default='work_dirs/norcal_gamma_sweep')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = load_model_config(args.config, args.cfg_options)
    try:
        result = run_gamma_sweep(cfg, args.checkpoint, args.ann_file, args.gammas,
                                 args.train_ann_file, args.count, args.count_source,
                                 args.select, args.device, max_cache_gb=args.max_cache_gb)
    except (ValueError, FileNotFoundError) as err:
        raise SystemExit(f'error: {err}')
    best = result['best_gamma']
    print(format_gamma_table(result['rows']))
    print(f'best {args.select} on {osp.basename(result["ann_file"])} at gamma = {best:g}')
    if best > 0:
        print('test with it (no retraining):\n  --cfg-options model.roi_head.type=NorCalRoIHead '
              f'model.roi_head.norcal.gamma={best:g} '
              f'model.roi_head.norcal.ann_file={result["train_ann_file"]} '
              f'model.roi_head.norcal.count={args.count} '
              f'model.roi_head.norcal.source={args.count_source}')
    else:
        print('gamma 0 (no calibration) scores best on this split')
    os.makedirs(args.out_dir, exist_ok=True)
    out = osp.join(args.out_dir, 'norcal_gamma_sweep.json')
    with open(out, 'w') as f:
        json.dump(dict(config=args.config, **result), f, indent=1)
    print(f'wrote {out}')


if __name__ == '__main__':
    main()
