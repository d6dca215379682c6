# Copyright (c) mmtde contributors. All rights reserved.
"""tools/setup_env.sh refuses what would fail later, and tools/run_tests.sh runs given paths."""
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest

from mmtde_test_utils import REPO

SETUP = osp.join(REPO, 'tools', 'setup_env.sh')
VENV = osp.dirname(osp.dirname(sys.executable))


def run_setup(env, timeout=300):
    return subprocess.run(['bash', SETUP], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_too_old_python_is_refused_up_front(tmp_path):
    fake = tmp_path / 'python3.9'
    fake.write_text('#!/bin/sh\n[ "$1" = -V ] && echo "Python 3.9.18" && exit 0\nexit 1\n')
    fake.chmod(0o755)
    env = dict(os.environ, MMTDE_VENV=str(tmp_path / 'venv'), MMTDE_PYTHON=str(fake),
               MMTDE_CACHE=str(tmp_path / 'cache'))
    proc = run_setup(env)
    assert proc.returncode != 0
    assert 'is Python 3.9.18, but torch 2.14 needs Python >= 3.10' in proc.stderr
    assert not (tmp_path / 'venv').exists()


def test_cuda_ops_without_a_toolkit_are_refused_before_building(tmp_path):
    if any(osp.exists(osp.join(d, 'nvcc')) for d in ('/usr/bin', '/bin')):
        pytest.skip('nvcc on the system PATH: the set-up would start a CUDA build')
    # This venv holds mmcv with CPU ops: with CUDA ops asked for they do not count, no wheel
    # is cached in the empty cache, and without nvcc the build must not start.
    env = dict(os.environ, MMTDE_VENV=VENV, MMTDE_CUDA_OPS='1', CUDA_HOME=str(tmp_path),
               MMTDE_CACHE=str(tmp_path / 'cache'), PATH='/usr/bin:/bin')
    proc = run_setup(env)
    assert proc.returncode != 0, proc.stdout[-2000:]
    # (a CPU-only torch is refused even earlier, with its own message)
    assert 'MMTDE_CUDA_OPS=1 needs the CUDA toolkit (nvcc)' in proc.stderr or \
        'is a CPU-only build' in proc.stderr, proc.stderr[-2000:]
    assert not (tmp_path / 'cache' / 'wheels').exists() or \
        not any(f.endswith('.whl') for _, _, fs in os.walk(tmp_path / 'cache') for f in fs)


def test_run_tests_runs_only_the_given_paths(tmp_path):
    if shutil.which('bash') is None:
        pytest.skip('no bash')
    target = 'tests/test_functional/test_moving_average.py::TestMovingAverage::test_update_rule'
    # MMTDE_SKIP_SETUP: the suite runs in several processes, and the set-up reinstalls mmtde
    # into the venv that the others' scripts import it from
    proc = run_tests('-q', target)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert '1 passed' in proc.stdout
    assert '[mmtde setup]' not in proc.stdout + proc.stderr
    assert f'pytest -q {target}\n' in proc.stdout  # given paths: one process, no -n


def run_tests(*args, **env):
    return subprocess.run(['bash', osp.join(REPO, 'tools', 'run_tests.sh'), *args], cwd=REPO,
                          env=dict(os.environ, MMTDE_VENV=VENV, MMTDE_SKIP_SETUP='1', **env),
                          capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize('env, args, expected', [
    ({}, (), 'pytest tests -n auto --dist loadfile --version'),
    (dict(MMTDE_TEST_WORKERS='3'), (), 'pytest tests -n 3 --dist loadfile --version'),
    (dict(MMTDE_TEST_WORKERS='0'), (), 'pytest tests --version'),
    ({}, ('-n', '1'), 'pytest tests -n 1 --version'),
])
def test_the_whole_suite_runs_in_a_process_a_core(env, args, expected):
    """--version: pytest stops after reading its options (and loading xdist, which -n needs)."""
    proc = run_tests(*args, '--version', **env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert expected in proc.stdout


def test_a_bad_number_of_test_processes_is_refused():
    proc = run_tests('--version', MMTDE_TEST_WORKERS='two')
    assert proc.returncode == 2
    assert 'MMTDE_TEST_WORKERS=two: use auto, 0 (one process) or a number' in proc.stderr
