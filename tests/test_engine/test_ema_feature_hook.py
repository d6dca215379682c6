# Copyright (c) mmtde contributors. All rights reserved.
"""EMAFeatureHook on a real mmengine Runner with a toy model that owns a moving average."""
import contextlib
from types import SimpleNamespace

import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn

from mmtde.engine import EMAFeatureHook
from mmtde.functional import MovingAverageFeature


class ToyTDEModel(BaseModel):

    def __init__(self, with_feature=True):
        super().__init__()
        self.body = nn.Linear(4, 4)
        self.feat_ema = MovingAverageFeature(4, 2, mu=0.5) if with_feature else None
        self.mus = []

    def forward(self, inputs, labels=None, mode='tensor'):
        x = self.body(inputs).relu()
        if mode == 'loss':
            if self.feat_ema is not None:
                self.mus.append(self.feat_ema.mu)
                self.feat_ema.update(x)
            return dict(loss=((x.sum(1) - labels) ** 2).mean())
        return x


def make_runner(tmp_path, model, hook, lr=0.1, schedule=None, epochs=3):
    data = [dict(inputs=torch.randn(4), labels=torch.tensor(1.0)) for _ in range(8)]
    return Runner(
        model=model,
        work_dir=str(tmp_path),
        train_dataloader=dict(dataset=data, batch_size=4, collate_fn=dict(type='default_collate'),
                              sampler=dict(type='DefaultSampler', shuffle=False)),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=lr)),
        param_scheduler=schedule,
        train_cfg=dict(by_epoch=True, max_epochs=epochs),
        custom_hooks=[hook],
        default_hooks=dict(checkpoint=None),
        randomness=dict(seed=0))


@pytest.mark.parametrize('kwargs, mu', [
    (dict(), 0.5),  # the constant policy keeps the head's own mu
    (dict(mu=0.9), 0.9),  # deprecated: set every epoch, with a warning
])
def test_constant_mu(tmp_path, kwargs, mu):
    model = ToyTDEModel()
    deprecated = pytest.warns(FutureWarning, match=r'EMAFeatureHook\(mu=0.9\) is deprecated: .* '
                              r'Set model.head.mu=0.9 \(CausalNormHead\) or mu=0.9 in each '
                              r'CausalNormShared2FCBBoxHead')
    with deprecated if kwargs else contextlib.nullcontext():
        hook = EMAFeatureHook(**kwargs)
    runner = make_runner(tmp_path, model, hook)
    runner.train()
    assert model.mus == [mu] * 6
    assert int(model.feat_ema.num_updates) == 6
    assert runner.message_hub.get_scalar('train/tde_mu').current() == mu
    # after the first update every epoch has cos statistics, logged with the alpha rule
    mean_cos = runner.message_hub.get_scalar('train/tde_mean_cos').current()
    assert 0 < mean_cos <= 1


def test_lr_tied_mu_follows_reference_rule(tmp_path):
    model = ToyTDEModel()
    schedule = dict(type='MultiStepLR', milestones=[1, 2], gamma=0.1, by_epoch=True)
    runner = make_runner(tmp_path, model, dict(type='EMAFeatureHook', mu_policy='lr'),
                         lr=0.1, schedule=schedule)
    runner.train()
    # lr 0.1, 0.01, 0.001 -> mu = 1 - 0.1 * min(50 lr, 1) = 0.9, 0.95, 0.995
    expected = [0.9, 0.9, 0.95, 0.95, 0.995, 0.995]
    assert model.mus == pytest.approx(expected)


