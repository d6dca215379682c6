# Copyright (c) mmtde contributors. All rights reserved.
"""tools/analysis/norcal_gamma_sweep.py and class_rank.py on the tiny Mask R-CNN and tiny LVIS.

The checkpoint is the tiny causal-norm model with random weights and a random ``d`` (these
tests check what the tools compute from a model, not what a trained model scores).
"""
import json
import os.path as osp
import shutil
import sys

import numpy as np
import pytest
import torch

from mmtde_test_utils import REPO, run_cmd

TINY_CFG = osp.join(REPO, 'tests', 'test_det', 'data', 'tiny_mask_rcnn_tde.py')
SWEEP = osp.join(REPO, 'tools', 'analysis', 'norcal_gamma_sweep.py')
RANK = osp.join(REPO, 'tools', 'analysis', 'class_rank.py')


@pytest.fixture(scope='module')
def checkpoint(tiny_lvis, tmp_path_factory):
    import os

    from mmdet.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    import mmtde.det  # noqa: F401
    from mmtde.utils import model_cfg
    os.environ['MMTDE_TINY_LVIS'] = tiny_lvis['data_root']
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(model_cfg(Config.fromfile(TINY_CFG)))
    model.init_weights()
    torch.manual_seed(0)
    fc_cls = model.roi_head.bbox_head.fc_cls
    with torch.no_grad():
        fc_cls.weight.normal_(0, 0.5)
        fc_cls.feat_ema.d.copy_(torch.rand(fc_cls.feat_ema.d.numel()))
        fc_cls.feat_ema.num_updates.fill_(1)
    path = str(tmp_path_factory.mktemp('ckpt') / 'random.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
    return path


def tool_env(tiny_lvis):
    return dict(MMTDE_TINY_LVIS=tiny_lvis['data_root'])


def heldout_copy(tiny_lvis, tmp_path):
    """The val annotations under another name: a held-out split with the val images."""
    path = str(tmp_path / 'lvis_v1_heldout.json')
    shutil.copy(tiny_lvis['val_ann'], path)
    return path


def test_gamma_sweep(tiny_lvis, checkpoint, tmp_path):
    heldout = heldout_copy(tiny_lvis, tmp_path)
    out = run_cmd([sys.executable, SWEEP, TINY_CFG, checkpoint, '--ann-file', heldout,
                   '--count-source', 'categories', '--gammas', '0', '0.5', '1',
                   '--out-dir', str(tmp_path / 'sweep'), '--device', 'cpu',
                   '--cfg-options', 'model.roi_head.bbox_head.alpha=0'],
                  env=tool_env(tiny_lvis))
    result = json.load(open(tmp_path / 'sweep' / 'norcal_gamma_sweep.json'))
    assert [r['gamma'] for r in result['rows']] == [0, 0.5, 1]
    for row in result['rows']:
        assert -1 <= row['bbox_AP'] <= 1 and 'bbox_APr' in row
    best = result['best_gamma']
    assert best == min(r['gamma'] for r in result['rows']
                       if r['bbox_AP'] == max(x['bbox_AP'] for x in result['rows']))
    assert f'at gamma = {best:g}' in out.stdout
    assert result['head'] == 'CausalNormShared2FCBBoxHead' and result['count'] == 'image'


def test_gamma_sweep_refuses_the_test_set_and_bad_gammas(tiny_lvis, checkpoint, tmp_path):
    with pytest.raises(AssertionError, match='is the test set'):
        run_cmd([sys.executable, SWEEP, TINY_CFG, checkpoint, '--ann-file',
                 tiny_lvis['val_ann'], '--out-dir', str(tmp_path)], env=tool_env(tiny_lvis))
    with pytest.raises(AssertionError, match=r'NorCal gamma=-0.5 must be a finite number >= 0'):
        run_cmd([sys.executable, SWEEP, TINY_CFG, checkpoint, '--ann-file',
                 heldout_copy(tiny_lvis, tmp_path), '--count-source', 'categories',
                 '--gammas', '0.5', '-0.5', '--device', 'cpu', '--out-dir', str(tmp_path)],
                env=tool_env(tiny_lvis))


def test_class_rank(tiny_lvis, checkpoint, tmp_path):
    out = run_cmd([sys.executable, RANK, TINY_CFG, checkpoint, '--alphas', '0', '1.5',
                   '--topk', '3', '--out-dir', str(tmp_path), '--device', 'cpu'],
                  env=tool_env(tiny_lvis))
    result = json.load(open(tmp_path / 'class_rank.json'))
    val = json.load(open(tiny_lvis['val_ann']))
    freq = {c['id']: c['frequency'] for c in val['categories']}
    expected = {g: sum(freq[a['category_id']] == g for a in val['annotations'])
                for g in 'rcf'}
    assert set(result['variants']) == {'alpha 0', 'alpha 1.5'}
    for summary in result['variants'].values():
        groups = summary['groups']
        assert {g: groups[g]['boxes'] for g in 'rcf'} == expected
        assert groups['all']['boxes'] == len(val['annotations'])
        for s in groups.values():
            assert 1 <= s['median_rank'] <= 1203 and 0 <= s['top3'] <= 1
            assert sum(s['top_group'].values()) == pytest.approx(1)
    # the random d makes TDE move the scores
    assert result['variants']['alpha 0'] != result['variants']['alpha 1.5']
    assert 'top-3 %' in out.stdout


def test_class_rank_refuses_alphas_for_a_softmax_head(tiny_lvis, checkpoint, tmp_path):
    cfg = tmp_path / 'stock.py'
    cfg.write_text(f"_base_ = [{TINY_CFG!r}]\n"
                   "model = dict(roi_head=dict(bbox_head=dict(_delete_=True, "
                   "type='Shared2FCBBoxHead', in_channels=16, fc_out_channels=32, "
                   "num_classes=1203)))\n")
    with pytest.raises(AssertionError, match='--alphas applies to causal-norm'):
        run_cmd([sys.executable, RANK, str(cfg), checkpoint, '--alphas', '1',
                 '--out-dir', str(tmp_path)], env=tool_env(tiny_lvis))


def test_ground_truth_boxes_follow_the_resize(tiny_lvis, monkeypatch):
    """The rank tool's loader moves boxes with the image (mmdet's test pipeline does not)."""
    from mmengine.config import Config
    from mmengine.runner import Runner

    from mmtde.det.analysis import ground_truth_loader_cfg
    monkeypatch.setenv('MMTDE_TINY_LVIS', tiny_lvis['data_root'])
    cfg = Config.fromfile(TINY_CFG)
    for step in cfg.test_dataloader.dataset.pipeline:
        if step['type'] == 'Resize':
            step['scale'] = (128, 128)  # the 64 px images doubled
    loader = Runner.build_dataloader(ground_truth_loader_cfg(cfg.test_dataloader))
    val = json.load(open(tiny_lvis['val_ann']))
    for data in loader:
        for sample in data['data_samples']:
            anns = [a for a in val['annotations'] if a['image_id'] == sample.img_id]
            xywh = np.array([a['bbox'] for a in anns])
            xyxy = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1) * 2
            boxes = sample.gt_instances.bboxes
            boxes = boxes.tensor if hasattr(boxes, 'tensor') else boxes
            np.testing.assert_allclose(boxes.numpy(), xyxy, atol=1e-3)


