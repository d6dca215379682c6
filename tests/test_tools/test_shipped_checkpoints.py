# Copyright (c) mmtde contributors. All rights reserved.
"""The checkpoints that ship in the repository give their metafile's numbers through the user's
own `tools/test.py` (needs the CIFAR-10 copy the model was trained on: MMTDE_DATA_DIR)."""
import os.path as osp
import re

import pytest

from mmtde_test_utils import metafile_models, run_cmd, shared_data_dir

# how each shipped checkpoint was trained beyond its config (benchmarks/cifar10_lt_full_cpu.sh):
# 50 training images a class held out, so the test split describes that training subset
HELD_OUT_50 = ['test_dataloader.dataset.heldout_per_class=50']
OPTIONS = {
    'resnet32-causalnorm-tde_1xb256-200e_cifar10-lt-if100': HELD_OUT_50,
    'resnet32-ce_1xb256-200e_cifar10-lt-if100': HELD_OUT_50,
}


def _shipped():
    return [m for _, m, _ in metafile_models() if 'Checkpoint' in m.get('Metadata', {})]


def _measured(model):
    """(metric name, value, extra --cfg-options) for every figure measured on the file: the
    config as it is, or 'at alpha A' (the same checkpoint with model.head.alpha=A)."""
    for result in model['Results']:
        for name, value in result['Metrics'].items():
            if not name.endswith('(measured here)'):
                continue
            match = re.fullmatch(r'Top 1 Accuracy(?: at alpha (\S+))? \(measured here\)', name)
            assert match, f'{model["Name"]}: no way to check the metric {name!r}'
            alpha = match.group(1)
            yield name, value, [] if alpha is None else [f'model.head.alpha={alpha}']


def test_every_shipped_checkpoint_says_how_it_was_tested():
    # a shipped checkpoint without its options here would not be checked below
    assert {m['Name'] for m in _shipped()} == set(OPTIONS)


@pytest.mark.parametrize(
    'model,name,value,extra',
    [(m, *measured) for m in _shipped() for measured in _measured(m)],
    ids=lambda x: x['Name'] if isinstance(x, dict) else None)
def test_tools_test_reproduces_the_metafile(model, name, value, extra, tmp_path):
    data = shared_data_dir()
    if not osp.isfile(osp.join(data, 'cifar10-jpeg.tar.gz')):
        pytest.skip(f'no cifar10-jpeg.tar.gz in {data} (set MMTDE_DATA_DIR)')
    options = [f'test_dataloader.dataset.data_root={data}', 'test_dataloader.num_workers=0',
               'test_dataloader.persistent_workers=False'] + OPTIONS[model['Name']] + extra
    proc = run_cmd([
        'python', 'tools/test.py', model['Config'], model['Metadata']['Checkpoint'],
        '--work-dir', str(tmp_path), '--cfg-options', *options
    ], env=dict(OMP_NUM_THREADS='2'), timeout=900)
    found = re.findall(r'lt/top1: ([0-9.]+)', proc.stdout + proc.stderr)
    assert found, proc.stdout[-3000:]
    assert float(found[-1]) == pytest.approx(value, abs=0.01), name
