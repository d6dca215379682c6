# Copyright (c) mmtde contributors. All rights reserved.
import random

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import CheckpointHook, Hook
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
    same streams (exact on CPU with deterministic settings; dataloader workers are seeded by
    mmengine from the run's seed, which ``tools/train.py`` takes from the checkpoint when the
    config leaves it to chance). ``tools/train.py`` adds it to every run.

    * The states are restored in ``before_train``: mmengine's resume reseeds *after* loading
      the checkpoint, which would overwrite them.
    * Validation runs on a copy of the streams (saved in ``before_val``, put back in
      ``after_val``): creating its dataloader iterator draws from torch's generator, and a run
      resumed after a validation would otherwise start one draw behind.

    Only rank 0 writes checkpoints (``Runner.save_checkpoint`` is master-only), so the states
    are gathered from all ranks just before the ``CheckpointHook`` (priority ``VERY_LOW``)
    saves, at every point where it will save.
    """

    priority = 'LOW'

    def __init__(self) -> None:
        self._states = None
        self._captured_at = -1
        self._ckpt = None
        self._resumed = None  # the state to restore in before_train
        self._outside_val = None

    def before_train(self, runner) -> None:
        self._ckpt = next((h for h in runner.hooks if isinstance(h, CheckpointHook)), None)
        if self._resumed is not None:
            _restore(self._resumed)
            self._resumed = None

    def before_val(self, runner) -> None:
        self._outside_val = _capture()

    def after_val(self, runner) -> None:
        if self._outside_val is not None:
            _restore(self._outside_val)
            self._outside_val = None

    def _gather(self, iters_done: int) -> None:
        self._states = all_gather_object(_capture())
        self._captured_at = iters_done  # what the checkpoint's meta['iter'] will say

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        ckpt = self._ckpt
        if ckpt is not None and not ckpt.by_epoch and (
                self.every_n_train_iters(runner, ckpt.interval) or self.is_last_train_iter(runner)):
            self._gather(runner.iter + 1)

    def after_train_epoch(self, runner) -> None:
        ckpt = self._ckpt
        if ckpt is None or ckpt.by_epoch:
            self._gather(runner.iter)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self._captured_at == checkpoint.get('meta', {}).get('iter', runner.iter):
            states = self._states
        elif get_world_size() == 1:
            states = [_capture()]
        else:  # a save outside the CheckpointHook's schedule: only rank 0's state is at hand
            return
        checkpoint.setdefault('meta', {})['rng_states'] = states

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        states = checkpoint.get('meta', {}).get('rng_states')
        # load_from without resume (fine-tuning from a checkpoint) starts a new run: its own
        # seed decides, not the random state where the other run stopped
        if not states or not getattr(runner, '_resume', False):
            return
        if len(states) != get_world_size():
            runner.logger.warning(
                f'RNGStateHook: the checkpoint holds random states of {len(states)} ranks but '
                f'this run has {get_world_size()}; every rank continues from rank 0\'s state, so '
                f'random draws will differ from the uninterrupted run')
            self._resumed = states[0]
            return
        self._resumed = states[get_rank()]
