# Copyright (c) mmtde contributors. All rights reserved.
import pytest


@pytest.fixture(autouse=True)
def mmpretrain_default_scope():
    """Build in mmpretrain's registries whatever scope an earlier test's Runner left current."""
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        yield
