# Copyright (c) mmtde contributors. All rights reserved.
"""The forward / backward long-tailed test sets of LADE's / SADE's protocol."""
import numpy as np
import pytest

from mmtde.cls.datasets import (
    CIFAR10LT,
    TEST_PRIORS,
    ImageFolderLT,
    long_tail_counts,
    parse_test_prior,
    shifted_test_counts,
    shifted_test_indices,
)
from mmtde_test_utils import write_cifar_batch

# SADE's test_all_cifar.py: name -> (imb_factor as SADE writes it, reverse)
SADE_DISTRIBUTIONS = {
    'forward50': (0.02, False), 'forward25': (0.04, False), 'forward10': (0.1, False),
    'forward5': (0.2, False), 'forward2': (0.5, False), 'uniform': (1.0, False),
    'backward2': (0.5, True), 'backward5': (0.2, True), 'backward10': (0.1, True),
    'backward25': (0.04, True), 'backward50': (0.02, True),
}


def sade_counts(img_max, num_classes, imb_factor, reverse):
    """SADE's IMBALANCECIFAR10.get_img_num_per_cls ('exp'), restated."""
    out = []
    for c in range(num_classes):
        exponent = (num_classes - 1 - c) / (num_classes - 1.0) if reverse \
            else c / (num_classes - 1.0)
        out.append(int(img_max * imb_factor**exponent))
    return out


def sade_indices(labels, counts, seed=0):
    """SADE's gen_imbalanced_data, restated on the global numpy generator."""
    state = np.random.get_state()
    try:
        np.random.seed(seed)
        picked = []
        for c, n_c in zip(np.unique(labels), counts):
            idx = np.where(labels == c)[0]
            np.random.shuffle(idx)
            picked.extend(idx[:n_c].tolist())
    finally:
        np.random.set_state(state)
    return sorted(picked)


def test_the_protocol_lists_eleven_sets_from_head_heavy_to_tail_heavy():
    assert TEST_PRIORS == tuple(SADE_DISTRIBUTIONS)


@pytest.mark.parametrize('num_classes, per_class', [(10, 1000), (100, 100)])
@pytest.mark.parametrize('name', list(SADE_DISTRIBUTIONS))
def test_counts_equal_sades(num_classes, per_class, name):
    counts = shifted_test_counts([per_class] * num_classes, name)
    assert counts == sade_counts(per_class, num_classes, *SADE_DISTRIBUTIONS[name])


def test_counts_by_hand():
    # CIFAR-100 forward50: 100 * 0.02 ** (c / 99), rounded down
    counts = shifted_test_counts([100] * 100, 'forward50')
    assert counts[:4] == [100, 96, 92, 88] and counts[-1] == 2 and sum(counts) == 2486
    assert shifted_test_counts([100] * 100, 'backward50') == counts[::-1]
    # CIFAR-10: 1000 ... 20, then inverted
    assert shifted_test_counts([1000] * 10, 'forward50') == \
        [1000, 647, 419, 271, 175, 113, 73, 47, 30, 20]
    assert shifted_test_counts([1000] * 10, 'backward10')[::-1] == \
        long_tail_counts(1000, 10, 10)
    assert shifted_test_counts([7] * 5, 'uniform') == [7] * 5
    assert parse_test_prior('forward2.5') == (2.5, False)
    assert parse_test_prior('backward3') == (3.0, True)


@pytest.mark.parametrize('name', ['forward50', 'backward10', 'uniform', 'backward2'])
def test_indices_are_sades_images(name):
    labels = np.random.default_rng(5).permutation(np.repeat(np.arange(10), 100))
    counts = sade_counts(100, 10, *SADE_DISTRIBUTIONS[name])
    ours = shifted_test_indices(labels, name, seed=0)
    assert ours == sade_indices(labels, counts)
    assert np.bincount(labels[ours], minlength=10).tolist() == counts
    assert ours == shifted_test_indices(labels, name, seed=0)  # deterministic
    if name != 'uniform':
        assert ours != shifted_test_indices(labels, name, seed=1)


