# Copyright (c) mmtde contributors. All rights reserved.
"""Test-prior estimation (EM, BBSE), held-out calibration and re-weighted accuracy: synthetic
label shifts with a known prior, and small cases computed by hand."""
import math

import pytest
import torch

from mmtde.functional import (
    bbse_prior,
    em_prior,
    fit_calibration,
    reweighted_accuracy,
    total_variation,
)

C = 5
MEANS = 3.0 * torch.stack([torch.cos(torch.arange(C) * 2 * math.pi / C),
                           torch.sin(torch.arange(C) * 2 * math.pi / C)], 1).double()
TRAIN_PRIOR = torch.tensor([0.55, 0.25, 0.12, 0.05, 0.03], dtype=torch.float64)
UNIFORM = torch.full((C, ), 1.0 / C, dtype=torch.float64)
# Observed on these seeds: EM <= 0.011, BBSE <= 0.008 (with 1000 held-out images a class and
# 5450 test images); the tolerance leaves room for other BLAS / torch versions.
TOL = 0.025


def draw(counts, seed):
    """Exactly counts[c] samples of class c from unit Gaussians around MEANS (2-d)."""
    gen = torch.Generator().manual_seed(seed)
    labels = torch.repeat_interleave(torch.arange(C), torch.tensor(counts))
    return MEANS[labels] + torch.randn(len(labels), 2, generator=gen).double(), labels


def model_logits(x):
    """The Bayes logits of a model fitted to a long-tailed training prior: log p(x|c) +
    log pi_train. On a balanced held-out split (and any other test prior) they lean to the
    head classes, as the logits of a long-tail-trained network do."""
    return -0.5 * ((x[:, None] - MEANS[None]) ** 2).sum(-1) + TRAIN_PRIOR.log()


@pytest.fixture(scope='module')
def heldout():
    x, y = draw([1000] * C, seed=10)
    return model_logits(x), y


@pytest.mark.parametrize('counts', [[3000, 1500, 600, 250, 100], [100, 250, 600, 1500, 3000],
                                    [1000] * C])
def test_em_and_bbse_recover_a_known_label_shift(heldout, counts):
    logits_h, labels_h = heldout
    x, _ = draw(counts, seed=1)
    true = torch.tensor(counts, dtype=torch.float64) / sum(counts)
    cal = fit_calibration(logits_h, labels_h)
    test_log_probs = cal.log_probs(model_logits(x))
    em = em_prior(test_log_probs, UNIFORM)
    assert em.converged and em.message == '' and 1 < em.iterations < 200
    assert total_variation(em.prior, true) < TOL
    bbse = bbse_prior(cal.log_probs(logits_h).argmax(1), labels_h, test_log_probs.argmax(1), C)
    assert bbse.converged and total_variation(bbse.prior, true) < TOL
    for est in (em, bbse):
        assert est.prior.sum().item() == pytest.approx(1.0, abs=1e-12)
        assert (est.prior >= 0).all()
    if counts[0] < counts[-1]:  # the shift is not visible in the raw predictions: the test has
        naive = torch.bincount(model_logits(x).argmax(1), minlength=C).double() / sum(counts)
        assert total_variation(naive, true) > 0.1


def test_temperature_alone_leaves_the_training_prior_in(heldout):
    """Why the calibration has a per-class bias: with one temperature the posteriors still
    carry the training prior, and EM (which divides by the held-out prior) is far off."""
    logits_h, labels_h = heldout
    counts = [100, 250, 600, 1500, 3000]
    x, _ = draw(counts, seed=1)
    true = torch.tensor(counts, dtype=torch.float64) / sum(counts)
    temp = fit_calibration(logits_h, labels_h, bias=False)
    assert torch.equal(temp.bias, torch.zeros(C, dtype=torch.float64))
    assert total_variation(em_prior(temp.log_probs(model_logits(x)), UNIFORM).prior, true) > 0.04
    # BCTS learns the bias back: b ~ -log pi_train up to a constant, beta ~ 1
    bcts = fit_calibration(logits_h, labels_h)
    assert bcts.inv_temperature == pytest.approx(1.0, abs=0.1)
    expected = -TRAIN_PRIOR.log() + TRAIN_PRIOR.log().mean()
    assert torch.allclose(bcts.bias, expected, atol=0.3)


