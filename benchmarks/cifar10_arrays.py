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
import os
import os.path as osp
import pickle
import tarfile
from typing import Dict, List, Optional, Tuple

import numpy as np
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS

from mmtde.cls.datasets import LongTailMixin, count_labels

CLASSES = ('airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship',
           'truck')
NPZ_NAME = 'cifar10-uint8.npz'
TARBALL = 'cifar10-jpeg.tar.gz'
SPLITS = ('train', 'heldout', 'test')


def _decode(buffer: bytes) -> np.ndarray:
    """JPEG/PNG bytes -> RGB uint8 (H, W, 3), decoded by OpenCV like mmcv's LoadImageFromFile."""
    import cv2
    img = cv2.imdecode(np.frombuffer(buffer, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError('an image of the CIFAR-10 copy could not be decoded')
    return img[..., ::-1]


def _stack(items: List[Tuple[str, int, np.ndarray]]) -> Tuple[np.ndarray, np.ndarray]:
    items.sort(key=lambda t: t[0])  # a fixed order, whatever order the folder/tar lists
    return (np.stack([t[2] for t in items]).astype(np.uint8),
            np.array([t[1] for t in items], np.int64))


def _from_tarball(path: str) -> Dict[str, np.ndarray]:
    found = {'train': [], 'test': []}
    with tarfile.open(path) as tar:
        for member in tar:
            parts = member.name.strip('./').split('/')
            if not member.isfile() or len(parts) < 3 or parts[-3] not in found:
                continue
            split, cls = parts[-3], parts[-2]
            if cls not in CLASSES:
                raise ValueError(f'{path}: unknown class folder {cls!r} in {member.name}')
            found[split].append((member.name, CLASSES.index(cls),
                                 _decode(tar.extractfile(member).read())))
    return _pack(found, path)


def _from_folder(root: str) -> Dict[str, np.ndarray]:
    found = {'train': [], 'test': []}
    for split in found:
        for label, cls in enumerate(CLASSES):
            folder = osp.join(root, split, cls)
            for name in os.listdir(folder):
                with open(osp.join(folder, name), 'rb') as f:
                    found[split].append((osp.join(split, cls, name), label, _decode(f.read())))
    return _pack(found, root)


def _from_official(root: str) -> Dict[str, np.ndarray]:
    base = osp.join(root, 'cifar-10-batches-py')
    arrays = {}
    for split, files in (('train', [f'data_batch_{i}' for i in range(1, 6)]),
                         ('test', ['test_batch'])):
        xs, ys = [], []
        for name in files:
            with open(osp.join(base, name), 'rb') as f:
                entry = pickle.load(f, encoding='latin1')
            xs.append(np.asarray(entry['data'], np.uint8).reshape(-1, 3, 32, 32))
            ys.extend(entry['labels'])
        arrays[f'{split}_x'] = np.concatenate(xs).transpose(0, 2, 3, 1).copy()
        arrays[f'{split}_y'] = np.asarray(ys, np.int64)
    return arrays


def _pack(found: dict, source: str) -> Dict[str, np.ndarray]:
    arrays = {}
    for split, items in found.items():
        if not items:
            raise FileNotFoundError(f'{source} has no {split}/<class>/<image> files')
        arrays[f'{split}_x'], arrays[f'{split}_y'] = _stack(items)
    return arrays


def find_source(data_dir: Optional[str]) -> Tuple[str, str]:
    """Where CIFAR-10 is under ``data_dir``: ``(kind, path)`` with kind in
    ``npz`` / ``official`` / ``folder`` / ``tarball``."""
    if not data_dir or not osp.isdir(data_dir):
        raise FileNotFoundError(
            f'CIFAR-10 data dir {data_dir!r} not found. Pass --data-dir DIR (or set '
            f'MMTDE_DATA_DIR=DIR) where DIR holds one of: {NPZ_NAME} (made by this script), '
            f'cifar-10-batches-py/ (the official python archive, '
            f'https://www.cs.toronto.edu/~kriz/cifar.html), {TARBALL}, or train/<class>/*.jpg '
            f'and test/<class>/*.jpg')
    candidates = (('npz', osp.join(data_dir, NPZ_NAME)),
                  ('official', osp.join(data_dir, 'cifar-10-batches-py', 'test_batch')),
                  ('folder', osp.join(data_dir, 'train', 'airplane')),
                  ('tarball', osp.join(data_dir, TARBALL)))
    for kind, path in candidates:
        if osp.exists(path):
            return kind, (path if kind in ('npz', 'tarball') else data_dir)
    return find_source(None if data_dir is None else data_dir + '/<nothing usable>')


def prepare_cifar10(data_dir: Optional[str], cache_dir: str) -> str:
    """Path of ``cifar10-uint8.npz``: found in ``cache_dir`` or ``data_dir``, else decoded once
    from what ``data_dir`` holds and written to ``cache_dir``.

    The file holds ``train_x`` (50000, 32, 32, 3) uint8 RGB, ``train_y`` (50000,) int64, and
    ``test_x`` / ``test_y`` likewise (10000 images).
    """
    cache = osp.join(cache_dir, NPZ_NAME)
    if osp.isfile(cache):
        return cache
    kind, path = find_source(data_dir)
    if kind == 'npz':
        return path
    print(f'[data] decoding CIFAR-10 ({kind}) from {path} once into {cache}', flush=True)
    arrays = {'official': _from_official, 'folder': _from_folder,
              'tarball': _from_tarball}[kind](path)
    for split, n in (('train', 50000), ('test', 10000)):
        if arrays[f'{split}_x'].shape[1:] != (32, 32, 3):
            raise ValueError(f'{path}: {split} images have shape '
                             f'{arrays[split + "_x"].shape[1:]}, expected (32, 32, 3)')
        if len(arrays[f'{split}_y']) != n:
            print(f'[data] note: {split} has {len(arrays[split + "_y"])} images, not {n}')
    os.makedirs(cache_dir, exist_ok=True)
    np.savez(cache + '.tmp.npz', **arrays)
    os.replace(cache + '.tmp.npz', cache)
    return cache


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
