# Copyright (c) mmtde contributors. All rights reserved.
from .checkpoint import register_checkpoint_safe_globals
from .hooks import ChannelsLastHook, ClassCheckHook, EMAFeatureHook, RNGStateHook
from .optim_wrapper import BF16OptimWrapper, bf16_supported

__all__ = [
    'BF16OptimWrapper', 'ChannelsLastHook', 'ClassCheckHook', 'EMAFeatureHook', 'RNGStateHook',
    'bf16_supported', 'register_checkpoint_safe_globals'
]
