# Copyright (c) mmtde contributors. All rights reserved.
"""Evaluate a checkpoint; TDE is a test-time option (model.head.alpha / use_tde).

``--prior-adaptive em`` (or ``bbse``) adapts a classifier to the class prior of the test set it
is about to score, estimated from the test set's own unlabeled predictions: TDE's alpha of a
``CausalNormHead``, the tau of post-hoc logit adjustment of a ``LinearClsHead``, picked on the
held-out split (``heldout_per_class`` on every split) re-weighted to that prior. The estimated
prior and the value chosen are logged (``mmtde/cls/prior_adaptive.py``).
"""
import argparse
import json
import os

from mmengine.config import DictAction
from mmengine.evaluator import DumpResults
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from mmtde.utils import prepare_cfg
from mmtde.utils.prepare_config import cfg_from_args


def parse_args():
    parser = argparse.ArgumentParser(description='Test a checkpoint with an mmtde config')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs and the metrics json')
    parser.add_argument('--out', help='dump the raw predictions to this pickle file')
    parser.add_argument('--amp', action='store_true', help='mixed-precision inference (GPU)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value, e.g. model.head.alpha=0 '
                        '(TDE off) or model.head.use_tde=False')
    parser.add_argument('--prior-adaptive', choices=['em', 'bbse'],
                        help='estimate the test set\'s class prior from its unlabeled '
                        'predictions (EM or BBSE) and pick alpha (CausalNormHead) or the '
                        'logit-adjustment tau (LinearClsHead) for it on the held-out split; '
                        'needs heldout_per_class > 0 on every split')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main():
    args = parse_args()
    cfg = cfg_from_args(args)
    cfg.load_from = args.checkpoint
    if args.amp:
        cfg.test_cfg = dict(cfg.get('test_cfg') or {}, fp16=True)
    prepare_cfg(cfg)

    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    if args.out is not None:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--out {args.out}: the file must end with .pkl or .pickle')
        runner.test_evaluator.metrics.append(DumpResults(out_file_path=args.out))
    if args.prior_adaptive:
        if args.launcher != 'none':
            raise SystemExit('--prior-adaptive runs the held-out and test splits in one process: '
                             'use --launcher none (one feature pass of each split)')
        from mmtde.cls.prior_adaptive import adapt_to_test_prior
        try:
            chosen = adapt_to_test_prior(runner, args.prior_adaptive)
        except ValueError as err:
            raise SystemExit(f'--prior-adaptive: {err}')
        with open(os.path.join(runner.log_dir, 'prior_adaptive.json'), 'w') as f:
            json.dump(chosen, f, indent=1)
    runner.test()


if __name__ == '__main__':
    main()
