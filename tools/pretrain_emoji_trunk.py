# Copyright (c) mmtde contributors. All rights reserved.
"""Pretrain a detector config's backbone on emoji crops of classes outside Emoji-LVIS.

What ImageNet weights are to an LVIS detector, this trunk is to an Emoji-LVIS one: the config's
own ``model.backbone`` (built by mmdet, so the keys are exactly the detector's) with a linear
classifier on its pooled last stage, trained on :mod:`mmtde.datagen.emoji_pretrain`'s crops
(the object-like emoji that are not Emoji-LVIS classes). Deterministic from ``--seed``; the
result is cached under ``<cache>/emoji_trunk/<hash>.pth``, the hash covering the classes, fonts,
backgrounds, recipe and backbone config, so a second call with the same inputs returns at once.
An interrupted run resumes from its last state (saved every ``--save-interval`` iterations).

The file holds ``state_dict`` (backbone only) and ``meta`` (top-1 on held-out crops, recipe,
hash). A detector config loads it the way mmdet's configs load ImageNet weights::

    model = dict(backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=PATH)))

Usage::

    python tools/pretrain_emoji_trunk.py configs/emoji_lvis/CONFIG.py --out trunk.pth
"""
import argparse
import json
import math
import os
import os.path as osp
import shutil
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mmtde.datagen.cifar10 import cache_root, prepare_cifar10
from mmtde.datagen.emoji_pretrain import (
    inputs_hash,
    make_crops,
    pretrain_classes,
    render_pretrain_glyphs,
)

#: The recipe; every entry goes into the cache hash.
RECIPE = dict(train_per_class=48, heldout_per_class=4, size=64, iters=2400, batch_size=128,
              lr=0.2, weight_decay=5e-4, warmup=100, label_smoothing=0.1)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='detector config whose model.backbone is pretrained')
    parser.add_argument('--out', help='also copy the trunk here (the cache keeps the original)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--cifar10', default=os.environ.get('MMTDE_DATA_DIR'),
                        help='CIFAR-10 for the backgrounds (default: $MMTDE_DATA_DIR; none: '
                        'noise)')
    parser.add_argument('--iters', type=int, default=RECIPE['iters'])
    parser.add_argument('--train-per-class', type=int, default=RECIPE['train_per_class'])
    parser.add_argument('--save-interval', type=int, default=300)
    parser.add_argument('--cache-dir', default=None,
                        help='default: $MMTDE_CACHE or ~/.cache/mmtde, folder emoji_trunk')
    return parser.parse_args(argv)


#: Backbone settings that say how the detector trains the weights, not what they are.
TRAINING_KEYS = ('init_cfg', 'frozen_stages', 'norm_eval', 'with_cp')


def backbone_config(config: str) -> dict:
    """The config's ``model.backbone`` as a plain dict, without the keys of
    :data:`TRAINING_KEYS` (a detector that freezes a stage loads the same trunk)."""
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    backbone = cfg.model.backbone.to_dict()
    for key in TRAINING_KEYS:
        backbone.pop(key, None)
    return backbone


class TrunkClassifier(nn.Module):
    """The detector's backbone (every stage and BN statistic trained), its last stage
    pooled, and a linear classifier."""

    def __init__(self, backbone_cfg: dict, num_classes: int):
        super().__init__()
        from mmdet.registry import MODELS
        from mmdet.utils import register_all_modules
        from mmengine.registry import DefaultScope
        register_all_modules(init_default_scope=False)
        # mmdet's scope whatever the process's default scope is (a runner of another
        # codebase may have set one, and the registry would then look the type up there)
        with DefaultScope.overwrite_default_scope('mmdet'):
            self.backbone = MODELS.build(dict(backbone_cfg, init_cfg=None, frozen_stages=-1,
                                              norm_eval=False))
        with torch.no_grad():
            channels = self.backbone(torch.zeros(1, 3, 64, 64))[-1].shape[1]
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x):
        return self.fc(self.backbone(x)[-1].mean(dim=(2, 3)))


