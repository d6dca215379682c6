# Copyright (c) mmtde contributors. All rights reserved.
"""Every Emoji-LVIS config builds, and differs from the baseline only where its method does."""
import glob
import os.path as osp

import pytest

from mmtde_test_utils import REPO

pytest.importorskip('mmdet')

CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs', 'emoji_lvis', '*.py')))
FIRST = osp.join(REPO, 'configs', 'emoji_lvis', 'mask-rcnn_r18-c32_fpn_800i_emoji-lvis.py')
LT = osp.join(REPO, 'configs', 'emoji_lvis', 'faster-rcnn_r18-c32-pre_fpn_1200i_emoji-lvis-lt.py')


def _design(path):
    """The baseline config and class count of the design ``path`` belongs to."""
    return (LT, 50) if path.endswith('_emoji-lvis-lt.py') else (FIRST, 200)


def _load(path):
    from mmtde.utils.prepare_config import load_config
    return load_config(path)


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_builds_and_states_its_method(path):
    import torch
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    import mmtde.det  # noqa: F401
    register_all_modules()
    base_path, n = _design(path)
    cfg, base = _load(path), _load(base_path)
    lt = base_path == LT
    if lt:  # loads the pretrained trunk as mmdet's configs load ImageNet weights
        assert cfg.model.backbone.init_cfg.type == 'Pretrained'
    cfg.model.backbone.init_cfg = base.model.backbone.init_cfg = None  # no trunk file to build
    model = MODELS.build(cfg.model)
    head = model.roi_head.bbox_head
    assert head.num_classes == n
    if lt:  # the LVIS-like design: boxes only, class-agnostic regression, pretrained trunk
        assert not model.roi_head.with_mask and head.reg_class_agnostic
        assert cfg.model.backbone.frozen_stages == 1 and cfg.train_dataloader.dataset.get(
            'min_fill', cfg.train_dataloader.dataset.get('dataset', {}).get('min_fill')) == 0.35
    else:
        assert model.roi_head.mask_head.num_classes == n
    name = osp.basename(path)
    if 'causalnorm' in name:
        assert type(head).__name__ == 'CausalNormShared2FCBBoxHead' and head.fc_cls.alpha == 1.5
        # the paper's LVIS settings, the head's own (mu included: the hook sets none)
        assert (head.fc_cls.num_head, head.fc_cls.tau, head.fc_cls.gamma) == (2, 16.0, 1 / 32)
        assert head.fc_cls.feat_ema.mu == 0.9998
        assert cfg.custom_hooks == [dict(type='EMAFeatureHook')]
    elif 'seesaw' in name:
        assert type(head.loss_cls).__name__ == 'SeesawLoss'
        assert head.fc_cls.out_features == n + 2
    elif 'eqlv2' in name:
        assert type(head.loss_cls).__name__ == 'BBoxHeadEQLV2Loss'
        assert head.fc_cls.out_features == n + 1
        # tested as it trained: sigmoids, foreground scaled by 1 - sigmoid(bg)
        scores = head.loss_cls.get_activation(torch.zeros(2, n + 1))
        assert torch.allclose(scores[:, :-1], torch.full((2, n), 0.25))
    else:
        assert type(head).__name__ == 'Shared2FCBBoxHead'
        assert type(head.loss_cls).__name__ == 'CrossEntropyLoss'
    if 'rfs' in name:
        assert cfg.train_dataloader.dataset.type == 'ClassBalancedDataset'
        assert cfg.train_dataloader.dataset.dataset == base.train_dataloader.dataset
    else:
        assert cfg.train_dataloader == base.train_dataloader
    # the same data, schedule and test settings for every method
    for key in ('train_cfg', 'param_scheduler', 'optim_wrapper', 'test_dataloader',
                'test_evaluator', 'randomness'):
        assert cfg[key] == base[key], key
    assert cfg.model.test_cfg == base.model.test_cfg
    assert cfg.model.backbone == base.model.backbone
