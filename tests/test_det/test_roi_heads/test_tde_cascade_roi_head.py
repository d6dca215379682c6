# Copyright (c) mmtde contributors. All rights reserved.
import pytest
import torch
from mmdet.registry import MODELS
from mmengine.structures import InstanceData

import mmtde.det  # noqa: F401

C, D = 5, 8
STAGE_STDS = [[0.1, 0.1, 0.2, 0.2], [0.05, 0.05, 0.1, 0.1], [0.033, 0.033, 0.067, 0.067]]


def build_roi_head(roi_head_type='TDECascadeRoIHead', bbox_head_type='CausalNormShared2FCBBoxHead',
                   **head_kwargs):
    heads = [
        dict(type=bbox_head_type, in_channels=4, fc_out_channels=D, roi_feat_size=7,
             num_classes=C, reg_class_agnostic=True,
             bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.] * 4, target_stds=s),
             **head_kwargs) for s in STAGE_STDS
    ]
    head = MODELS.build(dict(
        type=roi_head_type, num_stages=3, stage_loss_weights=[1, 0.5, 0.25],
        bbox_roi_extractor=dict(
            type='SingleRoIExtractor', out_channels=4, featmap_strides=[4],
            roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0)),
        bbox_head=heads))
    head.init_weights()
    return head


def make_stages_ready(roi_head):
    for stage, bbox_head in enumerate(roi_head.bbox_head):
        g = torch.Generator().manual_seed(stage)
        bbox_head.fc_cls.feat_ema.d.copy_(torch.rand(D, generator=g) * 10)
        bbox_head.fc_cls.feat_ema.num_updates.fill_(1)


def inputs(num_rois=6):
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(1, 4, 16, 16, generator=g), )
    xy = torch.rand(num_rois, 2, generator=g) * 30
    boxes = torch.cat([xy, xy + 8 + torch.rand(num_rois, 2, generator=g) * 20], dim=1)
    metas = [dict(img_shape=(64, 64), scale_factor=(1.0, 1.0))]
    return x, metas, [InstanceData(bboxes=boxes)]


def predict_scores(roi_head, num_rois=6):
    """Scores of every RoI from the last stage's predict_by_feat, and each stage's raw output."""
    outputs = []
    hooks = [h.register_forward_hook(lambda m, i, o: outputs.append(o[0].detach()))
             for h in roi_head.bbox_head]
    x, metas, proposals = inputs(num_rois)
    with torch.no_grad():
        # rcnn_test_cfg=None: predict_by_feat returns the softmax scores without NMS.
        results = roi_head.predict_bbox(x, metas, proposals, rcnn_test_cfg=None)
    for hook in hooks:
        hook.remove()
    return results[0].scores, outputs


def assert_mean_of_stage_probabilities(roi_head):
    """Predict with ready TDE stages; the scores must be the mean of the stage softmaxes."""
    make_stages_ready(roi_head)
    roi_head.eval()
    scores, stage_outputs = predict_scores(roi_head)
    assert len(stage_outputs) == 3
    expected = torch.stack([out.softmax(-1) for out in stage_outputs]).mean(0)
    torch.testing.assert_close(scores, expected, rtol=0, atol=1e-6)
    torch.testing.assert_close(scores.sum(-1), torch.ones(len(scores)), rtol=0, atol=1e-6)
    return scores, stage_outputs


def test_final_scores_are_the_mean_of_stage_probabilities():
    roi_head = build_roi_head()
    scores, stage_outputs = assert_mean_of_stage_probabilities(roi_head)
    # Each stage used its own d: the stage outputs are background-exempted log-probabilities.
    assert all(torch.allclose(out.exp().sum(-1), torch.ones(len(out)), atol=1e-5)
               for out in stage_outputs)

    # mmdet's own CascadeRoIHead on the same weights scores softmax(mean of stage outputs),
    # a normalised geometric mean of the probabilities: a different (unintended) number.
    stock = build_roi_head('CascadeRoIHead')
    stock.load_state_dict(roi_head.state_dict())
    stock.eval()
    stock_scores, stock_outputs = predict_scores(stock)
    for ours, theirs in zip(stage_outputs, stock_outputs):
        torch.testing.assert_close(ours, theirs)  # same refinement, same stage outputs
    torch.testing.assert_close(stock_scores, torch.stack(stock_outputs).mean(0).softmax(-1))
    assert not torch.allclose(stock_scores, scores, atol=1e-4)


