# Copyright (c) mmtde contributors. All rights reserved.
import os
import os.path as osp

import pytest

from mmtde.testing.tiny_lvis import CATEGORIES_ENV, make_tiny_lvis
from mmtde_test_utils import shared_data_dir


def lvis_categories_path() -> str:
    """The LVIS v1 category list: $MMTDE_LVIS_CATEGORIES, $MMTDE_DATA_DIR or ../shared/data."""
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
    return make_tiny_lvis(str(tmp_path_factory.mktemp('tiny_lvis')), lvis_categories)


@pytest.fixture(autouse=True)
def mmdet_default_scope():
    """Build in mmdet's registries whatever scope an earlier test's Runner left current."""
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmdet'):
        yield
