# Copyright (c) mmtde contributors. All rights reserved.
"""Paired bootstrap intervals for comparing two methods' per-class AP over seeds (numpy only).

A method comparison on a long-tailed benchmark has two sources of noise: which classes happen
to be in a group (and how hard they are), and the training seed (and, where seeds also draw
the data, which classes are rare). :func:`paired_bootstrap` resamples both, pairing the two
methods on the same seed and class so that what they share cancels.
"""
from typing import NamedTuple, Optional

import numpy as np

_CHUNK = 1024  # replicates drawn at a time: memory ~ _CHUNK * S * C numbers


class BootstrapResult(NamedTuple):
    """What :func:`paired_bootstrap` returns.

    Attributes:
        diff (float): The observed statistic: mean over seeds of (group AP of A - group AP of
            B), a group AP being the mean over the group's classes with ground truth.
        low (float): Lower end of the interval.
        high (float): Upper end of the interval.
        per_seed (np.ndarray): The paired difference of each seed, shape (S,).
        num_classes (np.ndarray): Classes counted at each seed, int64 of shape (S,).
        confidence (float): The interval's nominal coverage.
        num_resamples (int): Bootstrap replicates drawn.
    """

    diff: float
    low: float
    high: float
    per_seed: np.ndarray
    num_classes: np.ndarray
    confidence: float
    num_resamples: int


def paired_bootstrap(ap_a: np.ndarray,
                     ap_b: np.ndarray,
                     mask: Optional[np.ndarray] = None,
                     num_resamples: int = 10000,
                     confidence: float = 0.95,
                     seed: int = 0) -> BootstrapResult:
    """Mean paired difference of a group's AP between methods A and B, with a bootstrap interval.

    Statistic. At seed ``s`` the classes counted are those in the group (``mask[s]``) whose AP
    is finite (NaN: no ground truth in the evaluated split); the group AP of a method is the
    mean of their APs, and ``d_s = AP_A(s) - AP_B(s)`` is the mean over them of the per-class
    differences ``ap_a[s, c] - ap_b[s, c]``. The statistic is ``mean_s d_s``.

    Interval: a two-stage (seeds, then classes within each seed) percentile bootstrap. Each
    of ``num_resamples`` replicates draws ``S`` seeds with replacement; for each drawn seed
    (each draw separately, also when a seed is drawn twice), it draws as many classes as that
    seed counts, with replacement, from its counted classes, and averages their per-class
    differences (A and B always keep the same class: the pairing); the replicate is the mean
    over the ``S`` draws. The interval is the ``(1 - confidence) / 2`` and
    ``(1 + confidence) / 2`` quantiles of the replicates (numpy's linear interpolation).
    Random numbers come from ``np.random.default_rng(seed)``, replicates 1024 at a time
    (bounded memory): per block, the (R, S) seed draws, then for each seed in order the
    (R, S, n_s) class draws; the result is a function of the inputs and ``seed`` alone.

    With one seed only classes are resampled; with few seeds (3 to 5) the seed stage cannot
    know the spread between seeds well, and the interval is then narrower than it should be.

    Args:
        ap_a (np.ndarray): Per-class AP of method A, shape (S, C) (or (C,) for one seed); NaN
            for a class without ground truth.
        ap_b (np.ndarray): The same for method B, same shape and the same NaN entries (both
            evaluated on the same split at each seed).
        mask (np.ndarray, optional): Bool, the group's classes: shape (C,) for a group fixed
            across seeds, or (S, C) where each seed draws its own groups. None counts all
            classes. Defaults to None.
        num_resamples (int): Bootstrap replicates R. Defaults to 10000.
        confidence (float): Nominal coverage of the interval, in (0, 1). Defaults to 0.95.
        seed (int): Seed of the resampling. Defaults to 0.

    Returns:
        BootstrapResult: The statistic, the interval and the per-seed differences.
    """
    a, b = _as_2d(ap_a, 'ap_a'), _as_2d(ap_b, 'ap_b')
    if a.shape != b.shape:
        raise ValueError(f'ap_a has shape {a.shape} and ap_b {b.shape}: give both methods\' AP '
                         f'for the same seeds (rows) and classes (columns)')
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    if (nan_a != nan_b).any():
        s, c = np.argwhere(nan_a != nan_b)[0]
        raise ValueError(f'at seed {s}, class {c} has AP {a[s, c]} for A and {b[s, c]} for B: '
                         f'a paired comparison needs both evaluated on the same split (NaN '
                         f'marks a class without ground truth, in both)')
    if np.isinf(a).any() or np.isinf(b).any():
        raise ValueError('ap_a / ap_b contain inf: give APs in [0, 1] (or 0-100) and NaN for '
                         'classes without ground truth')
    num_seeds, num_cls = a.shape
    if mask is None:
        mask = np.ones((num_seeds, num_cls), dtype=bool)
    mask = np.asarray(mask)
    if mask.dtype != bool or mask.shape not in ((num_cls, ), (num_seeds, num_cls)):
        raise ValueError(f'mask must be bool of shape ({num_cls},) or ({num_seeds}, {num_cls}), '
                         f'got {mask.dtype} {mask.shape}')
    mask = np.broadcast_to(mask, a.shape) & ~nan_a
    if not 0 < confidence < 1:
        raise ValueError(f'confidence={confidence!r} must be in (0, 1), e.g. 0.95')
    if isinstance(num_resamples, bool) or not isinstance(num_resamples, (int, np.integer)) \
            or num_resamples < 1:
        raise ValueError(f'num_resamples={num_resamples!r} must be a positive integer')
    num_classes = mask.sum(axis=1)
    if (num_classes == 0).any():
        s = int(np.flatnonzero(num_classes == 0)[0])
        raise ValueError(f'seed {s} has no class of the group with ground truth: drop that '
                         f'seed, or check the group mask')
    diffs = [(a[s] - b[s])[mask[s]] for s in range(num_seeds)]
    per_seed = np.array([d.mean() for d in diffs])

    rng = np.random.default_rng(seed)
    replicates = np.concatenate([
        _replicates(diffs, min(_CHUNK, num_resamples - start), rng)
        for start in range(0, num_resamples, _CHUNK)])
    tail = (1 - confidence) / 2
    low, high = np.quantile(replicates, [tail, 1 - tail])
    return BootstrapResult(float(per_seed.mean()), float(low), float(high), per_seed,
                           num_classes.astype(np.int64), float(confidence), int(num_resamples))


