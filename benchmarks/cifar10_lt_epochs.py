# Copyright (c) mmtde contributors. All rights reserved.
"""Last-epoch and best-epoch test accuracy of one training run, read from its mmengine logs.

The CIFAR-LT configs validate on the balanced test set every epoch from the first lr step on.
The recipes' authors report the best of those evaluations (a selection on the test set);
mmtde tests and publishes the last epoch. This reads both from the run's
``<work_dir>/<timestamp>/vis_data/scalars.json`` files (one per start: a resumed run has
several, and a later start's evaluation of an epoch replaces an earlier one) and writes
``results.json`` and ``results.md`` to ``--out`` (default: the work dir).
``benchmarks/cifar10_lt_full.sh`` runs it after training.

Example::

    python benchmarks/cifar10_lt_epochs.py --work-dir work_dirs/cifar10_lt_full/causalnorm
"""
import argparse
import glob
import json
import os.path as osp
import sys
from typing import Dict, List, Optional

from benchlib import add_common_args, write_results

#: Metric columns in table order, after the prefix (mmtde's LongTailAccuracy: ``lt/``).
COLUMNS = ('top1', 'many', 'medium', 'few', 'tail')
LAST = 'last epoch (tested and published here)'
BEST = "best epoch (the authors' selection, on the test set)"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Last-epoch and best-epoch (the authors\' selection) test accuracy of a '
        'training run, from its mmengine scalars.json files.')
    add_common_args(parser, None, data_root_help=None)  # --work-dir: the training's
    parser.add_argument('train_dir', nargs='?', default=None,
                        help='the training work dir, as --work-dir (kept for old commands)')
    parser.add_argument('--config', default=None,
                        help='the config as mmengine dumped it into the work dir (default: the '
                        'one .py file there); gives the first lr step, precision and seed')
    parser.add_argument('--metric', default='lt/top1',
                        help='the validation metric that picks the best epoch (default lt/top1)')
    args = parser.parse_args(argv)
    args.work_dir = args.work_dir or args.train_dir
    if not args.work_dir:
        parser.error('give the training work dir: --work-dir DIR (tools/train.py --work-dir)')
    return args


def read_evaluations(work_dir: str, metric: str) -> Dict[int, dict]:
    """Every validation of the run, by epoch: ``{epoch: {metric name: value}}``.

    Validation records are those with ``metric``; their ``step`` is the epoch. Files are read in
    the order of their timestamped folders, so a resumed run's evaluation of an epoch replaces
    the one its interrupted start logged.
    """
    prefix = metric.rsplit('/', 1)[0] + '/' if '/' in metric else ''
    evals = {}
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            for line in f:
                record = json.loads(line) if line.strip() else {}
                if metric in record:
                    evals[int(record['step'])] = {
                        k: v for k, v in record.items() if k.startswith(prefix)}
    return evals


def first_lr_step(param_scheduler) -> Optional[int]:
    """The first milestone of the config's ``MultiStepLR``, or None without one."""
    schedulers = param_scheduler if isinstance(param_scheduler, (list, tuple)) else \
        [param_scheduler]
    milestones = [m for s in schedulers if s and s.get('type') == 'MultiStepLR'
                  for m in s.get('milestones', [])]
    return min(milestones) if milestones else None


def select_epochs(evals: Dict[int, dict], metric: str,
                  first_step: Optional[int] = None) -> dict:
    """The last and the best evaluated epoch, and which epochs were evaluated.

    The best is the earliest epoch with the highest ``metric`` (the authors keep a new best only
    when it is strictly higher). ``every_epoch_from`` is the first epoch from which every epoch
    up to the last was evaluated; ``complete`` says whether that covers ``first_step`` on.
    """
    if not evals:
        raise ValueError(f'no validation with {metric!r} in the logs: did the run validate '
                         f'(val_interval, dynamic_intervals) and log that metric?')
    epochs = sorted(evals)
    last = epochs[-1]
    best = max(epochs, key=lambda e: (evals[e][metric], -e))
    start = last
    while start - 1 in evals:
        start -= 1
    return dict(
        metric=metric,
        last_epoch=dict(epoch=last, **evals[last]),
        best_epoch=dict(epoch=best, **evals[best]),
        evaluated_epochs=epochs,
        every_epoch_from=start,
        first_lr_step=first_step,
        complete=first_step is None or start <= first_step)


