# Copyright (c) mmtde contributors. All rights reserved.
"""CIFAR-10-LT accuracy of TDE against its baselines, on one seeded subset per imbalance factor.

For each IF (100, 50, 10 by default) it trains ResNet-32 twice from the repository's configs,
``configs/cifar_lt/resnet32-ce_...`` (linear cross-entropy baseline) and
``configs/cifar_lt/resnet32-causalnorm-tde_...`` (causal norm + moving-average ``d``), and scores
on the official balanced test set:

* ``linear CE``: the baseline;
* ``TDE off``: the causal-norm checkpoint at ``alpha = 0`` ("De-confound");
* ``TDE, paper alpha``: the same checkpoint at ``alpha = 1.0`` (the paper's CIFAR-10 value);
* ``TDE, held-out alpha``: the same checkpoint at the ``alpha`` that scores best on a balanced
  held-out split of the *training* images (50 per class, never trained on, disjoint from the
  test set; see ``cifar10_arrays.py``);
* ``TDE, authors' rule``: ``alpha = 1 / mean cos(x, d)`` on the held-out split.

The three TDE rows reuse one checkpoint and one pass of the network (``mmtde.cls.tde_sweep``).
Writes ``results.json`` and ``results.md`` to ``--out`` (default: the work dir), three PNGs
to ``--work-dir``.

CPU schedule (default, ``configs/_base_/schedules/cifar-lt_sgd-coslr-short.py``): batch 128,
lr 0.1, 1 warm-up epoch from lr/3 then cosine to 0, ``--epochs`` epochs (8: ~50 minutes for all
six trainings on 2 cores with ``--jobs 2 --threads 1``). ``--full``: the paper's schedule from
the configs (200 epochs, batch 256, lr 0.2, 5-epoch warm-up, x0.01 at 120 and 160), scored as
here; ``benchmarks/cifar10_lt_full.sh`` is the 200-epoch run through the user's own tools.

Example::

    python benchmarks/cifar10_lt_accuracy.py --data-root /path/to/data --threads 1 --jobs 2
"""
import argparse
import logging
import os
import os.path as osp
import platform
import shutil
import sys
import time

import numpy as np
import torch
from benchlib import REPO, add_common_args, command_line, write_results
from mmengine.hooks import Hook
from mmengine.logging import MMLogger

from cifar10_arrays import CLASSES, prepare_cifar10

