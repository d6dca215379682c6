# Copyright (c) mmtde contributors. All rights reserved.
"""Every classification config loads, builds its model and runs one tiny forward, and sets its
training seed; the canonical CE calibration config is Cao et al.'s recipe."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.registry import DefaultScope

from mmtde.utils import load_config, model_cfg
from mmtde_test_utils import REPO

pytest.importorskip('mmpretrain')
from mmpretrain.registry import DATASETS, MODELS  # noqa: E402
from mmpretrain.structures import DataSample  # noqa: E402

import mmtde.cls  # noqa: E402,F401

CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs/cifar_lt/*.py')) +
                 glob.glob(osp.join(REPO, 'configs/imagenet_lt/*.py')))
#: Every config folder is one or the other, so a new folder must say which it is.
CLS_DIRS = ('cifar_lt', 'imagenet_lt', 'places_lt', 'inaturalist2018')
DET_DIRS = ('lvis', 'emoji_lvis')
CLS_CONFIGS = sorted(p for d in CLS_DIRS for p in glob.glob(osp.join(REPO, 'configs', d, '*.py')))
#: The one file that sets the training seed, which every classification config inherits.
RUNTIME = osp.join(REPO, 'configs/_base_/default_runtime.py')
LDAM_ERM = osp.join(REPO, 'configs/cifar_lt/resnet32-ce_1xb128-ldam-erm-200e_cifar10-lt-if100.py')


def test_all_configs_found():
    # 2 datasets x 3 IF x 2 methods + Cao et al.'s CE recipe + 2 ImageNet-LT
    assert len(CONFIGS) == 15
    folders = {osp.basename(p) for p in glob.glob(osp.join(REPO, 'configs', '*'))
               if osp.isdir(p) and osp.basename(p) != '_base_'}
    assert folders == set(CLS_DIRS + DET_DIRS)


@pytest.mark.parametrize('path', CLS_CONFIGS, ids=[osp.basename(p) for p in CLS_CONFIGS])
def test_every_classification_config_sets_its_training_seed(path):
    """A fixed seed (mmpretrain's default is None: drawn per run), from the one runtime base."""
    randomness = load_config(path).randomness
    assert isinstance(randomness.seed, int) and not isinstance(randomness.seed, bool)
    assert randomness.deterministic is False  # mmengine's switch, stated, not left implicit
    assert not randomness.get('diff_rank_seed', False)  # one seed for all ranks
    # set once: no leaf and no other base overrides it
    setters = [p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
               if 'randomness' in open(p).read() and
               not any(f'/configs/{d}/' in p for d in DET_DIRS)]
    assert setters == [RUNTIME]


@pytest.mark.parametrize('path', [p for p in CONFIGS if 'cifar' in p],
                         ids=lambda p: osp.basename(p))
def test_cifar_configs_validate_every_epoch_from_the_first_lr_step(path):
    """So the authors' best-epoch figure is in the log beside the last epoch's."""
    cfg = load_config(path)
    step = min(next(s for s in cfg.param_scheduler if s.type == 'MultiStepLR').milestones)
    # mmengine uses a dynamic interval once the next epoch reaches its milestone
    assert [tuple(i) for i in cfg.train_cfg.dynamic_intervals] == [(step + 1, 1)]
    assert cfg.train_cfg.val_interval == 10
    assert 'save_best' not in cfg.default_hooks.checkpoint  # the last epoch is the one shipped


@pytest.mark.parametrize('path', CONFIGS, ids=[osp.basename(p) for p in CONFIGS])
def test_config_builds_and_runs(path):
    cfg = load_config(path)
    stem = osp.splitext(osp.basename(path))[0]
    cfg.model = model_cfg(cfg)  # as the Runner does: with the top-level data_preprocessor
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg.model)
        for loader in (cfg.train_dataloader, cfg.val_dataloader, cfg.test_dataloader):
            assert DATASETS.get(loader.dataset.type) is not None
    head = cfg.model.head
    if 'cifar' in stem:
        num_classes = 100 if 'cifar100' in stem else 10
        imbalance = int(stem.rsplit('-if', 1)[1])
        assert cfg.train_dataloader.dataset.imbalance_factor == imbalance
        # the evaluated split must describe the same training subset for many/medium/few
        assert cfg.test_dataloader.dataset.imbalance_factor == imbalance
        batch = 128 if 'ldam-erm' in stem else 256
        assert cfg.train_dataloader.batch_size == batch and cfg.train_cfg.max_epochs == 200
        # the reference runs normalise both CIFAR-LT datasets with CIFAR-10's statistics
        prep = cfg.model.data_preprocessor
        assert [round(v / 255, 4) for v in prep.mean] == [0.4914, 0.4822, 0.4465]
        assert [round(v / 255, 4) for v in prep.std] == [0.2023, 0.1994, 0.2010]
        size = 32
    else:
        num_classes, size = 1000, 64
        assert cfg.train_dataloader.batch_size == 64 and cfg.train_cfg.max_epochs == 90
    assert head.num_classes == num_classes
    assert cfg.model.data_preprocessor.get('num_classes', num_classes) == num_classes
    assert cfg.test_evaluator.type == 'LongTailAccuracy'
    if head.type == 'CausalNormHead':
        expected_alpha = {'cifar10-': 1.0, 'cifar100-': 1.5, 'imagenet': 3.0}
        alpha = next(v for k, v in expected_alpha.items() if k in stem)
        assert head.alpha == alpha
        (hook, ) = [h for h in cfg.custom_hooks if h.type == 'EMAFeatureHook']
        fc = model.head.fc
        # the paper's K, tau and gamma: the head's defaults, or the CIFAR base model's
        assert (fc.num_head, fc.tau, fc.gamma) == (2, 16.0, 1 / 32)
        assert 'mu' not in hook  # mu is the head's (the hook's own mu is deprecated)
        if 'cifar' in stem:
            assert fc.feat_ema.mu == 0.9 and hook.get('mu_policy', 'constant') == 'constant'
        else:
            assert hook.mu_policy == 'lr'

    model.init_weights()
    inputs = torch.rand(2, 3, size, size) * 255
    samples = [DataSample().set_gt_label(i) for i in (0, 1)]
    data = model.data_preprocessor(dict(inputs=list(inputs), data_samples=samples), True)
    losses = model(**data, mode='loss')
    assert torch.isfinite(losses['loss'])
    model.eval()
    with torch.no_grad():
        preds = model(**data, mode='predict')
    assert preds[0].pred_score.shape == (num_classes, )