def test_calibration_matches_the_heldout_frequencies_and_em_stays_there(heldout):
    logits_h, labels_h = heldout
    keep = torch.cat([torch.nonzero(labels_h == c).flatten()[:n]
                      for c, n in enumerate([400, 300, 200, 100, 50])])  # an unbalanced split
    logits_h, labels_h = logits_h[keep], labels_h[keep]
    freq = torch.bincount(labels_h, minlength=C).double() / len(labels_h)
    cal = fit_calibration(logits_h, labels_h)
    log_probs = cal.log_probs(logits_h)
    # the optimum's gradient in b_c: mean posterior of class c = its frequency
    assert torch.allclose(log_probs.exp().mean(0), freq, atol=1e-6)
    em = em_prior(log_probs, freq)  # starts at freq and only drifts by the fit's tolerance
    assert em.converged and em.iterations < 20
    assert torch.allclose(em.prior, freq, atol=1e-5)


def test_temperature_of_overconfident_logits():
    x, y = draw([2000] * C, seed=3)
    exact = -0.5 * ((x[:, None] - MEANS[None]) ** 2).sum(-1)  # balanced Bayes logits
    cal = fit_calibration(3.0 * exact, y, bias=False)
    assert cal.inv_temperature == pytest.approx(1 / 3, rel=0.05)


def test_em_is_the_maximum_likelihood_prior():
    gen = torch.Generator().manual_seed(0)
    log_probs = torch.log_softmax(2 * torch.randn(300, 3, generator=gen, dtype=torch.float64), 1)
    pi = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)
    em = em_prior(log_probs, pi, tol=1e-12)
    assert em.converged

    def log_lik(q):
        return torch.logsumexp(log_probs + q.log() - pi.log(), 1).sum().item()

    # the fixed point of q = mean_x p_q(c|x), and no better prior nearby
    adapted = torch.softmax(log_probs + em.prior.log() - pi.log(), 1).mean(0)
    assert torch.allclose(adapted, em.prior, atol=1e-10)
    for c in range(3):
        for step in (0.01, -0.01):
            q = em.prior.clone()
            q[c] += step
            q[(c + 1) % 3] -= step
            assert log_lik(q) < log_lik(em.prior)


def test_em_of_one_repeated_posterior_goes_to_its_vertex():
    # every sample says p = (0.8, 0.2) under pi = (0.5, 0.5): the likelihood 0.8 q0 + 0.2 q1
    # (up to a factor) is largest at q = (1, 0); EM's step is 1 - q0 <- (1 - q0) / (0.8 q0 / 0.2
    # + 1 - q0), a linear rate of 0.25 near the vertex
    log_probs = torch.tensor([[0.8, 0.2]] * 4, dtype=torch.float64).log()
    em = em_prior(log_probs, torch.tensor([0.5, 0.5]), tol=1e-10)
    assert em.converged and em.prior.tolist() == pytest.approx([1.0, 0.0], abs=1e-9)
    # one step by hand: q0 = 0.8 * 0.5 / (0.8 * 0.5 + 0.2 * 0.5) = 0.8
    one = em_prior(log_probs, torch.tensor([0.5, 0.5]), max_iter=1)
    assert not one.converged and 'did not converge in 1 iterations' in one.message
    assert one.prior.tolist() == pytest.approx([0.8, 0.2], abs=1e-12)


