# Copyright (c) mmtde contributors. All rights reserved.
"""Re-estimate the moving-average feature ``d`` of a trained TDE model, post hoc.

For a checkpoint whose ``d`` is zero or missing (trained before the EMA hook was added, or
converted from a stock head), run the frozen model over training data and rebuild ``d`` with
the training-time rule ``d <- mu d + mean(x)`` (the reference did this by "fine-tuning" only
the buffer). Weights, BatchNorm statistics and every other entry of the checkpoint stay exactly
as they were; the new checkpoint is written atomically.

Example::

    python tools/reestimate_d.py CONFIG OLD.pth --out NEW.pth --epochs 1
"""
import argparse
import copy
import io
import os.path as osp

import torch
from mmengine.config import DictAction
from mmengine.fileio import get_file_backend
from mmengine.registry import init_default_scope
from mmengine.runner import Runner, load_checkpoint
from mmengine.utils import ProgressBar
from torch.nn.modules.batchnorm import _BatchNorm

from mmtde.engine import EMAFeatureHook, register_checkpoint_safe_globals
from mmtde.utils import load_config, model_cfg


def parse_args():
    parser = argparse.ArgumentParser(description='Re-estimate d of a TDE checkpoint')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out', required=True, help='the new checkpoint (must differ)')
    parser.add_argument('--epochs', type=int, default=1, help='passes over the data')
    parser.add_argument('--mu', type=float,
                        help='momentum of d (default: each head\'s mu, as the config and '
                        '--cfg-options set it; a config whose EMAFeatureHook still sets the '
                        'deprecated mu gets that one, as its training did; '
                        'mu_policy=\'lr\' is not replayed: the heads\' mu is used)')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def freeze(model: torch.nn.Module) -> None:
    """Training-mode forward (so detection heads sample RoIs with labels) that changes no
    statistic: BatchNorm layers in eval mode, no gradients."""
    model.train()
    for m in model.modules():
        if isinstance(m, _BatchNorm):
            m.eval()
    for p in model.parameters():
        p.requires_grad_(False)


@torch.no_grad()
def reestimate(model, dataloader, epochs: int = 1, mu=None, progress: bool = True) -> list:
    """Reset and rebuild every ``d`` of ``model`` from ``dataloader``; returns the modules."""
    modules = EMAFeatureHook.feature_modules(model)
    if not modules:
        raise RuntimeError(f'{type(model).__name__} has no moving-average feature: it has no '
                           f'TDE head, so there is no d to re-estimate')
    for m in modules:
        m.d.zero_()
        m.num_updates.zero_()
        if mu is not None:
            m.mu = mu  # validated there
    freeze(model)
    bar = ProgressBar(epochs * len(dataloader)) if progress else None
    for epoch in range(epochs):
        if hasattr(dataloader.sampler, 'set_epoch'):
            dataloader.sampler.set_epoch(epoch)
        for data in dataloader:
            data = model.data_preprocessor(data, True)
            model(**data, mode='loss')  # the heads update d in their loss path
            if bar is not None:
                bar.update()
    if bar is not None:
        print()
    return modules


def check_weights_present(model, checkpoint: dict, ckpt_path: str, cfg_path: str) -> None:
    """Refuse a checkpoint that lacks weights of the model: d would come from random layers.

    Only ``feat_ema.*`` (what this tool rebuilds) may be missing; extra entries (e.g. the bias
    of a stock linear head) are reported and left in the output untouched.
    """
    state = checkpoint.get('state_dict', checkpoint)
    state = {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}
    result = model.load_state_dict(state, strict=False)
    missing = sorted(k for k in result.missing_keys if '.feat_ema.' not in k)
    if missing:
        raise SystemExit(f'{ckpt_path} has no weights for {len(missing)} entries of the model '
                         f'built from {cfg_path} (e.g. {missing[:3]}): d would be estimated from '
                         f'randomly initialised layers. Use the config this checkpoint was '
                         f'trained with.')
    extra = sorted(result.unexpected_keys)
    if extra:
        print(f'note: {len(extra)} checkpoint entries are not in the model and stay as they are '
              f'(e.g. {extra[:3]})')


def main():
    args = parse_args()
    if osp.abspath(args.out) == osp.abspath(args.checkpoint):
        raise ValueError(f'--out {args.out} would overwrite the input checkpoint; choose '
                         f'another file name')
    if args.epochs < 1:
        raise ValueError(f'--epochs {args.epochs} must be >= 1')
    register_checkpoint_safe_globals()
    cfg = load_config(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    from mmengine.registry import MODELS

    model = MODELS.build(model_cfg(cfg)).to(args.device)
    checkpoint = load_checkpoint(model, args.checkpoint, map_location='cpu', strict=False)
    check_weights_present(model, checkpoint, args.checkpoint, args.config)
    before = copy.deepcopy(model.state_dict())
    loader = Runner.build_dataloader(cfg.train_dataloader)
    if args.mu is None:  # a deprecated EMAFeatureHook(mu=...) overrode the heads' mu in
        # training, so it does here too; otherwise each head keeps the mu it was built with
        for hook in cfg.get('custom_hooks', []):
            if hook.get('type') == 'EMAFeatureHook' and hook.get('mu') is not None:
                args.mu = hook['mu']
    modules = reestimate(model, loader, args.epochs, args.mu)

    after = model.state_dict()
    d_keys = {k for k in after if k.endswith(('feat_ema.d', 'feat_ema.num_updates'))}
    changed = [k for k in after if k not in d_keys and not torch.equal(after[k], before[k])]
    if changed:
        raise RuntimeError(f'internal error: re-estimating d changed {changed[:5]}; nothing '
                           f'was written')
    state = checkpoint.get('state_dict', checkpoint)
    for key in d_keys:
        state[key] = after[key].cpu()
    buf = io.BytesIO()
    torch.save(checkpoint, buf)
    get_file_backend(args.out, backend_args=dict(backend='atomic_local')).put(
        buf.getvalue(), args.out)
    for i, m in enumerate(modules):
        print(f'd[{i}]: {int(m.num_updates)} updates, |d| = {m.d.norm().item():.4g}, mu = {m.mu}')
    print(f'wrote {args.out} (weights unchanged)')


if __name__ == '__main__':
    main()