#: The short CPU schedule, shared with the demo (tools/demo_cifar10_lt.py).
SHORT_SCHEDULE = 'configs/_base_/schedules/cifar-lt_sgd-coslr-short.py'
CONFIGS = {
    'ce': 'configs/cifar_lt/resnet32-ce_1xb256-200e_cifar10-lt-if{}.py',
    'causalnorm': 'configs/cifar_lt/resnet32-causalnorm-tde_1xb256-200e_cifar10-lt-if{}.py',
}
LABELS = {
    'ce': 'linear CE (baseline)',
    'tde_off': 'causal norm, TDE off (alpha=0, "De-confound")',
    'tde_paper': 'causal norm + TDE, paper alpha',
    'tde_heldout': 'causal norm + TDE, alpha picked on held-out',
    'tde_rule': "causal norm + TDE, authors' rule alpha=1/mean cos",
}
#: The paper (Tang et al., NeurIPS 2020): CIFAR-10-LT top-1, ResNet-32, 200 epochs, mean of
#: 2 runs.
PAPER = {'tde_off': {'100': 71.7, '50': 77.8, '10': 86.8},
         'tde_paper': {'100': 80.6, '50': 83.6, '10': 88.5}}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='CIFAR-10-LT: linear CE vs causal norm with TDE off / paper alpha / '
        'held-out alpha, same seeded subset per imbalance factor.')
    add_common_args(parser, 'work_dirs/benchmarks/cifar10_lt',
                    data_root_help='folder with cifar-10-batches-py/, cifar10-jpeg.tar.gz, an '
                    'image folder train/<class>/ test/<class>/, or cifar10-uint8.npz')
    parser.add_argument('--imbalance-factors', nargs='+', default=['100', '50', '10'])
    parser.add_argument('--methods', nargs='+', choices=list(CONFIGS), default=list(CONFIGS))
    parser.add_argument('--epochs', type=int, default=8, help='CPU schedule epochs (default 8)')
    parser.add_argument('--batch-size', type=int, default=128)
    parser.add_argument('--lr', type=float, default=0.1)
    parser.add_argument('--precision', choices=['fp32', 'bf16'], default='fp32',
                        help='bf16: bfloat16 autocast in training (BF16OptimWrapper; a CPU with '
                        'AVX512-BF16 or AMX, or a GPU); features and scores stay float32')
    parser.add_argument('--full', action='store_true',
                        help="the paper's 200-epoch schedule from the configs (GPU)")
    parser.add_argument('--paper-alpha', type=float, default=1.0)
    parser.add_argument('--alphas', type=float, nargs=3, default=[0.0, 3.0, 0.1],
                        metavar=('START', 'STOP', 'STEP'), help='sweep grid (default 0 3 0.1)')
    parser.add_argument('--heldout-per-class', type=int, default=50)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--num-workers', type=int, default=0)
    parser.add_argument('--jobs', type=int, default=1,
                        help='train the methods in this many parallel processes (one per '
                        'method), then score them here; with --threads 1 on a shared CPU')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch CPU threads (default: all cores); 1 is far faster when '
                        'other jobs share the cores')
    parser.add_argument('--time-budget-min', type=float, default=None,
                        help='stop a training after the epoch that passes this many minutes '
                        '(the result then says how many epochs ran)')
    parser.add_argument('--figures-dir', default=None,
                        help='also copy the IF-100 pictures here (e.g. docs/images)')
    parser.add_argument('--resume', action='store_true',
                        help='reuse runs whose eval_cache.pth exists in the work dir and was '
                        'made with the same settings (others are trained again)')
    return parser.parse_args(argv)


class TimeBudgetHook(Hook):
    """Stops training after the first epoch that ends past ``minutes``."""

    def __init__(self, minutes: float) -> None:
        self.deadline = time.time() + 60 * minutes

    def after_train_epoch(self, runner) -> None:
        if time.time() > self.deadline:
            runner.logger.warning(f'time budget spent: stopping after epoch {runner.epoch + 1}')
            runner.train_loop.stop_training = True


def build_cfg(args, method: str, imb: str, npz: str, run_dir: str):
    from mmengine.config import Config
    path = osp.join(REPO, CONFIGS[method].format(imb))
    if not osp.isfile(path):  # another IF: the IF-100 config, its dataset's IF set below
        path = osp.join(REPO, CONFIGS[method].format(100))
    cfg = Config.fromfile(path)
    splits = (('train', cfg.train_dataloader), ('test', cfg.test_dataloader))
    for split, loader in splits:
        loader.dataset = dict(type='BenchCIFAR10LTArrays', npz_file=npz, split=split,
                              imbalance_factor=float(imb), seed=args.seed,
                              heldout_per_class=args.heldout_per_class,
                              pipeline=loader.dataset.pipeline)
        loader.num_workers = args.num_workers
        loader.persistent_workers = args.num_workers > 0
        loader.pin_memory = torch.cuda.is_available()
        # One stacked uint8 batch: one host-to-device copy and a batched normalisation instead
        # of one per image (bit-identical inputs; matters on a GPU, where launches dominate).
        loader.collate_fn = dict(type='default_collate')
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    epochs = cfg.train_cfg.max_epochs if args.full else args.epochs
    cfg.train_cfg = dict(by_epoch=True, max_epochs=epochs, val_interval=epochs + 1)
    if not args.full:
        cfg.train_dataloader.batch_size = args.batch_size
        cfg.optim_wrapper.optimizer.lr = args.lr
        cfg.param_scheduler = short_schedule(epochs)
    cfg.test_dataloader.batch_size = 512
    iters = -(-12000 // cfg.train_dataloader.batch_size)
    cfg.default_hooks.logger.interval = min(iters, 50)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=epochs, max_keep_ckpts=1)
    cfg.randomness = dict(seed=args.seed)
    if args.precision == 'bf16':
        cfg.optim_wrapper.type = 'BF16OptimWrapper'
    cfg.env_cfg.cudnn_benchmark = torch.cuda.is_available()  # fixed 32x32 input
    cfg.work_dir = run_dir
    return cfg


