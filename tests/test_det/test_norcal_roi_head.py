# Copyright (c) mmtde contributors. All rights reserved.
"""NorCalRoIHead on the tiny Mask R-CNN: a config delta on a trained model, no retraining.

The tiny models are random (spread-out classifier weights, so that scores differ between
classes); what is checked is that the detections are NorCal's probabilities of the model's
own RoI scores, restated by hand, for a stock softmax head and the causal-norm head at alpha 0.
"""
import copy
import os.path as osp

import numpy as np
import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures.bbox import bbox2roi
from mmengine.config import Config
from mmengine.runner import Runner

from mmtde.det.analysis import cache_roi_outputs, predict_from_cache
from mmtde.det.roi_heads import NorCalRoIHead
from mmtde.functional.norcal import norcal_log_probs
from mmtde.utils import model_cfg

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_CFG = osp.join(REPO, 'tests', 'test_det', 'data', 'tiny_mask_rcnn_tde.py')
NUM_CLASSES = 1203
CAUSAL_NORM_ONLY = ('num_head', 'tau', 'gamma', 'alpha', 'use_tde', 'mu')


def tiny_cfg(tiny_lvis, monkeypatch, head: str) -> Config:
    """The tiny Mask R-CNN with a stock ``Shared2FCBBoxHead`` or the causal-norm head."""
    monkeypatch.setenv('MMTDE_TINY_LVIS', tiny_lvis['data_root'])
    cfg = Config.fromfile(TINY_CFG)
    if head == 'stock':
        bbox_head = cfg.model.roi_head.bbox_head
        for key in CAUSAL_NORM_ONLY:
            bbox_head.pop(key, None)
        bbox_head.type = 'Shared2FCBBoxHead'
        cfg.custom_hooks = []
    else:
        cfg.model.roi_head.bbox_head.alpha = 0.0  # De-confound
    return cfg


def boxes_only(cfg: Config) -> Config:
    """Faster R-CNN: boxes rescaled by the bbox head, no mask branch."""
    for key in ('mask_head', 'mask_roi_extractor'):
        cfg.model.roi_head.pop(key)
    return cfg


def counts_for_test() -> list:
    return np.random.default_rng(0).integers(1, 5000, NUM_CLASSES).tolist()


def with_norcal(cfg: Config, gamma: float, **norcal) -> Config:
    cfg = copy.deepcopy(cfg)
    cfg.model.roi_head.type = 'NorCalRoIHead'
    cfg.model.roi_head.norcal = dict(gamma=gamma, **norcal)
    return cfg


def build(cfg: Config, state=None):
    model = MODELS.build(model_cfg(cfg))
    if state is None:
        model.init_weights()
        torch.manual_seed(0)
        with torch.no_grad():  # spread the class scores of the random model
            fc_cls = model.roi_head.bbox_head.fc_cls
            fc_cls.weight.normal_(0, 0.5)
    else:
        model.load_state_dict(state, strict=True)
    return model.eval()


def first_batch(cfg: Config):
    loader = Runner.build_dataloader(cfg.test_dataloader)
    return next(iter(loader))


@pytest.mark.parametrize('head', ['stock', 'causal_norm'])
def test_detections_are_norcal_of_the_models_own_scores(tiny_lvis, monkeypatch, head):
    cfg = boxes_only(tiny_cfg(tiny_lvis, monkeypatch, head))
    # keep every (RoI, class) pair as a detection: no threshold, NMS that suppresses nothing
    cfg.model.test_cfg.rcnn = dict(score_thr=0.0, nms=dict(type='nms', iou_threshold=1.0),
                                   max_per_img=100000)
    plain = build(cfg)
    counts, gamma = counts_for_test(), 0.7
    norcal = build(with_norcal(cfg, gamma, class_counts=counts), plain.state_dict())
    assert isinstance(norcal.roi_head, NorCalRoIHead)
    assert 'roi_head.norcal_counts' not in norcal.state_dict()  # checkpoints stay mmdet's
    data = first_batch(cfg)
    with torch.no_grad():
        out = norcal.test_step(data)[0].pred_instances
        # the plain model's RoI scores, restated: exp(z), foreground / n ** gamma, normalised
        batch = plain.data_preprocessor(data, False)
        x = plain.extract_feat(batch['inputs'])
        proposals = plain.rpn_head.predict(x, batch['data_samples'], rescale=False)
        # image 0 of the batch: its rois carry batch index 0
        z = plain.roi_head._bbox_forward(x, bbox2roi([proposals[0].bboxes]))
    e = np.exp(z['cls_score'].double().numpy())
    e[:, :-1] /= np.asarray(counts, dtype=np.float64)**gamma
    q = e / e.sum(axis=1, keepdims=True)
    assert len(out.scores) == q[:, :-1].size
    np.testing.assert_allclose(np.sort(out.scores.numpy()), np.sort(q[:, :-1].ravel()),
                               rtol=2e-5, atol=1e-9)
    with torch.no_grad():
        before = plain.test_step(data)[0].pred_instances
    assert not np.allclose(np.sort(before.scores.numpy()), np.sort(out.scores.numpy()))


