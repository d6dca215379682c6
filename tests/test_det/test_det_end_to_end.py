# Copyright (c) mmtde contributors. All rights reserved.
"""tools/train.py, tools/test.py and tools/dist_train.sh on a tiny Mask R-CNN and tiny LVIS v1.

The model is configs/lvis/mask_rcnn_tde.py shrunk (tests/test_det/data/tiny_mask_rcnn_tde.py);
the data comes from mmtde.testing.tiny_lvis with the real LVIS v1 categories.
"""
import os
import os.path as osp
import pickle
import re
import subprocess
import sys

import pytest
import torch

from mmtde_test_utils import free_port

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DATA = osp.join(REPO, 'tests', 'test_det', 'data')
TINY_CFG = osp.join(DATA, 'tiny_mask_rcnn_tde.py')
D_KEY = 'roi_head.bbox_head.fc_cls.feat_ema'


def run(cmd, env, timeout=300):
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)
    if proc.returncode != 0:
        pytest.fail(f'{" ".join(cmd)} failed ({proc.returncode}):\n'
                    f'{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}')
    return proc.stdout + proc.stderr


@pytest.fixture(scope='module')
def env(tiny_lvis):
    return dict(
        os.environ,
        MMTDE_TINY_LVIS=tiny_lvis['data_root'],
        # The repo for mmtde, the data folder for the test-only DumpTDEStateHook, and this
        # interpreter first on PATH for tools/dist_train.sh.
        PYTHONPATH=os.pathsep.join([REPO, DATA, os.environ.get('PYTHONPATH', '')]),
        PATH=os.pathsep.join([osp.dirname(sys.executable), os.environ.get('PATH', '')]),
        OMP_NUM_THREADS='1')


@pytest.fixture(scope='module')
def checkpoint(env, tmp_path_factory):
    work_dir = str(tmp_path_factory.mktemp('train'))
    run([sys.executable, 'tools/train.py', TINY_CFG, '--work-dir', work_dir, '--no-validate'],
        env)
    return osp.join(work_dir, 'epoch_1.pth')


def test_training_estimates_d(checkpoint):
    state = torch.load(checkpoint, map_location='cpu', weights_only=False)['state_dict']
    assert int(state[f'{D_KEY}.num_updates']) == 4  # 8 images, 2 a step
    d = state[f'{D_KEY}.d']
    assert d.dtype == torch.float32 and torch.isfinite(d).all() and d.norm() > 0


def lvis_metrics(log):
    return {k: float(v) for k, v in re.findall(r'(lvis/\w+): (-?[\d.]+)', log)}


def test_test_reports_lvis_ap_with_and_without_tde(checkpoint, env, tmp_path):
    scores = {}
    for alpha in (1.5, 0):
        out = tmp_path / f'alpha{alpha}.pkl'
        cmd = [sys.executable, 'tools/test.py', TINY_CFG, checkpoint, '--out', str(out),
               '--work-dir', str(tmp_path / f'alpha{alpha}')]
        if alpha == 0:
            cmd += ['--cfg-options', 'model.roi_head.bbox_head.alpha=0']
        metrics = lvis_metrics(run(cmd, env))
        for iou_type in ('bbox', 'segm'):
            for key in ('AP', 'APr', 'APc', 'APf'):
                value = metrics[f'lvis/{iou_type}_{key}']
                assert 0 <= value <= 1, (alpha, iou_type, key, value)
        with open(out, 'rb') as f:
            preds = pickle.load(f)
        assert len(preds) == 4 and all(len(p['pred_instances']['scores']) for p in preds)
        scores[alpha] = torch.cat([torch.as_tensor(p['pred_instances']['scores'])
                                   for p in preds])
    # Same checkpoint, same boxes in, different classifier at test time.
    assert not torch.equal(scores[1.5], scores[0])


