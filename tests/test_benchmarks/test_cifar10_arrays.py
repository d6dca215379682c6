# Copyright (c) mmtde contributors. All rights reserved.
import os
import pickle

import cv2
import numpy as np
import pytest

import cifar10_arrays as ca
from mmtde.cls.datasets import long_tail_counts


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


def test_prepare_from_image_folder_and_official(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / 'folder'
    for split, n in (('train', 2), ('test', 1)):
        for cls in ca.CLASSES:
            os.makedirs(folder / split / cls)
            for i in range(n):
                cv2.imwrite(str(folder / split / cls / f'{i}.png'),
                            rng.integers(0, 255, (32, 32, 3), dtype=np.uint8))
    path = ca.prepare_cifar10(str(folder), str(tmp_path / 'cache1'))
    with np.load(path) as arrays:
        assert arrays['train_x'].shape == (20, 32, 32, 3)
        assert arrays['train_y'].tolist() == sorted(list(range(10)) * 2)
        png = cv2.imread(str(folder / 'test' / 'bird' / '0.png'))[..., ::-1]  # RGB
        assert (arrays['test_x'][2] == png).all()

    official = tmp_path / 'official' / 'cifar-10-batches-py'
    os.makedirs(official)
    data = rng.integers(0, 255, (10, 3072), dtype=np.uint8)
    for name in [f'data_batch_{i}' for i in range(1, 6)] + ['test_batch']:
        with open(official / name, 'wb') as f:
            pickle.dump({'data': data, 'labels': list(range(10))}, f)
    path = ca.prepare_cifar10(str(tmp_path / 'official'), str(tmp_path / 'cache2'))
    with np.load(path) as arrays:
        assert arrays['train_x'].shape == (50, 32, 32, 3)
        assert (arrays['test_x'][3] == data[3].reshape(3, 32, 32).transpose(1, 2, 0)).all()
    # A second call finds the cache and decodes nothing.
    assert ca.prepare_cifar10(None, str(tmp_path / 'cache2')) == path


def test_missing_data_names_the_ways_to_provide_it(tmp_path):
    with pytest.raises(FileNotFoundError, match='cifar-10-batches-py'):
        ca.prepare_cifar10(str(tmp_path), str(tmp_path / 'cache'))
