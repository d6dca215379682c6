# Copyright (c) mmtde contributors. All rights reserved.
"""The benchmarks' in-memory CIFAR-10-LT dataset (the reader it uses is tested in
tests/test_datagen/test_cifar10.py)."""
import numpy as np
import pytest

import cifar10_arrays as ca
from mmtde.cls.datasets import long_tail_counts
from mmtde.datagen import cifar10


def write_npz(path, per_class_train=30, per_class_test=4, seed=0):
    rng = np.random.default_rng(seed)

    def make(n):
        y = np.repeat(np.arange(10), n)
        x = rng.integers(0, 60, (10 * n, 32, 32, 3)).astype(np.uint8)
        x[..., 0] += (y * 19).astype(np.uint8)[:, None, None]  # a learnable class colour
        return x, y

    (tx, ty), (sx, sy) = make(per_class_train), make(per_class_test)
    np.savez(path, train_x=tx, train_y=ty, test_x=sx, test_y=sy)
    return str(path)


@pytest.fixture
def npz(tmp_path):
    return write_npz(tmp_path / ca.NPZ_NAME)


def test_splits_are_disjoint_balanced_and_long_tailed(npz):
    ds = {s: ca.CIFAR10LTArrays(npz, split=s, imbalance_factor=5, heldout_per_class=5)
          for s in ca.SPLITS}
    expected = long_tail_counts(25, 10, 5)  # 30 a class, 5 held out
    assert ds['train'].class_counts == expected == ds['test'].class_counts
    assert len(ds['train']) == sum(expected)
    assert len(ds['heldout']) == 50 and len(ds['test']) == 40
    held = [ds['heldout'].get_data_info(i) for i in range(50)]
    assert np.bincount([h['gt_label'] for h in held], minlength=10).tolist() == [5] * 10
    # No held-out image is trained on.
    train_imgs = {ds['train'].get_data_info(i)['img'].tobytes() for i in range(len(ds['train']))}
    assert not train_imgs & {h['img'].tobytes() for h in held}


def test_same_seed_same_subset(npz):
    def first_imgs(seed):
        d = ca.CIFAR10LTArrays(npz, split='train', imbalance_factor=5, seed=seed,
                               heldout_per_class=5)
        return [d.get_data_info(i)['img'].tobytes() for i in range(len(d))]

    assert first_imgs(0) == first_imgs(0)
    assert first_imgs(0) != first_imgs(1)


def test_too_few_images_to_hold_out(npz):
    with pytest.raises(ValueError, match='heldout_per_class=30'):
        ca.CIFAR10LTArrays(npz, split='heldout', imbalance_factor=5, heldout_per_class=30)


def test_reader_names_are_the_package_ones():
    for name in ('CLASSES', 'NPZ_NAME', 'TARBALL', 'find_source', 'prepare_cifar10'):
        assert getattr(ca, name) is getattr(cifar10, name)
