# Copyright (c) mmtde contributors. All rights reserved.
from .checkpoint import register_checkpoint_safe_globals
from .hooks import EMAFeatureHook

__all__ = ['EMAFeatureHook', 'register_checkpoint_safe_globals']
