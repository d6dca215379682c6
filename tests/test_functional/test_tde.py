# Copyright (c) mmtde contributors. All rights reserved.
"""The TDE maths against closed forms and against a restatement of the reference code."""
import re

import pytest
import torch

from mmtde.functional import (
    CausalNormLinear,
    MovingAverageFeature,
    background_exempted_log_probs,
    causal_norm_logits,
    tde_logits,
)
from mmtde.functional.tde import fold_tde_weight, head_cosine, split_heads


def reference_tde(x, weight, embed, num_head, tau, gamma, alpha):
    """The reference CausalNormClassifier's test-time branch, restated with loops.

    Deliberate deviations of mmtde from the reference code (not of the maths): the moving
    average is a global-batch mean all-reduced across ranks (the reference never synchronised
    it); detection averages foreground RoIs only (the reference's LVIS v1 code compared labels
    against the wrong background index); every norm has an eps.
    """
    head_dim = x.shape[1] // num_head
    scale = tau / num_head
    out = torch.zeros(x.shape[0], weight.shape[0], dtype=torch.float64)
    for k in range(num_head):
        sl = slice(k * head_dim, (k + 1) * head_dim)
        nx = x[:, sl] / x[:, sl].norm(dim=1, keepdim=True)
        nw = weight[:, sl] / (weight[:, sl].norm(dim=1, keepdim=True) + gamma)
        if alpha:
            nc = embed[sl] / embed[sl].norm()
            cos = (nx * nc).sum(dim=1, keepdim=True)
            nx = nx - alpha * cos * nc
        out += scale * (nx @ nw.t())
    return out


@pytest.fixture
def tensors():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(6, 8, generator=g, dtype=torch.float64)
    w = torch.randn(5, 8, generator=g, dtype=torch.float64)
    d = torch.randn(8, generator=g, dtype=torch.float64)
    return x, w, d


@pytest.mark.parametrize('num_head', [1, 2, 4])
@pytest.mark.parametrize('alpha', [0.0, 1.0, 2.5])
@pytest.mark.parametrize('gamma', [0.0, 1 / 32])
def test_parity_with_reference(tensors, num_head, alpha, gamma):
    x, w, d = tensors
    ours = tde_logits(x, w, d, num_head, 16.0, gamma, alpha)
    ref = reference_tde(x, w, d, num_head, 16.0, gamma, alpha)
    assert torch.allclose(ours.double(), ref, atol=1e-4)


def test_causal_norm_closed_form_single_head(tensors):
    x, w, _ = tensors
    tau, gamma = 16.0, 1 / 32
    expected = tau * (x / x.norm(dim=1, keepdim=True)) @ (
        w / (w.norm(dim=1, keepdim=True) + gamma)).t()
    assert torch.allclose(causal_norm_logits(x, w, 1, tau, gamma).double(), expected, atol=1e-5)


def test_multi_head_is_mean_of_single_heads(tensors):
    x, w, _ = tensors
    two = causal_norm_logits(x, w, 2, 16.0, 0.1)
    halves = [causal_norm_logits(x[:, s], w[:, s], 1, 16.0, 0.1)
              for s in (slice(0, 4), slice(4, 8))]
    assert torch.allclose(two, (halves[0] + halves[1]) / 2, atol=1e-5)


def test_alpha_zero_gives_training_logits(tensors):
    x, w, d = tensors
    assert torch.equal(tde_logits(x, w, d, 2, 16.0, 1 / 32, 0.0),
                       causal_norm_logits(x, w, 2, 16.0, 1 / 32))


@pytest.mark.parametrize('num_head', [1, 2])
def test_feature_parallel_to_d_loses_everything(tensors, num_head):
    _, w, d = tensors
    x = torch.stack([3.0 * d, 0.5 * d])  # parallel to d in every head
    out = tde_logits(x, w, d, num_head, 16.0, 1 / 32, 1.0)
    assert torch.allclose(out, torch.zeros_like(out), atol=1e-5)
    assert out.abs().max() < causal_norm_logits(x, w, num_head, 16.0, 1 / 32).abs().max()


def test_feature_orthogonal_to_d_is_untouched(tensors):
    x, w, d = tensors
    x = x - (x @ d / d.dot(d))[:, None] * d[None]  # single head: remove the d-component
    assert torch.allclose(tde_logits(x, w, d, 1, 16.0, 0.0, 2.0),
                          causal_norm_logits(x, w, 1, 16.0, 0.0), atol=1e-5)


def test_folded_weight_is_linear_form(tensors):
    x, w, d = tensors
    folded = fold_tde_weight(w, d, 2, 1 / 32, 1.5)
    xk = split_heads(x, 2)
    xk = xk / xk.norm(dim=-1, keepdim=True)
    manual = 8.0 * torch.einsum('nkd,ckd->nc', xk.float(), folded)
    assert torch.allclose(manual, tde_logits(x, w, d, 2, 16.0, 1 / 32, 1.5), atol=1e-5)


