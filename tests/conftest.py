# Copyright (c) mmtde contributors. All rights reserved.
"""Shared fixtures: a tiny long-tailed image folder and tiny configs that inherit ours."""
import os

import numpy as np
import pytest

from mmtde_test_utils import TINY_CLASSES, tiny_cls_cfg_text


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