def test_bbse_by_hand():
    # held-out: 4 images a class, one of each class confused: C = [[3, 1], [1, 3]] / 8
    labels = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    preds = torch.tensor([0, 0, 0, 1, 1, 1, 1, 0])
    # test predictions 70% class 0: 3 w0 + w1 = 5.6, w0 + 3 w1 = 2.4 -> w = (1.8, 0.2)
    test = torch.tensor([0] * 7 + [1] * 3)
    est = bbse_prior(preds, labels, test, 2)
    assert est.converged and est.prior.tolist() == pytest.approx([0.9, 0.1], abs=1e-12)
    # all test predictions class 0: w = (3, -1), clipped at 0 and renormalised -> (1, 0)
    est = bbse_prior(preds, labels, torch.zeros(5, dtype=torch.long), 2)
    assert est.prior.tolist() == pytest.approx([1.0, 0.0], abs=1e-12)


def test_bbse_flags_a_singular_confusion_matrix():
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    preds = torch.tensor([0, 0, 0, 1, 1, 1])  # class 2 never predicted
    est = bbse_prior(preds, labels, torch.tensor([0, 1, 1]), 3)
    assert not est.converged
    assert 'rank 2 < 3' in est.message and 'never predicted there: [2]' in est.message
    assert torch.isfinite(est.prior).all() and est.prior.sum().item() == pytest.approx(1.0)


def test_reweighted_accuracy_by_hand():
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    correct = torch.tensor([[1, 0, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]], dtype=torch.bool)
    acc = reweighted_accuracy(correct, labels, torch.tensor([0.5, 0.5, 0.0]))
    assert acc.tolist() == pytest.approx([75.0, 100.0], abs=1e-12)
    # an unbalanced held-out split: weights q_y / pi_y = 2/3 (class 0) and 2 (class 1)
    acc = reweighted_accuracy(torch.tensor([1, 1, 0, 1]), torch.tensor([0, 0, 0, 1]),
                              torch.tensor([0.5, 0.5]))
    assert acc.item() == pytest.approx(100 * (2 / 3 + 2 / 3 + 2) / 4, abs=1e-12)
    assert acc.item() == pytest.approx(0.5 * 200 / 3 + 0.5 * 100, abs=1e-12)  # sum q_c acc_c
    # with the held-out prior itself it is the plain accuracy
    assert reweighted_accuracy(torch.tensor([1, 1, 0, 1]), torch.tensor([0, 0, 0, 1]),
                               torch.tensor([0.75, 0.25])).item() == pytest.approx(75.0)


def test_total_variation_by_hand():
    assert total_variation(torch.tensor([0.5, 0.5, 0.0]),
                           torch.tensor([0.2, 0.5, 0.3])) == pytest.approx(0.3)
    assert total_variation(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])) == 1.0


@pytest.mark.parametrize('call, match', [
    (lambda: fit_calibration(torch.tensor([[0.0, float('nan')]]), torch.tensor([0])),
     'held-out logits holds NaN or inf'),
    (lambda: fit_calibration(torch.zeros(4, 3), torch.tensor([0, 0, 1, 1])),
     r'class 2 has no sample in the held-out split, .*heldout_per_class=50'),
    (lambda: em_prior(torch.zeros(0, 3), UNIFORM[:3]), r'shape \(N, C\) with N >= 1'),
    (lambda: em_prior(torch.zeros(2, 3), torch.tensor([0.5, 0.5, 0.0])),
     'source_prior must have 3 positive entries'),
    (lambda: em_prior(torch.zeros(2, 2), torch.tensor([0.5, 0.5]), max_iter=0),
     'max_iter >= 1'),
    (lambda: bbse_prior(torch.tensor([0, 1]), torch.tensor([0, 1]), torch.tensor([2]), 2),
     r'test predictions must be non-empty and lie in \[0, 2\)'),
    (lambda: reweighted_accuracy(torch.ones(2), torch.tensor([0, 1]),
                                 torch.tensor([0.7, 0.7])), 'must be a distribution'),
])
def test_bad_input_is_refused_with_the_reason(call, match):
    with pytest.raises(ValueError, match=match):
        call()
