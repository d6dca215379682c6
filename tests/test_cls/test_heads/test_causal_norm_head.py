# Copyright (c) mmtde contributors. All rights reserved.
import copy
import io

import pytest
import torch

from mmtde.functional import causal_norm_logits, tde_logits

mmpretrain = pytest.importorskip('mmpretrain')
from mmpretrain.registry import MODELS  # noqa: E402
from mmpretrain.structures import DataSample  # noqa: E402

import mmtde.cls  # noqa: E402,F401


def build_head(**kwargs):
    # Build in mmpretrain's scope whatever scope an earlier Runner in this process left.
    from mmengine.registry import DefaultScope
    cfg = dict(type='CausalNormHead', num_classes=5, in_channels=8, num_head=2, tau=16.0,
               gamma=1 / 32, alpha=1.0, mu=0.9)
    cfg.update(kwargs)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return MODELS.build(cfg)


def samples(labels):
    return [DataSample().set_gt_label(int(i)) for i in labels]


def train_steps(head, steps=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        x = torch.randn(4, 8, generator=g).relu()
        head.loss((x, ), samples(torch.randint(0, 5, (4, ), generator=g)))
    return head


def test_init_and_registry():
    head = build_head()
    assert head.fc.weight.shape == (5, 8)
    assert head.fc.weight.abs().max() <= 8 ** -0.5
    assert not any('bias' in n for n, _ in head.named_parameters())
    assert set(head.state_dict()) == {'fc.weight', 'fc.feat_ema.d', 'fc.feat_ema.num_updates'}


def test_forward_is_pure_and_loss_updates_d():
    head = build_head()
    x = torch.randn(4, 8)
    out = head((x, ))
    assert torch.equal(out, causal_norm_logits(x, head.fc.weight, 2, 16.0, 1 / 32))
    assert int(head.fc.feat_ema.num_updates) == 0
    losses = head.loss((x, ), samples([0, 1, 2, 3]))
    assert losses['loss'].requires_grad
    assert torch.allclose(head.fc.feat_ema.d, x.mean(0))
    assert int(head.fc.feat_ema.num_updates) == 1


def test_predict_applies_tde_and_alpha_zero_is_plain():
    head = train_steps(build_head(alpha=1.5))
    x = torch.randn(6, 8)
    preds = head.predict((x, ))
    expected = tde_logits(x, head.fc.weight, head.fc.feat_ema.d, 2, 16.0, 1 / 32, 1.5).softmax(1)
    assert torch.allclose(torch.stack([p.pred_score for p in preds]), expected, atol=1e-6)
    head.alpha = 0.0
    plain = torch.stack([p.pred_score for p in head.predict((x, ))])
    assert torch.allclose(plain, head((x, )).softmax(1), atol=1e-6)
    head.alpha, head.use_tde = 1.5, False
    off = torch.stack([p.pred_score for p in head.predict((x, ))])
    assert torch.equal(off, plain)


def test_save_load_predict_identical():
    head = train_steps(build_head())
    buf = io.BytesIO()
    torch.save(head.state_dict(), buf)
    buf.seek(0)
    fresh = build_head()
    fresh.load_state_dict(torch.load(buf, weights_only=True))
    x = torch.randn(6, 8)
    a = torch.stack([p.pred_score for p in head.predict((x, ))])
    b = torch.stack([p.pred_score for p in fresh.predict((x, ))])
    assert torch.equal(a, b)
    assert torch.equal(fresh.fc.feat_ema.d, head.fc.feat_ema.d)


def test_refuses_tde_without_d_but_alpha_zero_works():
    head = build_head()
    x = torch.randn(2, 8)
    with pytest.raises(RuntimeError, match='no usable moving-average feature d'):
        head.predict((x, ))
    head.alpha = 0
    assert len(head.predict((x, ))) == 2


@pytest.mark.parametrize('kwargs, match', [
    (dict(num_head=3), r'num_head=3 must be a positive divisor of the feature size 8 \(in_'),
    (dict(tau=-1.0), 'tau=-1.0 must be a positive number'),
    (dict(gamma=-0.5), 'gamma=-0.5 must be a number >= 0'),
    (dict(alpha=-1.0), 'alpha=-1.0 must be a number >= 0'),
    (dict(mu=1.5), r'mu=1.5 must be a number in \[0, 1\]'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build_head(**kwargs)


def test_bad_alpha_assignment_keeps_old_value():
    head = build_head(alpha=1.0)
    with pytest.raises(ValueError, match='alpha=-2'):
        head.alpha = -2
    assert head.alpha == 1.0


def test_unpooled_feature_names_the_fix():
    head = build_head()
    with pytest.raises(ValueError, match='GlobalAveragePooling'):
        head((torch.randn(2, 8, 4, 4), ))


def test_gamma_zero_cosine_classifier_with_zero_rows():
    head = build_head(gamma=0.0)
    with torch.no_grad():
        head.fc.weight[0].zero_()
    out = head((torch.zeros(2, 8), ))
    assert torch.isfinite(out).all()


def test_autocast_keeps_fp32_and_finite():
    head = train_steps(build_head())
    x = (torch.randn(4, 8) * 3e4).to(torch.bfloat16)  # large magnitude
    with torch.autocast('cpu', dtype=torch.bfloat16):
        logits = head((x, ))
        head.loss((x, ), samples([0, 1, 2, 3]))
        preds = head.predict((x, ))
    assert logits.dtype == torch.float32 and torch.isfinite(logits).all()
    assert head.fc.feat_ema.d.dtype == torch.float32 and torch.isfinite(head.fc.feat_ema.d).all()
    assert all(torch.isfinite(p.pred_score).all() for p in preds)


def test_deepcopy_keeps_state():
    head = train_steps(build_head())
    clone = copy.deepcopy(head)
    assert torch.equal(clone.fc.feat_ema.d, head.fc.feat_ema.d)
