from .causal_norm_head import CausalNormHead

__all__ = ['CausalNormHead']
