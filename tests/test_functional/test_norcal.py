# Copyright (c) mmtde contributors. All rights reserved.
"""NorCal against a hand restatement of Pan et al. (2021), on seeded tensors.

Restatement (float64 numpy, the authors' order of operations): ``e = exp(z)``; every
foreground column ``c`` of ``e`` is multiplied by ``1 / n_c ** gamma``; the background column
is left; each row is divided by its sum. Deliberate deviation from the authors' code: it takes
``exp`` of the raw scores (which overflows for logits above ~88 in float32); ours works in log
space, so the restatement is evaluated on moderate logits and overflow is tested separately.
"""
import math

import numpy as np
import pytest
import torch

from mmtde.functional.norcal import check_class_counts, check_norcal_gamma, norcal_log_probs


def restated(z: np.ndarray, counts: np.ndarray, gamma: float) -> np.ndarray:
    e = np.exp(z.astype(np.float64))
    e[:, :-1] = e[:, :-1] * (1.0 / counts**gamma)[None]
    return e / e.sum(axis=1, keepdims=True)


@pytest.fixture
def case():
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(16, 7, generator=gen, dtype=torch.float64) * 3  # C = 6 classes + bg
    counts = torch.tensor([1, 4, 30, 250, 1000, 5000], dtype=torch.float64)
    return z, counts


@pytest.mark.parametrize('gamma', [0.3, 0.6, 1.0, 2.5])
def test_matches_the_restatement(case, gamma):
    z, counts = case
    q = norcal_log_probs(z, counts, gamma).exp()
    np.testing.assert_allclose(q.numpy(), restated(z.numpy(), counts.numpy(), gamma),
                               rtol=1e-12, atol=0)
    assert torch.allclose(q.sum(dim=1), torch.ones(16, dtype=torch.float64), atol=1e-12)


def test_gamma_zero_is_the_softmax(case):
    z, counts = case
    assert torch.allclose(norcal_log_probs(z, counts, 0).exp(), torch.softmax(z, dim=1),
                          rtol=0, atol=1e-15)


def test_background_odds_invariant(case):
    # The exact invariant: each foreground class's odds against the background are divided by
    # n_c ** gamma, q_c / q_bg = (p_c / p_bg) / n_c ** gamma; a class seen once keeps its odds.
    # So q_bg >= p_bg whenever every n_c >= 1 (the background is not "unchanged" as a
    # probability: exp(z_bg) is, before the row is normalised again).
    z, counts = case
    gamma = 0.8
    p = torch.softmax(z, dim=1)
    q = norcal_log_probs(z, counts, gamma).exp()
    odds_p = p[:, :-1] / p[:, -1:]
    odds_q = q[:, :-1] / q[:, -1:]
    assert torch.allclose(odds_q, odds_p / counts**gamma, rtol=1e-12)
    assert torch.allclose(odds_q[:, 0], odds_p[:, 0], rtol=1e-12)  # n = 1
    assert (q[:, -1] >= p[:, -1]).all()


def test_logits_and_log_probabilities_give_the_same_result(case):
    # a TDE head hands over log-probabilities: a per-row constant must not matter
    z, counts = case
    shifted = z + torch.arange(16, dtype=torch.float64)[:, None] * 7.5
    assert torch.allclose(norcal_log_probs(shifted, counts, 0.7),
                          norcal_log_probs(torch.log_softmax(z, 1), counts, 0.7), atol=1e-12)


def test_softmax_of_output_is_the_probability(case):
    # mmdet's predict_by_feat applies softmax to what it receives
    z, counts = case
    log_q = norcal_log_probs(z.float(), counts, 0.5)
    assert log_q.dtype == torch.float32
    assert torch.allclose(torch.softmax(log_q, 1), log_q.exp(), atol=1e-6)


def test_large_logits_do_not_overflow(case):
    _, counts = case
    z = torch.tensor([[1000.0, 990.0, 0, 0, 0, 0, 995.0]])
    q = norcal_log_probs(z, counts, 1.0).exp()
    assert torch.isfinite(q).all() and q.sum().item() == pytest.approx(1.0)
    # class 0 (n = 1) keeps exp(1000) against the background's exp(995)
    assert (q[0, 0] / q[0, -1]).item() == pytest.approx(math.exp(5), rel=1e-4)


@pytest.mark.parametrize('gamma', [0, -0.5, float('nan'), float('inf'), True, '0.5', None])
def test_bad_gamma(gamma):
    with pytest.raises(ValueError, match=f'NorCal gamma={gamma!r}'):
        check_norcal_gamma(gamma)


def test_gamma_zero_only_where_allowed():
    assert check_norcal_gamma(0, allow_zero=True) == 0.0
    with pytest.raises(ValueError, match='gamma=-1 must be a finite number >= 0'):
        check_norcal_gamma(-1, allow_zero=True)


def test_bad_counts():
    with pytest.raises(ValueError, match='gives 3 class counts but the model has num_classes=4'):
        check_class_counts([1, 2, 3], 4)
    with pytest.raises(ValueError, match=r'class 2 has count 0 in my.json \(2 classes below 1\)'):
        check_class_counts([5, 1, 0, 0], 4, 'my.json')
    with pytest.raises(ValueError, match=r'expected \(N, 4\)'):
        norcal_log_probs(torch.zeros(2, 5), torch.ones(3), 0.5)
