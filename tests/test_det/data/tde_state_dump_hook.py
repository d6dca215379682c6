# Copyright (c) mmtde contributors. All rights reserved.
"""Test-only hook: every rank writes its moving-average features to the work dir at the end.

Checkpoints hold rank 0's state only; the distributed test needs every rank's ``d``. Imported by
tests through ``custom_imports`` with this folder on ``PYTHONPATH``.
"""
import os.path as osp

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

from mmtde.functional import MovingAverageFeature


@HOOKS.register_module()
class DumpTDEStateHook(Hook):
    """Save ``{module name: d}`` of every MovingAverageFeature to ``tde_state_rank{R}.pt``."""

    def after_run(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        state = {name: (m.d.clone(), int(m.num_updates)) for name, m in model.named_modules()
                 if isinstance(m, MovingAverageFeature)}
        torch.save(state, osp.join(runner.work_dir, f'tde_state_rank{runner.rank}.pt'))
