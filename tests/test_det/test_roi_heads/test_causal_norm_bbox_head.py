# Copyright (c) mmtde contributors. All rights reserved.
import math

import pytest
import torch
import torch.nn.functional as F
from mmdet.models.task_modules.assigners import AssignResult
from mmdet.models.task_modules.samplers import SamplingResult
from mmdet.registry import MODELS
from mmengine.config import ConfigDict

import mmtde.det  # noqa: F401
from mmtde.functional import causal_norm_logits, tde_logits

C, D, K = 5, 8, 2  # foreground classes, classifier input size, heads
TRAIN_CFG = ConfigDict(pos_weight=-1)


def build_head(**kwargs):
    cfg = dict(type='CausalNormShared2FCBBoxHead', in_channels=3, roi_feat_size=2,
               fc_out_channels=D, num_classes=C)
    cfg.update(kwargs)
    torch.manual_seed(0)  # the same head whatever ran before: results do not depend on order
    head = MODELS.build(cfg)
    head.init_weights()
    return head


def make_ready(head, seed=0):
    """Give the head a usable d, as after training."""
    g = torch.Generator().manual_seed(seed)
    head.fc_cls.feat_ema.d.copy_(torch.rand(D, generator=g) * 10)
    head.fc_cls.feat_ema.num_updates.fill_(1)


def roi_features(n, seed=1):
    return torch.rand(n, 3, 2, 2, generator=torch.Generator().manual_seed(seed))


def classifier_input(head, rois):
    """The post-ReLU feature that fc_cls receives (mmdet's shared fcs)."""
    x = rois.flatten(1)
    for fc in head.shared_fcs:
        x = F.relu(fc(x))
    return x


def sampling_result(labels):
    """mmdet's sampling result of one image.

    Args:
        labels (list[int]): Per RoI, the class of a positive or -1 for a negative; positives
            come first, as mmdet orders them.
    """
    num_pos = sum(label >= 0 for label in labels)
    n = len(labels)
    priors = torch.tensor([[0., 0., 10., 10.]]).repeat(n, 1) + torch.arange(n)[:, None]
    gt_bboxes = priors[:num_pos].clone() if num_pos else torch.zeros(0, 4)
    gt_inds = torch.tensor([i + 1 if i < num_pos else 0 for i in range(n)], dtype=torch.long)
    assign = AssignResult(num_pos, gt_inds, torch.ones(n),
                          torch.tensor([max(label, -1) for label in labels]))
    return SamplingResult(torch.arange(num_pos), torch.arange(num_pos, n), priors, gt_bboxes,
                          assign, torch.zeros(n, dtype=torch.uint8))


def train_step(head, labels):
    """mmdet's train path: forward on the sampled RoIs, then loss_and_target."""
    head.train()
    rois_feat = roi_features(len(labels), seed=len(labels))
    cls_score, bbox_pred = head(rois_feat)
    res = sampling_result(labels)
    rois = torch.cat([torch.zeros(len(labels), 1), res.priors], dim=1)
    out = head.loss_and_target(cls_score, bbox_pred, rois, [res], TRAIN_CFG)
    return rois_feat, cls_score, out


def test_args_are_validated():
    with pytest.raises(ValueError, match='fc_out_channels'):
        build_head(num_head=3)
    with pytest.raises(ValueError, match='tau'):
        build_head(tau=0)
    with pytest.raises(ValueError, match='gamma'):
        build_head(gamma=-0.1)
    with pytest.raises(ValueError, match='alpha'):
        build_head(alpha=-1)
    with pytest.raises(ValueError, match='mu'):
        build_head(mu=1.5)
    head = build_head()
    with pytest.raises(ValueError, match='alpha'):
        head.fc_cls.alpha = float('nan')


@pytest.mark.parametrize('loss_cls', [
    dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
    dict(type='FocalLoss', use_sigmoid=True, loss_weight=1.0),
    dict(type='SeesawLoss', num_classes=C, loss_weight=1.0),
])
def test_only_a_softmax_cross_entropy_is_accepted(loss_cls):
    with pytest.raises(ValueError, match=r"softmax cross-entropy .*loss_cls=dict\(type="
                       r"'CrossEntropyLoss', use_sigmoid=False"):
        build_head(loss_cls=loss_cls)
    build_head(loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0))


