# Copyright (c) mmtde contributors. All rights reserved.
"""CausalNormLinear, the classifier both heads share: validation, caching, fast paths."""
import pytest
import torch

from mmtde.functional import tde_logits


class TestCausalNormLinear:

    @pytest.mark.parametrize('value', ['False', 0, None])
    def test_use_tde_must_be_a_bool(self, value):
        from mmtde.functional import CausalNormLinear
        with pytest.raises(ValueError, match=f'use_tde={value!r} must be True or False'):
            CausalNormLinear(8, 5, use_tde=value)
        lin = CausalNormLinear(8, 5, use_tde=False)
        assert lin.effective_alpha() == 0.0
        assert lin.test_alpha() == 0.0  # the old name, an alias
        with pytest.raises(ValueError, match='use_tde'):
            lin.use_tde = value

    def make(self):
        from mmtde.functional import CausalNormLinear
        lin = CausalNormLinear(8, 5, num_head=2, alpha=1.5)
        lin.feat_ema.update(torch.rand(4, 8))
        return lin

    def test_cached_inference_follows_weight_d_and_alpha(self):
        lin = self.make()
        x = torch.randn(3, 8)
        with torch.no_grad():
            first = lin.tde_logits(x)
            assert torch.equal(lin.tde_logits(x), first)  # cached, same result
            lin.weight.mul_(2).add_(0.1)  # like an optimizer step
            expected = tde_logits(x, lin.weight, lin.feat_ema.d, 2, 16.0, 1 / 32, 1.5)
            assert torch.allclose(lin.tde_logits(x), expected, atol=1e-5)
            lin.feat_ema.update(torch.rand(4, 8) * 5)
            expected = tde_logits(x, lin.weight, lin.feat_ema.d, 2, 16.0, 1 / 32, 1.5)
            assert torch.allclose(lin.tde_logits(x), expected, atol=1e-5)
            lin.alpha = 0.5
            expected = tde_logits(x, lin.weight, lin.feat_ema.d, 2, 16.0, 1 / 32, 0.5)
            assert torch.allclose(lin.tde_logits(x), expected, atol=1e-5)
            lin.load_state_dict(self.make().state_dict())
            expected = tde_logits(x, lin.weight, lin.feat_ema.d, 2, 16.0, 1 / 32, 0.5)
            assert torch.allclose(lin.tde_logits(x), expected, atol=1e-5)

    def test_training_logits_keep_gradients(self):
        lin = self.make()
        lin(torch.randn(3, 8)).sum().backward()
        assert lin.weight.grad is not None and lin.weight.grad.abs().sum() > 0

    def test_tde_from_logits_equals_folded_product(self):
        from mmtde.functional import normalize_feature
        lin = self.make()
        x = torch.randn(6, 8)
        x_hat = normalize_feature(x, 2)
        fast = lin.tde_from_logits(lin.logits_at(x_hat, 0.0), x_hat, 1.5)
        assert torch.allclose(fast, lin.logits_at(x_hat, 1.5), atol=1e-5)
