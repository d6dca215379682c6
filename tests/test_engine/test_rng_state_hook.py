# Copyright (c) mmtde contributors. All rights reserved.
"""RNGStateHook: the saved random state is put back when resuming, and only then.

The end-to-end check (a resumed run ends where the straight run ends, with seed=None,
validation every epoch and random layers) is test_resume_is_exact_with_random_seed_... in
tests/test_tools/test_train_launchers.py.
"""
import torch


def test_rng_state_is_restored_on_resume_only():
    import random
    from types import SimpleNamespace

    from mmtde.engine import RNGStateHook
    from mmtde.engine.hooks.rng_state_hook import _capture
    torch.manual_seed(1)
    saved = _capture()
    checkpoint = {'meta': {'rng_states': [saved]}}
    for resume, expect_restored in ((False, False), (True, True)):
        hook = RNGStateHook()
        runner = SimpleNamespace(_resume=resume, hooks=[])
        hook.after_load_checkpoint(runner, checkpoint)
        torch.manual_seed(123)  # the new run's own seed (fine-tuning with load_from)
        random.seed(123)
        hook.before_train(runner)
        restored = torch.equal(torch.get_rng_state(), saved['torch'])
        assert restored == expect_restored, resume