def test_classifier_shape_and_init():
    head = build_head()
    w = head.fc_cls.weight
    assert w.shape == (C + 1, D)
    assert not hasattr(head.fc_cls, 'bias')
    assert w.abs().max() <= 1 / math.sqrt(D)
    before = w.detach().clone()
    head.init_weights()  # mmdet's N(0, 0.01) default for fc_cls must not replace it
    assert torch.equal(head.fc_cls.weight, before)
    # d is a persistent float32 buffer: it goes into checkpoints.
    state = head.state_dict()
    assert state['fc_cls.feat_ema.d'].dtype == torch.float32
    assert 'fc_cls.feat_ema.num_updates' in state


def test_train_forward_and_loss_are_causal_norm_and_cross_entropy():
    head = build_head()
    labels = [0, 3, 5, 5, 5]  # two foreground RoIs, three background (label C)
    rois_feat, cls_score, out = train_step(head, [0, 3, -1, -1, -1])
    x = classifier_input(head, rois_feat)
    expected = causal_norm_logits(x, head.fc_cls.weight, K, 16.0, 1 / 32)
    torch.testing.assert_close(cls_score, expected, rtol=0, atol=1e-6)
    assert cls_score.dtype == torch.float32
    torch.testing.assert_close(out['bbox_targets'][0], torch.tensor(labels))
    ce = F.cross_entropy(expected, torch.tensor(labels))
    torch.testing.assert_close(out['loss_bbox']['loss_cls'], ce, rtol=1e-6, atol=1e-6)


def test_d_is_updated_from_foreground_rois_only():
    head = build_head(mu=0.5)
    ema = head.fc_cls.feat_ema
    rois_feat, _, _ = train_step(head, [2, 4, -1, -1])
    x = classifier_input(head, rois_feat)
    torch.testing.assert_close(ema.d, x[:2].mean(0))
    assert int(ema.num_updates) == 1
    d1 = ema.d.clone()
    rois_feat, _, _ = train_step(head, [1, -1, -1])
    x = classifier_input(head, rois_feat)
    torch.testing.assert_close(ema.d, 0.5 * d1 + x[0])
    assert int(ema.num_updates) == 2


@pytest.mark.parametrize('labels', [[-1, -1, -1], []], ids=['all-background', 'no-rois'])
def test_batches_without_foreground_leave_d_unchanged(labels):
    head = build_head()
    make_ready(head)
    ema = head.fc_cls.feat_ema
    d0 = ema.d.clone()
    _, cls_score, out = train_step(head, labels)
    assert cls_score.shape == (len(labels), C + 1)
    assert torch.equal(ema.d, d0) and torch.isfinite(ema.d).all()
    assert int(ema.num_updates) == 1
    assert all(torch.isfinite(v).all() for v in out['loss_bbox'].values())
    # And evaluation on no RoI at all works too.
    head.eval()
    scores, _ = head(roi_features(0))
    assert scores.shape == (0, C + 1)


def test_update_needs_the_features_of_the_same_rois():
    head = build_head()
    head.train()
    head(roi_features(4))
    with pytest.raises(RuntimeError, match='same RoIs'):
        head.fc_cls.update_feature(torch.ones(3, dtype=torch.bool))
    with pytest.raises(RuntimeError, match='none'):  # the stash is consumed once
        head.fc_cls.update_feature(torch.ones(4, dtype=torch.bool))


