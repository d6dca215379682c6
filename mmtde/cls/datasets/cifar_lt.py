# Copyright (c) mmtde contributors. All rights reserved.
"""CIFAR-10-LT and CIFAR-100-LT on top of mmpretrain's official CIFAR datasets."""
import hashlib
import os
import os.path as osp
import pickle
from typing import Callable, List, Optional

import numpy as np
from mmengine import dist
from mmengine.fileio import exists, get, join_path
from mmengine.logging import MMLogger
from mmpretrain.datasets import CIFAR10, CIFAR100
from mmpretrain.registry import DATASETS

from mmtde.datagen.cifar10 import cache_root, find_source, prepare_cifar10

from .long_tail import LongTailMixin, count_labels


def cifar10_cache_dir(source: str) -> str:
    """Where the decoded arrays of the CIFAR-10 copy at ``source`` are kept: under
    ``$MMTDE_CACHE`` (default ``~/.cache/mmtde``), keyed by the copy's path and mtime so that
    another (or a changed) copy is decoded again."""
    source = osp.abspath(source)
    key = hashlib.sha1(f'{source}:{os.stat(source).st_mtime_ns}'.encode()).hexdigest()[:12]
    return osp.join(cache_root(), 'cifar10', key)


def missing_cifar_message(name: str, root: str, expected: str,
                          cause: Optional[BaseException]) -> str:
    """The one error a user sees when a CIFAR data set is neither under ``root`` nor
    downloadable: where we looked, what we expected there, and how to point a config at it.

    Args:
        name (str): The data set's class name, e.g. ``'CIFAR10LT'``.
        root (str): The ``data_root`` that was searched.
        expected (str): What that folder may hold.
        cause (BaseException, optional): Why the host's download failed; None where
            downloading was off (``download=False``).

    Returns:
        str: The message.
    """
    download = ('download=False' if cause is None else
                f'it could not be downloaded there ({type(cause).__name__}: {cause})')
    return (
        f'{name} not found in {osp.abspath(root)!r} (data_root={root!r}), and {download}. '
        f'Expected in that folder: {expected}. Put the data there, or point the configs at '
        f'the folder that holds it: '
        f'MMTDE_DATA_DIR=/path/to/folder (the shipped CIFAR configs read it), or '
        f'--cfg-options train_dataloader.dataset.data_root=DIR '
        f'val_dataloader.dataset.data_root=DIR test_dataloader.dataset.data_root=DIR')


CIFAR10_EXPECTED = ('cifar-10-batches-py/ (the official python version, '
                    'https://www.cs.toronto.edu/~kriz/cifar.html), an image-folder copy '
                    'train/<class>/*.jpg and test/<class>/*.jpg, its tarball cifar10-jpeg.tar.gz, '
                    'or cifar10-uint8.npz')
CIFAR100_EXPECTED = ('cifar-100-python/ (the official python version, '
                     'https://www.cs.toronto.edu/~kriz/cifar.html)')


def load_or_explain(dataset, load: Callable[[], List[dict]], expected: str) -> List[dict]:
    """Run the host's loader; where the data is missing and the host's download fails too
    (offline: a long ``URLError`` traceback), raise one error instead that names the folder,
    the files expected there and how to point a config at them.

    Args:
        dataset: An mmpretrain CIFAR data set (``_check_integrity``, ``data_prefix``).
        load (Callable[[], list[dict]]): The host's ``load_data_list``.
        expected (str): What ``data_root`` may hold, quoted in the error.

    Returns:
        list[dict]: What ``load`` returns.

    Raises:
        FileNotFoundError: The data is neither in ``data_root`` nor downloadable there.
    """
    if dataset._check_integrity():
        return load()
    if not getattr(dataset, 'download', True):
        raise FileNotFoundError(missing_cifar_message(
            type(dataset).__name__, dataset.data_prefix['root'], expected, None))
    try:
        return load()
    except (OSError, RuntimeError, AssertionError) as exc:  # URLError is an OSError
        raise FileNotFoundError(missing_cifar_message(
            type(dataset).__name__, dataset.data_prefix['root'], expected, exc)) from None