def _to_input(images: np.ndarray, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float()
    return ((x - mean) / std).contiguous(memory_format=torch.channels_last)


def _augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random horizontal flip and a shift of up to 4 px (zero padding), per image."""
    n = x.shape[0]
    flip = torch.rand(n, generator=gen) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    padded = F.pad(x, (4, 4, 4, 4))
    dy, dx = torch.randint(0, 9, (2, n), generator=gen)
    h, w = x.shape[2:]
    return torch.stack([padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(n)]
                       ).contiguous(memory_format=torch.channels_last)


def _lr(it: int, total: int, peak: float, warmup: int) -> float:
    if it < warmup:
        return peak * (it + 1) / warmup
    return 0.5 * peak * (1 + math.cos(math.pi * (it - warmup) / max(total - warmup, 1)))


def _save(obj, path: str) -> None:
    torch.save(obj, path + '.tmp')
    os.replace(path + '.tmp', path)


def pretrain(config: str, seed: int = 0, cifar10=None, cache_dir=None, iters=None,
             train_per_class=None, save_interval: int = 300, log=print) -> str:
    """Pretrain (or find in the cache) the trunk of ``config``; return its path."""
    recipe = dict(RECIPE, iters=iters or RECIPE['iters'],
                  train_per_class=train_per_class or RECIPE['train_per_class'])
    backbone = backbone_config(config)
    pool = dict(train=None, heldout=None)
    if cifar10 is not None:
        with np.load(prepare_cifar10(cifar10, cache_root())) as arrays:
            pool = dict(train=arrays['train_x'], heldout=arrays['test_x'])
    digest = inputs_hash(pool['train'], seed=seed, recipe=recipe, backbone=backbone)
    folder = cache_dir or osp.join(cache_root(), 'emoji_trunk')
    os.makedirs(folder, exist_ok=True)
    final = osp.join(folder, f'{digest[:16]}.pth')
    if osp.isfile(final):
        meta = torch.load(final, map_location='cpu', weights_only=False)['meta']
        log(f'[trunk] cached: {final} (held-out top-1 {meta["heldout_top1"]:.2f}, '
            f'{meta["seconds"]:.0f} s to train)')
        return final

    torch.manual_seed(seed)
    start = time.time()
    glyphs = render_pretrain_glyphs()
    classes = pretrain_classes()
    train_x, train_y = make_crops(recipe['train_per_class'], seed, 'train', recipe['size'],
                                  pool['train'], glyphs)
    held_x, held_y = make_crops(recipe['heldout_per_class'], seed, 'heldout', recipe['size'],
                                pool['heldout'], glyphs)
    log(f'[trunk] {len(classes)} classes, {len(train_x)} training and {len(held_x)} held-out '
        f'crops drawn in {time.time() - start:.0f} s')

    model = TrunkClassifier(backbone, len(classes)).to(memory_format=torch.channels_last)
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    optim = torch.optim.SGD([dict(params=decay, weight_decay=recipe['weight_decay']),
                             dict(params=no_decay, weight_decay=0.0)],
                            lr=recipe['lr'], momentum=0.9, nesterov=True)
    mean = torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)  # mmdet's RGB statistics
    std = torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)
    gen = torch.Generator().manual_seed(seed)
    it, spent = 0, 0.0
    partial = osp.join(folder, f'{digest[:16]}.partial.pth')
    if osp.isfile(partial):
        state = torch.load(partial, map_location='cpu', weights_only=False)
        model.load_state_dict(state['model'])
        optim.load_state_dict(state['optim'])
        gen.set_state(state['gen'])
        it, spent, order = state['iter'], state['seconds'], state['order']
        log(f'[trunk] resuming at iteration {it}')
    order = torch.empty(0, dtype=torch.long)
    total, bs = recipe['iters'], recipe['batch_size']
    model.train()
    tick, losses = time.time(), []
    while it < total:
        # one permutation per epoch; the epoch's order and the generator are saved with the
        # weights, so a resumed run draws the batches the uninterrupted one would have
        epoch_pos = (it % (len(train_x) // bs)) * bs
        if epoch_pos == 0 or order.numel() == 0:
            order = torch.randperm(len(train_x), generator=gen)
        idx = order[epoch_pos:epoch_pos + bs].numpy()
        x = _augment(_to_input(train_x[idx], mean, std), gen)
        y = torch.from_numpy(train_y[idx])
        for group in optim.param_groups:
            group['lr'] = _lr(it, total, recipe['lr'], recipe['warmup'])
        loss = F.cross_entropy(model(x), y, label_smoothing=recipe['label_smoothing'])
        if not torch.isfinite(loss):
            raise FloatingPointError(f'pretraining loss is {loss.item()} at iteration {it}: '
                                     f'lower --lr in RECIPE or check the crops')
        optim.zero_grad()
        loss.backward()
        optim.step()
        losses.append(loss.item())
        it += 1
        if it % 50 == 0 or it == total:
            now = time.time()
            spent += now - tick
            per_it = spent / max(it, 1)
            log(f'[trunk] Iter [{it}/{total}]  lr: {optim.param_groups[0]["lr"]:.4f}  '
                f'eta: {per_it * (total - it) / 60:.1f} min  time: {per_it:.3f}  '
                f'loss: {np.mean(losses):.4f}')
            tick, losses = now, []
        if it % save_interval == 0 and it < total:
            _save(dict(model=model.state_dict(), optim=optim.state_dict(), gen=gen.get_state(),
                       order=order, iter=it, seconds=spent), partial)

    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(held_x), 256):
            pred = model(_to_input(held_x[i:i + 256], mean, std)).argmax(1)
            correct += int((pred == torch.from_numpy(held_y[i:i + 256])).sum())
    top1 = 100.0 * correct / len(held_x)
    meta = dict(heldout_top1=top1, num_classes=len(classes), seed=seed, recipe=recipe,
                backbone=backbone, hash=digest, seconds=spent,
                backgrounds='cifar10' if cifar10 is not None else 'noise',
                torch=str(torch.__version__), threads=torch.get_num_threads())
    _save(dict(state_dict=model.backbone.state_dict(), meta=meta), final)
    if osp.isfile(partial):
        os.remove(partial)
    log(f'[trunk] held-out top-1 {top1:.2f} % over {len(held_x)} crops of {len(classes)} '
        f'classes; {spent / 60:.1f} min of training -> {final}')
    return final


def check_trunk(path: str, config: str) -> dict:
    """The ``meta`` of a trunk file, checked against ``config``'s backbone.

    Raises:
        FileNotFoundError / ValueError: naming the file and the command that makes the right one.
    """
    fix = f'make it with: python tools/pretrain_emoji_trunk.py {config} --out {path}'
    if not osp.isfile(path):
        raise FileNotFoundError(f'pretrained trunk {path!r} not found; {fix}')
    ckpt = torch.load(path, map_location='cpu', weights_only=False)
    meta = ckpt.get('meta') if isinstance(ckpt, dict) else None
    if not meta or 'backbone' not in meta:
        raise ValueError(f'{path!r} is not a trunk made by tools/pretrain_emoji_trunk.py; {fix}')
    want = backbone_config(config)
    if meta['backbone'] != want:
        raise ValueError(f'{path!r} was pretrained for backbone {meta["backbone"]}, but '
                         f'{config} builds {want}; {fix}')
    return meta


def main(argv=None) -> None:
    args = parse_args(argv)
    try:
        path = pretrain(args.config, args.seed, args.cifar10, args.cache_dir, args.iters,
                        args.train_per_class, args.save_interval,
                        log=lambda m: print(m, flush=True))
    except (ValueError, FileNotFoundError) as exc:
        sys.exit(f'error: {exc}')
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        shutil.copyfile(path, args.out + '.tmp')
        os.replace(args.out + '.tmp', args.out)
        print(f'[trunk] copied to {args.out}', flush=True)
    print(json.dumps(dict(path=args.out or path)), flush=True)


if __name__ == '__main__':
    main()
