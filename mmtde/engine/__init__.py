# Copyright (c) mmtde contributors. All rights reserved.
from .checkpoint import register_checkpoint_safe_globals
from .hooks import EMAFeatureHook, RNGStateHook

# mmtde checkpoints (and any mmengine one) then load under torch >= 2.6 through mmpretrain's
# get_model / mmdet's init_detector too, not only through mmtde's tools: a narrow allow-list,
# see checkpoint_safe_globals().
register_checkpoint_safe_globals()

__all__ = ['EMAFeatureHook', 'RNGStateHook', 'register_checkpoint_safe_globals']
