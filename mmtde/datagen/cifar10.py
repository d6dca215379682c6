# Copyright (c) mmtde contributors. All rights reserved.
"""CIFAR-10 read once into uint8 arrays, from whichever copy a user has.

Sources, looked for in this order under a data folder: ``cifar10-uint8.npz`` (made here),
``cifar-10-batches-py/`` (the official python archive), ``train/<class>/*.jpg`` +
``test/<class>/*.jpg`` (an image-folder copy), or ``cifar10-jpeg.tar.gz`` (that copy packed).
Pure numpy / OpenCV: the CIFAR-LT benchmarks and the emoji LVIS generator (backgrounds) share it.
"""
import os
import os.path as osp
import pickle
import tarfile
from typing import Dict, List, Optional, Tuple

import numpy as np

CLASSES = ('airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship',
           'truck')
NPZ_NAME = 'cifar10-uint8.npz'
TARBALL = 'cifar10-jpeg.tar.gz'


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


def cache_root() -> str:
    """mmtde's cache folder: ``$MMTDE_CACHE``, else ``${XDG_CACHE_HOME:-~/.cache}/mmtde`` (the
    same folder ``tools/setup_env.sh`` keeps its mmcv wheels in)."""
    return os.environ.get('MMTDE_CACHE') or osp.join(
        os.environ.get('XDG_CACHE_HOME') or osp.join(osp.expanduser('~'), '.cache'), 'mmtde')


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
