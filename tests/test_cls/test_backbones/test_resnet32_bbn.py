# Copyright (c) mmtde contributors. All rights reserved.
import math

import pytest
import torch
from torch import nn

from mmtde.cls.backbones import BBNResNet32
from mmtde.cls.backbones.resnet32_bbn import CifarBasicBlock, ZeroPadShortcut


def _num_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_output_shape_and_post_relu():
    model = BBNResNet32()
    model.init_weights()
    model.eval()
    out = model(torch.randn(2, 3, 32, 32))
    assert isinstance(out, tuple) and len(out) == 1
    assert out[0].shape == (2, 128, 8, 8)
    assert (out[0] >= 0).all()


def test_registry_and_gap_neck_give_128d_feature():
    import mmpretrain.models  # noqa: F401  (registers the neck)
    from mmpretrain.registry import MODELS
    model = MODELS.build(dict(type='BBNResNet32'))
    neck = MODELS.build(dict(type='GlobalAveragePooling'))
    feat = neck(model(torch.randn(2, 3, 32, 32)))
    assert isinstance(model, BBNResNet32)
    assert feat[0].shape == (2, 128)


def test_option_a_shortcut_is_parameter_free_and_zero_pads():
    model = BBNResNet32()
    shortcuts = [m for m in model.modules() if isinstance(m, ZeroPadShortcut)]
    # One per width change: stage 2 and stage 3 entries.
    assert len(shortcuts) == 2
    assert all(_num_params(s) == 0 and not list(s.buffers()) for s in shortcuts)
    assert not any(isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1) for m in model.modules())

    x = torch.randn(2, 16, 8, 8)
    y = ZeroPadShortcut(16, 32, 2)(x)
    assert y.shape == (2, 32, 4, 4)
    assert torch.equal(y[:, 8:24], x[:, :, ::2, ::2])
    assert not y[:, :8].any() and not y[:, 24:].any()


def test_exact_parameter_count():
    conv = lambda cin, cout: 9 * cin * cout  # noqa: E731  3x3, no bias
    bn = lambda c: 2 * c  # noqa: E731  weight + bias (running stats are buffers)
    block = lambda cin, cout: conv(cin, cout) + bn(cout) + conv(cout, cout) + bn(cout)  # noqa
    stem = conv(3, 16) + bn(16)
    stage1 = 5 * block(16, 16)
    stage2 = block(16, 32) + 4 * block(32, 32)
    stage3 = block(32, 64) + 3 * block(64, 64)
    branches = 2 * block(64, 64)
    expected = stem + stage1 + stage2 + stage3 + branches
    assert expected == 537_488
    model = BBNResNet32()
    assert _num_params(model) == expected
    # 33 convolutions: stem, 2 per block of 14 stage blocks and of the 2 branch blocks.
    assert sum(isinstance(m, nn.Conv2d) for m in model.modules()) == 33


def test_branches_are_distinct_modules():
    model = BBNResNet32()
    model.init_weights()
    model.eval()
    first, second = model.branches
    assert first is not second
    assert isinstance(first, CifarBasicBlock) and isinstance(second, CifarBasicBlock)
    ptrs = {p.data_ptr() for p in first.parameters()}
    assert ptrs.isdisjoint(p.data_ptr() for p in second.parameters())
    with torch.no_grad():
        out = model(torch.randn(2, 3, 32, 32))[0]
    assert not torch.allclose(out[:, :64], out[:, 64:])


def test_init_weights_is_kaiming_normal_fan_in():
    torch.manual_seed(0)
    model = BBNResNet32()
    model.init_weights()
    # Fan-in, not fan-out: pick convs where the two differ (16 -> 32: 144 vs 288).
    conv = model.stages[1][0].conv1
    expected_std = math.sqrt(2.0 / (16 * 9))
    assert conv.weight.std().item() == pytest.approx(expected_std, rel=0.05)
    conv = model.stages[2][1].conv1  # 64 -> 64, 36,864 weights
    expected_std = math.sqrt(2.0 / (64 * 9))
    assert conv.weight.std().item() == pytest.approx(expected_std, rel=0.03)
    assert conv.weight.mean().abs().item() < 0.05 * expected_std
    assert torch.equal(model.bn1.weight, torch.ones(16))
    assert torch.equal(model.bn1.bias, torch.zeros(16))


def test_init_cfg_can_be_overridden():
    model = BBNResNet32(init_cfg=dict(type='Constant', val=0.5, layer='Conv2d'))
    model.init_weights()
    assert torch.all(model.conv1.weight == 0.5)


def test_bad_layout_is_rejected():
    with pytest.raises(ValueError, match='one entry per stage'):
        BBNResNet32(stage_blocks=(5, 5))
    with pytest.raises(ValueError, match='num_branches'):
        BBNResNet32(num_branches=0)
