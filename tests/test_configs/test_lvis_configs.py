# Copyright (c) mmtde contributors. All rights reserved.
"""Every LVIS config loads, builds at full size and runs one loss and one predict on 64 px."""
import glob
import os.path as osp

import pytest
import torch
import yaml
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs
from mmengine.config import Config
from mmengine.registry import DefaultScope

from mmtde.functional import MovingAverageFeature
from mmtde_test_utils import REPO

CONFIG_DIR = osp.join(REPO, 'configs', 'lvis')
CONFIGS = sorted(osp.basename(p) for p in glob.glob(osp.join(CONFIG_DIR, '*.py')))
TDE_CONFIGS = [c for c in CONFIGS if 'tde' in c]


@pytest.fixture(autouse=True)
def mmdet_scope():
    """Build in mmdet's registries, not in those of the scope an earlier test left."""
    with DefaultScope.overwrite_default_scope('mmdet'):
        yield


def load(name):
    return Config.fromfile(osp.join(CONFIG_DIR, name))


def bbox_heads(cfg):
    heads = cfg.model.roi_head.bbox_head
    return heads if isinstance(heads, list) else [heads]


def test_the_promised_configs_exist():
    assert {'mask_rcnn_tde.py', 'mask-rcnn_r50_fpn_ms-1x_lvis-v1.py',
            'mask-rcnn_x101-64x4d_fpn_causalnorm-tde_ms-1x_lvis-v1.py',
            'cascade-mask-rcnn_r101_fpn_causalnorm-tde_ms-20e_lvis-v1.py',
            'cascade-mask-rcnn_r101_fpn_ms-20e_lvis-v1.py',
            'mask-rcnn_r50_fpn_causalnorm-tde_ms-2x_lvis-v0.5.py'} <= set(CONFIGS)


@pytest.mark.parametrize('name', CONFIGS)
def test_lvis_settings(name):
    cfg = load(name)
    num_classes = 1230 if 'v0.5' in name else 1203
    assert {h.num_classes for h in bbox_heads(cfg)} == {num_classes}
    mask_heads = cfg.model.roi_head.mask_head
    mask_heads = mask_heads if isinstance(mask_heads, list) else [mask_heads]  # HTC: one a stage
    assert {h.num_classes for h in mask_heads} == {num_classes}
    assert cfg.model.test_cfg.rcnn.max_per_img == 300
    # the authors' HTC config keeps theirs, 1e-5
    assert cfg.model.test_cfg.rcnn.score_thr == (1e-5 if name.startswith('htc') else 1e-4)
    # Instance-balanced: the dataset itself, no ClassBalancedDataset (RFS) wrapper or sampler.
    assert cfg.train_dataloader.dataset.type == ('LVISV05Dataset' if 'v0.5' in name
                                                 else 'LVISV1Dataset')
    assert cfg.train_dataloader.sampler.type == 'DefaultSampler'
    assert cfg.test_evaluator.type == 'StrictLVISMetric'
    assert cfg.test_evaluator.ann_file.endswith('_val.json')
    assert 'mmtde.det' in cfg.custom_imports.imports
    if name in TDE_CONFIGS:
        assert {h.type for h in bbox_heads(cfg)} == {'CausalNormShared2FCBBoxHead'}
        # mu is the head's (paper, LVIS v1); the hook only logs it and cos(x, d)
        assert {(h.alpha, h.mu) for h in bbox_heads(cfg)} == {(1.5, 0.9998)}
        assert cfg.custom_hooks == [dict(type='EMAFeatureHook')]
    if name.startswith('cascade') and name in TDE_CONFIGS:
        assert cfg.model.roi_head.type == 'TDECascadeRoIHead'
    if name.startswith('htc') and name in TDE_CONFIGS:
        assert cfg.model.roi_head.type == 'TDEHybridTaskCascadeRoIHead'


