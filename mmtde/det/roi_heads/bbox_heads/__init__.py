# Copyright (c) mmtde contributors. All rights reserved.
from .causal_norm_bbox_head import CausalNormShared2FCBBoxHead
from .causal_norm_classifier import CausalNormClassifier

__all__ = ['CausalNormClassifier', 'CausalNormShared2FCBBoxHead']