def test_zero_feature_and_zero_weight_stay_finite():
    x = torch.zeros(3, 4)
    w = torch.zeros(2, 4)
    for gamma in (0.0, 1 / 32):
        assert torch.isfinite(causal_norm_logits(x, w, 2, 16.0, gamma)).all()
        assert torch.isfinite(tde_logits(x, w, torch.zeros(4), 2, 16.0, gamma, 1.0)).all()


def test_num_head_must_divide():
    with pytest.raises(ValueError, match='num_head=3 must be a positive divisor of the '
                       'feature size 8'):
        causal_norm_logits(torch.randn(2, 8), torch.randn(3, 8), 3)


@pytest.mark.parametrize('num_head', [3, 0, 2.0, True])
def test_num_head_has_one_check_and_one_message(num_head):
    expected = re.escape(f'num_head={num_head!r} must be a positive divisor of the feature size '
                         f'8 (in_channels of CausalNormHead, fc_out_channels of a bbox head): '
                         f'set num_head to one of [1, 2, 4, 8]')
    for make in (lambda: split_heads(torch.zeros(1, 8), num_head),
                 lambda: CausalNormLinear(8, 3, num_head),
                 lambda: MovingAverageFeature(8, num_head)):
        with pytest.raises(ValueError, match=f'^{expected}$'):
            make()


def test_computes_in_fp32_under_autocast():
    x = (torch.randn(4, 8) * 1e4).to(torch.bfloat16)
    w = torch.randn(3, 8).to(torch.bfloat16)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = tde_logits(x, w, torch.randn(8), 2, 16.0, 1 / 32, 1.0)
    assert out.dtype == torch.float32 and torch.isfinite(out).all()


def test_head_cosine(tensors):
    x, _, d = tensors
    cos = head_cosine(x, d, 2)
    assert cos.shape == (6, 2)
    expected = torch.nn.functional.cosine_similarity(x[:, 4:], d[None, 4:], dim=1)
    assert torch.allclose(cos[:, 1].double(), expected, atol=1e-6)


class TestBackgroundExempted:

    def logits(self):
        g = torch.Generator().manual_seed(1)
        return torch.randn(7, 6, generator=g) * 3, torch.randn(7, 6, generator=g) * 3

    def test_background_kept_and_rows_sum_to_one(self):
        y, t = self.logits()
        p = background_exempted_log_probs(y, t).exp()
        assert torch.allclose(p[:, -1], y.softmax(-1)[:, -1], atol=1e-6)
        assert torch.allclose(p.sum(-1), torch.ones(7), atol=1e-6)

    def test_foreground_follows_tde_distribution(self):
        y, t = self.logits()
        p, q = y.softmax(-1), t.softmax(-1)
        out = background_exempted_log_probs(y, t).exp()
        expected = (1 - p[:, -1:]) * q[:, :-1] / (1 - q[:, -1:])
        assert torch.allclose(out[:, :-1], expected, atol=1e-6)

    def test_same_logits_give_plain_softmax(self):
        y, _ = self.logits()
        out = background_exempted_log_probs(y, y)
        assert torch.allclose(out.softmax(-1), y.softmax(-1), atol=1e-6)

    def test_softmax_of_log_is_identity(self):
        y, t = self.logits()
        out = background_exempted_log_probs(y, t)
        assert torch.allclose(out.softmax(-1), out.exp(), atol=1e-6)

    def test_tde_background_close_to_one(self):
        # LVIS-like: 1203 classes, TDE logits spanning +-40, the TDE background taking all but
        # ~1e-8 of q (1 - q_bg is below fp32's resolution near 1). Compared in float64.
        g = torch.Generator().manual_seed(3)
        y = torch.randn(4, 1204, generator=g) * 2
        y[:, -1] = 5.0
        t = torch.randn(4, 1204, generator=g) * 2 - 20
        t[:, -1] = 20.0
        q64 = t.double().softmax(-1)
        assert (1 - q64[:, -1] < 1e-7).all()
        p64 = y.double().softmax(-1)
        # 1 - q_bg written as the foreground sum: even float64 loses digits in 1 - (1 - 4e-14).
        q_fg = q64[:, :-1] / q64[:, :-1].sum(-1, keepdim=True)
        expected = torch.cat([p64[:, :-1].sum(-1, keepdim=True) * q_fg, p64[:, -1:]], dim=-1)
        out = background_exempted_log_probs(y, t).double().exp()
        assert torch.allclose(out.sum(-1), torch.ones(4, dtype=torch.float64), atol=1e-5)
        assert torch.allclose(out, expected, rtol=1e-4, atol=1e-9)

    def test_empty_and_certain_background(self):
        assert background_exempted_log_probs(torch.zeros(0, 4), torch.zeros(0, 4)).shape == \
            (0, 4)
        y = torch.tensor([[-50.0, -50.0, 60.0]])  # p_bg == 1 in fp32
        out = background_exempted_log_probs(y, torch.randn(1, 3))
        assert not torch.isnan(out).any()
        assert torch.allclose(out.softmax(-1)[0, -1], torch.tensor(1.0))
