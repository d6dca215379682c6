# Copyright (c) mmtde contributors. All rights reserved.
from collections import defaultdict

import numpy as np
import pytest

from mmtde.evaluation.lvis.detection_caps import top_per_category, top_per_image


def scores_with_ties(rng, n):
    return rng.choice(np.linspace(0, 1, 9), n).astype(np.float32)  # many equal scores


@pytest.mark.parametrize('seed', range(5))
def test_top_per_image_is_lvis_apis_cap(seed):
    lvis_results = pytest.importorskip('lvis.results')
    rng = np.random.default_rng(seed)
    scores = scores_with_ties(rng, 40)
    anns = [dict(image_id=1, score=float(s), index=i) for i, s in enumerate(scores)]
    # lvis-api's own selection (an unbound call: it does not use the instance)
    kept = lvis_results.LVISResults.limit_dets_per_image(None, anns, 13)
    assert top_per_image(scores, 13).tolist() == sorted(a['index'] for a in kept)
    assert top_per_image(scores[:10], 13).tolist() == list(range(10))


@pytest.mark.parametrize('seed', range(5))
def test_top_per_category_is_dave_et_al_budget(seed):
    rng = np.random.default_rng(seed)
    scores, labels = scores_with_ties(rng, 200), rng.integers(0, 6, 200)
    # restated from scripts/evaluate_ap_fixed.py (large-vocab-devil): group the results by
    # category, sort each by score (Python's stable sort), keep the first K
    by_cat = defaultdict(list)
    for i, (s, c) in enumerate(zip(scores.tolist(), labels.tolist())):
        by_cat[c].append(dict(score=s, index=i))
    expected = sorted(d['index'] for anns in by_cat.values()
                      for d in sorted(anns, key=lambda d: d['score'], reverse=True)[:17])
    assert np.flatnonzero(top_per_category(scores, labels, 17)).tolist() == expected


def test_budget_ignores_other_classes_scores_and_the_cap_does_not():
    """The point of Fixed AP: rescaling one class's scores moves no other class's selection."""
    rng = np.random.default_rng(0)
    scores, labels = rng.uniform(0.2, 1, 60).astype(np.float32), rng.integers(0, 3, 60)
    rescaled = np.where(labels == 0, scores * 0.1, scores).astype(np.float32)
    others = labels != 0
    fixed_before = top_per_category(scores, labels, 8)
    fixed_after = top_per_category(rescaled, labels, 8)
    assert (fixed_before == fixed_after).all()
    capped_before = np.isin(np.arange(60), top_per_image(scores, 20))
    capped_after = np.isin(np.arange(60), top_per_image(rescaled, 20))
    assert capped_after[others].sum() > capped_before[others].sum()  # class 0 made room


def test_empty_inputs():
    assert top_per_image(np.zeros(0)).tolist() == []
    assert top_per_category(np.zeros(0), np.zeros(0, int), 5).tolist() == []