def test_stock_heads_get_the_mean_of_their_softmax():
    roi_head = build_roi_head(bbox_head_type='Shared2FCBBoxHead')
    roi_head.eval()
    scores, stage_outputs = predict_scores(roi_head)
    expected = torch.stack([out.softmax(-1) for out in stage_outputs]).mean(0)
    torch.testing.assert_close(scores, expected, rtol=0, atol=1e-6)


def test_no_proposals():
    roi_head = build_roi_head()
    make_stages_ready(roi_head)
    roi_head.eval()
    scores, _ = predict_scores(roi_head, num_rois=0)
    assert scores.shape[0] == 0


def test_stage_scores_are_probabilities_only_inside_refinement():
    roi_head = build_roi_head()
    make_stages_ready(roi_head)
    roi_head.eval()
    x, _, proposals = inputs()
    rois = torch.cat([torch.zeros(6, 1), proposals[0].bboxes], dim=1)
    out = roi_head._bbox_forward(0, x, rois)['cls_score']
    # log-probabilities, as returned to mmdet (which applies its own softmax)
    assert (out <= 0).all()
    torch.testing.assert_close(out.exp().sum(-1), torch.ones(6), rtol=0, atol=1e-5)
    torch.testing.assert_close(out.softmax(-1), out.exp(), rtol=0, atol=1e-6)


def test_custom_activation_heads_are_refused():
    with pytest.raises(ValueError, match='custom activation'):
        build_roi_head(bbox_head_type='Shared2FCBBoxHead',
                       loss_cls=dict(type='SeesawLoss', num_classes=C))


def test_each_stage_uses_its_own_d():
    roi_head = build_roi_head()
    make_stages_ready(roi_head)
    roi_head.eval()
    _, before = predict_scores(roi_head)
    # only stage 1's d changes (to another direction: TDE is invariant to the sign of d)
    roi_head.bbox_head[1].fc_cls.feat_ema.d.copy_(
        torch.rand(D, generator=torch.Generator().manual_seed(9)) * 10)
    _, after = predict_scores(roi_head)
    # class-agnostic regression: the boxes that reach stage 2 do not depend on the scores
    torch.testing.assert_close(after[0], before[0], rtol=0, atol=0)
    torch.testing.assert_close(after[2], before[2], rtol=0, atol=0)
    assert (after[1] - before[1]).abs().max() > 1e-3


def build_htc_roi_head(roi_head_type='TDEHybridTaskCascadeRoIHead'):
    """A tiny HTC RoI head (no semantic branch) with TDE stages."""
    stage = dict(type='CausalNormShared2FCBBoxHead', in_channels=4, fc_out_channels=D,
                 roi_feat_size=7, num_classes=C, reg_class_agnostic=True)
    head = MODELS.build(dict(
        type=roi_head_type, num_stages=3, stage_loss_weights=[1, 0.5, 0.25],
        bbox_roi_extractor=dict(
            type='SingleRoIExtractor', out_channels=4, featmap_strides=[4],
            roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0)),
        bbox_head=[dict(stage, bbox_coder=dict(type='DeltaXYWHBBoxCoder',
                                               target_means=[0.] * 4, target_stds=s))
                   for s in STAGE_STDS],
        mask_roi_extractor=dict(
            type='SingleRoIExtractor', out_channels=4, featmap_strides=[4],
            roi_layer=dict(type='RoIAlign', output_size=14, sampling_ratio=0)),
        mask_head=[dict(type='HTCMaskHead', with_conv_res=i > 0, num_convs=1, in_channels=4,
                        conv_out_channels=4, num_classes=C) for i in range(3)]))
    head.init_weights()
    return head


def test_htc_scores_are_the_mean_of_stage_probabilities():
    assert_mean_of_stage_probabilities(build_htc_roi_head())


@pytest.mark.parametrize('build, stock, fix', [
    (build_roi_head, 'CascadeRoIHead', 'TDECascadeRoIHead'),
    (build_htc_roi_head, 'HybridTaskCascadeRoIHead', 'TDEHybridTaskCascadeRoIHead'),
])
def test_tde_stages_in_a_stock_cascade_are_refused(build, stock, fix):
    from mmtde.engine import EMAFeatureHook
    with pytest.raises(ValueError, match=f"is a {stock} with TDE stages .*type='{fix}'"):
        EMAFeatureHook.check_cascades(build(stock))
    EMAFeatureHook.check_cascades(build(fix))  # ours pass