def _cao_lr(epoch: int, lr: float = 0.1) -> float:
    """adjust_learning_rate of kaidic/LDAM-DRW cifar_train.py, restated (epoch from 0)."""
    epoch += 1
    if epoch <= 5:
        return lr * epoch / 5
    return lr * (0.0001 if epoch > 180 else 0.01 if epoch > 160 else 1)


def test_ldam_erm_config_is_cao_et_al_recipe():
    """Cao et al. 2019's CE ("ERM") on CIFAR-10-LT IF 100: plain ResNet-32, Linear head with
    bias, batch 128, SGD lr 0.1 momentum 0.9 wd 2e-4, lr 1/5 ... 5/5 over epochs 1-5, x0.01 from
    161, x0.0001 from 181, 200 epochs; the data exactly as the other CIFAR-10-LT IF 100 runs."""
    from mmengine.registry import PARAM_SCHEDULERS
    cfg = load_config(LDAM_ERM)
    assert cfg.train_dataloader.batch_size == 128
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.momentum, opt.weight_decay) == ('SGD', 0.1, 0.9, 2e-4)
    assert not opt.get('nesterov', False)
    assert cfg.train_cfg.max_epochs == 200 and cfg.auto_scale_lr.base_batch_size == 128
    assert cfg.param_scheduler[1].milestones == [160, 180] and cfg.param_scheduler[1].gamma == 0.01
    # the learning rate of every epoch, as the Runner's by-epoch schedulers set it
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=opt.lr, momentum=opt.momentum)
    schedulers = [PARAM_SCHEDULERS.build(dict(s, optimizer=optimizer))
                  for s in cfg.param_scheduler]
    lrs = []
    for _ in range(cfg.train_cfg.max_epochs):
        lrs.append(optimizer.param_groups[0]['lr'])
        for scheduler in schedulers:
            scheduler.step()
    assert lrs == pytest.approx([_cao_lr(e) for e in range(200)], rel=1e-9)
    # the same subset, held-out handling, pipeline and test split as our CE run
    ours = load_config(
        osp.join(REPO, 'configs/cifar_lt/resnet32-ce_1xb256-200e_cifar10-lt-if100.py'))
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[split].dataset == ours[split].dataset, split
    assert cfg.data_preprocessor == ours.data_preprocessor
    assert [t.type for t in cfg.train_dataloader.dataset.pipeline] == [
        'RandomCrop', 'RandomFlip', 'PackInputs']
    crop = cfg.train_dataloader.dataset.pipeline[0]
    assert (crop.crop_size, crop.padding) == (32, 4)

    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(model_cfg(cfg))
    model.init_weights()
    assert model.head.fc.bias is not None and model.head.fc.in_features == 64
    # 0.46M parameters: 3 stages of 5 basic blocks (16/32/64), option-A shortcuts (no weights),
    # a 64 x 10 linear layer with bias, as LDAM-DRW's resnet32 (464,154 with 10 classes)
    assert sum(p.numel() for p in model.parameters()) == 464154
    blocks = [len(s) for s in model.backbone.stages] + [len(model.backbone.branches)]
    assert sum(blocks) == 15
    assert not any(isinstance(m, torch.nn.Conv2d) and m.kernel_size == (1, 1)
                   for m in model.modules())  # no projection shortcut
    # Kaiming-normal (fan-in, gain sqrt 2) linear weights, as their _weights_init
    assert model.head.fc.weight.std().item() == pytest.approx((2 / 64) ** 0.5, rel=0.2)
