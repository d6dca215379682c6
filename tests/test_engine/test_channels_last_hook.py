# Copyright (c) mmtde contributors. All rights reserved.
"""ChannelsLastHook on a real mmengine Runner."""
import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn

import mmtde.engine  # noqa: F401  (registers ChannelsLastHook)


class ConvNet(BaseModel):
    """Records the memory layout of every batch its forward receives."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4, 2)
        self.layouts = []

    def forward(self, inputs, data_samples=None, mode='tensor'):
        self.layouts.append(inputs.is_contiguous(memory_format=torch.channels_last))
        out = self.fc(self.conv(inputs).relu().mean((2, 3)))
        if mode == 'loss':
            return dict(loss=nn.functional.cross_entropy(out, data_samples))
        return [out] if mode == 'predict' else out


class Images(list):
    metainfo = {}


def loader():
    gen = torch.Generator().manual_seed(0)
    data = Images(dict(inputs=torch.randn(3, 6, 6, generator=gen), data_samples=i % 2)
                  for i in range(8))
    return dict(dataset=data, batch_size=4, collate_fn=dict(type='default_collate'),
                sampler=dict(type='DefaultSampler', shuffle=False))


def train(tmp_path, hooks):
    torch.manual_seed(0)
    model = ConvNet()
    runner = Runner(
        model=model, work_dir=str(tmp_path), train_dataloader=loader(),
        train_cfg=dict(by_epoch=True, max_epochs=2), val_dataloader=loader(),
        val_cfg=dict(), val_evaluator=dict(type='ToyAccuracy'),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)), custom_hooks=hooks,
        default_hooks=dict(checkpoint=None, logger=None))
    runner.train()
    return model


@pytest.fixture(scope='module', autouse=True)
def toy_metric():
    from mmengine.evaluator import BaseMetric
    from mmengine.registry import METRICS

    class ToyAccuracy(BaseMetric):
        def process(self, data_batch, data_samples):
            self.results.append(len(data_samples))

        def compute_metrics(self, results):
            return dict(n=sum(results))

    METRICS.register_module(module=ToyAccuracy, force=True)


def test_training_and_validation_see_channels_last_batches_and_learn_the_same(tmp_path):
    plain = train(tmp_path / 'plain', [])
    nhwc = train(tmp_path / 'nhwc', [dict(type='ChannelsLastHook')])
    assert plain.layouts and not any(plain.layouts)
    assert len(nhwc.layouts) == len(plain.layouts) and all(nhwc.layouts)
    # only the layout changed: the weights end where NCHW's end, up to the order of sums
    for a, b in zip(plain.parameters(), nhwc.parameters()):
        assert torch.allclose(a, b, atol=1e-5), (a - b).abs().max()
        assert a.is_contiguous()  # the weights keep their own layout
    nhwc.layouts.clear()  # the hook is gone after the run
    nhwc(torch.randn(1, 3, 6, 6))
    assert nhwc.layouts == [False]


def test_a_model_with_mmcv_ops_is_refused_naming_them(tmp_path):
    ops = pytest.importorskip('mmcv.ops')
    from mmtde.engine import ChannelsLastHook
    model = ConvNet()
    model.roi = ops.RoIAlign((2, 2), 1.0)
    runner = type('R', (), dict(model=model))()
    with pytest.raises(ValueError, match=r'ConvNet uses mmcv ops \(RoIAlign\) that read their '
                       r'input as NCHW.*drop --channels-last'):
        ChannelsLastHook().before_run(runner)


def test_channels_last_flag_adds_the_hook_once():
    from mmengine.config import Config

    from mmtde.utils import prepare_cfg
    cfg = Config(dict(custom_hooks=[dict(type='ChannelsLastHook')], default_hooks={}))
    types = [h['type'] for h in prepare_cfg(cfg, channels_last=True).custom_hooks]
    assert types.count('ChannelsLastHook') == 1
    types = [h['type'] for h in prepare_cfg(Config(dict(default_hooks={}))).custom_hooks]
    assert 'ChannelsLastHook' not in types