def _replicates(diffs, num: int, rng: np.random.Generator) -> np.ndarray:
    """``num`` two-stage bootstrap replicates of ``mean_s mean_c diffs[s][c]``, shape (num,)."""
    num_seeds = len(diffs)
    seed_draws = rng.integers(0, num_seeds, size=(num, num_seeds))
    # means[s][r, j]: a class-resampled mean of seed s, used where draw j of replicate r is s
    means = np.stack([
        d[rng.integers(0, d.size, size=(num, num_seeds, d.size))].mean(axis=2) for d in diffs])
    rows, cols = np.meshgrid(np.arange(num), np.arange(num_seeds), indexing='ij')
    return means[seed_draws, rows, cols].mean(axis=1)


def _as_2d(ap: np.ndarray, name: str) -> np.ndarray:
    ap = np.asarray(ap, dtype=np.float64)
    if ap.ndim == 1:
        ap = ap[None]
    if ap.ndim != 2 or ap.size == 0:
        raise ValueError(f'{name} must have shape (S, C) (seeds x classes) or (C,), got '
                         f'{ap.shape}')
    return ap


def paired_bootstrap_by_group(ap_a: np.ndarray, ap_b: np.ndarray, groups: np.ndarray,
                              **kwargs) -> dict:
    """:func:`paired_bootstrap` for every frequency group and for all classes.

    Args:
        ap_a (np.ndarray), ap_b (np.ndarray): Per-class AP, shape (S, C) (see
            :func:`paired_bootstrap`).
        groups (np.ndarray): Each class's group (LVIS: ``'r'``, ``'c'``, ``'f'``), shape (C,)
            or (S, C) where each seed draws its own groups.
        **kwargs: Passed to :func:`paired_bootstrap` (``num_resamples``, ``confidence``,
            ``seed``); every group uses the same ``seed``.

    Returns:
        dict[str, BootstrapResult]: One entry per group name, in sorted order, then ``'all'``.
    """
    groups = np.asarray(groups)
    out = {str(g): paired_bootstrap(ap_a, ap_b, groups == g, **kwargs)
           for g in sorted(np.unique(groups).tolist())}
    out['all'] = paired_bootstrap(ap_a, ap_b, None, **kwargs)
    return out
