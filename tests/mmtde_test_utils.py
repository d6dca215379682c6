# Copyright (c) mmtde contributors. All rights reserved.
"""Helpers shared by the tests (importable: ``pytest.ini`` puts ``tests/`` on the path)."""
import os
import os.path as osp
import pickle
import socket
import subprocess
import sys

import yaml

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CIFAR_TDE_CFG = osp.join(
    REPO, 'configs/cifar_lt/resnet32-causalnorm-tde_1xb256-200e_cifar10-lt-if100.py')
TINY_CLASSES = ('ant', 'bee', 'cat', 'dog')


def shared_data_dir() -> str:
    """Where the tests look for real data: $MMTDE_DATA_DIR, else a ``shared/data`` folder next
    to the checkout (tests that need it skip when it is missing)."""
    return os.environ.get('MMTDE_DATA_DIR', osp.join(REPO, '..', 'shared', 'data'))


def metafile_models():
    """(metafile, model, its collection) for every model that model-index.yml imports."""
    def load(path):
        with open(osp.join(REPO, path)) as f:
            return yaml.safe_load(f)

    for metafile in load('model-index.yml')['Import']:
        meta = load(metafile)
        collections = {c['Name']: c for c in meta['Collections']}
        for model in meta['Models']:
            yield metafile, model, collections[model['In Collection']]


def tiny_cls_cfg_text(data_root: str, base: str = CIFAR_TDE_CFG, extra: str = '') -> str:
    """A config inheriting ``base`` with a tiny BN-frozen backbone and the tiny folder.

    ``norm_eval=True`` makes every feature independent of which images share its batch, so
    one process and several ranks that see the same global batches compute the same ``d``.
    """
    return f'''
_base_ = [{base!r}]
# top-level, as in every shipped config: tools that build the model must fold it in
data_preprocessor = dict(num_classes=4, mean=[127.5] * 3, std=[64.0] * 3, to_rgb=True)
model = dict(
    backbone=dict(_delete_=True, type='ResNet_CIFAR', depth=18, stem_channels=8,
                  base_channels=8, norm_eval=True),
    head=dict(num_classes=4, in_channels=64))
pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(_delete_=True, type='ImageFolderLT', data_root={data_root!r}, split='train',
                 imbalance_factor=4, seed=0, pipeline=pipeline))
val_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, type='ImageFolderLT', data_root={data_root!r}, split='test',
                 imbalance_factor=4, seed=0, pipeline=pipeline))
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(lr=0.05))
# explicit end: a run cut short with train_cfg.max_epochs=1 keeps the same schedule
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[2], gamma=0.1, end=3)]
train_cfg = dict(by_epoch=True, max_epochs=3, val_interval=3)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1))
randomness = dict(seed=0, deterministic=True)
{extra}
'''


def free_port() -> str:
    """A TCP port free now, for a distributed launch (tests may run side by side)."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return str(s.getsockname()[1])


def run_cmd(args, cwd=REPO, timeout=600, env=None):
    """Run a command with the test interpreter's environment first on PATH and this checkout's
    mmtde first on PYTHONPATH (as tools/*.sh do); fail loudly."""
    full_env = dict(os.environ)
    full_env['PATH'] = osp.dirname(sys.executable) + os.pathsep + full_env.get('PATH', '')
    full_env['PYTHONPATH'] = os.pathsep.join(
        p for p in (REPO, full_env.get('PYTHONPATH')) if p)
    full_env.setdefault('OMP_NUM_THREADS', '1')
    full_env['PYTHONUNBUFFERED'] = '1'
    if env:
        full_env.update(env)
    proc = subprocess.run(args, cwd=cwd, env=full_env, capture_output=True, text=True,
                          timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f'{args} exited {proc.returncode}\n--- stdout\n'
                             f'{proc.stdout[-6000:]}\n--- stderr\n{proc.stderr[-6000:]}')
    return proc


def runner_features(cfg_path, ckpt, work_dir, split='test'):
    """Features of ``split`` from the model exactly as tools/train.py and tools/test.py build
    it (through a Runner, which folds the config's top-level data_preprocessor into the model).

    Returns:
        tuple: The model (eval mode, checkpoint loaded) and the pooled features (N, D).
    """
    from mmengine.runner import Runner, load_checkpoint

    from mmtde.cls.tde_sweep import extract_features
    from mmtde.engine import register_checkpoint_safe_globals
    from mmtde.utils import load_config
    register_checkpoint_safe_globals()
    cfg = load_config(cfg_path)
    cfg.work_dir = str(work_dir)
    runner = Runner.from_cfg(cfg)
    load_checkpoint(runner.model, ckpt, map_location='cpu')
    loader = runner.build_dataloader(cfg.get(f'{split}_dataloader'))
    feats, _ = extract_features(runner.model, loader, progress=False)
    return runner.model, feats


def write_cifar_batch(path, labels, key: str, seed: int) -> None:
    """A stand-in for an official CIFAR pickled batch: random images with ``labels``
    (``key`` is ``'labels'`` for CIFAR-10, ``'fine_labels'`` for CIFAR-100)."""
    import numpy as np
    data = np.random.default_rng(seed).integers(0, 256, (len(labels), 3072), dtype=np.uint8)
    with open(path, 'wb') as f:
        pickle.dump({'data': data, key: list(labels)}, f)


def emoji_font_problem():
    """Why the Emoji-LVIS fonts cannot be used here (a message), or None when they can."""
    from mmtde.datagen.emoji_lvis import FontError, find_fonts
    try:
        find_fonts()
    except FontError as exc:
        return str(exc)
    return None