def short_schedule(epochs: int) -> list:
    """The param_scheduler of ``SHORT_SCHEDULE`` for ``epochs`` (one: no warm-up)."""
    from mmengine.config import Config
    warmup, cosine = Config.fromfile(osp.join(REPO, SHORT_SCHEDULE)).param_scheduler
    return [warmup, cosine] if epochs > 1 else [dict(cosine, begin=0)]


def train_and_extract(args, method: str, imb: str, npz: str) -> dict:
    """Train one model and return its test / held-out features, head state and timing."""
    run_dir = osp.join(args.work_dir, f'if{imb}_{method}')
    cache = osp.join(run_dir, 'eval_cache.pth')
    # what decides the trained model (not --time-budget-min: the cache records the epochs run)
    settings = dict(method=method, imbalance_factor=imb, full=args.full, seed=args.seed,
                    heldout_per_class=args.heldout_per_class,
                    **({} if args.precision == 'fp32' else dict(precision=args.precision)),
                    **({} if args.full else dict(epochs=args.epochs, batch_size=args.batch_size,
                                                 lr=args.lr)))
    if args.resume and osp.isfile(cache):
        cached = torch.load(cache, weights_only=False)
        if cached.get('settings') == settings:
            print(f'[bench] reusing {cache}', flush=True)
            return cached
        print(f'[bench] {cache} was made with other settings ({cached.get("settings")}, now '
              f'{settings}): training again', flush=True)
    from mmengine.runner import Runner

    from mmtde.cls.datasets import long_tail_counts
    from mmtde.cls.tde_sweep import extract_features
    cfg = build_cfg(args, method, imb, npz, run_dir)
    runner = Runner.from_cfg(cfg)
    if args.time_budget_min:
        runner.register_hook(TimeBudgetHook(args.time_budget_min), 'LOWEST')
    train_set = runner.train_dataloader.dataset
    pool = min(train_set._train_class_sizes()) - train_set.heldout_per_class
    expected = long_tail_counts(pool, len(CLASSES), float(imb))
    if train_set.class_counts != expected:
        raise RuntimeError(f'LT subset has class counts {train_set.class_counts}, expected '
                           f'{expected}: is mmtde/cls/datasets/long_tail.py being edited?')
    print(f'[bench] IF {imb} {method}: {len(train_set)} training images {train_set.class_counts}'
          f', {cfg.train_cfg.max_epochs} epochs, batch {cfg.train_dataloader.batch_size}',
          flush=True)
    start = time.time()
    model = runner.train()
    out = dict(train_minutes=(time.time() - start) / 60, epochs=runner.epoch,
               class_counts=train_set.class_counts, cfg=cfg.pretty_text, settings=settings)
    for split in ('test', 'heldout'):
        loader_cfg = dict(cfg.test_dataloader)
        loader_cfg['dataset'] = dict(loader_cfg['dataset'], split=split)
        feats, labels = extract_features(model, runner.build_dataloader(loader_cfg),
                                         progress=False)
        out[f'{split}_feats'], out[f'{split}_labels'] = feats, labels
    out['head_state'] = {k: v.cpu() for k, v in model.head.state_dict().items()}
    out['head_cfg'] = cfg.model.head.to_dict()
    torch.save(out, cache)
    del runner, model
    return out


def build_head(run: dict):
    from mmpretrain.registry import MODELS
    head = MODELS.build(run['head_cfg'])
    head.load_state_dict(run['head_state'])
    return head.eval()


def evaluate_if(args, imb: str, runs: dict) -> dict:
    """Rows of the table for one IF, the alpha sweeps and the cosines."""
    # LongTailAccuracy logs every empty group (CIFAR-10-LT has no few-shot class) at every alpha.
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        return _evaluate_if(args, runs)
    finally:
        logger.setLevel(level)


