# Copyright (c) mmtde contributors. All rights reserved.
"""The authors' LVIS recipe (HTC without semantic branch, R101-FPN) and a tiny HTC trained on CPU.

The recipe is lvis1.0/configs/htc/htc_r101_fpn_20e_causal.py of the authors' repository (on
mmdet 2.4); the tiny run shrinks our config of it to a narrow ResNet-18 on the generated tiny
LVIS v1, trains 4 steps and tests, in seconds.
"""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmtde.functional import MovingAverageFeature

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
HTC_TDE = osp.join(REPO, 'configs', 'lvis',
                   'htc-without-semantic_r101_fpn_causalnorm-tde_20e_lvis-v1.py')


def test_htc_config_is_the_authors_recipe():
    cfg = Config.fromfile(HTC_TDE)
    model = cfg.model
    assert model.type == 'HybridTaskCascade' and 'semantic_head' not in model.roi_head
    assert model.roi_head.interleaved and model.roi_head.mask_info_flow
    assert model.backbone.depth == 101
    assert model.backbone.init_cfg.checkpoint == 'torchvision://resnet101'
    # single scale 1333x800 with flip, no multi-scale resize
    train_types = [t.type for t in cfg.train_dataloader.dataset.pipeline]
    assert train_types == ['LoadImageFromFile', 'LoadAnnotations', 'Resize', 'RandomFlip',
                           'PackDetInputs']
    resize = cfg.train_dataloader.dataset.pipeline[2]
    assert tuple(resize.scale) == (1333, 800) and resize.keep_ratio
    assert cfg.train_dataloader.dataset.pipeline[3].prob == 0.5
    assert tuple(cfg.test_dataloader.dataset.pipeline[1].scale) == (1333, 800)
    # 20 epochs, steps 16 and 19, lr 0.02 for 16 images, 500-iteration warm-up from 0.001
    assert cfg.train_cfg.max_epochs == 20
    warmup, steps = cfg.param_scheduler
    assert (warmup.type, warmup.start_factor, warmup.end, warmup.by_epoch) == \
        ('LinearLR', 0.001, 500, False)
    assert (steps.type, steps.milestones, steps.gamma) == ('MultiStepLR', [16, 19], 0.1)
    assert cfg.optim_wrapper.optimizer == dict(type='SGD', lr=0.02, momentum=0.9,
                                               weight_decay=0.0001)
    assert cfg.optim_wrapper.get('clip_grad') is None  # no gradient clipping in their v1 run
    assert cfg.auto_scale_lr.base_batch_size == 16 and cfg.train_dataloader.batch_size == 2
    # RoI sampler 512 at 0.25 positives in every stage; 2000 / 1000 proposals
    for stage in model.train_cfg.rcnn:
        assert (stage.sampler.num, stage.sampler.pos_fraction) == (512, 0.25)
    assert model.train_cfg.rpn_proposal.max_per_img == 2000
    assert model.test_cfg.rpn.max_per_img == 1000
    assert (model.test_cfg.rcnn.score_thr, model.test_cfg.rcnn.max_per_img) == (1e-5, 300)
    # instance-balanced LVIS v1, no repeat factor sampling
    assert cfg.train_dataloader.dataset.type == 'LVISV1Dataset'
    assert cfg.train_dataloader.sampler.type == 'DefaultSampler'
    assert [h.num_classes for h in model.roi_head.mask_head] == [1203] * 3
    # the authors' mu (their convfc_bbox_head.py) on every stage; the hook only logs
    assert [h.mu for h in model.roi_head.bbox_head] == [0.9998] * 3
    assert cfg.custom_hooks == [dict(type='EMAFeatureHook')]


def shrink(cfg, data_root, work_dir):
    """The HTC config at CPU size: ResNet-18 with 8 base channels, 64 px, 30 proposals."""
    model = cfg.model
    model.backbone.update(depth=18, base_channels=8, init_cfg=None)
    model.neck.update(in_channels=[8, 16, 32, 64], out_channels=16)
    model.rpn_head.update(in_channels=16, feat_channels=16)
    roi = model.roi_head
    roi.bbox_roi_extractor.out_channels = roi.mask_roi_extractor.out_channels = 16
    for head in roi.bbox_head:
        head.update(in_channels=16, fc_out_channels=32)
    for head in roi.mask_head:
        head.update(in_channels=16, conv_out_channels=16)
    model.train_cfg.rpn_proposal.update(nms_pre=200, max_per_img=30)
    # 8 proposals x 1203 classes stay under the 10k boxes above which mmcv runs one NMS a class
    model.test_cfg.rpn.update(nms_pre=200, max_per_img=8)
    model.test_cfg.rcnn.max_per_img = 20
    for loader in (cfg.train_dataloader, cfg.test_dataloader):
        loader.update(num_workers=0, persistent_workers=False)
        loader.dataset.data_root = data_root
        for step in loader.dataset.pipeline:
            if step.type == 'Resize':
                step.scale = (64, 64)
    cfg.train_dataloader.update(batch_size=2, batch_sampler=None,
                                sampler=dict(type='DefaultSampler', shuffle=False))
    cfg.test_evaluator.ann_file = osp.join(data_root, 'annotations', 'lvis_v1_val.json')
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1)
    cfg.default_hooks.update(logger=dict(type='LoggerHook', interval=1),
                             visualization=dict(type='DetVisualizationHook', draw=False))
    cfg.randomness = dict(seed=0)
    cfg.work_dir = work_dir
    return cfg


@pytest.fixture(scope='module')
def trained_htc(tiny_lvis, tmp_path_factory):
    from mmengine.runner import Runner
    cfg = shrink(Config.fromfile(HTC_TDE), tiny_lvis['data_root'],
                 str(tmp_path_factory.mktemp('htc')))
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


def test_tiny_htc_trains_one_d_per_stage(trained_htc):
    features = [m for m in trained_htc.model.modules() if isinstance(m, MovingAverageFeature)]
    assert len(features) == 3
    for feature in features:
        assert int(feature.num_updates) == 4  # 8 images, 2 a step, foreground in every step
        assert feature.mu == 0.9998  # the stage's own, which the bare hook left alone
        assert feature.d.dtype == torch.float32 and torch.isfinite(feature.d).all()
        assert feature.d.norm() > 0
    assert not torch.allclose(features[0].d, features[1].d)


def test_tiny_htc_tests_with_and_without_tde(trained_htc):
    metrics = trained_htc.test()
    for iou_type in ('bbox', 'segm'):
        for key in ('AP', 'APr', 'APc', 'APf'):
            assert 0 <= metrics[f'lvis/{iou_type}_{key}'] <= 1, (iou_type, key)

    model = trained_htc.model
    model.eval()
    batch = next(iter(trained_htc.test_dataloader))
    scores = {}
    for alpha in (1.5, 0.0):
        for head in model.roi_head.bbox_head:
            head.fc_cls.alpha = alpha
        with torch.no_grad():
            results = model.test_step(batch)
        scores[alpha] = torch.cat([r.pred_instances.scores for r in results])
        assert len(scores[alpha]) and ((scores[alpha] >= 0) & (scores[alpha] <= 1)).all()
    assert not torch.equal(scores[1.5], scores[0.0])  # same checkpoint, TDE on and off