def test_mmdet_own_test_py_loads_the_checkpoint(checkpoint, env, tmp_path):
    """mmdet's own tools/test.py, as a downstream project runs it, on an mmtde checkpoint.

    torch >= 2.6 loads with ``weights_only=True`` and refuses what mmengine puts in every
    checkpoint; the config's ``custom_imports`` of ``mmtde.det`` allows exactly that, and is
    the only mmtde code that runs before mmdet's tool loads the checkpoint."""
    import mmdet
    tool = osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools', 'test.py')
    if not osp.isfile(tool):
        pytest.skip(f'this mmdet install ships no {tool}')
    # without mmtde the plain loader refuses the file: the allow-list is what makes it load
    refused = subprocess.run([sys.executable, '-c', 'import sys, torch; torch.load(sys.argv[1])',
                              checkpoint], env=env, capture_output=True, text=True)
    assert refused.returncode != 0 and 'weights_only' in refused.stderr, refused.stderr[-2000:]
    metrics = lvis_metrics(run([sys.executable, tool, TINY_CFG, checkpoint, '--work-dir',
                                str(tmp_path)], env))
    assert 0 <= metrics['lvis/bbox_AP'] <= 1 and 0 <= metrics['lvis/segm_AP'] <= 1


def test_two_processes_end_with_the_d_of_one_process(env, tmp_path):
    # lr = 0 keeps the network identical in both runs at every step, so d depends only on the
    # images of each step and on how the mean is taken: one process with 2 images a step must
    # equal two processes with 1 image each (DefaultSampler without shuffle gives rank r the
    # images r, r + 2, ...). Each rank dumps its own d; checkpoints only hold rank 0's.
    cfg = tmp_path / 'tiny_dump.py'
    cfg.write_text(
        f'_base_ = [{TINY_CFG!r}]\n'
        "custom_imports = dict(imports=['mmtde.det', 'tde_state_dump_hook'],\n"
        '                      allow_failed_imports=False)\n'
        'model = dict(roi_head=dict(bbox_head=dict(mu=0.9998)))\n'
        "custom_hooks = [dict(type='EMAFeatureHook'), dict(type='DumpTDEStateHook')]\n"
        'optim_wrapper = dict(optimizer=dict(lr=0.0))\n')
    one, two = tmp_path / 'one', tmp_path / 'two'
    run([sys.executable, 'tools/train.py', str(cfg), '--work-dir', str(one), '--no-validate'],
        env)
    run(['bash', 'tools/dist_train.sh', str(cfg), '2', '--work-dir', str(two), '--no-validate',
         '--cfg-options', 'train_dataloader.batch_size=1'], dict(env, PORT=free_port()))

    def load(work_dir, rank):
        state = torch.load(work_dir / f'tde_state_rank{rank}.pt', weights_only=False)
        return state['roi_head.bbox_head.fc_cls.feat_ema']

    (d_one, n_one), (d_r0, n_r0), (d_r1, n_r1) = load(one, 0), load(two, 0), load(two, 1)
    assert n_one == n_r0 == n_r1 == 4
    assert torch.equal(d_r0, d_r1)  # identical on every rank
    torch.testing.assert_close(d_r0, d_one, rtol=1e-5, atol=1e-5)  # the global-batch mean


def test_resume_is_exact(env, tmp_path):
    """Stopped after epoch 1 and resumed: the same weights and d as 2 uninterrupted epochs.

    The RPN and RoI samplers draw random numbers every step; RNGStateHook (added by
    tools/train.py) restores those streams, which mmengine alone does not."""
    full, part = tmp_path / 'full', tmp_path / 'part'
    common = ['--no-validate', '--cfg-options', 'randomness.deterministic=True']
    run([sys.executable, 'tools/train.py', TINY_CFG, '--work-dir', str(full)] + common +
        ['train_cfg.max_epochs=2'], env)
    run([sys.executable, 'tools/train.py', TINY_CFG, '--work-dir', str(part)] + common, env)
    run([sys.executable, 'tools/train.py', TINY_CFG, '--work-dir', str(part), '--resume',
         str(part / 'epoch_1.pth')] + common + ['train_cfg.max_epochs=2'], env)
    a = torch.load(full / 'epoch_2.pth', map_location='cpu', weights_only=False)['state_dict']
    b = torch.load(part / 'epoch_2.pth', map_location='cpu', weights_only=False)['state_dict']
    assert a.keys() == b.keys()
    assert int(b[f'{D_KEY}.num_updates']) == 8
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-6, msg=key)