@pytest.mark.parametrize('tde_name, base_name', [
    ('mask_rcnn_tde.py', 'mask-rcnn_r50_fpn_ms-1x_lvis-v1.py'),
    ('cascade-mask-rcnn_r101_fpn_causalnorm-tde_ms-20e_lvis-v1.py',
     'cascade-mask-rcnn_r101_fpn_ms-20e_lvis-v1.py'),
    ('htc-without-semantic_r101_fpn_causalnorm-tde_20e_lvis-v1.py',
     'htc-without-semantic_r101_fpn_20e_lvis-v1.py'),
])
def test_baselines_differ_from_tde_only_in_the_bbox_head(tde_name, base_name):
    tde, base = load(tde_name).to_dict(), load(base_name).to_dict()
    assert tde.pop('custom_hooks') and 'custom_hooks' not in base
    for cfg in (tde, base):
        cfg['model']['roi_head'].pop('bbox_head')
        cfg['model']['roi_head'].pop('type')
    assert tde == base  # same data, schedule, optimiser, test settings


def test_metafile_and_readme_cover_every_config():
    with open(osp.join(CONFIG_DIR, 'metafile.yml')) as f:
        meta = yaml.safe_load(f)
    models = meta['Models']
    assert sorted(m['Name'] + '.py' for m in models) == CONFIGS
    assert all(m['Config'] == f'configs/lvis/{m["Name"]}.py' for m in models)
    with open(osp.join(CONFIG_DIR, 'README.md')) as f:
        readme = f.read()
    assert all(name in readme for name in CONFIGS)


def shrink_proposals(cfg):
    """Few proposals and RoIs: full-size heads, CPU-sized work."""
    cfg.model.test_cfg.rpn.update(nms_pre=50, max_per_img=10)
    cfg.model.test_cfg.rcnn.max_per_img = 5
    cfg.model.train_cfg.rpn_proposal.update(nms_pre=50, max_per_img=10)
    rcnn = cfg.model.train_cfg.rcnn
    for stage in (rcnn if isinstance(rcnn, list) else [rcnn]):
        stage.sampler.num = 16


@pytest.mark.parametrize('name', CONFIGS)
def test_build_and_tiny_forward(name):
    cfg = load(name)
    shrink_proposals(cfg)
    model = MODELS.build(cfg.model)  # no init_weights: it would download pretrained weights
    num_classes = bbox_heads(cfg)[0].num_classes
    features = [m for m in model.modules() if isinstance(m, MovingAverageFeature)]
    assert len(features) == (len(bbox_heads(cfg)) if name in TDE_CONFIGS else 0)
    stages = model.roi_head.bbox_head
    for stage in (stages if isinstance(stages, torch.nn.ModuleList) else [stages]):
        if name in TDE_CONFIGS:  # the paper's K, tau, gamma (the head's defaults), alpha and mu
            fc = stage.fc_cls
            assert (fc.num_head, fc.tau, fc.gamma, fc.alpha, fc.use_tde, fc.feat_ema.mu) == \
                (2, 16.0, 1 / 32, 1.5, True, 0.9998)

    torch.manual_seed(0)
    packed = demo_mm_inputs(2, [(3, 64, 64)] * 2, num_items=[2, 3], num_classes=num_classes,
                            with_mask=True)
    model.train()
    losses = model(**model.data_preprocessor(packed, True), mode='loss')
    total = sum(v.sum() for k, v in losses.items() if 'loss' in k and torch.is_tensor(v))
    assert torch.isfinite(total)
    # Ground-truth boxes join the proposals, so every stage saw foreground and updated its d.
    assert all(int(f.num_updates) == 1 and f.d.abs().sum() > 0 for f in features)
    if len(features) > 1:
        assert not torch.allclose(features[0].d, features[1].d)  # one d per stage

    model.eval()
    with torch.no_grad():
        results = model(**model.data_preprocessor(packed, False), mode='predict')
    for result in results:
        pred = result.pred_instances
        assert 0 < len(pred) <= 5
        assert ((pred.scores >= 0) & (pred.scores <= 1)).all()
        assert pred.masks.shape[1:] == (64, 64)
