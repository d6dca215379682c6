# Copyright (c) mmtde contributors. All rights reserved.
"""mmpretrain components of mmtde; configs load them with
``custom_imports=dict(imports=['mmtde.cls'], allow_failed_imports=False)``.

Importing registers the ResNet-32 backbone, the long-tailed datasets (CIFAR-LT, ImageNet-LT,
Places-LT, iNaturalist 2018, any split list) and the ``CausalNormHead`` in mmpretrain's
registries, and the ``EMAFeatureHook`` and the ``LongTailAccuracy`` metric in mmengine's root
registries.
"""
from mmtde import engine, evaluation  # noqa: F401  (hook, metric)
from .backbones import *  # noqa: F401,F403
from .datasets import *  # noqa: F401,F403
from .heads import *  # noqa: F401,F403
