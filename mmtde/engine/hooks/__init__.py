from .ema_feature_hook import EMAFeatureHook

__all__ = ['EMAFeatureHook']
