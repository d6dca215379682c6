# Copyright (c) mmtde contributors. All rights reserved.
from .checkpoint import register_checkpoint_safe_globals
from .hooks import EMAFeatureHook, RNGStateHook

__all__ = ['EMAFeatureHook', 'RNGStateHook', 'register_checkpoint_safe_globals']
