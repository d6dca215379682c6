# Copyright (c) mmtde contributors. All rights reserved.
"""NorCal on cascades: the final scores are NorCal of the host cascade's own scores."""
import numpy as np
import pytest
import torch
from mmdet.registry import MODELS
from mmengine.structures import InstanceData

import mmtde.det  # noqa: F401

C, D = 5, 8
COUNTS = [1, 3, 40, 700, 9000]
STAGE_STDS = [[0.1, 0.1, 0.2, 0.2], [0.05, 0.05, 0.1, 0.1], [0.033, 0.033, 0.067, 0.067]]


def build(roi_head_type, bbox_head_type, **extra):
    heads = [dict(type=bbox_head_type, in_channels=4, fc_out_channels=D, roi_feat_size=7,
                  num_classes=C, reg_class_agnostic=True,
                  bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.] * 4,
                                  target_stds=s)) for s in STAGE_STDS]
    if bbox_head_type == 'CausalNormShared2FCBBoxHead':
        for h in heads:
            h['alpha'] = 0.0
    return MODELS.build(dict(
        type=roi_head_type, num_stages=3, stage_loss_weights=[1, 0.5, 0.25],
        bbox_roi_extractor=dict(
            type='SingleRoIExtractor', out_channels=4, featmap_strides=[4],
            roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0)),
        bbox_head=heads, **extra))


def scores(roi_head):
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(1, 4, 16, 16, generator=g), )
    xy = torch.rand(6, 2, generator=g) * 30
    boxes = torch.cat([xy, xy + 8 + torch.rand(6, 2, generator=g) * 20], dim=1)
    metas = [dict(img_shape=(64, 64), scale_factor=(1.0, 1.0))]
    with torch.no_grad():
        # rcnn_test_cfg=None: predict_by_feat returns the softmax scores (N, C + 1), no NMS
        return roi_head.predict_bbox(x, metas, [InstanceData(bboxes=boxes)],
                                     rcnn_test_cfg=None)[0].scores


@pytest.mark.parametrize('plain_type, norcal_type, bbox_head_type', [
    ('CascadeRoIHead', 'NorCalCascadeRoIHead', 'Shared2FCBBoxHead'),
    ('TDECascadeRoIHead', 'NorCalTDECascadeRoIHead', 'CausalNormShared2FCBBoxHead'),
])
def test_scores_are_norcal_of_the_cascade_scores(plain_type, norcal_type, bbox_head_type):
    plain = build(plain_type, bbox_head_type)
    plain.init_weights()
    torch.manual_seed(0)
    with torch.no_grad():
        for head in plain.bbox_head:
            head.fc_cls.weight.normal_(0, 0.5)
    gamma = 0.6
    norcal = build(norcal_type, bbox_head_type, norcal=dict(gamma=gamma, class_counts=COUNTS))
    norcal.load_state_dict(plain.state_dict(), strict=True)
    p = scores(plain.eval()).double().numpy()
    q = scores(norcal.eval()).double().numpy()
    # restated: p's foreground divided by n ** gamma, background kept, rows normalised
    e = p.copy()
    e[:, :-1] /= np.asarray(COUNTS, dtype=np.float64)**gamma
    np.testing.assert_allclose(q, e / e.sum(axis=1, keepdims=True), rtol=1e-5, atol=1e-7)
    assert not np.allclose(p, q)


def test_every_stage_must_be_a_softmax_head():
    with pytest.raises(ValueError, match='NorCalCascadeRoIHead needs a bbox head with a softmax'):
        MODELS.build(dict(
            type='NorCalCascadeRoIHead', num_stages=1, stage_loss_weights=[1],
            norcal=dict(gamma=0.5, class_counts=COUNTS),
            bbox_roi_extractor=dict(
                type='SingleRoIExtractor', out_channels=4, featmap_strides=[4],
                roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0)),
            bbox_head=[dict(type='Shared2FCBBoxHead', in_channels=4, fc_out_channels=D,
                            num_classes=C, loss_cls=dict(type='FocalLoss', use_sigmoid=True))]))