def _evaluate_if(args, runs: dict) -> dict:
    from mmtde.cls.tde_sweep import mean_cosine, recommend_alpha, score_predictions, sweep_alpha
    res = dict(rows=[], train_minutes={m: r['train_minutes'] for m, r in runs.items()},
               epochs={m: r['epochs'] for m, r in runs.items()})
    counts = next(iter(runs.values()))['class_counts']
    res['class_counts'] = counts
    with torch.no_grad():
        if 'ce' in runs:
            run = runs['ce']
            head = build_head(run)
            preds = head((run['test_feats'], )).argmax(1)
            res['rows'].append(dict(key='ce', name=LABELS['ce'], alpha=0.0,
                                    **score_predictions(preds, run['test_labels'], counts)))
        if 'causalnorm' in runs:
            run = runs['causalnorm']
            head = build_head(run)
            start, stop, step = args.alphas
            alphas = np.round(np.arange(start, stop + step / 2, step), 6).tolist()
            test_rows = sweep_alpha(head, run['test_feats'], run['test_labels'], alphas, counts)
            held_rows = sweep_alpha(head, run['heldout_feats'], run['heldout_labels'], alphas,
                                    counts)
            picked = recommend_alpha(held_rows)
            cos_held = mean_cosine(head, run['heldout_feats']).mean().item()
            cos_test = mean_cosine(head, run['test_feats'])
            rule = round(1.0 / cos_held, 2) if cos_held > 0 else 0.0
            for key, alpha in (('tde_off', 0.0), ('tde_paper', args.paper_alpha),
                               ('tde_heldout', picked), ('tde_rule', rule)):
                row = sweep_alpha(head, run['test_feats'], run['test_labels'], [alpha],
                                  counts)[0]
                res['rows'].append(dict(key=key, name=f'{LABELS[key]} ({alpha:g})'
                                        if key != 'tde_off' else LABELS[key], **row))
            res.update(sweep_test=test_rows, sweep_heldout=held_rows, alpha_picked=picked,
                       alpha_rule=rule, mean_cos_heldout=cos_held,
                       mean_cos_test=cos_test.mean().item(), cos_test=cos_test.tolist())
    return res


def write_outputs(args, results: dict, meta: dict) -> None:
    from cifar10_lt_plots import plot_alpha_panels, plot_cos_hist, summary_table
    from mmtde.cls.tde_sweep import format_table, plot_per_class
    lines = [f"# CIFAR-10-LT, ResNet-32: {meta['schedule']}", '',
             f"Hardware: {meta['hardware']}. Command: `{meta['command']}`", '',
             'Overall top-1 (%) on the official balanced test set:', '']
    lines += summary_table(results, LABELS, PAPER)
    for imb, res in results.items():
        minutes = ', '.join(f'{m} {t:.1f} min ({res["epochs"][m]} ep)'
                            for m, t in res['train_minutes'].items())
        lines += ['', f'## IF {imb}: training images per class {res["class_counts"]} '
                  f'(training time: {minutes})', '', format_table(res['rows'], label='method')]
        if 'sweep_test' in res:
            lines += ['', f"mean cos(x, d): test {res['mean_cos_test']:.3f}, held-out "
                      f"{res['mean_cos_heldout']:.3f}; alpha picked on held-out "
                      f"{res['alpha_picked']:g}, by the authors' rule {res['alpha_rule']:g}"]
    write_results(args.out, dict(meta=meta, results=results), '\n'.join(lines), args.work_dir)
    print('\n'.join(lines), flush=True)

    figures = []
    swept = {imb: res for imb, res in results.items() if 'sweep_test' in res}
    for imb, res in results.items():
        curves = {r['name']: r['per_class'] for r in res['rows'] if r['key'] != 'tde_rule'}
        png = osp.join(args.work_dir, f'cifar10lt_per_class_if{imb}.png')
        plot_per_class(curves, res['class_counts'], png, CLASSES,
                       title=f"CIFAR-10-LT IF {imb}, ResNet-32, {meta['schedule_short']}")
        figures.append(png)
    if swept:
        png = osp.join(args.work_dir, 'cifar10lt_alpha_sweep.png')
        plot_alpha_panels(swept, args.paper_alpha, png,
                          title=f"CIFAR-10-LT test accuracy against alpha, one causal-norm "
                          f"checkpoint per IF ({meta['schedule_short']})")
        figures.append(png)
        png = osp.join(args.work_dir, 'cifar10lt_cos_hist.png')
        plot_cos_hist({f'IF {i}': np.asarray(r['cos_test']) for i, r in swept.items()}, png)
        figures.append(png)
    if args.figures_dir:
        os.makedirs(args.figures_dir, exist_ok=True)
        for png in figures:
            if '_per_class_if' not in png or png.endswith(f'_if{list(results)[0]}.png'):
                shutil.copy(png, args.figures_dir)
    print(f'[bench] wrote results.json, results.md and {len(figures)} PNGs to {args.work_dir}')


