# Copyright (c) mmtde contributors. All rights reserved.
"""tools/demo_cifar10_lt.py: a data folder named on purpose is used or refused, never skipped."""
import os
import os.path as osp
import subprocess
import sys

from mmtde_test_utils import REPO


def test_a_data_dir_without_cifar10_is_refused(tmp_path):
    empty = tmp_path / 'typo'
    empty.mkdir()
    proc = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'demo_cifar10_lt.py'), '--work-dir',
         str(tmp_path / 'work')], cwd=REPO, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, MMTDE_DATA_DIR=str(empty), PYTHONPATH=REPO))
    assert proc.returncode != 0
    assert f"MMTDE_DATA_DIR='{empty}' holds no CIFAR-10" in proc.stderr, proc.stderr[-2000:]
    assert not osp.exists(osp.join(REPO, 'data', 'cifar10', 'cifar-10-python.tar.gz'))
