# Copyright (c) mmtde contributors. All rights reserved.
"""LVIS evaluation cases; ``lvis_categories`` and ``tiny_lvis`` are tests/conftest.py's."""
import pytest

from lvis_eval_cases import noisy_predictions
from mmtde.testing.tiny_lvis import make_tiny_lvis


@pytest.fixture(scope='session')
def lvis_384(tmp_path_factory, lvis_categories):
    """12 train / 8 val images of 384 px, 3 objects each of 9 categories, medium and large."""
    return make_tiny_lvis(str(tmp_path_factory.mktemp('lvis_384')), lvis_categories,
                          num_train=12, num_val=8, per_group=3, objects_per_image=3,
                          image_size=384)


@pytest.fixture(scope='session')
def noisy(lvis_384):
    """Mask R-CNN-like predictions on ``lvis_384`` val (see ``noisy_predictions``)."""
    return noisy_predictions(lvis_384['val_ann'])
