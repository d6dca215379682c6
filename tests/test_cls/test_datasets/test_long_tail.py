# Copyright (c) mmtde contributors. All rights reserved.
"""The long-tail profile, the seeded subset and the mixin on a minimal host dataset."""
import numpy as np
import pytest
from mmengine.dataset import BaseDataset

from mmtde.cls.datasets import (
    LongTailMixin,
    check_imbalance_factor,
    long_tail_counts,
    long_tail_indices,
    plan_long_tail,
)


def test_cifar10_if100_counts_match_the_paper():
    counts = long_tail_counts(5000, 10, 100)
    assert counts == [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
    assert sum(counts) == 12406


@pytest.mark.parametrize('n_max, num_classes, factor, total, last', [
    (500, 100, 100, 10847, 5),
    (500, 100, 50, 12608, 10),
    (500, 100, 10, 19573, 50),
    (5000, 10, 50, 13996, 100),
    (5000, 10, 10, 20431, 500),
])
def test_totals_of_the_other_benchmarks(n_max, num_classes, factor, total, last):
    counts = long_tail_counts(n_max, num_classes, factor)
    assert sum(counts) == total
    assert counts[0] == n_max and counts[-1] == last
    assert all(a >= b for a, b in zip(counts, counts[1:]))


def test_reference_rounding():
    # The reference computes int(img_max * imb_factor ** (c / (C - 1.0))) with imb_factor 0.01.
    for factor, ref_factor in ((100, 0.01), (50, 0.02), (10, 0.1)):
        ref = [int(500.0 * ref_factor**(c / 99.0)) for c in range(100)]
        assert long_tail_counts(500, 100, factor) == ref


def test_factor_one_keeps_everything():
    assert long_tail_counts(7, 4, 1) == [7, 7, 7, 7]
    labels = np.repeat(np.arange(4), 7)
    assert long_tail_indices(labels, 1, seed=3) == list(range(28))


@pytest.mark.parametrize('bad', [0.5, 0, -10, float('nan'), float('inf'), True, '100'])
def test_invalid_imbalance_factor(bad):
    with pytest.raises(ValueError, match='must be >= 1, e.g. 100, 50 or 10'):
        check_imbalance_factor(bad)
    with pytest.raises(ValueError, match='imbalance_factor'):
        long_tail_counts(100, 10, bad)


def test_indices_per_class_sorted_and_within_class():
    labels = np.tile(np.arange(10), 60)  # 60 per class, interleaved
    idx = long_tail_indices(labels, 10, seed=0)
    assert idx == sorted(idx) and len(set(idx)) == len(idx)
    assert np.bincount(labels[idx], minlength=10).tolist() == long_tail_counts(60, 10, 10)


def test_same_seed_same_subset_other_seed_other_subset():
    labels = np.repeat(np.arange(10), 100)
    np.random.seed(1)
    a = long_tail_indices(labels, 100, seed=5)
    np.random.seed(2)  # the global numpy state must not matter
    b = long_tail_indices(labels, 100, seed=5)
    c = long_tail_indices(labels, 100, seed=6)
    assert a == b
    assert a != c
    assert np.bincount(labels[a]).tolist() == np.bincount(labels[c]).tolist()


def test_n_max_defaults_to_smallest_class_and_is_checked():
    labels = np.array([0] * 30 + [1] * 20 + [2] * 25)
    assert plan_long_tail([30, 20, 25], 4) == long_tail_counts(20, 3, 4)
    assert len(long_tail_indices(labels, 4, seed=0, n_max=30)) == 30 + 15 + 7
    with pytest.raises(ValueError, match='class 1 has 20 images'):
        long_tail_indices(labels, 1, seed=0, n_max=30)
    with pytest.raises(ValueError, match='leaves class 1 with no image'):
        plan_long_tail([5, 5, 5], 100)


def test_label_out_of_range():
    with pytest.raises(ValueError, match=r'\[0, 3\)'):
        long_tail_indices([0, 1, 2, 3], 1, seed=0, num_classes=3)


# The mixin must wrap the host's loader, so give the host one below it in the MRO.
class _Host(BaseDataset):

    def load_data_list(self):
        return [{'gt_label': c, 'id': i} for i, c in enumerate(np.tile(np.arange(4), 20))]


class _ToyLT(LongTailMixin, _Host):
    METAINFO = {'classes': ('a', 'b', 'c', 'd')}

    def __init__(self, split, imbalance_factor=4, seed=0, **kwargs):
        self.split = split
        self._init_long_tail(imbalance_factor, seed)
        super().__init__(serialize_data=False, **kwargs)

    def _train_class_sizes(self):
        return [20] * 4


def test_mixin_subsamples_train_only_and_publishes_counts():
    expected = long_tail_counts(20, 4, 4)  # [20, 12, 7, 5]
    train = _ToyLT('train')
    labels = [train.get_data_info(i)['gt_label'] for i in range(len(train))]
    assert len(train) == sum(expected)
    assert np.bincount(labels).tolist() == expected
    assert train.class_counts == expected
    assert train.metainfo['class_counts'] == expected
    assert (train.imbalance_factor, train.seed) == (4.0, 0)

    test = _ToyLT('test')
    assert len(test) == 80  # balanced, untouched
    assert test.class_counts == expected  # the *training* counts, for the metric
    assert test.metainfo['class_counts'] == expected


def test_mixin_seed_changes_the_subset():
    ids = lambda ds: [ds.get_data_info(i)['id'] for i in range(len(ds))]  # noqa: E731
    assert ids(_ToyLT('train', seed=1)) == ids(_ToyLT('train', seed=1))
    assert ids(_ToyLT('train', seed=1)) != ids(_ToyLT('train', seed=2))


def test_mixin_rejects_classes_that_disagree_with_the_data():
    with pytest.raises(ValueError, match='label 2 but metainfo lists 2 classes'):
        _ToyLT('train', metainfo=dict(classes=('a', 'b')))
    with pytest.raises(ValueError, match='class 4 has no image'):
        _ToyLT('train', metainfo=dict(classes=tuple('abcdef')))
    with pytest.raises(ValueError, match='imbalance_factor must be >= 1'):
        _ToyLT('train', imbalance_factor=0.1)
