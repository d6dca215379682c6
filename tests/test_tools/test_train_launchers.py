# Copyright (c) mmtde contributors. All rights reserved.
"""tools/train.py, tools/dist_train.sh (2 CPU ranks), mim train, resume, test and inheritance."""
import glob
import os.path as osp
import shutil
import sys

import pytest
import torch

from mmtde_test_utils import REPO, free_port, run_cmd, runner_features, tiny_cls_cfg_text

TRAIN = osp.join(REPO, 'tools/train.py')
TEST = osp.join(REPO, 'tools/test.py')


def load_state(path):
    from mmtde.engine import register_checkpoint_safe_globals
    register_checkpoint_safe_globals()
    return torch.load(path, map_location='cpu')  # weights_only by default (torch >= 2.6)


def assert_states_close(a, b, atol=1e-5):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.allclose(a[key].float(), b[key].float(), atol=atol), key


def test_train_then_test(tiny_cls_cfg, tmp_path):
    work = tmp_path / 'work'
    run_cmd([sys.executable, TRAIN, tiny_cls_cfg, '--work-dir', str(work)])
    state = load_state(work / 'epoch_3.pth')['state_dict']
    # IF 4 keeps 8, 5, 3, 2 images: 18 a epoch, 5 batches of at most 4
    assert int(state['head.fc.feat_ema.num_updates']) == 3 * 5
    assert state['head.fc.feat_ema.d'].dtype == torch.float32
    out = run_cmd([sys.executable, TEST, tiny_cls_cfg, str(work / 'epoch_3.pth'),
                   '--work-dir', str(tmp_path / 'test')])
    assert 'lt/top1' in out.stdout + out.stderr
    off = run_cmd([sys.executable, TEST, tiny_cls_cfg, str(work / 'epoch_3.pth'),
                   '--work-dir', str(tmp_path / 'test0'), '--cfg-options',
                   'model.head.alpha=0'])
    assert 'lt/top1' in off.stdout + off.stderr


def test_channels_last_trains_the_same_model(tiny_cls_cfg, tmp_path):
    """--channels-last changes the layout of the batches, not what is learned (d included)."""
    for name, extra in (('nchw', []), ('nhwc', ['--channels-last'])):
        run_cmd([sys.executable, TRAIN, tiny_cls_cfg, '--work-dir', str(tmp_path / name)] +
                extra)
    assert "type='ChannelsLastHook'" in open(glob.glob(str(tmp_path / 'nhwc/*.py'))[0]).read()
    assert_states_close(load_state(tmp_path / 'nchw/epoch_3.pth')['state_dict'],
                        load_state(tmp_path / 'nhwc/epoch_3.pth')['state_dict'], atol=1e-4)


def test_resume_is_exact(tiny_cls_cfg, tmp_path):
    full, part = tmp_path / 'full', tmp_path / 'part'
    run_cmd([sys.executable, TRAIN, tiny_cls_cfg, '--work-dir', str(full)])
    run_cmd([sys.executable, TRAIN, tiny_cls_cfg, '--work-dir', str(part), '--cfg-options',
             'train_cfg.max_epochs=1'])
    run_cmd([sys.executable, TRAIN, tiny_cls_cfg, '--work-dir', str(part), '--resume',
             str(part / 'epoch_1.pth')])
    a = load_state(full / 'epoch_3.pth')
    b = load_state(part / 'epoch_3.pth')
    assert_states_close(a['state_dict'], b['state_dict'])
    assert a['meta']['iter'] == b['meta']['iter'] == 15


def test_resume_is_exact_with_random_seed_validation_and_random_layers(tiny_folder, tmp_path):
    # A config without a seed (seed=None: mmengine draws one; the shipped configs set one),
    # validation during training, and random draws in training (flip augmentation: numpy;
    # drop-path: torch). A run resumed
    # from the straight run's own epoch-1 checkpoint must end where the straight run ends.
    cfg = tmp_path / 'random.py'
    cfg.write_text(tiny_cls_cfg_text(tiny_folder, extra=(
        "model['backbone']['drop_path_rate'] = 0.3\n"
        "train_dataloader['dataset']['pipeline'] = [dict(type='LoadImageFromFile'), "
        "dict(type='RandomFlip', prob=0.5, direction='horizontal'), dict(type='PackInputs')]\n"
        'train_cfg.update(val_interval=1)\n'
        'randomness = dict(seed=None)\n')))
    full, part = tmp_path / 'full', tmp_path / 'part'
    run_cmd([sys.executable, TRAIN, str(cfg), '--work-dir', str(full)])
    run_cmd([sys.executable, TRAIN, str(cfg), '--work-dir', str(part), '--resume',
             str(full / 'epoch_1.pth')])
    a = load_state(full / 'epoch_3.pth')
    b = load_state(part / 'epoch_3.pth')
    assert a['meta']['seed'] == b['meta']['seed']
    assert_states_close(a['state_dict'], b['state_dict'], atol=1e-6)
    # and the runs did draw: another seed ends elsewhere
    other = tmp_path / 'other'
    run_cmd([sys.executable, TRAIN, str(cfg), '--work-dir', str(other), '--cfg-options',
             f"randomness.seed={a['meta']['seed'] + 1}"])
    c = load_state(other / 'epoch_3.pth')['state_dict']
    assert not all(torch.allclose(a['state_dict'][k].float(), c[k].float(), atol=1e-6)
                   for k in c)


