# Copyright (c) mmtde contributors. All rights reserved.
"""Make a training checkpoint a release file: the weights and buffers (TDE's ``d`` included),
its meta, nothing to resume with; named ``<out>_<yyyymmdd>-<sha256[:8]>.pth``.

    python tools/publish_model.py work_dirs/run/epoch_200.pth work_dirs/publish/resnet32.pth
    python tools/publish_model.py ... --ema   # a run with mmengine's EMAHook: its EMA weights

mmpretrain's ``tools/model_converters/publish_model.py`` does the same, but its ``torch.load``
(``weights_only=True`` since torch 2.6) refuses the numpy values mmengine writes into a
checkpoint's message hub; here they are allowed by ``register_checkpoint_safe_globals`` (the
project's answer to that breakage, see the README), and nothing else is.
"""
import argparse
import datetime
import hashlib
import os
import os.path as osp
from typing import Tuple

import torch

from mmtde.engine import register_checkpoint_safe_globals

DROP = ('optimizer', 'param_schedulers', 'message_hub', 'hook_msgs', 'ema_state_dict')


def ema_weights(ckpt: dict, in_file: str) -> dict:
    """The model's state dict as mmengine's ``EMAHook`` averaged it (``module.`` keys)."""
    if 'ema_state_dict' not in ckpt:
        raise ValueError(f'{in_file!r} has no EMA weights (trained without EMAHook): drop --ema')
    ema = {k[len('module.'):]: v for k, v in ckpt['ema_state_dict'].items()
           if k.startswith('module.')}
    if set(ema) != set(ckpt['state_dict']):
        missing = sorted(set(ckpt['state_dict']) ^ set(ema))[:5]
        raise ValueError(f'{in_file!r}: the EMA weights and the model differ in keys '
                         f'({missing}); publish without --ema')
    return ema


def publish(in_file: str, out_file: str, ema: bool = False) -> Tuple[str, bool]:
    """Write the release file next to ``out_file``; returns its path, and whether EMA weights
    (``EMAHook``) were left out.

    With ``ema`` the weights are the EMA ones; without it a checkpoint that holds EMA weights
    is published with the trained ones, and ``main`` says so."""
    if not osp.isfile(in_file):
        raise FileNotFoundError(f'checkpoint {in_file!r} does not exist')
    out_dir = osp.dirname(osp.abspath(out_file))
    if not osp.isdir(out_dir):
        raise FileNotFoundError(f'output folder {out_dir!r} does not exist: create it first')
    register_checkpoint_safe_globals()
    ckpt = torch.load(in_file, map_location='cpu', weights_only=True)
    if not isinstance(ckpt, dict) or 'state_dict' not in ckpt:
        raise ValueError(f'{in_file!r} is not an mmengine checkpoint (no "state_dict")')
    if ema:
        ckpt['state_dict'] = ema_weights(ckpt, in_file)
    left_out_ema = not ema and 'ema_state_dict' in ckpt
    ckpt = {k: v for k, v in ckpt.items() if k not in DROP}
    stem = out_file[:-len('.pth')] if out_file.endswith('.pth') else out_file
    tmp = f'{stem}.tmp.pth'
    torch.save(ckpt, tmp)
    with open(tmp, 'rb') as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    final = f'{stem}_{datetime.date.today():%Y%m%d}-{sha[:8]}.pth'
    os.replace(tmp, final)  # whole or not at all
    return final, left_out_ema


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('in_file', help='a checkpoint written by training')
    parser.add_argument('out_file', help='the release file name; date and sha256 are appended')
    parser.add_argument('--ema', action='store_true',
                        help="publish the EMA weights of a run with mmengine's EMAHook")
    args = parser.parse_args(argv)
    try:
        final, left_out_ema = publish(args.in_file, args.out_file, ema=args.ema)
    except (FileNotFoundError, ValueError) as err:
        parser.error(str(err))
    print(f'published {final}' + (' (EMA weights)' if args.ema else ''))
    if left_out_ema:
        print(f'note: {args.in_file} also holds EMA weights (EMAHook); they were left out and '
              'the trained weights published: --ema publishes the EMA weights instead')


if __name__ == '__main__':
    main()
