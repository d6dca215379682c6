# Copyright (c) mmtde contributors. All rights reserved.
"""The README's demo: train ResNet-32 causal-norm on CIFAR-10-LT (IF 100) on the CPU, then
evaluate the same checkpoint with TDE off (alpha = 0) and on (alpha = 1.0, the paper's value).

Data: the official ``cifar-10-batches-py``, an extracted image folder (``train/<class>/*.jpg``,
``test/<class>/*.jpg``) or ``cifar10-jpeg.tar.gz`` (an image-folder copy, extracted once next to
the work dir), found by :func:`mmtde.datagen.cifar10.find_source` in ``--data-root`` /
``$MMTDE_DATA_DIR`` (refused if it holds none of them), or, with no folder named, in
``data/cifar10``, where mmpretrain downloads the official archive if nothing is there.

Schedule: ``configs/_base_/schedules/cifar-lt_sgd-coslr-short.py`` (one warm-up epoch, then
cosine), as ``benchmarks/cifar10_lt_accuracy.py`` trains.
"""
import argparse
import json
import os
import os.path as osp
import sys
import tarfile
import time

import torch
from mmengine.config import Config
from mmengine.runner import Runner

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(REPO, 'configs/cifar_lt/resnet32-causalnorm-tde_1xb256-200e_cifar10-lt-if100.py')
SCHEDULE = osp.join(REPO, 'configs/_base_/schedules/cifar-lt_sgd-coslr-short.py')
HOW_TO_PROVIDE = """\
No CIFAR-10 found, and it could not be downloaded. Provide it in one of these ways:
  * the official python archive: put cifar-10-batches-py/ (from cifar-10-python.tar.gz,
    https://www.cs.toronto.edu/~kriz/cifar.html) under DIR;
  * an image-folder copy: DIR/cifar10-jpeg.tar.gz, or DIR/train/<class>/*.jpg and
    DIR/test/<class>/*.jpg with the 10 class folders named so that sorted order is
    airplane ... truck;
then run, from a checkout:  MMTDE_DATA_DIR=DIR bash tools/demo.sh   (or this script with
--data-root DIR)"""


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--data-root', '--data-dir', dest='data_root',
                        default=os.environ.get('MMTDE_DATA_DIR'),
                        help='folder with CIFAR-10 (default: $MMTDE_DATA_DIR)')
    parser.add_argument('--work-dir', default=osp.join(REPO, 'work_dirs/demo_cifar10_lt'))
    parser.add_argument('--epochs', type=int, default=6,
                        help='CPU schedule: epochs of cosine lr from 0.1 (default 6)')
    parser.add_argument('--batch-size', type=int, default=128)
    parser.add_argument('--alpha', type=float, default=1.0, help='TDE alpha (paper: 1.0)')
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


def find_data(data_root, work_dir):
    """Return ('folder', root) or ('official', root); a tarball is extracted once."""
    from mmtde.datagen.cifar10 import find_source
    try:
        kind, path = find_source(data_root or osp.join(REPO, 'data', 'cifar10'))
    except FileNotFoundError:
        kind = path = None
    if kind in ('official', 'folder'):
        return kind, path
    if kind == 'npz':  # CIFAR10LT reads the decoded copy (the official pickles first)
        return 'official', osp.dirname(path)
    if kind == 'tarball':
        target = osp.join(osp.dirname(work_dir), 'cifar10-jpeg')
        if not osp.isdir(osp.join(target, 'train', 'airplane')):
            print(f'[demo] extracting {path} -> {target} (once)')
            os.makedirs(target, exist_ok=True)
            with tarfile.open(path) as tar:
                tar.extractall(target, filter='data')
        for inner in (osp.join(target, d) for d in ('', 'cifar10-jpeg', 'cifar10')):
            if osp.isdir(osp.join(inner, 'train', 'airplane')):
                return 'folder', inner
    if data_root:  # named on purpose: never fall back to a 170 MB download behind its back
        raise SystemExit(
            f'[demo] --data-root / MMTDE_DATA_DIR={data_root!r} holds no CIFAR-10 the demo '
            f'reads: expected cifar-10-batches-py/, train/<class>/*.jpg + test/<class>/*.jpg, '
            f'or cifar10-jpeg.tar.gz there. Fix the path, or unset it to download the official '
            f'archive into {osp.join(REPO, "data", "cifar10")}')
    return 'official', osp.join(REPO, 'data', 'cifar10')  # mmpretrain will try to download


