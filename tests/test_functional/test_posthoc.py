# Copyright (c) mmtde contributors. All rights reserved.
"""Post-hoc logit adjustment and tau-norm against float64 hand computations."""
import math

import numpy as np
import pytest
import torch

from mmtde.functional import (
    adjust_logits,
    log_class_prior,
    tau_normalize_weight,
    tau_normalized_logits,
)

COUNTS = [500, 120, 30, 5]


@pytest.fixture
def logits():
    return torch.randn(7, 4, generator=torch.Generator().manual_seed(0))


def test_log_prior_is_the_log_frequency():
    expected = [math.log(n / sum(COUNTS)) for n in COUNTS]
    assert log_class_prior(COUNTS).tolist() == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize('tau', [0.0, 0.5, 1.0, 2.0])
def test_logit_adjustment_by_hand(logits, tau):
    ours = adjust_logits(logits, log_class_prior(COUNTS), tau)
    ref = logits.double().numpy() - tau * np.log(np.array(COUNTS, float) / sum(COUNTS))
    assert np.allclose(ours.double().numpy(), ref, atol=1e-5)
    if tau == 0:
        assert torch.equal(ours, logits)


def test_known_test_prior_is_the_bayes_correction():
    # A calibrated model of a training distribution: p_train(y | x) is proportional to
    # p(x | y) pi_train(y). Adjusting its log-posterior with the test prior must give the test
    # posterior p(x | y) pi_test(y), up to a constant per sample.
    rng = np.random.default_rng(0)
    likelihood = rng.dirichlet(np.ones(6), size=4).T  # p(x | y): 6 values of x, 4 classes
    pi_train = np.array(COUNTS, float) / sum(COUNTS)
    pi_test = np.array([1, 2, 5, 30], float) / 38
    log_post_train = np.log(likelihood * pi_train)
    log_post_train -= np.log(np.exp(log_post_train).sum(1, keepdims=True))
    ours = adjust_logits(torch.from_numpy(log_post_train), log_class_prior(COUNTS), 1.0,
                         log_class_prior([1, 2, 5, 30], 'test')).numpy()
    post_test = likelihood * pi_test
    post_test /= post_test.sum(1, keepdims=True)
    assert np.allclose(np.exp(ours) / np.exp(ours).sum(1, keepdims=True), post_test, atol=1e-9)


def test_uniform_test_prior_only_shifts_every_logit(logits):
    plain = adjust_logits(logits, log_class_prior(COUNTS), 1.0)
    uniform = adjust_logits(logits, log_class_prior(COUNTS), 1.0, log_class_prior([3] * 4))
    assert torch.allclose(uniform - plain, torch.full_like(plain, math.log(1 / 4)), atol=1e-5)


def pnorm(weight, p):
    """Kang et al.'s released ``pnorm``: every row divided by its L2 norm to the power p."""
    out = weight.clone()
    for i in range(weight.shape[0]):
        out[i] = weight[i] / torch.norm(weight[i], 2) ** p
    return out


@pytest.mark.parametrize('tau', [0.0, 0.3, 1.0, 1.5])
def test_tau_norm_restates_kang(tau):
    g = torch.Generator().manual_seed(1)
    weight = torch.randn(5, 8, generator=g, dtype=torch.float64) * torch.tensor(
        [[3.0], [1.0], [0.5], [0.2], [0.05]], dtype=torch.float64)
    x = torch.rand(6, 8, generator=g, dtype=torch.float64)
    assert torch.allclose(tau_normalize_weight(weight, tau), pnorm(weight, tau))
    assert torch.allclose(tau_normalized_logits(x, weight, tau), x @ pnorm(weight, tau).t())
    if tau == 1.0:
        assert torch.allclose(tau_normalize_weight(weight, tau).norm(dim=1),
                              torch.ones(5, dtype=torch.float64))


def test_tau_norm_keeps_a_zero_row_finite():
    weight = torch.tensor([[0.0, 0.0], [3.0, 4.0]])
    out = tau_normalize_weight(weight, 1.0)
    assert torch.equal(out[0], torch.zeros(2))
    assert torch.allclose(out[1], torch.tensor([0.6, 0.8]))


@pytest.mark.parametrize('call, match', [
    (lambda lg: adjust_logits(lg, log_class_prior(COUNTS), -1.0),
     r'logit adjustment tau=-1.0 must be a number >= 0'),
    (lambda lg: adjust_logits(lg, log_class_prior(COUNTS), float('nan')),
     r'tau=nan must be a number >= 0'),
    (lambda lg: adjust_logits(lg, log_class_prior(COUNTS), True), r'tau=True must be'),
    (lambda lg: adjust_logits(lg, log_class_prior(COUNTS[:3]), 1.0),
     r'train_log_prior has shape \(3,\) but the logits score 4 classes'),
    (lambda lg: adjust_logits(lg, log_class_prior(COUNTS), 1.0, log_class_prior([1, 1])),
     r'test_log_prior has shape \(2,\)'),
    (lambda lg: log_class_prior([10, 0, 3]), r'class 1 has 0 training images'),
    (lambda lg: log_class_prior([]), r'training class counts are empty'),
    (lambda lg: tau_normalize_weight(torch.ones(3, 2), -0.5), r'tau-norm tau=-0.5'),
    (lambda lg: tau_normalize_weight(torch.ones(3), 1.0), r'expected classifier weights of '
     r'shape \(C, D\), got \(3,\)'),
])
def test_bad_values(logits, call, match):
    with pytest.raises(ValueError, match=match):
        call(logits)