@pytest.mark.parametrize('call, match', [
    (lambda: parse_test_prior('sideways5'), r"test_prior='sideways5' is unknown: use "
     r"'uniform', 'forward<IF>' or 'backward<IF>'"),
    (lambda: parse_test_prior('forward0.5'), r"test_prior='forward0.5' is unknown"),
    (lambda: parse_test_prior('forward'), r"test_prior='forward' is unknown"),
    (lambda: shifted_test_counts([100] * 100, 'forward200'),
     r"test_prior='forward200' leaves the rarest test class with no image .* use a test "
     r'imbalance factor <= 100'),
    (lambda: shifted_test_counts([100, 90, 100], 'forward2'),
     r'subsamples a balanced test split, but its classes have 90 to 100 images'),
])
def test_bad_settings(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.fixture
def cifar10_root(tmp_path, monkeypatch):
    """Official layout: 50 training and 100 test images a class (test in shuffled order)."""
    folder = tmp_path / CIFAR10LT.base_folder
    folder.mkdir()
    write_cifar_batch(folder / 'data_batch_1', np.repeat(np.arange(10), 50), 'labels', 0)
    test = np.random.default_rng(1).permutation(np.repeat(np.arange(10), 100))
    write_cifar_batch(folder / 'test_batch', test, 'labels', 1)
    monkeypatch.setattr(CIFAR10LT, 'train_list', [['data_batch_1', None]])
    monkeypatch.setattr(CIFAR10LT, 'test_list', [['test_batch', None]])
    return str(tmp_path)


def _images(ds):
    return [ds.get_data_info(i)['img'].tobytes() for i in range(len(ds))]


@pytest.mark.parametrize('name', ['forward10', 'backward5'])
def test_cifar_test_prior_serves_the_shifted_set(cifar10_root, name):
    kw = dict(data_root=cifar10_root, split='test', imbalance_factor=10, download=False)
    full = CIFAR10LT(**kw)
    shifted = CIFAR10LT(test_prior=name, **kw)
    counts = sade_counts(100, 10, *SADE_DISTRIBUTIONS[name])
    labels = [int(lab) for lab in shifted.get_gt_labels()]
    assert np.bincount(labels, minlength=10).tolist() == counts
    # the many / medium / few groups still follow the training subset
    assert shifted.class_counts == full.class_counts == long_tail_counts(50, 10, 10)
    # the indices the sweep tool takes from cached features select the same images
    full_imgs = _images(full)
    assert [full_imgs[i] for i in full.test_prior_indices(name)] == _images(shifted)
    with pytest.raises(ValueError, match=r"not from split='test' with test_prior="):
        shifted.test_prior_indices('uniform')


def test_image_folder_test_prior(tiny_folder):
    kw = dict(data_root=tiny_folder, split='test', imbalance_factor=4)
    full = ImageFolderLT(**kw)
    shifted = ImageFolderLT(test_prior='backward2', **kw)
    assert np.bincount(shifted.get_gt_labels(), minlength=4).tolist() == [2, 2, 3, 4]
    paths = [full.get_data_info(i)['img_path'] for i in full.test_prior_indices('backward2')]
    assert paths == [shifted.get_data_info(i)['img_path'] for i in range(len(shifted))]


@pytest.mark.parametrize('kwargs, match', [
    (dict(split='train', test_prior='forward10'),
     r"test_prior='forward10' subsamples the balanced test split and needs split='test', got "
     r"split='train'"),
    (dict(split='test', test_prior='forwards10'), r"test_prior='forwards10' is unknown"),
])
def test_bad_dataset_settings(cifar10_root, kwargs, match):
    with pytest.raises(ValueError, match=match):
        CIFAR10LT(data_root=cifar10_root, imbalance_factor=10, download=False, **kwargs)
