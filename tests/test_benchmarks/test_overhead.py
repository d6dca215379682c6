# Copyright (c) mmtde contributors. All rights reserved.
import subprocess

import pytest

import overhead


def test_compare_alternates_and_counts():
    calls = []
    times = overhead.compare({'stock': lambda: calls.append('a'),
                              'tde': lambda: calls.append('b')}, reps=4, warmup=1,
                             device='cpu')
    assert {k: len(v) for k, v in times.items()} == {'stock': 4, 'tde': 4}
    assert calls == ['a', 'b'] + ['a', 'b', 'b', 'a', 'a', 'b', 'b', 'a']


def test_head_case_runs_and_reports_ratios(tmp_path):
    out = tmp_path / 'overhead.json'
    rows = overhead.main(['--cases', 'x50head', '--reps', '2', '--warmup', '0', '--threads',
                          '1', '--out', str(out)])
    assert [r['case'] for r in rows] == [
        'cls-x50head-train', 'cls-x50head-infer', 'cls-x50head-logits']
    for r in rows:
        assert r['stock_ms'] > 0 and r['tde_ms'] > 0
        assert r['ratio'] == pytest.approx(r['tde_ms'] / r['stock_ms'])
    assert out.read_text().count('cls-x50head') >= 3


@pytest.mark.parametrize('script', ['cifar10_lt_full.sh', 'gpu_cifar10_lt_full.sh',
                                    'cifar10_lt_full_cpu.sh'])
def test_the_200_epoch_scripts_parse(script):
    subprocess.run(['bash', '-n', f'benchmarks/{script}'], check=True, cwd=overhead.REPO)
