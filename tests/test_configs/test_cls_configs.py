# Copyright (c) mmtde contributors. All rights reserved.
"""Every classification config loads, builds its model and runs one tiny forward, and sets its
training seed."""
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


def test_all_configs_found():
    assert len(CONFIGS) == 14  # 2 datasets x 3 IF x 2 methods + 2 ImageNet-LT
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
        assert cfg.train_dataloader.batch_size == 256 and cfg.train_cfg.max_epochs == 200
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
        assert any(h.type == 'EMAFeatureHook' for h in cfg.custom_hooks)

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

