# Copyright (c) mmtde contributors. All rights reserved.
"""Shared fixtures: a tiny long-tailed image folder, tiny configs that inherit ours, the LVIS v1
category list and a tiny LVIS v1 generated from it (detection and LVIS evaluation tests)."""
import os
import os.path as osp

import numpy as np
import pytest

from mmtde_test_utils import TINY_CLASSES, shared_data_dir, tiny_cls_cfg_text


def pytest_configure(config):
    """With ``pytest -n N`` (tools/run_tests.sh), each of the N processes gets its share of the
    CPU cores, for torch in this process and for the scripts the tests start: N processes with a
    thread on every core each would oversubscribe the cores N times over."""
    workers = int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', 0))
    if workers > 1:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') \
            else os.cpu_count() or 1
        threads = str(max(1, cores // workers))
        for var in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
            os.environ.setdefault(var, threads)
        import torch
        torch.set_num_threads(int(os.environ['OMP_NUM_THREADS']))


@pytest.fixture(scope='session')
def tiny_folder(tmp_path_factory):
    """``train/<class>/*.png`` (8 a class) and ``test/<class>/*.png`` (4 a class), 16x16."""
    import cv2
    root = tmp_path_factory.mktemp('tiny_folder')
    rng = np.random.default_rng(0)
    for split, per_class in (('train', 8), ('test', 4)):
        for c, name in enumerate(TINY_CLASSES):
            os.makedirs(root / split / name)
            for i in range(per_class):
                img = rng.integers(0, 60, (16, 16, 3), dtype=np.uint8)
                img[..., c % 3] += np.uint8(120 + 40 * (c // 3))  # a learnable class colour
                cv2.imwrite(str(root / split / name / f'{i:03d}.png'), img)
    return str(root)


@pytest.fixture
def tiny_cls_cfg(tiny_folder, tmp_path):
    path = tmp_path / 'tiny_cls.py'
    path.write_text(tiny_cls_cfg_text(tiny_folder))
    return str(path)


def lvis_categories_path() -> str:
    """The LVIS v1 category list: $MMTDE_LVIS_CATEGORIES, $MMTDE_DATA_DIR or ../shared/data."""
    from mmtde.testing.tiny_lvis import CATEGORIES_ENV
    path = os.environ.get(CATEGORIES_ENV) or osp.join(
        shared_data_dir(), 'lvis_v1_categories.json')
    if not osp.isfile(path):
        pytest.skip(f'no LVIS v1 category list at {path}; set {CATEGORIES_ENV}')
    return path


@pytest.fixture(scope='session')
def lvis_categories():
    """Path of the LVIS v1 category list (the test is skipped without one)."""
    return lvis_categories_path()


@pytest.fixture(scope='session')
def tiny_lvis(tmp_path_factory, lvis_categories):
    """A generated tiny LVIS v1 (8 train / 4 val images of 64 px), shared by the session."""
    from mmtde.testing.tiny_lvis import make_tiny_lvis
    return make_tiny_lvis(str(tmp_path_factory.mktemp('tiny_lvis')), lvis_categories)
