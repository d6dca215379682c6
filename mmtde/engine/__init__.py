# Copyright (c) mmtde contributors. All rights reserved.
from .checkpoint import register_checkpoint_safe_globals
from .hooks import ClassCheckHook, EMAFeatureHook, RNGStateHook

__all__ = ['ClassCheckHook', 'EMAFeatureHook', 'RNGStateHook', 'register_checkpoint_safe_globals']