class _CIFAR10AnyCopy(CIFAR10):
    """mmpretrain's CIFAR-10, which also reads the copies that are not the official pickles.

    With no official ``cifar-10-batches-py`` under ``data_root`` but an image-folder copy
    (``train/<class>/*.jpg``, ``test/<class>/*.jpg``), its ``cifar10-jpeg.tar.gz`` or a
    ``cifar10-uint8.npz``, the images are decoded once (rank 0 first) into uint8 RGB arrays
    cached by :func:`cifar10_cache_dir` and served from memory exactly as the host serves the
    pickles (HWC RGB, the same configs and data preprocessor), in the copy's sorted file order.
    Without either, the host downloads the official pickles (``download=True``, its default);
    where that fails too, one error names the folder and the copies it may hold.
    """

    def _copy_source(self) -> Optional[str]:
        """The non-official copy to read, or None to leave the data to the host."""
        root = self.data_prefix['root']
        if self._check_integrity():
            return None
        try:
            kind, path = find_source(root)
        except FileNotFoundError:
            return None
        return None if kind == 'official' else path

    def _copy_arrays(self, path: str):
        root, cache = self.data_prefix['root'], cifar10_cache_dir(path)
        if dist.is_main_process():
            prepare_cifar10(root, cache)  # decodes once; the other ranks wait, then read it
        dist.barrier()
        return np.load(prepare_cifar10(root, cache))

    def load_data_list(self) -> List[dict]:
        path = self._copy_source()
        if path is None:
            return load_or_explain(self, super().load_data_list, CIFAR10_EXPECTED)
        split = 'train' if self.split == 'train' else 'test'
        with self._copy_arrays(path) as arrays:
            imgs, labels = arrays[f'{split}_x'], arrays[f'{split}_y']
            self._copy_train_labels = arrays['train_y']
        MMLogger.get_current_instance().info(
            f'{type(self).__name__}: no official cifar-10-batches-py in '
            f'{self.data_prefix["root"]!r}; reading the copy {path} ({len(labels)} {split} '
            f'images, decoded once and cached)')
        return [dict(img=img, gt_label=int(y)) for img, y in zip(imgs, labels)]


class _CIFAR100Checked(CIFAR100):
    """mmpretrain's CIFAR-100, with the error of :func:`load_or_explain` when it is missing."""

    def load_data_list(self) -> List[dict]:
        return load_or_explain(self, super().load_data_list, CIFAR100_EXPECTED)


class _CifarLongTail(LongTailMixin):
    """Shared long-tail plumbing of the two CIFAR datasets (not registered)."""

    def __init__(self,
                 data_root: str = '',
                 split: str = 'train',
                 imbalance_factor: float = 100.,
                 seed: int = 0,
                 n_max: Optional[int] = None,
                 heldout_per_class: int = 0,
                 test_prior: Optional[str] = None,
                 **kwargs) -> None:
        # 'heldout' is read from the training batches: the host's own split says 'train'.
        host_split = self._init_long_tail(imbalance_factor, seed, n_max, heldout_per_class,
                                          split, test_prior)
        super().__init__(data_root=data_root, split=host_split, **kwargs)

    def _train_class_sizes(self) -> Optional[List[int]]:
        copy_labels = getattr(self, '_copy_train_labels', None)  # read from a copy
        if copy_labels is not None:
            return count_labels(copy_labels, len(self._metainfo['classes']))
        # The host checked the integrity of the train and test batches before loading either,
        # so the training labels are at hand for a test split too.
        labels = []
        for file_name, _ in self.train_list:
            path = join_path(self.data_prefix['root'], self.base_folder, file_name)
            if not exists(path):
                return None
            entry = pickle.loads(get(path), encoding='latin1')
            labels.extend(entry['labels'] if 'labels' in entry else entry['fine_labels'])
        return count_labels(labels, len(self._metainfo['classes']))