def train_in_parallel(args, argv) -> None:
    """One child process per method (same work dir), each running every IF; then the caller
    scores all of them from their caches (``--resume``)."""
    import subprocess
    argv = list(sys.argv[1:] if argv is None else argv)
    prepare_cifar10(args.data_root, osp.join(args.work_dir, 'cache'))  # once, before children
    children = []
    for method in args.methods:
        log = open(osp.join(args.work_dir, f'train_{method}.log'), 'w')
        cmd = [sys.executable, osp.abspath(__file__), *argv, '--jobs', '1', '--resume',
               '--methods', method]
        print(f'[bench] training {method} in a child process, log {log.name}', flush=True)
        children.append((method, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)))
    failed = [m for m, child in children if child.wait() != 0]
    if failed:
        sys.exit(f'[bench] training failed for {failed}: see train_<method>.log in '
                 f'{args.work_dir}')
    args.resume = True


def main(argv=None):
    args = parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1 or args.heldout_per_class < 1:
        sys.exit('--epochs, --batch-size and --heldout-per-class must be >= 1')
    os.makedirs(args.work_dir, exist_ok=True)
    if args.jobs > 1 and len(args.methods) > 1:
        train_in_parallel(args, argv)
    import cifar10_arrays  # noqa: F401  (registers BenchCIFAR10LTArrays)
    import mmtde.cls  # noqa: F401  (registers the head, hook, metric, datasets)
    import mmtde.cls.tde_sweep  # noqa: F401  (imported now: later edits of the tree can't leak in)
    try:
        npz = prepare_cifar10(args.data_root, osp.join(args.work_dir, 'cache'))
    except (FileNotFoundError, ValueError) as exc:
        sys.exit(f'[bench] {exc}')
    if not torch.cuda.is_available():
        torch.set_num_threads(args.threads or max(1, os.cpu_count() or 1))
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else \
        f'{os.cpu_count()}-core CPU ({platform.processor() or platform.machine()}), no GPU'
    schedule = ('paper: 200 epochs, batch 256, lr 0.2, 5-ep warm-up, x0.01 at 120/160'
                if args.full else f'CPU: {args.epochs} epochs, batch {args.batch_size}, lr '
                f'{args.lr:g}, 1-ep warm-up then cosine') + (
                    ', bfloat16 autocast' if args.precision == 'bf16' else '')
    meta = dict(schedule=schedule, schedule_short='200 ep' if args.full else
                f'{args.epochs} CPU epochs', hardware=device, torch=torch.__version__,
                command=command_line(__file__, argv),
                seed=args.seed, heldout_per_class=args.heldout_per_class,
                precision=args.precision, paper_alpha=args.paper_alpha,
                started=time.strftime('%Y-%m-%d %H:%M:%S'))
    results = {}
    for imb in args.imbalance_factors:
        runs = {m: train_and_extract(args, m, imb, npz) for m in args.methods}
        results[imb] = evaluate_if(args, imb, runs)
        write_outputs(args, results, meta)  # after every IF, so a cut run keeps its numbers
    return results


if __name__ == '__main__':
    main()
