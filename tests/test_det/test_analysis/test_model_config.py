# Copyright (c) mmtde contributors. All rights reserved.
import os.path as osp

import pytest
from mmengine.registry import DefaultScope

from mmtde.det.analysis import load_model_config
from mmtde_test_utils import REPO

TDE_CFG = osp.join(REPO, 'configs', 'lvis', 'mask_rcnn_tde.py')


@pytest.mark.parametrize('options', [
    {'model.roi_head.bbox_head.alpha': 0.5, 'test_dataloader.batch_size': 3},
    ['model.roi_head.bbox_head.alpha=0.5', 'test_dataloader.batch_size=3'],  # as typed
])
def test_options_merged_and_mmdet_scope_set(options):
    with DefaultScope.overwrite_default_scope('mmpretrain'):  # what a classification run left
        cfg = load_model_config(TDE_CFG, options)
        assert DefaultScope.get_current_instance().scope_name == 'mmdet'
    assert cfg.model.roi_head.bbox_head.alpha == 0.5 and cfg.test_dataloader.batch_size == 3
    assert cfg.model.roi_head.bbox_head.mu == 0.9998  # the rest of the config is the file's


@pytest.mark.parametrize('options', [None, {}, []])
def test_no_options_is_the_file(options):
    cfg = load_model_config(TDE_CFG, options)
    assert cfg.model.roi_head.bbox_head.alpha == 1.5


def test_refuses_one_string():
    with pytest.raises(TypeError, match='list of key=value'):
        load_model_config(TDE_CFG, 'model.roi_head.bbox_head.alpha=0.5')
