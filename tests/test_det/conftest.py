# Copyright (c) mmtde contributors. All rights reserved.
"""Detection tests; the LVIS fixtures (lvis_categories, tiny_lvis) are in tests/conftest.py."""
import pytest


@pytest.fixture(autouse=True)
def mmdet_default_scope():
    """Build in mmdet's registries whatever scope an earlier test's Runner left current."""
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmdet'):
        yield
