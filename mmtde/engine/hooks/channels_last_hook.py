# Copyright (c) mmtde contributors. All rights reserved.
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS


def _to_channels_last(module, args, kwargs):
    """Forward pre-hook: the image batch (``inputs``, 4-D) in channels-last layout."""
    if torch.is_tensor(kwargs.get('inputs')) and kwargs['inputs'].dim() == 4:
        kwargs = dict(kwargs, inputs=kwargs['inputs'].contiguous(
            memory_format=torch.channels_last))
    elif args and torch.is_tensor(args[0]) and args[0].dim() == 4:
        args = (args[0].contiguous(memory_format=torch.channels_last), ) + tuple(args[1:])
    return args, kwargs


@HOOKS.register_module()
class ChannelsLastHook(Hook):
    """Feeds the model its image batches in channels-last (NHWC) memory layout.

    A convolution whose input is channels-last computes, and returns, channels-last, so the
    whole network runs in that layout while the weights stay as they are (nothing changes in
    checkpoints, optimizers or DDP buckets). Only the layout changes, not the values; the
    results differ from NCHW's by the order of floating-point sums. On 2 AVX2 CPU cores a
    float32 ResNet-32 CIFAR training step ran 1.2-1.6x faster (README, "CIFAR-10-LT training
    speed"). ``tools/train.py --channels-last`` adds it.

    mmcv's compiled ops (RoIAlign and the like) index their input as contiguous NCHW and
    return wrong values on a channels-last one (RoIAlign on a CPU: off by up to 1.9 on
    unit-variance features), so a model holding one is refused.
    """

    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self._handle = None

    def before_run(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        ops = sorted({type(m).__name__ for m in model.modules()
                      if type(m).__module__.startswith('mmcv.ops')})
        if ops:
            raise ValueError(
                f'ChannelsLastHook: {type(model).__name__} uses mmcv ops ({", ".join(ops)}) '
                'that read their input as NCHW and give wrong results on a channels-last '
                'one; drop --channels-last (or ChannelsLastHook from custom_hooks) for this '
                'model')
        if self._handle is None:
            self._handle = model.register_forward_pre_hook(_to_channels_last, with_kwargs=True)

    def after_run(self, runner) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None
