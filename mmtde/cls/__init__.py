# Copyright (c) mmtde contributors. All rights reserved.
"""mmpretrain components of mmtde; configs load them with
``custom_imports=dict(imports=['mmtde.cls'], allow_failed_imports=False)``.

Importing registers the ResNet-32 backbone, the long-tailed datasets (CIFAR-LT, ImageNet-LT,
Places-LT, iNaturalist 2018, any split list) and the ``CausalNormHead`` in mmpretrain's
registries, the hooks (``mmtde.engine``) and the
``LongTailAccuracy`` metric in mmengine's root registries, and adds mmengine's checkpoint
contents to torch's ``weights_only`` allow-list (see :mod:`mmtde.engine.checkpoint`), so that
mmpretrain's own ``tools/test.py`` and ``get_model`` load checkpoints under torch >= 2.6.
"""
from mmtde import engine, evaluation  # noqa: F401  (hooks, metric)

from .backbones import *  # noqa: F401,F403
from .datasets import *  # noqa: F401,F403
from .heads import *  # noqa: F401,F403

engine.register_checkpoint_safe_globals()
