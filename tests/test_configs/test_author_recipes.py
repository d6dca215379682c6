# Copyright (c) mmtde contributors. All rights reserved.
"""The classification configs train as the recipes they cite: ImageNet-LT as the authors'
code. The tiny-forward checks are in test_cls_configs.py."""
import os.path as osp

import pytest
from mmengine.registry import DefaultScope

from mmtde.utils import load_config, model_cfg
from mmtde_test_utils import REPO

pytest.importorskip('mmpretrain')
import mmtde.cls  # noqa: E402,F401
from mmpretrain.registry import DATASETS, MODELS  # noqa: E402

IMAGENET_LT = [f'configs/imagenet_lt/resnext50-{m}_8xb64-coslr-90e_imagenet-lt.py'
               for m in ('causalnorm-tde', 'ce')]
JITTER = dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4)


def load(path):
    return load_config(osp.join(REPO, path))


def pipeline_types(loader):
    return [t['type'] for t in loader.dataset.pipeline]


def build(cfg):
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        for loader in (cfg.train_dataloader, cfg.val_dataloader, cfg.test_dataloader):
            assert DATASETS.get(loader.dataset.type) is not None
        return MODELS.build(model_cfg(cfg))  # no init_weights: no download, no big init


@pytest.mark.parametrize('path', IMAGENET_LT)
def test_imagenet_lt_trains_as_the_authors_code(path):
    cfg = load(path)
    # crop, flip, then colour jitter (brightness/contrast/saturation 0.4), Pillow resizing
    train = cfg.train_dataloader.dataset.pipeline
    assert pipeline_types(cfg.train_dataloader) == [
        'LoadImageFromFile', 'RandomResizedCrop', 'RandomFlip', 'ColorJitter', 'PackInputs']
    assert train[3] == JITTER and train[1].backend == 'pillow'
    test = cfg.test_dataloader.dataset.pipeline
    assert (test[1].type, test[1].scale, test[1].backend) == ('ResizeEdge', 256, 'pillow')
    assert cfg.train_dataloader.drop_last  # int(N / 512) steps an epoch
    assert cfg.model.backbone.zero_init_residual is False
    # best epoch on the held-out val list, validated every epoch
    assert cfg.train_cfg.val_interval == 1
    assert cfg.default_hooks.checkpoint.save_best == 'lt/top1'
    assert cfg.default_hooks.checkpoint.rule == 'greater'
    assert cfg.val_dataloader.dataset.ann_file == 'ImageNet_LT_val.txt'
    assert cfg.test_dataloader.dataset.ann_file == 'ImageNet_LT_test.txt'


def test_imagenet_lt_blocks_end_with_bn_weight_one():
    cfg = load(IMAGENET_LT[0])
    model = build(cfg)
    model.init_weights()
    last_bns = [block.norm3.weight for layer in (model.backbone.layer1, model.backbone.layer4)
                for block in layer]
    assert all(bool((w == 1).all()) for w in last_bns)
