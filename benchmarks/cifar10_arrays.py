# Copyright (c) mmtde contributors. All rights reserved.
"""CIFAR-10 decoded once into uint8 arrays, and a long-tailed in-memory dataset over them.

The benchmarks train several models on the same images, so they decode the data once (from the
official ``cifar-10-batches-py`` pickles, an image-folder copy or its ``cifar10-jpeg.tar.gz``)
into ``cifar10-uint8.npz`` (RGB, N x 32 x 32 x 3, ~180 MB) and serve it from memory: no JPEG is
decoded per epoch, so the CPU (or a GPU's 16 cores) spends its time on the network.

The split, for every method alike:

* ``heldout``: ``heldout_per_class`` training images per class (50), drawn with ``seed`` before
  anything else. This balanced set picks TDE's ``alpha``; it is disjoint from the LT training
  subset and from the official test set.
* ``train``: the CIFAR-10-LT subset drawn by :func:`mmtde.cls.datasets.long_tail_indices` (the
  same seeded draw as ``CIFAR10LT`` / ``ImageFolderLT``) from the remaining
  ``5000 - heldout_per_class`` images per class, so class sizes are
  ``int(4950 * (1 / IF) ** (c / 9))`` (IF 100: 4950 ... 49, 12,280 images).
* ``test``: the official balanced test set (10,000 images).
"""
from typing import List, Tuple

import numpy as np
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS

from mmtde.cls.datasets import LongTailMixin, count_labels

# The readers live in the package (the emoji LVIS generator uses them for backgrounds); the
# names stay importable from here for the benchmark scripts.
from mmtde.datagen.cifar10 import CLASSES, NPZ_NAME, TARBALL, find_source, prepare_cifar10  # noqa: F401

SPLITS = ('train', 'heldout', 'test')


class _ArraysHost(BaseDataset):
    """The unsubsampled list of one split, served from the npz (not registered)."""

    def _arrays(self, split: str) -> Tuple[np.ndarray, np.ndarray]:
        with np.load(self.npz_file) as npz:
            return npz[f'{split}_x'], npz[f'{split}_y']

    def load_data_list(self) -> List[dict]:
        x, y = self._arrays(self.split)
        return [dict(img=x[i], gt_label=int(y[i])) for i in range(len(y))]


@DATASETS.register_module(name='BenchCIFAR10LTArrays')
class CIFAR10LTArrays(LongTailMixin, _ArraysHost):
    """CIFAR-10-LT served from ``cifar10-uint8.npz``, with a balanced held-out split.

    ``train`` is the seeded long-tailed subset of the training images left after holding out
    ``heldout_per_class`` per class; ``heldout`` those held-out images; ``test`` the official
    test set. Every split carries the ``train`` subset's ``class_counts``.

    Args:
        npz_file (str): Made by :func:`prepare_cifar10`.
        split (str): ``'train'``, ``'heldout'`` or ``'test'``. Defaults to ``'train'``.
        imbalance_factor (float): IF >= 1. Defaults to 100.
        seed (int): Seed of the held-out draw and of the LT subset. Defaults to 0.
        heldout_per_class (int): Held-out images per class. Defaults to 50.
        **kwargs: Passed to :class:`mmpretrain.datasets.BaseDataset` (``pipeline``, ...).
    """

    METAINFO = {'classes': CLASSES}

    def __init__(self, npz_file: str, split: str = 'train', imbalance_factor: float = 100.,
                 seed: int = 0, heldout_per_class: int = 50, **kwargs) -> None:
        self.npz_file = npz_file
        # the held-out draw and the LT subset are mmtde's own (LongTailMixin), as in CIFAR10LT
        self.split = self._init_long_tail(imbalance_factor, seed, None, heldout_per_class,
                                          split)
        super().__init__(ann_file='', **kwargs)

    def _train_class_sizes(self) -> List[int]:
        return count_labels(self._arrays('train')[1], len(CLASSES))
