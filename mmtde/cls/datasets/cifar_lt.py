# Copyright (c) mmtde contributors. All rights reserved.
"""CIFAR-10-LT and CIFAR-100-LT on top of mmpretrain's official CIFAR datasets."""
import pickle
from typing import List, Optional

from mmengine.fileio import exists, get, join_path
from mmpretrain.datasets import CIFAR10, CIFAR100
from mmpretrain.registry import DATASETS

from .long_tail import LongTailMixin, count_labels


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
class CIFAR10LT(_CifarLongTail, CIFAR10):
    """CIFAR-10-LT: the official CIFAR-10 with its training split cut to a long tail.

    Class ``c`` keeps ``int(n_max * (1 / IF) ** (c / 9))`` training images (5000 ... 50 for
    IF 100, 12,406 in all), chosen by a seeded permutation; the test split stays the balanced
    official one. Both splits carry the training ``class_counts`` in their metainfo. Data is
    read (and with ``download=True`` fetched) by mmpretrain's :class:`CIFAR10`.

    Args:
        data_root (str): Folder holding ``cifar-10-batches-py``.
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
class CIFAR100LT(_CifarLongTail, CIFAR100):
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
