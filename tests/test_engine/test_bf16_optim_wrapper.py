# Copyright (c) mmtde contributors. All rights reserved.
"""BF16OptimWrapper: bfloat16 autocast in the training forward on any device, fp32 state."""
import sys

import pytest
import torch
from mmengine.optim import build_optim_wrapper
from torch import nn

from mmtde.engine import BF16OptimWrapper, bf16_supported
from mmtde.engine import optim_wrapper as module
from mmtde.functional import CausalNormLinear
from mmtde_test_utils import REPO, run_cmd

needs_bf16 = pytest.mark.skipif(not bf16_supported('cpu'),
                                reason='this CPU has no native bfloat16')


def _model():
    torch.manual_seed(0)
    return nn.ModuleDict(dict(body=nn.Linear(8, 8), fc=CausalNormLinear(8, 3)))


@needs_bf16
def test_forward_in_bf16_state_and_tde_in_fp32():
    model = _model()
    wrapper = build_optim_wrapper(model, dict(type='BF16OptimWrapper',
                                              optimizer=dict(type='SGD', lr=0.1)))
    assert isinstance(wrapper, BF16OptimWrapper)
    x = torch.randn(4, 8)
    with wrapper.optim_context(model):
        feat = model['body'](x)
        logits = model['fc'](feat)
        model['fc'].feat_ema.update(feat)
        loss = nn.functional.cross_entropy(logits, torch.tensor([0, 1, 2, 0]))
    assert feat.dtype == torch.bfloat16  # the network's products ran in bfloat16
    assert logits.dtype == torch.float32  # the causal-norm logits did not
    assert model['fc'].feat_ema.d.dtype == torch.float32
    before = model['body'].weight.detach().clone()
    wrapper.update_params(loss)
    assert model['body'].weight.dtype == torch.float32
    assert model['body'].weight.grad is None or model['body'].weight.grad.dtype == torch.float32
    assert not torch.equal(before, model['body'].weight)
    assert model['body'](x).dtype == torch.float32  # outside the context: float32 again


def test_refuses_a_device_without_native_bf16(monkeypatch):
    monkeypatch.setattr(module, 'bf16_supported', lambda device_type: False)
    model = _model()
    wrapper = build_optim_wrapper(model, dict(type='BF16OptimWrapper',
                                              optimizer=dict(type='SGD', lr=0.1)))
    with pytest.raises(RuntimeError, match='no native bfloat16.*optim_wrapper.type=OptimWrapper'):
        with wrapper.optim_context(model):
            pass


@needs_bf16
def test_tools_train_runs_a_tde_config_in_bf16(tiny_cls_cfg, tmp_path):
    run_cmd([sys.executable, f'{REPO}/tools/train.py', tiny_cls_cfg, '--work-dir',
             str(tmp_path), '--cfg-options', 'optim_wrapper.type=BF16OptimWrapper',
             'train_cfg.max_epochs=1'])
    state = torch.load(tmp_path / 'epoch_1.pth', map_location='cpu',
                       weights_only=False)['state_dict']
    d = state['head.fc.feat_ema.d']
    assert d.dtype == torch.float32 and torch.isfinite(d).all() and d.abs().sum() > 0
    assert all(v.dtype != torch.bfloat16 for v in state.values())
