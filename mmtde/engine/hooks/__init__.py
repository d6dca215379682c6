from .channels_last_hook import ChannelsLastHook
from .class_check_hook import ClassCheckHook
from .ema_feature_hook import EMAFeatureHook
from .rng_state_hook import RNGStateHook

__all__ = ['ChannelsLastHook', 'ClassCheckHook', 'EMAFeatureHook', 'RNGStateHook']