def test_amp_without_gpu_fails_early(tiny_cls_cfg, tmp_path):
    if torch.cuda.is_available():
        pytest.skip('this machine has a GPU')
    with pytest.raises(AssertionError, match='--amp needs a GPU'):
        run_cmd([sys.executable, TRAIN, tiny_cls_cfg, '--amp', '--work-dir', str(tmp_path)])
    assert not glob.glob(str(tmp_path / '*.pth'))


def test_dist_train_two_cpu_ranks_match_one_process(tiny_folder, tmp_path):
    """Same global batches (sampler without shuffle, 2 x 2 vs 1 x 4): same d on every rank,
    equal to the single-process d; DDP averages gradients, so the weights match too."""
    common = "train_dataloader['sampler'] = dict(type='DefaultSampler', shuffle=False)\n"
    single_cfg = tmp_path / 'single.py'
    single_cfg.write_text(tiny_cls_cfg_text(tiny_folder, extra=common))
    dist_cfg = tmp_path / 'dist.py'
    dist_cfg.write_text(tiny_cls_cfg_text(tiny_folder, extra=common + (
        'train_dataloader.update(batch_size=2)\n'
        "model['head']['mu'] = 0.9\n"
        "custom_hooks = [dict(type='EMAFeatureHook'), dict(type='DumpMovingAverageHook')]\n"
        "custom_imports = dict(imports=['mmtde.cls', 'dump_d_hook'], "
        'allow_failed_imports=False)\n')))
    shutil.copy(osp.join(osp.dirname(__file__), 'dump_d_hook.py'), tmp_path)
    run_cmd([sys.executable, TRAIN, str(single_cfg), '--work-dir', str(tmp_path / 'single')])
    run_cmd(['bash', osp.join(REPO, 'tools/dist_train.sh'), str(dist_cfg), '2', '--work-dir',
             str(tmp_path / 'dist')], env={'PORT': free_port(), 'PYTHONPATH': str(tmp_path)})
    ranks = [torch.load(tmp_path / 'dist' / f'd_rank{r}.pth') for r in (0, 1)]
    assert torch.equal(ranks[0], ranks[1])
    single = load_state(tmp_path / 'single' / 'epoch_3.pth')['state_dict']
    assert torch.allclose(ranks[0], single['head.fc.feat_ema.d'], rtol=1e-4, atol=1e-4)
    dist = load_state(tmp_path / 'dist' / 'epoch_3.pth')['state_dict']
    assert_states_close(single, dist, atol=1e-4)


@pytest.mark.skipif(shutil.which('mim') is None and not osp.exists(
    osp.join(osp.dirname(sys.executable), 'mim')), reason='openmim is not installed')
def test_mim_train_and_downstream_inheritance(tiny_folder, tmp_path):
    """A project outside the repo inherits ``mmtde::...`` and trains through mim."""
    downstream = tmp_path / 'downstream'
    downstream.mkdir()
    base = 'mmtde::cifar_lt/resnet32-causalnorm-tde_1xb256-200e_cifar10-lt-if100.py'
    (downstream / 'my_tde.py').write_text(
        tiny_cls_cfg_text(tiny_folder, base=base, extra='train_cfg.update(max_epochs=1)\n'))
    mim = osp.join(osp.dirname(sys.executable), 'mim')
    run_cmd([mim, 'train', 'mmtde', 'my_tde.py', '--gpus', '0', '--work-dir',
             str(downstream / 'work')], cwd=str(downstream))
    state = load_state(downstream / 'work' / 'epoch_1.pth')['state_dict']
    assert int(state['head.fc.feat_ema.num_updates']) == 5


