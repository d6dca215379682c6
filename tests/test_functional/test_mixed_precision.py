# Copyright (c) mmtde contributors. All rights reserved.
"""d, the norms, the logits and TDE stay fp32 and finite under autocast (fp16 and bf16).

mmengine's AmpOptimWrapper refuses to start without a GPU, so the maths runs under
``torch.autocast('cpu', ...)`` here; on a GPU ``--amp`` uses the same code paths.
"""
import pytest
import torch

from mmtde.functional import (
    MovingAverageFeature,
    background_exempted_log_probs,
    causal_norm_logits,
    tde_logits,
)

DTYPES = [torch.float16, torch.bfloat16]


@pytest.mark.parametrize('dtype', DTYPES)
def test_long_run_mu_one_unnormalised_sum(dtype):
    """mu = 1.0 turns d into a plain sum: 20k steps of features ~3e4 reach ~6e8 x the
    feature norm, far beyond fp16's 65504, yet d stays fp32, finite and in direction."""
    torch.manual_seed(0)
    m = MovingAverageFeature(64, 2, mu=1.0)
    base = torch.rand(64) + 0.5
    with torch.autocast('cpu', dtype=dtype):
        for _ in range(20000 // 50):
            x = (base + 0.01 * torch.randn(50, 64)) * 3e4
            for chunk in x.split(1):  # one update per "iteration"
                m.update(chunk.to(dtype))
    assert m.d.dtype == torch.float32
    assert torch.isfinite(m.d).all()
    assert m.d.norm() > 1e8
    cos = torch.nn.functional.cosine_similarity(m.d, base, dim=0)
    assert cos > 0.999
    w = torch.randn(10, 64)
    with torch.autocast('cpu', dtype=dtype):
        out = tde_logits((base * 3e4).to(dtype)[None], w, m.d, 2, 16.0, 1 / 32, 1.0)
    assert out.dtype == torch.float32 and torch.isfinite(out).all()
    # a feature parallel to d loses (almost) all of its d-component
    assert out.abs().max() < 0.05 * causal_norm_logits(base[None], w, 2).abs().max()


@pytest.mark.parametrize('dtype', DTYPES)
def test_large_features_and_fp16_weights(dtype):
    x = (torch.randn(8, 32).clamp(-3, 3) * 2e4).to(dtype)  # finite in fp16, norms overflow it
    w = (torch.randn(11, 32) * 100).to(dtype)
    d = torch.randn(32) * 1e9
    with torch.autocast('cpu', dtype=dtype):
        y = causal_norm_logits(x, w, 2)
        t = tde_logits(x, w, d, 2, alpha=1.5)
        p = background_exempted_log_probs(y, t)
    for out in (y, t, p):
        assert out.dtype == torch.float32 and torch.isfinite(out).all()
    assert torch.allclose(p.exp().sum(-1), torch.ones(8), atol=1e-5)
