# Copyright (c) mmtde contributors. All rights reserved.
from .strict_lvis_metric import StrictLVISMetric

__all__ = ['StrictLVISMetric']
