# Copyright (c) mmtde contributors. All rights reserved.
import os
import os.path as osp
import tarfile

import numpy as np
import pytest
from mmpretrain.registry import DATASETS
from PIL import Image

from mmtde.cls.datasets import CIFAR10LT, ImageFolderLT, long_tail_counts
from mmtde_test_utils import shared_data_dir

CLASSES = ('cat', 'dog', 'frog')  # already sorted: labels 0, 1, 2


def _make_tree(root, per_class, split):
    for cls in CLASSES:
        os.makedirs(osp.join(root, split, cls), exist_ok=True)
        for i in range(per_class):
            Image.new('RGB', (4, 4), (i, 0, 0)).save(osp.join(root, split, cls, f'{i:04d}.jpg'))


@pytest.fixture
def folder_root(tmp_path):
    _make_tree(str(tmp_path), 30, 'train')
    _make_tree(str(tmp_path), 4, 'test')
    (tmp_path / 'train' / 'cat' / 'notes.txt').write_text('not an image')
    return str(tmp_path)


def _labels(ds):
    return [ds.get_data_info(i)['gt_label'] for i in range(len(ds))]


def test_train_is_subsampled_and_test_is_not(folder_root):
    expected = long_tail_counts(30, 3, 10)  # [30, 9, 3]
    train = DATASETS.build(dict(type='ImageFolderLT', data_root=folder_root, split='train',
                                imbalance_factor=10, seed=0))
    assert isinstance(train, ImageFolderLT)
    assert train.metainfo['classes'] == CLASSES
    assert np.bincount(_labels(train)).tolist() == expected
    assert train.class_counts == expected

    test = ImageFolderLT(folder_root, split='test', imbalance_factor=10)
    assert np.bincount(_labels(test)).tolist() == [4, 4, 4]
    assert test.metainfo['class_counts'] == expected


def test_seed_and_pipeline(folder_root):
    def paths(seed):
        ds = ImageFolderLT(folder_root, imbalance_factor=10, seed=seed)
        return [ds.get_data_info(i)['img_path'] for i in range(len(ds))]

    assert paths(0) == paths(0)
    assert paths(0) != paths(1)
    ds = ImageFolderLT(folder_root, imbalance_factor=10,
                       pipeline=[dict(type='LoadImageFromFile'), dict(type='PackInputs')])
    item = ds[0]
    assert item['inputs'].shape == (3, 4, 4)
    assert int(item['data_samples'].gt_label) == 0


def test_missing_folder_says_how_to_get_the_data(tmp_path):
    with pytest.raises(FileNotFoundError, match='download=True.*image-folder copy'):
        ImageFolderLT(str(tmp_path / 'nowhere'))


def test_classes_must_match_the_folders(folder_root):
    with pytest.raises(ValueError, match='sorted folder names'):
        ImageFolderLT(folder_root, metainfo=dict(classes=('cat', 'dog')))
    with pytest.raises(ValueError, match='sorted folder names'):
        ImageFolderLT(folder_root, metainfo=dict(classes=('dog', 'cat', 'frog')))
    ds = ImageFolderLT(folder_root, metainfo=dict(classes=CLASSES), imbalance_factor=10)
    assert len(ds) == sum(long_tail_counts(30, 3, 10))


def test_real_cifar10_jpeg_copy_matches_the_paper(tmp_path_factory):
    tarball = osp.join(shared_data_dir(), 'cifar10-jpeg.tar.gz')
    if not osp.isfile(tarball):
        pytest.skip(f'{tarball} not found (set MMTDE_DATA_DIR)')
    root = str(tmp_path_factory.mktemp('cifar10'))
    with tarfile.open(tarball) as tar:
        tar.extractall(root, filter='data')
    train = ImageFolderLT(root, split='train', imbalance_factor=100, seed=0)
    assert len(train) == 12406
    assert train.class_counts == [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
    assert list(train.metainfo['classes']) == list(CIFAR10LT.METAINFO['classes'])
    test = ImageFolderLT(root, split='test', imbalance_factor=100)
    assert len(test) == 10000 and test.class_counts == train.class_counts


def test_heldout_split_comes_from_the_train_folder(folder_root):
    kw = dict(imbalance_factor=10, seed=0, heldout_per_class=4)
    train, held = (ImageFolderLT(folder_root, split=s, **kw) for s in ('train', 'heldout'))
    expected = long_tail_counts(26, 3, 10)
    assert train.class_counts == held.class_counts == expected
    assert ImageFolderLT(folder_root, split='test', **kw).class_counts == expected
    held_paths = {held.get_data_info(i)['img_path'] for i in range(len(held))}
    assert len(held_paths) == 12 and all('/train/' in p for p in held_paths)
    assert not held_paths & {train.get_data_info(i)['img_path'] for i in range(len(train))}
