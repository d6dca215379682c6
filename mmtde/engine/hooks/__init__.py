from .ema_feature_hook import EMAFeatureHook
from .rng_state_hook import RNGStateHook

__all__ = ['EMAFeatureHook', 'RNGStateHook']
