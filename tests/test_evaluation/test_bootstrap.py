# Copyright (c) mmtde contributors. All rights reserved.
"""The paired bootstrap against answers known without it."""
import numpy as np
import pytest

from mmtde.evaluation.bootstrap import paired_bootstrap, paired_bootstrap_by_group

NAN = np.nan


def test_identical_methods_give_zero_and_a_zero_interval():
    ap = np.random.default_rng(0).uniform(0, 1, (3, 20))
    ap[1, 4] = NAN
    res = paired_bootstrap(ap, ap.copy(), num_resamples=500)
    assert (res.diff, res.low, res.high) == (0.0, 0.0, 0.0)
    assert res.per_seed.tolist() == [0.0, 0.0, 0.0]
    assert res.num_classes.tolist() == [20, 19, 20]


def test_constant_shift_is_recovered_exactly():
    rng = np.random.default_rng(1)
    b = rng.uniform(0, 0.5, (4, 30))
    b[:, :3] = NAN  # classes without ground truth, in both
    a = b + 0.25  # exact in binary: every mean of 0.25s is 0.25
    mask = np.zeros(30, dtype=bool)
    mask[5:17] = True
    res = paired_bootstrap(a, b, mask, num_resamples=300, seed=3)
    assert res.diff == 0.25 and res.low == 0.25 and res.high == 0.25
    assert res.num_classes.tolist() == [12] * 4


def test_statistic_is_mean_over_seeds_of_group_means():
    # seed 0 counts classes 0 and 1 (class 2 has no ground truth), seed 1 counts classes 1, 2
    # (its own group), so d_0 = ((.5-.2) + (.2-.2)) / 2 = .15, d_1 = ((.1-.3) + (.3-0)) / 2
    # = .05 and the statistic is .1. Class 3 is outside the group at both seeds.
    a = np.array([[.5, .2, NAN, .9], [.4, .1, .3, .9]])
    b = np.array([[.2, .2, NAN, .0], [.0, .3, .0, .0]])
    mask = np.array([[True, True, True, False], [False, True, True, False]])
    res = paired_bootstrap(a, b, mask, num_resamples=200)
    assert res.per_seed == pytest.approx([.15, .05], abs=1e-12)
    assert res.diff == pytest.approx(.1, abs=1e-12)
    assert res.low <= res.diff <= res.high


def test_two_classes_one_seed_interval_is_their_range():
    # class-resampled means of the differences [0, 1] are 0, .5, 1 with probability 1/4,
    # 1/2, 1/4, so the 2.5 % and 97.5 % quantiles are 0 and 1
    res = paired_bootstrap(np.array([0.0, 1.0]), np.zeros(2), num_resamples=4000)
    assert res.diff == 0.5 and res.low == 0.0 and res.high == 1.0


def test_deterministic_and_seeded():
    rng = np.random.default_rng(2)
    a, b = rng.uniform(0, 1, (3, 25)), rng.uniform(0, 1, (3, 25))
    first = paired_bootstrap(a, b, num_resamples=2000, seed=7)
    again = paired_bootstrap(a, b, num_resamples=2000, seed=7)
    other = paired_bootstrap(a, b, num_resamples=2000, seed=8)
    assert (first.low, first.high) == (again.low, again.high)
    assert (first.low, first.high) != (other.low, other.high)
    assert first.diff == other.diff  # the statistic does not depend on the resampling


def test_coverage_of_a_two_level_synthetic_case():
    # d_sc = mu + seed effect + class noise, with fresh classes at every seed (each seed
    # draws its own data): the 95 % interval should hold mu about 95 % of the time.
    rng = np.random.default_rng(0)
    mu, seeds, classes, trials = 0.03, 5, 40, 300
    hits = 0
    for t in range(trials):
        b = rng.uniform(0.1, 0.6, (seeds, classes))
        diff = mu + rng.normal(0, 0.01, (seeds, 1)) + rng.normal(0, 0.05, (seeds, classes))
        res = paired_bootstrap(b + diff, b, num_resamples=1000, seed=t)
        hits += res.low <= mu <= res.high
    assert 0.88 <= hits / trials <= 0.99, hits / trials


def test_by_group():
    a = np.array([[.5, .4, .3, .2]])
    b = np.array([[.4, .4, .1, .2]])
    res = paired_bootstrap_by_group(a, b, np.array(['r', 'c', 'r', 'f']), num_resamples=100)
    assert list(res) == ['c', 'f', 'r', 'all']
    assert res['r'].diff == pytest.approx(.15) and res['c'].diff == 0 and res['f'].diff == 0
    assert res['all'].diff == pytest.approx(.075)


@pytest.mark.parametrize('kwargs, match', [
    (dict(ap_b=np.zeros((2, 4))), r'ap_a has shape \(3, 4\) and ap_b \(2, 4\)'),
    (dict(ap_b=np.full((3, 4), NAN)), 'at seed 0, class 0 has AP'),
    (dict(mask=np.ones(5, dtype=bool)), r'mask must be bool of shape \(4,\)'),
    (dict(mask=np.zeros(4, dtype=bool)), 'seed 0 has no class of the group'),
    (dict(confidence=95), 'confidence=95 must be in'),
    (dict(num_resamples=0), 'num_resamples=0 must be'),
])
def test_bad_inputs(kwargs, match):
    args = dict(ap_a=np.zeros((3, 4)), ap_b=np.zeros((3, 4)))
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        paired_bootstrap(**args)