def build_cfg(args, kind, root):
    cfg = Config.fromfile(CONFIG)
    for split, loader in (('train', cfg.train_dataloader), ('test', cfg.test_dataloader)):
        loader.batch_size = args.batch_size
        loader.num_workers = 2
        loader.persistent_workers = True
        ds = loader.dataset
        ds.split = split
        if kind == 'folder':
            ds.type = 'ImageFolderLT'
            ds.data_root = root
            ds.pipeline = [dict(type='LoadImageFromFile')] + list(ds.pipeline)
        else:
            ds.data_root = root
            ds.download = True
    if kind == 'folder':
        cfg.model.data_preprocessor = dict(cfg.data_preprocessor, to_rgb=True)  # cv2 reads BGR
    cfg.train_cfg = dict(by_epoch=True, max_epochs=args.epochs, val_interval=args.epochs + 1)
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    cfg.optim_wrapper.optimizer.lr = 0.1 * args.batch_size / 128
    warmup, cosine = Config.fromfile(SCHEDULE).param_scheduler  # one epoch: no warm-up
    cfg.param_scheduler = [warmup, cosine] if args.epochs > 1 else [dict(cosine, begin=0)]
    cfg.default_hooks.logger.interval = 20
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=args.epochs,
                                        backend_args=dict(backend='atomic_local'))
    cfg.randomness = dict(seed=args.seed)
    cfg.work_dir = args.work_dir
    return cfg


def main():
    args = parse_args()
    if args.epochs < 1 or args.batch_size < 1 or args.alpha < 0:
        sys.exit(f'--epochs {args.epochs}, --batch-size {args.batch_size} must be >= 1 and '
                 f'--alpha {args.alpha} >= 0')
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    import mmtde.cls  # noqa: F401  (registers datasets, head, hook, metric)
    from mmtde.cls.tde_sweep import (
        extract_features,
        format_table,
        mean_cosine,
        plot_per_class,
        sweep_alpha,
    )

    kind, root = find_data(args.data_root, args.work_dir)
    print(f'[demo] CIFAR-10 ({kind}) at {root}')
    cfg = build_cfg(args, kind, root)
    runner = Runner.from_cfg(cfg)
    try:  # the datasets are built (and downloaded) here
        train_set = runner.train_dataloader.dataset
    except (FileNotFoundError, RuntimeError, OSError) as exc:
        print(f'[demo] {type(exc).__name__}: {exc}\n\n{HOW_TO_PROVIDE}', file=sys.stderr)
        sys.exit(2)
    counts = train_set.class_counts
    print(f'[demo] CIFAR-10-LT IF 100, seed {args.seed}: {len(train_set)} training images, '
          f'per class {counts}')
    print(f'[demo] training ResNet-32 + CausalNormHead for {args.epochs} epochs on the CPU '
          f'(batch {args.batch_size}, cosine lr from {cfg.optim_wrapper.optimizer.lr:g}); '
          f'the paper trains 200 epochs on a GPU')
    start = time.time()
    model = runner.train()
    train_min = (time.time() - start) / 60

    test_loader = runner.build_dataloader(cfg.test_dataloader)
    print(f'[demo] evaluating the final checkpoint on the balanced test set '
          f'({len(test_loader.dataset)} images), TDE off and on')
    feats, labels = extract_features(model, test_loader)
    rows = sweep_alpha(model.head, feats, labels, [0.0, args.alpha], counts)
    rows[0]['name'], rows[1]['name'] = 'TDE off (alpha=0)', f'TDE on (alpha={args.alpha:g})'
    classes = test_loader.dataset.metainfo['classes']

    print('\nTop-1 (%) on CIFAR-10 test, same checkpoint. Groups by training images: many > 100, '
          'medium 20-100, few < 20 (on CIFAR-10-LT IF 100 the smallest class has 50 images, '
          'so "few" has no class); tail = the 3 classes with fewest training images.')
    print(format_table(rows, label='inference'))
    print('\nPer class (training images -> accuracy off / on):')
    for c in sorted(range(len(classes)), key=lambda c: -counts[c]):
        print(f'  {classes[c]:>10s} {counts[c]:5d}  {rows[0]["per_class"][c]:6.1f} / '
              f'{rows[1]["per_class"][c]:6.1f}')
    cos = mean_cosine(model.head, feats).mean().item()
    delta_all = rows[1]['top1'] - rows[0]['top1']
    delta_tail = rows[1]['tail'] - rows[0]['tail']
    print(f'\nTDE changed overall top-1 by {delta_all:+.2f} points and the tail classes by '
          f'{delta_tail:+.2f} points (training took {train_min:.1f} min; mean cos(x, d) on '
          f'test = {cos:.3f})')

    png = osp.join(args.work_dir, 'per_class_accuracy.png')
    plot_per_class({r['name']: r['per_class'] for r in rows}, counts, png, classes,
                   title=f'CIFAR-10-LT IF 100, ResNet-32 causal norm, {args.epochs} CPU epochs')
    with open(osp.join(args.work_dir, 'demo_results.json'), 'w') as f:
        json.dump(dict(epochs=args.epochs, class_counts=counts, classes=list(classes),
                       mean_cos=cos, train_minutes=train_min, rows=rows), f, indent=1)
    print(f'[demo] wrote {png} and demo_results.json')


if __name__ == '__main__':
    main()