def test_tools_test_py_with_norcal_from_the_command_line(tiny_lvis, checkpoint, tmp_path):
    """The documented --cfg-options line, on a checkpoint trained without NorCal."""
    out = run_cmd([sys.executable, osp.join(REPO, 'tools', 'test.py'), TINY_CFG, checkpoint,
                   '--work-dir', str(tmp_path), '--cfg-options',
                   'model.roi_head.type=NorCalRoIHead', 'model.roi_head.norcal.gamma=0.5',
                   f"model.roi_head.norcal.ann_file={tiny_lvis['train_ann']}",
                   'model.roi_head.norcal.source=categories', 'model.roi_head.bbox_head.alpha=0'],
                  env=tool_env(tiny_lvis))
    assert 'lvis/bbox_AP:' in out.stdout + out.stderr


def test_groups_from_training_counts_when_the_file_has_no_frequency(tmp_path):
    from mmtde.det.analysis import class_groups
    cats = [dict(id=i, name=f'k{i}') for i in (1, 2, 3)]
    # class 1 in 11 images (common), class 2 in 10 (rare), class 3 in 101 (frequent)
    anns = [dict(image_id=img, category_id=c) for c, n in ((1, 11), (2, 10), (3, 101))
            for img in range(n)]
    train, val = tmp_path / 'train.json', tmp_path / 'val.json'
    train.write_text(json.dumps(dict(annotations=anns, categories=cats)))
    val.write_text(json.dumps(dict(annotations=[], categories=cats)))
    names, groups, source = class_groups(str(val), str(train), 3)
    assert names == ['k1', 'k2', 'k3'] and groups == ['c', 'r', 'f']
    assert source == f'training images in {train}'
    with pytest.raises(ValueError, match='have no LVIS "frequency": give the training'):
        class_groups(str(val), None, 3)
    with pytest.raises(ValueError, match='lists 3 categories but the model has num_classes=4'):
        class_groups(str(val), str(train), 4)


def test_cache_size_bound(tiny_lvis, monkeypatch):
    from mmdet.registry import MODELS
    from mmengine.config import Config

    from mmtde.det.analysis.norcal_sweep import check_cache_size
    from mmtde.utils import model_cfg
    monkeypatch.setenv('MMTDE_TINY_LVIS', tiny_lvis['data_root'])
    model = MODELS.build(model_cfg(Config.fromfile(TINY_CFG)))
    # 8 proposals an image, 1204 scores + 4 x 1203 class-specific deltas, float32
    expected = 100 * 8 * (1204 + 4 * 1203) * 4 / 1e9
    assert check_cache_size(model, 100, 1.0) == pytest.approx(expected)
    with pytest.raises(ValueError, match=r'takes up to 0.0 GB, above max_cache_gb=0.001'):
        check_cache_size(model, 100, 1e-3)