def expected_probs(head, x, alpha):
    """Background-exempted inference (README, "Method in one screen") written out:
    p = softmax(y), q = softmax(TDE), background exempted."""
    w, d = head.fc_cls.weight, head.fc_cls.feat_ema.d
    # softmax in float64: in float32, 1 - q_bg itself loses digits when q_bg is near 1
    p = causal_norm_logits(x, w, K, 16.0, 1 / 32).double().softmax(-1)
    q = tde_logits(x, w, d, K, 16.0, 1 / 32, alpha).double().softmax(-1)
    fg = (1 - p[:, -1:]) * q[:, :-1] / (1 - q[:, -1:])
    return torch.cat([fg, p[:, -1:]], dim=1).float(), p.float()


@pytest.mark.parametrize('alpha', [1.5, 3.0])
def test_eval_output_is_log_of_background_exempted_tde(alpha):
    head = build_head(alpha=alpha)
    make_ready(head)
    head.eval()
    rois_feat = roi_features(7)
    scores, _ = head(rois_feat)
    probs = scores.softmax(-1)  # what mmdet's predict_by_feat computes
    expected, p = expected_probs(head, classifier_input(head, rois_feat), alpha)
    torch.testing.assert_close(probs, expected, rtol=0, atol=1e-6)
    torch.testing.assert_close(probs[:, -1], p[:, -1], rtol=0, atol=1e-6)  # bg unchanged
    torch.testing.assert_close(probs.sum(-1), torch.ones(7), rtol=0, atol=1e-6)
    # TDE did change how the foreground mass is shared (compared as conditional
    # distributions: with a random head the background may take nearly all of it)
    fg_tde = probs[:, :-1] / probs[:, :-1].sum(-1, keepdim=True)
    fg_plain = p[:, :-1] / p[:, :-1].sum(-1, keepdim=True)
    assert (fg_tde - fg_plain).abs().max() > 1e-3


def test_predict_by_feat_scores_are_the_intended_probabilities():
    head = build_head()
    make_ready(head)
    head.eval()
    rois_feat = roi_features(6)
    scores, deltas = head(rois_feat)
    rois = torch.cat([torch.zeros(6, 1), sampling_result([-1] * 6).priors], dim=1)
    meta = dict(img_shape=(32, 32), scale_factor=(1.0, 1.0))
    # rcnn_test_cfg=None: mmdet returns its softmax scores of every RoI without NMS.
    result = head.predict_by_feat((rois,), (scores,), (deltas,), [meta], rcnn_test_cfg=None)[0]
    expected, _ = expected_probs(head, classifier_input(head, rois_feat), 1.5)
    torch.testing.assert_close(result.scores, expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize('off', [dict(alpha=0), dict(use_tde=False)], ids=['alpha=0', 'no-tde'])
def test_tde_off_gives_causal_norm_softmax(off):
    head = build_head(**off)  # d is never needed: no moving average, no error
    head.eval()
    rois_feat = roi_features(5)
    scores, _ = head(rois_feat)
    plain = causal_norm_logits(classifier_input(head, rois_feat), head.fc_cls.weight, K, 16.0,
                               1 / 32)
    torch.testing.assert_close(scores.softmax(-1), plain.softmax(-1), rtol=0, atol=1e-6)


def test_tde_without_d_raises_a_clear_error():
    head = build_head()
    head.eval()
    with pytest.raises(RuntimeError, match='no usable moving-average feature d'):
        head(roi_features(2))


def test_checkpoint_round_trip_gives_identical_predictions(tmp_path):
    head = build_head()
    train_step(head, [1, 2, -1])
    head.eval()
    rois_feat = roi_features(4)
    before = head(rois_feat)[0]
    torch.save(head.state_dict(), tmp_path / 'head.pth')
    fresh = build_head()
    assert not fresh.fc_cls.feat_ema.is_ready()
    fresh.load_state_dict(torch.load(tmp_path / 'head.pth', weights_only=True))
    fresh.eval()
    assert int(fresh.fc_cls.feat_ema.num_updates) == 1
    assert torch.equal(fresh(rois_feat)[0], before)


def test_d_stays_float32_under_autocast_and_half():
    head = build_head()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        _, cls_score, _ = train_step(head, [0, -1])
    assert cls_score.dtype == torch.float32
    head.half()
    assert head.fc_cls.feat_ema.d.dtype == torch.float32