def run_meta(work_dir: str, config: Optional[str]) -> dict:
    """Config, precision and training seed of the run (the seed from its last checkpoint: on
    resume mmengine keeps the checkpoint's seed over the config's)."""
    meta = {}
    if config is None:
        dumped = sorted(glob.glob(osp.join(work_dir, '*.py')))
        config = dumped[0] if len(dumped) == 1 else None
    if config is not None:
        from mmengine.config import Config
        cfg = Config.fromfile(config, import_custom_modules=False)
        meta.update(config=osp.basename(config), optim_wrapper=cfg.optim_wrapper.get('type'),
                    head=cfg.model.head.get('type'),
                    seed=(cfg.get('randomness') or {}).get('seed'),
                    first_lr_step=first_lr_step(cfg.get('param_scheduler')))
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as f:
            ckpt = osp.join(work_dir, osp.basename(f.read().strip()))
        if osp.isfile(ckpt):
            import torch
            seed = torch.load(ckpt, map_location='cpu', mmap=True,
                              weights_only=False).get('meta', {}).get('seed')
            if seed is not None:
                meta['seed'] = seed
    return meta


def _ranges(epochs: List[int]) -> str:
    """``[10, 20, 120, 121, 122]`` -> ``'10, 20, 120-122'``."""
    runs = []
    for epoch in epochs:
        if runs and epoch == runs[-1][1] + 1:
            runs[-1][1] = epoch
        else:
            runs.append([epoch, epoch])
    return ', '.join(str(a) if a == b else f'{a}-{b}' for a, b in runs)


def format_markdown(res: dict) -> List[str]:
    prefix = res['metric'].rsplit('/', 1)[0] + '/' if '/' in res['metric'] else ''
    rows = (LAST, res['last_epoch']), (BEST, res['best_epoch'])
    columns = [c for c in COLUMNS if all(prefix + c in r for _, r in rows)]
    title = res.get('config') or 'training run'
    run = ', '.join(f'{name} {res[key]}' for name, key in (
        ('training seed', 'seed'), ('optim wrapper', 'optim_wrapper')) if res.get(key) is not None)
    tde = " (TDE at the config's alpha)" if res.get('head') == 'CausalNormHead' else ''
    lines = [f'# {title}: last epoch and best epoch', '',
             (f'{run[0].upper()}{run[1:]}. ' if run else '') + 'Accuracy (%) on the evaluated '
             f'split as validated during training{tde}' + (
                 '; tail: the classes with the fewest training images (LongTailAccuracy '
                 'tail_k).' if 'tail' in columns else '.'), '',
             '| selection | epoch | ' + ' | '.join(columns) + ' |',
             '|---|---|' + '---|' * len(columns)]
    for name, row in rows:
        values = ' | '.join(f'{row[prefix + c]:.2f}' for c in columns)
        lines.append(f"| {name} | {row['epoch']} | {values} |")
    step = res['first_lr_step']
    lines += ['', f"Evaluated after epochs {_ranges(res['evaluated_epochs'])}"
              + (f'; the first lr step follows epoch {step}.' if step is not None else '.')]
    if not res['complete']:
        lines.append('Not every epoch from the first lr step on was evaluated: the best epoch '
                     'is the best of these evaluations only.')
    return lines


def main(argv=None) -> dict:
    args = parse_args(argv)
    meta = run_meta(args.work_dir, args.config)
    try:
        res = select_epochs(read_evaluations(args.work_dir, args.metric), args.metric,
                            meta.get('first_lr_step'))
    except ValueError as exc:
        sys.exit(f'[epochs] {args.work_dir}: {exc}')
    res = dict(meta, **res)
    lines = format_markdown(res)
    write_results(args.out, res, '\n'.join(lines), args.work_dir)
    print('\n'.join(lines), flush=True)
    return res


if __name__ == '__main__':
    main()
