# Copyright (c) mmtde contributors. All rights reserved.
"""Test helper: every rank writes its own ``d`` after training (imported via custom_imports)."""
import os.path as osp

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from mmtde.engine import EMAFeatureHook


@HOOKS.register_module()
class DumpMovingAverageHook(Hook):

    def after_run(self, runner):
        (module, ) = EMAFeatureHook.feature_modules(runner.model)
        torch.save(module.d.clone(), osp.join(runner.work_dir, f'd_rank{get_rank()}.pth'))
