# Copyright (c) mmtde contributors. All rights reserved.
"""CIFAR10LT / CIFAR100LT on tiny stand-ins for the official pickled batches."""
import numpy as np
import pytest
import torch
from mmpretrain.registry import DATASETS

from mmtde.cls.datasets import CIFAR10LT, CIFAR100LT, long_tail_counts
from mmtde.evaluation import LongTailAccuracy
from mmtde_test_utils import write_cifar_batch


@pytest.fixture
def cifar10_root(tmp_path, monkeypatch):
    """Official layout, 50 training and 10 test images per class, no md5 checks."""
    folder = tmp_path / CIFAR10LT.base_folder
    folder.mkdir()
    rng = np.random.default_rng(0)
    train = rng.permutation(np.repeat(np.arange(10), 50))
    for i in range(5):
        write_cifar_batch(folder / f'data_batch_{i + 1}', train[i * 100:(i + 1) * 100], 'labels', i)
    write_cifar_batch(folder / 'test_batch', np.repeat(np.arange(10), 10), 'labels', 9)
    monkeypatch.setattr(CIFAR10LT, 'train_list', [[f'data_batch_{i}', None] for i in range(1, 6)])
    monkeypatch.setattr(CIFAR10LT, 'test_list', [['test_batch', None]])
    return str(tmp_path)


def _labels(ds):
    return [ds.get_data_info(i)['gt_label'] for i in range(len(ds))]


def test_train_split_is_long_tailed(cifar10_root):
    ds = DATASETS.build(dict(type='CIFAR10LT', data_root=cifar10_root, split='train',
                             imbalance_factor=10, seed=0, download=False))
    expected = long_tail_counts(50, 10, 10)
    assert isinstance(ds, CIFAR10LT)
    assert len(ds) == sum(expected)
    assert np.bincount(_labels(ds), minlength=10).tolist() == expected
    assert ds.class_counts == expected and ds.metainfo['class_counts'] == expected
    assert ds.metainfo['classes'][0] == 'airplane'
    assert ds.get_data_info(0)['img'].shape == (32, 32, 3)


def test_test_split_stays_balanced_and_carries_training_counts(cifar10_root):
    ds = CIFAR10LT(data_root=cifar10_root, split='test', imbalance_factor=10, download=False)
    assert len(ds) == 100
    assert np.bincount(_labels(ds)).tolist() == [10] * 10
    assert ds.class_counts == long_tail_counts(50, 10, 10)


def test_seed(cifar10_root):
    def imgs(seed):
        ds = CIFAR10LT(data_root=cifar10_root, imbalance_factor=10, seed=seed, download=False)
        return np.stack([ds.get_data_info(i)['img'] for i in range(len(ds))])

    assert np.array_equal(imgs(3), imgs(3))
    assert not np.array_equal(imgs(3), imgs(4))


def test_classes_that_disagree_with_the_data(cifar10_root):
    with pytest.raises(ValueError, match='metainfo lists 3 classes'):
        CIFAR10LT(data_root=cifar10_root, metainfo=dict(classes=('a', 'b', 'c')),
                  download=False)
    with pytest.raises(ValueError, match='class 10 has no image'):
        CIFAR10LT(data_root=cifar10_root, metainfo=dict(classes=tuple(map(str, range(11)))),
                  download=False)
    with pytest.raises(ValueError, match='imbalance_factor must be >= 1'):
        CIFAR10LT(data_root=cifar10_root, imbalance_factor=0.01, download=False)


def test_metric_finds_counts_in_the_test_split_meta(cifar10_root):
    ds = CIFAR10LT(data_root=cifar10_root, split='test', imbalance_factor=10, download=False)
    metric = LongTailAccuracy(tail_k=0)
    metric.dataset_meta = ds.metainfo
    # A model that only ever predicts class 0 (50 training images: medium-shot here).
    metric.process(None, [{'gt_label': torch.tensor([lab]), 'pred_label': torch.tensor([0])}
                          for lab in _labels(ds)])
    res = metric.evaluate(len(ds))
    counts = long_tail_counts(50, 10, 10)
    medium = [c for c in range(10) if 20 <= counts[c] <= 100]
    assert res['lt/top1'] == pytest.approx(10.0)
    assert res['lt/medium'] == pytest.approx(100.0 / len(medium))
    assert 'lt/many' not in res


def test_cifar100lt(tmp_path, monkeypatch):
    folder = tmp_path / CIFAR100LT.base_folder
    folder.mkdir()
    write_cifar_batch(folder / 'train', np.repeat(np.arange(100), 5), 'fine_labels', 0)
    write_cifar_batch(folder / 'test', np.repeat(np.arange(100), 1), 'fine_labels', 1)
    monkeypatch.setattr(CIFAR100LT, 'train_list', [['train', None]])
    monkeypatch.setattr(CIFAR100LT, 'test_list', [['test', None]])
    ds = DATASETS.build(dict(type='CIFAR100LT', data_root=str(tmp_path), imbalance_factor=5,
                             download=False))
    expected = long_tail_counts(5, 100, 5)
    assert expected[0] == 5 and expected[-1] == 1
    assert np.bincount(_labels(ds), minlength=100).tolist() == expected
    test = CIFAR100LT(data_root=str(tmp_path), split='test', imbalance_factor=5, download=False)
    assert len(test) == 100 and test.class_counts == expected


