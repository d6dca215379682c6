# Copyright (c) mmtde contributors. All rights reserved.
import random

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


def _capture() -> dict:
    state = dict(python=random.getstate(), numpy=np.random.get_state(),
                 torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def _restore(state: dict) -> None:
    random.setstate(state['python'])
    np.random.set_state(state['numpy'])
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Saves every rank's random-number generators in checkpoints and restores them on resume.

    mmengine reseeds on resume but does not restore the generators' *state*, so RPN/RoI
    samplers, random augmentations in the main process and dropout draw different numbers
    after a resume than in the uninterrupted run. With this hook a resumed run continues the
    same streams (exact on CPU with deterministic settings and ``num_workers=0``; dataloader
    workers are reseeded by mmengine itself). ``tools/train.py`` adds it to every run.
    """

    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        # Called on every rank; the file is written by rank 0, so gather first.
        checkpoint.setdefault('meta', {})['rng_states'] = all_gather_object(_capture())

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        states = checkpoint.get('meta', {}).get('rng_states')
        if not states:
            return
        if len(states) != get_world_size():
            runner.logger.warning(
                f'RNGStateHook: the checkpoint holds random states of {len(states)} ranks but '
                f'this run has {get_world_size()}; every rank continues from rank 0\'s state, so '
                f'random draws will differ from the uninterrupted run')
            _restore(states[0])
            return
        _restore(states[get_rank()])
