# Copyright (c) mmtde contributors. All rights reserved.
"""The classification configs train as the recipes they cite: ImageNet-LT as the authors'
code, Places-LT as OLTR, iNaturalist 2018 as Decoupling. The Places-LT and iNaturalist models
are built, not run (ResNet-152 / 8142 classes): the tiny-forward checks are in
test_cls_configs.py and the datasets' own tests."""
import os.path as osp

import pytest
from mmengine.registry import DefaultScope

from mmtde.utils import load_config, model_cfg
from mmtde_test_utils import REPO

pytest.importorskip('mmpretrain')
from mmpretrain.registry import DATASETS, MODELS  # noqa: E402

import mmtde.cls  # noqa: E402,F401

IMAGENET_LT = [f'configs/imagenet_lt/resnext50-{m}_8xb64-coslr-90e_imagenet-lt.py'
               for m in ('causalnorm-tde', 'ce')]
PLACES_LT = 'configs/places_lt/resnet152-causalnorm-tde_4xb32-step-30e_places-lt.py'
INAT = 'configs/inaturalist2018/resnet50-causalnorm-tde_8xb64-coslr-90e_inaturalist2018.py'
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


def test_places_lt_fine_tunes_an_imagenet_resnet152():
    cfg = load(PLACES_LT)
    model = build(cfg)
    assert cfg.model.backbone.depth == 152
    init = cfg.model.backbone.init_cfg
    assert init.type == 'Pretrained' and 'resnet152_8xb32_in1k' in init.checkpoint
    assert init.prefix == 'backbone'
    head = model.head
    assert type(head).__name__ == 'CausalNormHead' and head.num_classes == 365
    assert cfg.data_preprocessor.num_classes == 365
    assert (cfg.model.head.in_channels, cfg.model.head.alpha) == (2048, 3.0)
    # OLTR's stage 1: 30 epochs, batch 128, lr 0.1 (classifier) / 0.001 (backbone), steps 10/20
    optim = cfg.optim_wrapper
    assert (optim.optimizer.lr, optim.optimizer.momentum, optim.optimizer.weight_decay) == \
        (0.1, 0.9, 5e-4)
    assert optim.paramwise_cfg.custom_keys == {'backbone': dict(lr_mult=0.01)}
    assert cfg.param_scheduler.milestones == [10, 20] and cfg.train_cfg.max_epochs == 30
    assert cfg.train_dataloader.batch_size * 4 == cfg.auto_scale_lr.base_batch_size == 128
    assert cfg.train_dataloader.dataset.pipeline[3] == JITTER
    assert [cfg[f'{s}_dataloader'].dataset.ann_file for s in ('train', 'val', 'test')] == \
        ['Places_LT_train.txt', 'Places_LT_val.txt', 'Places_LT_test.txt']
    assert {cfg[f'{s}_dataloader'].dataset.type for s in ('train', 'val', 'test')} == \
        {'PlacesLT'}
    assert cfg.test_evaluator.type == 'LongTailAccuracy'
    assert cfg.default_hooks.checkpoint.save_best == 'lt/top1'
    assert cfg.custom_hooks == [dict(type='EMAFeatureHook', mu_policy='lr')]


def test_inaturalist2018_trains_as_decoupling():
    cfg = load(INAT)
    model = build(cfg)
    assert cfg.model.backbone.depth == 50 and 'init_cfg' not in cfg.model.backbone
    assert cfg.model.backbone.zero_init_residual is False
    assert model.head.num_classes == cfg.data_preprocessor.num_classes == 8142
    optim = cfg.optim_wrapper.optimizer
    assert (optim.lr, optim.momentum, optim.weight_decay) == (0.2, 0.9, 1e-4)
    assert cfg.param_scheduler.type == 'CosineAnnealingLR' and cfg.train_cfg.max_epochs == 90
    assert cfg.train_dataloader.batch_size * 8 == cfg.auto_scale_lr.base_batch_size == 512
    assert 'ColorJitter' not in pipeline_types(cfg.train_dataloader)
    assert cfg.train_dataloader.drop_last
    prep = cfg.data_preprocessor
    assert [round(v / 255, 3) for v in prep.mean] == [0.466, 0.471, 0.380]
    assert [round(v / 255, 3) for v in prep.std] == [0.195, 0.194, 0.192]
    # no held-out split: no best-epoch selection on the reported val set
    assert 'save_best' not in cfg.default_hooks.checkpoint
    assert cfg.val_dataloader.dataset == cfg.test_dataloader.dataset
    assert cfg.test_dataloader.dataset.type == 'INaturalist2018'
    assert cfg.custom_hooks == [dict(type='EMAFeatureHook', mu_policy='lr')]
