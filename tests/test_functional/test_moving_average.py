# Copyright (c) mmtde contributors. All rights reserved.
"""The moving-average feature d: the update rule, its guards and the module that owns it."""
import math

import pytest
import torch

from mmtde.functional import MovingAverageFeature, moving_average_step


def update_moving_average(d, x, mu, mask=None):
    """One step, reported on the host: (whether d changed, the number of selected samples)."""
    updated, _, count = moving_average_step(d, x, mu, mask)
    return bool(updated), int(count)


class TestMovingAverage:

    def test_update_rule(self):
        d = torch.zeros(4)
        x1, x2 = torch.randn(3, 4), torch.randn(5, 4)
        assert update_moving_average(d, x1, 0.9) == (True, 3)
        update_moving_average(d, x2, 0.9)
        assert torch.allclose(d, 0.9 * x1.mean(0) + x2.mean(0))

    def test_mask_and_empty_selection(self):
        d = torch.ones(4)
        x = torch.randn(3, 4)
        mask = torch.tensor([True, False, True])
        update_moving_average(d, x, 0.5, mask)
        assert torch.allclose(d, 0.5 + x[mask].mean(0))
        before = d.clone()
        assert update_moving_average(d, x, 0.5, torch.zeros(3, dtype=torch.bool)) == (False, 0)
        assert torch.equal(d, before)

    def test_non_finite_feature_never_reaches_buffer(self):
        d = torch.ones(4)
        x = torch.randn(2, 4)
        x[0, 1] = math.nan
        updated, _ = update_moving_average(d, x, 0.9)
        assert not updated and torch.equal(d, torch.ones(4))

    def test_non_finite_row_outside_the_mask_does_not_block_the_update(self):
        d = torch.ones(4)
        x = torch.randn(3, 4)
        x[1] = math.inf
        mask = torch.tensor([True, False, True])
        assert update_moving_average(d, x, 0.5, mask) == (True, 2)
        assert torch.allclose(d, 0.5 + x[mask].mean(0))

    def test_overflowing_d_is_refused(self):
        d = torch.full((4, ), 3e38)
        updated, non_finite, _ = moving_average_step(d, torch.full((2, 4), 1e38), 1.0)
        assert not updated and non_finite and torch.equal(d, torch.full((4, ), 3e38))

    def test_step_never_waits_for_the_device(self):
        # On 'meta' every data-dependent operation (.item(), bool(), x[mask], nonzero) raises,
        # so a training step that runs there takes no host round trip on a GPU either.
        m = MovingAverageFeature(8, 2).to('meta')
        x = torch.empty(6, 8, device='meta')
        mask = torch.empty(6, dtype=torch.bool, device='meta')
        with pytest.raises((RuntimeError, NotImplementedError)):
            x[mask]  # the check itself can fail
        for _ in range(2):
            updated = m.update(x, mask)
            m.update(x)
        assert updated.shape == () and updated.device.type == 'meta'

    def test_module_counts_non_finite_batches(self):
        m = MovingAverageFeature(4, 2)
        m.update(torch.randn(3, 4))
        d = m.d.clone()
        bad = torch.randn(3, 4)
        bad[2, 0] = math.nan
        assert not m.update(bad)
        assert not m.update(bad, torch.tensor([False, False, False]))  # empty: not counted
        assert torch.equal(m.d, d) and int(m.num_updates) == 1
        assert m.pop_skipped() == 1 and m.pop_skipped() == 0
        _, count = m.pop_cos_stats()
        assert count == 2  # the finite rows of the bad batch; never a NaN in the sum

    def test_readiness_follows_d(self):
        m = MovingAverageFeature(4, 2)
        assert not m.is_ready()
        m.d.data.fill_(3.0)  # edits through .data do not bump the version counter
        m.num_updates.data.fill_(1)
        assert m.is_ready()
        m.half()  # d keeps its fp32 value (not rounded through fp16)
        assert m.d.dtype == torch.float32 and m.is_ready()
        m.d.fill_(1000.3)
        m.half()
        assert m.d[0].item() == torch.tensor(1000.3).item()
        m.share_memory()  # moves that are not casts keep working on the buffers themselves
        assert m.d.is_shared()
        m = MovingAverageFeature(4, 2)
        m.update(torch.randn(3, 4))
        assert m.is_ready()
        m.load_state_dict(MovingAverageFeature(4, 2).state_dict())  # an untrained d
        assert not m.is_ready()
        m.update(torch.randn(3, 4))
        m.d.zero_()
        assert not m.is_ready()

    @pytest.mark.parametrize('mu', [-0.1, 1.5, math.nan])
    def test_bad_mu(self, mu):
        with pytest.raises(ValueError, match=r'mu=.* must'):
            MovingAverageFeature(4, 2, mu)

    def test_old_import_path(self):
        from mmtde.functional import tde
        assert tde.moving_average_step is moving_average_step
        with pytest.raises(AttributeError, match='update_moving_average'):
            tde.update_moving_average

    def test_module_state(self):
        m = MovingAverageFeature(4, 2, mu=0.9)
        assert not m.is_ready()
        with pytest.raises(RuntimeError, match='tools/reestimate_d.py'):
            m.check_ready()
        m.update(torch.randn(3, 4))
        m.update(torch.randn(3, 4))
        assert m.is_ready() and int(m.num_updates) == 2
        assert set(m.state_dict()) == {'d', 'num_updates'}
        cos_sum, count = m.pop_cos_stats()
        assert count == 3 and cos_sum.shape == (2, )
        m.half()
        assert m.d.dtype == torch.float32
