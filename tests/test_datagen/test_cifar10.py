# Copyright (c) mmtde contributors. All rights reserved.
"""The CIFAR-10 reader: official pickles or an image folder, decoded once into a cached npz."""
import os
import pickle

import cv2
import numpy as np
import pytest

from mmtde.datagen import cifar10


def test_prepare_from_image_folder_and_official(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / 'folder'
    for split, n in (('train', 2), ('test', 1)):
        for cls in cifar10.CLASSES:
            os.makedirs(folder / split / cls)
            for i in range(n):
                cv2.imwrite(str(folder / split / cls / f'{i}.png'),
                            rng.integers(0, 255, (32, 32, 3), dtype=np.uint8))
    path = cifar10.prepare_cifar10(str(folder), str(tmp_path / 'cache1'))
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
    path = cifar10.prepare_cifar10(str(tmp_path / 'official'), str(tmp_path / 'cache2'))
    with np.load(path) as arrays:
        assert arrays['train_x'].shape == (50, 32, 32, 3)
        assert (arrays['test_x'][3] == data[3].reshape(3, 32, 32).transpose(1, 2, 0)).all()
    # A second call finds the cache and decodes nothing.
    assert cifar10.prepare_cifar10(None, str(tmp_path / 'cache2')) == path


def test_missing_data_names_the_ways_to_provide_it(tmp_path):
    with pytest.raises(FileNotFoundError, match='cifar-10-batches-py'):
        cifar10.prepare_cifar10(str(tmp_path), str(tmp_path / 'cache'))