@DATASETS.register_module()
class CIFAR10LT(_CifarLongTail, _CIFAR10AnyCopy):
    """CIFAR-10-LT: the official CIFAR-10 with its training split cut to a long tail.

    Class ``c`` keeps ``int(n_max * (1 / IF) ** (c / 9))`` training images (5000 ... 50 for
    IF 100, 12,406 in all), chosen by a seeded permutation; the test split stays the balanced
    official one. Both splits carry the training ``class_counts`` in their metainfo. Data is
    read (and with ``download=True`` fetched) by mmpretrain's :class:`CIFAR10`; where
    ``data_root`` holds no official pickles but an image-folder copy, its
    ``cifar10-jpeg.tar.gz`` or a ``cifar10-uint8.npz``, that copy is decoded once, cached and
    served from memory the same way (same config, no per-image decoding).

    Args:
        data_root (str): Folder holding ``cifar-10-batches-py`` (or one of the copies above).
        split (str): ``'train'`` (subsampled), ``'heldout'`` or ``'test'``.
            Defaults to ``'train'``.
        imbalance_factor (float): IF, largest over smallest class, >= 1. Defaults to 100.
        seed (int): Seed of the subset (and of a ``test_prior`` draw); the reference runs
            drew an unseeded one. Defaults to 0.
        n_max (int, optional): Images of class 0. Defaults to the smallest class size (5000,
            or 5000 - heldout_per_class).
        heldout_per_class (int): Training images per class held out (balanced, seeded) before
            the long tail is drawn; the ``'heldout'`` split serves them, for choosing alpha
            without the test set. 0 (default) keeps the reference's subset; 50 gives
            4950 ... 49 at IF 100. Use the same value in every split of one experiment.
        test_prior (str, optional): With ``split='test'``, serve one of the shifted test sets
            of LADE's / SADE's test-agnostic protocol instead of the balanced split:
            ``'forward<IF>'`` keeps ``int(1000 (1/IF) ** (c / 9))`` images of class ``c``
            (head classes first, as in training; IF 50: 1000 ... 20, 2,795 images),
            ``'backward<IF>'`` the same sizes in reverse class order, ``'uniform'`` all; the
            protocol's IF are 50, 25, 10, 5 and 2. Drawn with ``seed`` as SADE's code draws
            them (see :func:`~mmtde.cls.datasets.long_tail.shifted_test_indices`).
            Defaults to None (the balanced test split).
        **kwargs: Passed to :class:`mmpretrain.datasets.CIFAR10` (``download``,
            ``pipeline``, ``metainfo``, ...).

    Attributes:
        class_counts (list[int]): Training images per class after subsampling.
    """


@DATASETS.register_module()
class CIFAR100LT(_CifarLongTail, _CIFAR100Checked):
    """CIFAR-100-LT: the official CIFAR-100 with its training split cut to a long tail.

    Class ``c`` keeps ``int(n_max * (1 / IF) ** (c / 99))`` training images (500 ... 5 for
    IF 100, 10,847 in all); otherwise as :class:`CIFAR10LT`.

    Args:
        data_root (str): Folder holding ``cifar-100-python``.
        split (str): ``'train'`` (subsampled), ``'heldout'`` or ``'test'``.
            Defaults to ``'train'``.
        imbalance_factor (float): IF >= 1. Defaults to 100.
        seed (int): Seed of the subset. Defaults to 0.
        n_max (int, optional): Images of class 0. Defaults to the smallest class size (500).
        heldout_per_class (int): As for :class:`CIFAR10LT` (e.g. 20). Defaults to 0.
        test_prior (str, optional): As for :class:`CIFAR10LT`: ``'forward50'`` keeps
            100, 96, ..., 2 test images (2,486), ``'backward50'`` 2, ..., 100. Defaults to None.
        **kwargs: Passed to :class:`mmpretrain.datasets.CIFAR100`.

    Attributes:
        class_counts (list[int]): Training images per class after subsampling.
    """