def test_num_classes_mismatch_fails_before_training(tiny_folder, tmp_path):
    cfg = tmp_path / 'bad.py'
    cfg.write_text(tiny_cls_cfg_text(tiny_folder, extra="model['head']['num_classes'] = 10\n"))
    with pytest.raises(AssertionError, match=r'head.fc: the TDE classifier scores 10 classes '
                       r'but the training set ImageFolderLT has 4; set num_classes=4'):
        run_cmd([sys.executable, TRAIN, str(cfg), '--work-dir', str(tmp_path / 'w')])
    assert not glob.glob(str(tmp_path / 'w' / '*.pth'))


def test_head_without_pooled_feature_fails_before_any_checkpoint(tiny_folder, tmp_path):
    cfg = tmp_path / 'noneck.py'
    cfg.write_text(tiny_cls_cfg_text(tiny_folder, extra="model['neck'] = None\n"))
    with pytest.raises(AssertionError, match="put a neck such as dict.type='GlobalAveragePooling'"):
        run_cmd([sys.executable, TRAIN, str(cfg), '--work-dir', str(tmp_path / 'w')])
    assert not glob.glob(str(tmp_path / 'w' / '*.pth'))


def test_reestimate_d_recovers_direction_without_touching_weights(tiny_cls_cfg, tmp_path):
    work = tmp_path / 'work'
    run_cmd([sys.executable, TRAIN, tiny_cls_cfg, '--work-dir', str(work)])
    trained = load_state(work / 'epoch_3.pth')
    # a checkpoint "from before the hook": d zero, never updated
    stale = {**trained, 'state_dict': dict(trained['state_dict'])}
    stale['state_dict']['head.fc.feat_ema.d'] = torch.zeros_like(trained['state_dict'][
        'head.fc.feat_ema.d'])
    stale['state_dict']['head.fc.feat_ema.num_updates'] = torch.tensor(0)
    torch.save(stale, tmp_path / 'stale.pth')
    # a checkpoint that lacks backbone weights is refused: d would come from random layers
    broken = {**stale, 'state_dict': {k: v for k, v in stale['state_dict'].items()
                                      if k != 'backbone.conv1.weight'}}
    torch.save(broken, tmp_path / 'broken.pth')
    with pytest.raises(AssertionError, match=r"has no weights for 1 entries .*"
                       r"\['backbone.conv1.weight'\]"):
        run_cmd([sys.executable, osp.join(REPO, 'tools/reestimate_d.py'), tiny_cls_cfg,
                 str(tmp_path / 'broken.pth'), '--out', str(tmp_path / 'x.pth')])
    assert not (tmp_path / 'x.pth').exists()
    with pytest.raises(AssertionError, match='no usable moving-average feature d'):
        run_cmd([sys.executable, TEST, tiny_cls_cfg, str(tmp_path / 'stale.pth'),
                 '--work-dir', str(tmp_path / 't0')])
    run_cmd([sys.executable, osp.join(REPO, 'tools/reestimate_d.py'), tiny_cls_cfg,
             str(tmp_path / 'stale.pth'), '--out', str(tmp_path / 'fixed.pth')])
    fixed = load_state(tmp_path / 'fixed.pth')['state_dict']
    for key, value in trained['state_dict'].items():
        if 'feat_ema' not in key:
            assert torch.equal(value, fixed[key]), key
    cos = torch.nn.functional.cosine_similarity(fixed['head.fc.feat_ema.d'],
                                                trained['state_dict']['head.fc.feat_ema.d'], dim=0)
    assert cos > 0.99
    run_cmd([sys.executable, TEST, tiny_cls_cfg, str(tmp_path / 'fixed.pth'), '--work-dir',
             str(tmp_path / 't1')])
    # Exactly: with mu = 1 and the whole training set in one batch, d is the mean training
    # feature of the model as the Runner builds it (normalised input, BN frozen).
    run_cmd([sys.executable, osp.join(REPO, 'tools/reestimate_d.py'), tiny_cls_cfg,
             str(tmp_path / 'stale.pth'), '--out', str(tmp_path / 'mean.pth'), '--mu', '1',
             '--cfg-options', 'train_dataloader.batch_size=1000'])
    _, feats = runner_features(tiny_cls_cfg, str(tmp_path / 'stale.pth'), tmp_path / 'r', 'train')
    d = load_state(tmp_path / 'mean.pth')['state_dict']['head.fc.feat_ema.d']
    assert torch.allclose(d, feats.mean(0), rtol=1e-4, atol=1e-5)
