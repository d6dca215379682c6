# Copyright (c) mmtde contributors. All rights reserved.
from .causal_norm_bbox_head import CausalNormClassifier, CausalNormShared2FCBBoxHead

__all__ = ['CausalNormClassifier', 'CausalNormShared2FCBBoxHead']