@pytest.mark.parametrize('paramwise', [False, True])
def test_lr_tied_mu_reads_the_largest_group_lr(paramwise):
    # The reference takes the largest lr of all its groups (show_current_lr). With
    # paramwise_cfg, get_lr() lists 'base_lr' (here 0.001) first; the rule must still read the
    # largest group lr: 0.1 -> mu 0.9, after a x0.1 step 0.01 -> 0.95.
    from mmengine.optim import build_optim_wrapper
    model = ToyTDEModel()
    cfg = dict(optimizer=dict(type='SGD', lr=0.1))
    if paramwise:
        cfg = dict(optimizer=dict(type='SGD', lr=0.001),
                   paramwise_cfg=dict(custom_keys={'body.weight': dict(lr_mult=100.0)}))
    runner = SimpleNamespace(optim_wrapper=build_optim_wrapper(model, cfg))
    hook = EMAFeatureHook(mu_policy='lr')
    assert hook.current_mu(runner) == pytest.approx(0.9)
    for group in runner.optim_wrapper.param_groups:
        group['lr'] *= 0.1
    assert hook.current_mu(runner) == pytest.approx(0.95)


def test_hook_without_tde_head_fails_loudly(tmp_path):
    runner = make_runner(tmp_path, ToyTDEModel(with_feature=False), dict(type='EMAFeatureHook'))
    with pytest.raises(RuntimeError, match='found no moving-average feature'):
        runner.train()


@pytest.mark.parametrize('kwargs, match', [
    (dict(mu=1.2), r'mu=1.2 must be a number in \[0, 1\]'),
    (dict(mu=-0.1), r'mu=-0.1 must be a number in \[0, 1\]'),
    (dict(mu_policy='cosine'), "mu_policy='cosine' must be"),
    (dict(mu=0.9, mu_policy='lr'), "mu=0.9 is ignored with mu_policy='lr'"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        EMAFeatureHook(**kwargs)


def test_without_hook_head_still_updates_with_its_own_mu(tmp_path):
    model = ToyTDEModel()
    runner = make_runner(tmp_path, model, dict(type='EmptyCacheHook'))
    runner.train()
    assert model.mus == [0.5] * 6 and model.feat_ema.is_ready()


def test_batches_with_non_finite_features_are_reported(tmp_path):

    class PoisonedSecondBatch(ToyTDEModel):

        def forward(self, inputs, labels=None, mode='tensor'):
            if mode == 'loss' and len(self.mus) == 1:
                inputs = inputs.clone()
                inputs[0] = float('nan')
            return super().forward(inputs, labels, mode)

    model = PoisonedSecondBatch()
    runner = make_runner(tmp_path, model, dict(type='EMAFeatureHook'), epochs=1)
    with pytest.MonkeyPatch.context() as mp:
        warnings = []
        mp.setattr(runner.logger, 'warning', warnings.append)
        runner.train()
    assert int(model.feat_ema.num_updates) == 1 and torch.isfinite(model.feat_ema.d).all()
    assert len(warnings) == 1 and '1 batch(es) of this epoch had non-finite features' \
        in warnings[0]


def test_testing_does_not_build_the_training_set(tmp_path):
    # tools/test.py on a machine without the training data: Runner.test() calls before_run.
    # (ClassCheckHook, which tools/test.py adds, must not build it either.)
    from mmengine.evaluator import BaseMetric

    class CountMetric(BaseMetric):

        def process(self, data_batch, data_samples):
            self.results.append(len(data_samples))

        def compute_metrics(self, results):
            return dict(count=sum(results))

    data = [dict(inputs=torch.randn(4), labels=torch.tensor(1.0)) for _ in range(8)]
    runner = Runner(
        model=ToyTDEModel(),
        work_dir=str(tmp_path),
        train_dataloader=dict(dataset=dict(type='NoSuchTrainingSet'), batch_size=4,
                              sampler=dict(type='DefaultSampler')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        test_dataloader=dict(dataset=data, batch_size=4,
                             collate_fn=dict(type='default_collate'),
                             sampler=dict(type='DefaultSampler', shuffle=False)),
        test_evaluator=CountMetric(),
        test_cfg=dict(),
        custom_hooks=[dict(type='EMAFeatureHook'), dict(type='ClassCheckHook')],
        default_hooks=dict(checkpoint=None))
    assert runner.test() == dict(count=8)
    with pytest.raises(KeyError, match='NoSuchTrainingSet'):
        runner.train()  # the training set is still built (and checked) when training
