# Copyright (c) mmtde contributors. All rights reserved.
"""A first run without the data ends in one error that says where we looked, what we expected
there and how to point the configs at it, not in a download traceback."""
import os
import os.path as osp
import subprocess
import sys

import pytest

from mmtde_test_utils import CIFAR_TDE_CFG, REPO, metafile_models

# urllib honours these: every download fails at once, as on a machine without network
OFFLINE = dict(http_proxy='http://127.0.0.1:9', https_proxy='http://127.0.0.1:9',
               HTTP_PROXY='http://127.0.0.1:9', HTTPS_PROXY='http://127.0.0.1:9', no_proxy='',
               NO_PROXY='')


def _offline(monkeypatch):
    for key, value in OFFLINE.items():
        monkeypatch.setenv(key, value)


def test_cifar10_lt_names_folder_copies_and_the_fix(tmp_path, monkeypatch):
    from mmtde.cls.datasets import CIFAR10LT
    _offline(monkeypatch)
    root = tmp_path / 'no_cifar'
    root.mkdir()
    with pytest.raises(FileNotFoundError) as info:
        CIFAR10LT(data_root=str(root), split='test')
    message = str(info.value)
    assert f'CIFAR10LT not found in {str(root)!r}' in message
    for expected in ('cifar-10-batches-py/', 'train/<class>/*.jpg', 'cifar10-jpeg.tar.gz',
                     'MMTDE_DATA_DIR', 'test_dataloader.dataset.data_root=DIR'):
        assert expected in message, expected
    assert info.value.__suppress_context__  # no chained download traceback


def test_cifar100_lt_without_download(tmp_path):
    from mmtde.cls.datasets import CIFAR100LT
    with pytest.raises(FileNotFoundError, match=r"CIFAR100LT not found in .*cifar-100-python/"):
        CIFAR100LT(data_root=str(tmp_path), split='train', download=False)


@pytest.mark.parametrize('name,list_name', [('ImageNetLT', 'ImageNet_LT_train.txt'),
                                            ('PlacesLT', 'Places_LT_train.txt'),
                                            ('INaturalist2018', 'iNaturalist18_train.txt')])
def test_split_list_datasets_name_folder_and_fix(tmp_path, name, list_name):
    import mmtde.cls.datasets as datasets
    with pytest.raises(FileNotFoundError) as info:
        getattr(datasets, name)(data_root=str(tmp_path), split='train')
    message = str(info.value)
    assert list_name in message and f'looked in {str(tmp_path)!r}' in message
    assert 'train_dataloader.dataset.data_root=DIR' in message


def test_tools_test_on_shipped_checkpoint_without_data(tmp_path):
    # what a new user runs first: the shipped checkpoint, no CIFAR-10, no network
    ckpt = next(m['Metadata']['Checkpoint'] for _, m, _ in metafile_models()
                if m['Config'] == osp.relpath(CIFAR_TDE_CFG, REPO))
    empty = tmp_path / 'empty'
    empty.mkdir()
    env = dict(os.environ, MMTDE_DATA_DIR=str(empty), PYTHONPATH=REPO, OMP_NUM_THREADS='1',
               **OFFLINE)
    proc = subprocess.run(
        [sys.executable, 'tools/test.py', CIFAR_TDE_CFG, ckpt, '--work-dir',
         str(tmp_path / 'work'), '--cfg-options', 'test_dataloader.num_workers=0',
         'test_dataloader.persistent_workers=False'],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(f'FileNotFoundError: CIFAR10LT not found in {str(empty)!r}'), \
        proc.stderr[-3000:]
    assert 'cifar10-jpeg.tar.gz' in last and 'MMTDE_DATA_DIR' in last
    assert 'During handling of the above exception' not in proc.stderr