@pytest.mark.parametrize('head', ['stock', 'causal_norm'])
def test_cached_sweep_predicts_what_the_norcal_model_detects(tiny_lvis, monkeypatch, head):
    cfg = boxes_only(tiny_cfg(tiny_lvis, monkeypatch, head))
    plain = build(cfg)
    counts, gamma = counts_for_test(), 0.4
    norcal = build(with_norcal(cfg, gamma, class_counts=counts), plain.state_dict())
    loader = Runner.build_dataloader(cfg.test_dataloader)
    cache = cache_roi_outputs(plain, loader, progress=False)
    swept = predict_from_cache(
        plain.roi_head, cache,
        lambda s: norcal_log_probs(s, torch.tensor(counts, dtype=torch.float64), gamma))
    assert len(swept) == len(loader.dataset) == 4
    with torch.no_grad():
        tested = [s.pred_instances for data in loader for s in norcal.test_step(data)]
    for a, b in zip(swept, tested):
        assert len(a.scores) == len(b.scores) > 0
        assert torch.allclose(a.scores, b.scores, rtol=1e-5)
        assert torch.equal(a.labels, b.labels)
        assert torch.allclose(a.bboxes, b.bboxes, atol=1e-3)


def test_enabled_from_cfg_options_with_the_training_file(tiny_lvis, monkeypatch):
    cfg = tiny_cfg(tiny_lvis, monkeypatch, 'causal_norm')
    # what --cfg-options model.roi_head.type=NorCalRoIHead ... does
    cfg.merge_from_dict({'model.roi_head.type': 'NorCalRoIHead',
                         'model.roi_head.norcal.gamma': 0.5,
                         'model.roi_head.norcal.ann_file': tiny_lvis['train_ann'],
                         'model.roi_head.norcal.source': 'categories'})
    model = MODELS.build(model_cfg(cfg))
    # the tiny set copies LVIS's categories: their image_count is LVIS v1's own
    import json
    cats = json.load(open(tiny_lvis['train_ann']))['categories']
    assert model.roi_head.norcal_counts.tolist() == [float(c['image_count']) for c in cats]
    assert model.roi_head.norcal_gamma == 0.5


@pytest.mark.parametrize('norcal, match', [
    (dict(gamma=0, class_counts=[1] * NUM_CLASSES), r'gamma=0 must be a finite number > 0'),
    (dict(gamma=float('nan'), class_counts=[1] * NUM_CLASSES), 'gamma=nan'),
    (dict(gamma=0.5, class_counts=[1] * 80), 'gives 80 class counts but the model has '
     'num_classes=1203'),
    (dict(gamma=0.5, class_counts=[0] + [1] * (NUM_CLASSES - 1)), 'class 0 has count 0'),
    (dict(gamma=0.5), 'exactly one of ann_file'),
    (dict(gamma=0.5, class_counts=[1] * NUM_CLASSES, temperature=2), "unknown keys"),
    (None, 'must be a dict with gamma and ann_file'),
])
def test_bad_settings(tiny_lvis, monkeypatch, norcal, match):
    cfg = tiny_cfg(tiny_lvis, monkeypatch, 'stock')
    cfg.model.roi_head.type = 'NorCalRoIHead'
    cfg.model.roi_head.norcal = norcal
    with pytest.raises(ValueError, match=match):
        MODELS.build(model_cfg(cfg))


def test_class_never_annotated_in_the_training_file(tiny_lvis, monkeypatch):
    # the tiny training set annotates 6 of the 1203 categories
    cfg = with_norcal(tiny_cfg(tiny_lvis, monkeypatch, 'stock'), 0.5,
                      ann_file=tiny_lvis['train_ann'])
    with pytest.raises(ValueError, match=r'class 0 has count 0 in image counts of .*'
                       r'lvis_v1_train.json \(1197 classes below 1\)'):
        MODELS.build(model_cfg(cfg))


def test_sigmoid_head_refused(tiny_lvis, monkeypatch):
    cfg = with_norcal(tiny_cfg(tiny_lvis, monkeypatch, 'stock'), 0.5,
                      class_counts=[1] * NUM_CLASSES)
    cfg.model.roi_head.bbox_head.loss_cls = dict(type='CrossEntropyLoss', use_sigmoid=True)
    with pytest.raises(ValueError, match='needs a bbox head with a softmax'):
        MODELS.build(model_cfg(cfg))