def test_heldout_split_is_balanced_disjoint_and_shares_the_counts(cifar10_root):
    kw = dict(data_root=cifar10_root, imbalance_factor=10, seed=0, download=False,
              heldout_per_class=5)
    train, held, test = (CIFAR10LT(split=s, **kw) for s in ('train', 'heldout', 'test'))
    expected = long_tail_counts(45, 10, 10)  # 50 a class, 5 held out first
    assert train.class_counts == held.class_counts == test.class_counts == expected
    assert np.bincount(_labels(train), minlength=10).tolist() == expected
    assert np.bincount(_labels(held), minlength=10).tolist() == [5] * 10
    assert len(test) == 100  # the test split is untouched
    trained = {train.get_data_info(i)['img'].tobytes() for i in range(len(train))}
    held_imgs = {held.get_data_info(i)['img'].tobytes() for i in range(len(held))}
    test_imgs = {test.get_data_info(i)['img'].tobytes() for i in range(len(test))}
    assert len(held_imgs) == 50 and not held_imgs & trained and not held_imgs & test_imgs
    # without holding out, the reference's subset is unchanged
    assert CIFAR10LT(split='train', **dict(kw, heldout_per_class=0)).class_counts == \
        long_tail_counts(50, 10, 10)


@pytest.mark.parametrize('kwargs, match', [
    (dict(split='heldout'), r"split='heldout' needs heldout_per_class > 0"),
    (dict(split='heldout', heldout_per_class=50), 'too few to hold out heldout_per_class=50'),
    (dict(split='test', heldout_per_class=50), 'too few to hold out heldout_per_class=50'),
    (dict(heldout_per_class=-1), r'heldout_per_class=-1 must be an integer >= 0'),
    (dict(split='val'), r"split='val' must be one of \('train', 'heldout', 'test'\)"),
])
def test_bad_heldout_arguments(cifar10_root, kwargs, match):
    with pytest.raises(ValueError, match=match):
        CIFAR10LT(data_root=cifar10_root, imbalance_factor=10, download=False, **kwargs)


CLASSES10 = ('airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship',
             'truck')


@pytest.fixture
def cifar10_folder_copy(tmp_path, monkeypatch):
    """An image-folder copy (lossless PNG, 20 train / 4 test images a class) and its tarball;
    the decoded arrays are cached under a temporary MMTDE_CACHE."""
    import tarfile

    import cv2
    monkeypatch.setenv('MMTDE_CACHE', str(tmp_path / 'cache'))
    root = tmp_path / 'folder'
    rng = np.random.default_rng(3)
    for split, n in (('train', 20), ('test', 4)):
        for cls in CLASSES10:
            (root / split / cls).mkdir(parents=True)
            for i in range(n):
                img = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
                cv2.imwrite(str(root / split / cls / f'{i:04d}.png'), img)
    packed = tmp_path / 'packed'
    packed.mkdir()
    with tarfile.open(packed / 'cifar10-jpeg.tar.gz', 'w:gz') as tar:
        tar.add(root / 'train', arcname='train')
        tar.add(root / 'test', arcname='test')
    return root, packed


@pytest.mark.parametrize('copy', ['folder', 'tarball'])
def test_cifar10lt_reads_an_image_folder_copy_like_image_folder_lt(cifar10_folder_copy, copy):
    """No official pickles: the same config reads the copy from memory, and gives the images,
    labels and long-tailed subset that ImageFolderLT + LoadImageFromFile give (RGB)."""
    folder, packed = cifar10_folder_copy
    root = str(folder if copy == 'folder' else packed)
    ds = DATASETS.build(dict(type='CIFAR10LT', data_root=root, split='train',
                             imbalance_factor=10, seed=1, download=False))
    ref = DATASETS.build(dict(type='ImageFolderLT', data_root=str(folder), split='train',
                              imbalance_factor=10, seed=1,
                              pipeline=[dict(type='LoadImageFromFile')]))
    assert ds.class_counts == ref.class_counts == long_tail_counts(20, 10, 10)
    assert len(ds) == len(ref)
    for i in range(len(ds)):
        info, want = ds.get_data_info(i), ref[i]
        assert info['gt_label'] == want['gt_label']
        np.testing.assert_array_equal(info['img'], want['img'][..., ::-1])  # cv2 reads BGR
    test = CIFAR10LT(data_root=root, split='test', imbalance_factor=10, seed=1, download=False)
    assert np.bincount(_labels(test)).tolist() == [4] * 10
    assert test.class_counts == ds.class_counts


def test_cifar10lt_decodes_a_copy_once(cifar10_folder_copy, monkeypatch):
    from mmtde.datagen import cifar10 as readers
    folder, _ = cifar10_folder_copy
    first = CIFAR10LT(data_root=str(folder), split='test', imbalance_factor=10, download=False)

    def refuse(root):
        raise AssertionError(f'{root} decoded a second time')
    monkeypatch.setattr(readers, '_from_folder', refuse)
    again = CIFAR10LT(data_root=str(folder), split='test', imbalance_factor=10, download=False)
    np.testing.assert_array_equal(first.get_data_info(7)['img'], again.get_data_info(7)['img'])


def test_cifar10lt_without_any_copy_says_what_to_provide(tmp_path):
    # the host's "specify download=True" would not say which copies the folder may hold
    with pytest.raises(FileNotFoundError, match='and download=False. Expected in that folder: '
                       r'cifar-10-batches-py/ .*cifar10-jpeg\.tar\.gz'):
        CIFAR10LT(data_root=str(tmp_path), split='train', download=False)
