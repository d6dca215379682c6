# Copyright (c) mmtde contributors. All rights reserved.
"""What ``tools/train.py`` and ``tools/test.py`` do to a config before building the Runner."""
import copy
import os.path as osp
from typing import Optional

import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.config import utils as config_utils


def enable_config_prefix() -> None:
    """Let configs inherit ours with ``_base_ = ['mmtde::cifar_lt/<name>.py']``.

    mmengine resolves ``pkg::path`` only for the packages in its ``MODULE2PACKAGE`` table
    (OpenMMLab's own). Adding mmtde there makes ``mmtde::`` resolve to the configs shipped in
    the installed package (``mmtde/.mim/configs``), exactly like ``mmdet::``. Our tools call
    this before reading a config; a downstream script that builds configs itself calls it
    once too. Idempotent.
    """
    config_utils.MODULE2PACKAGE.setdefault('mmtde', 'mmtde')


def _drop_mmtde_scope(node) -> None:
    """Remove ``_scope_='mmtde'`` that mmengine adds to everything inherited via ``mmtde::``.

    mmengine scopes the objects of a ``pkg::`` base config to ``pkg``'s registries. mmtde has
    none of its own (it registers into mmpretrain's, mmdet's and mmengine's), so those objects
    are built in the config's ``default_scope`` like the rest of it.
    """
    if isinstance(node, dict):
        if node.get('_scope_') == 'mmtde':
            del node['_scope_']
        for value in node.values():
            _drop_mmtde_scope(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _drop_mmtde_scope(value)


def load_config(path: str) -> Config:
    """``Config.fromfile`` that also understands ``_base_ = ['mmtde::...']``.

    Use this instead of ``Config.fromfile`` in a script of your own that reads configs which
    inherit mmtde's; ``tools/train.py`` and ``tools/test.py`` (and so ``mim train mmtde``) do.

    Args:
        path (str): The config file.

    Returns:
        Config: The loaded config.
    """
    enable_config_prefix()
    cfg = Config.fromfile(path)
    _drop_mmtde_scope(cfg._cfg_dict)
    return cfg


def model_cfg(cfg: Config) -> dict:
    """The model config as the Runner builds it: with the top-level ``data_preprocessor``.

    mmpretrain and mmdet configs keep ``data_preprocessor`` (normalisation, BGR -> RGB) beside
    ``model``; the Runner folds it in. A script that builds the model itself must do the same,
    or it feeds the network raw pixels. Use it as ``MODELS.build(model_cfg(cfg))``.
    """
    model = copy.deepcopy(cfg.model)
    if cfg.get('data_preprocessor') is not None:
        model.setdefault('data_preprocessor', copy.deepcopy(cfg.data_preprocessor))
    return model


def prepare_cfg(cfg: Config, *, amp: bool = False, channels_last: bool = False) -> Config:
    """Apply mmtde's run-time defaults to a loaded config, in place.

    * every rank's random-number state is saved in checkpoints and restored on resume
      (``RNGStateHook``);
    * a TDE head whose classes differ from a loop's dataset, or an evaluated split that
      describes another training subset, fails before the first step (``ClassCheckHook``);
    * checkpoints are written atomically (``AtomicLocalBackend``) unless the config chose a
      storage backend itself;
    * distributed runs without a GPU use gloo and a device-less DDP wrapper;
    * ``--channels-last`` adds ``ChannelsLastHook`` (image batches in NHWC layout);
    * ``--amp`` switches to ``AmpOptimWrapper`` and fails early, with the fix, on a machine
      without a GPU (mmengine would refuse later, after building everything);
    * on a machine without a GPU, subnormal floats are flushed to zero
      (``torch.set_flush_denormal``): in a profiled Mask R-CNN training step on a CPU,
      subnormal values took the step from 3.7 to 8.6 s of CPU time (matrix products 20x,
      RoIAlign backward 3x slower); the losses logged at iterations 10-40 were the same.
    """
    # Registers the backend and the checkpoint allow-list.
    from mmtde.engine import register_checkpoint_safe_globals
    register_checkpoint_safe_globals()

    # Checks before the first step, and resumes that continue the same random streams.
    hooks = list(cfg.get('custom_hooks') or [])
    required = ['ClassCheckHook', 'RNGStateHook'] + (['ChannelsLastHook'] if channels_last else [])
    for hook in required:
        if not any(h.get('type') == hook for h in hooks):
            hooks.append(dict(type=hook))
    cfg.custom_hooks = hooks

    ckpt = cfg.get('default_hooks', {}).get('checkpoint')
    if ckpt is not None and not ckpt.get('backend_args') and not ckpt.get('file_client_args') \
            and not str(ckpt.get('out_dir') or '').count('://'):
        ckpt['backend_args'] = dict(backend='atomic_local')

    if cfg.get('launcher', 'none') != 'none' and not torch.cuda.is_available():
        # Distributed on CPU (tests, debugging): gloo instead of nccl, and DDP without
        # device_ids, which mmengine's default wrapper always passes. mmengine's init_dist
        # calls torch.cuda.set_device unconditionally, so the process group is started here
        # (the Runner skips its own init when one exists).
        cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
        if cfg.launcher == 'pytorch' and not torch_dist.is_initialized():
            torch_dist.init_process_group(backend='gloo')
        if cfg.get('model_wrapper_cfg') is None:
            cfg.model_wrapper_cfg = dict(
                type='MMDistributedDataParallel', device_ids=None, broadcast_buffers=False,
                find_unused_parameters=cfg.get('find_unused_parameters', False))

    if not torch.cuda.is_available():
        torch.set_flush_denormal(True)

    if amp:
        if not torch.cuda.is_available():
            raise RuntimeError(
                '--amp needs a GPU: mmengine\'s AmpOptimWrapper runs fp16 on CUDA only. Drop '
                '--amp on a CPU machine; a CPU with native bfloat16 (AVX512-BF16 or AMX) '
                'trains in mixed precision with --cfg-options '
                'optim_wrapper.type=BF16OptimWrapper (mmtde keeps d, the norms and the TDE '
                'logits in fp32 under autocast either way).')
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper not in ('OptimWrapper', 'AmpOptimWrapper'):
            raise ValueError(f'--amp cannot replace optim_wrapper.type={optim_wrapper!r}; '
                             f'set AmpOptimWrapper in the config instead')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    return cfg


def take_seed_from_checkpoint(cfg: Config) -> Optional[int]:
    """On resume, run with the seed of the checkpoint when the config leaves it to chance.

    mmengine seeds the dataloader workers when it builds the dataloaders, before it reads the
    checkpoint; with ``randomness.seed=None`` (mmpretrain's and mmdet's default) a resumed run
    would draw a new seed for them and augment differently from the uninterrupted run.

    Returns:
        int | None: The seed now in ``cfg.randomness``, or None when nothing changed.
    """
    randomness = cfg.get('randomness') or {}
    if not cfg.get('resume') or randomness.get('seed') is not None:
        return None
    path = cfg.get('load_from')
    if path is None:
        from mmengine.runner import find_latest_checkpoint
        path = find_latest_checkpoint(cfg.work_dir)
    if path is None:
        return None  # nothing to resume: mmengine starts from scratch
    from mmtde.engine import register_checkpoint_safe_globals
    register_checkpoint_safe_globals()
    if osp.isfile(path):  # mmap: the tensors are not read, only the small meta dict
        checkpoint = torch.load(path, map_location='cpu', mmap=True)
    else:  # a remote path (s3://, petrel://, http...): mmengine's own loader fetches it
        from mmengine.runner.checkpoint import _load_checkpoint
        checkpoint = _load_checkpoint(path, map_location='cpu')
    seed = checkpoint.get('meta', {}).get('seed')
    if seed is not None:
        cfg.randomness = dict(randomness, seed=seed)
    return seed


def default_work_dir(config_path: str) -> str:
    """``./work_dirs/<config stem>``, as mmdet and mmpretrain do."""
    return osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])


def cfg_from_args(args) -> Config:
    """The config that ``tools/train.py`` / ``tools/test.py`` run, from their common flags.

    Reads ``args.config`` (``mmtde::`` bases allowed), sets the launcher, merges
    ``--cfg-options`` and picks the work dir: ``--work-dir``, else the config's, else
    ``./work_dirs/<config stem>`` as mmdet and mmpretrain do.
    """
    cfg = load_config(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = default_work_dir(args.config)
    return cfg
