# Copyright (c) mmtde contributors. All rights reserved.
"""mmengine checkpoints under torch >= 2.6: loadable with weights_only, unsafe ones refused."""
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.fileio import get_file_backend
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner import load_checkpoint

from mmtde.engine import register_checkpoint_safe_globals
from mmtde.engine.checkpoint import AtomicLocalBackend


class Boom:
    """Pickling this runs os.system on load when weights_only protection is off."""

    def __reduce__(self):
        return (os.system, ('touch /tmp/mmtde_pwned',))


def mmengine_like_checkpoint():
    buf = HistoryBuffer()
    buf.update(0.5)
    return {
        'meta': {'epoch': 3, 'iter': 30, 'seed': np.int64(7), 'hist': np.arange(3.0)},
        'state_dict': {'w': torch.ones(2)},
        'message_hub': {'log_scalars': {'train/lr': buf}},
    }


def test_mmengine_checkpoint_loads_with_weights_only(tmp_path):
    register_checkpoint_safe_globals()
    path = tmp_path / 'ckpt.pth'
    torch.save(mmengine_like_checkpoint(), path)
    loaded = torch.load(path, weights_only=True)
    assert loaded['meta']['seed'] == 7
    assert np.array_equal(loaded['meta']['hist'], np.arange(3.0))
    assert loaded['message_hub']['log_scalars']['train/lr'].current() == 0.5
    # and through mmengine's own loader (which calls torch.load without weights_only)
    model = torch.nn.Linear(2, 1)
    torch.save({'state_dict': model.state_dict(), **mmengine_like_checkpoint()}, path)
    load_checkpoint(torch.nn.Linear(2, 1), str(path))


def test_importing_mmtde_cls_is_enough_to_load_a_checkpoint(tmp_path):
    # what mmpretrain's get_model(cfg, pretrained=...) does after the config's custom_imports
    path = tmp_path / 'ckpt.pth'
    torch.save({'state_dict': torch.nn.Linear(2, 1).state_dict(),
                **mmengine_like_checkpoint()}, path)
    code = ('import torch, mmtde.cls; from mmengine.runner import load_checkpoint; '
            f'load_checkpoint(torch.nn.Linear(2, 1), {str(path)!r}); print("loaded")')
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0 and 'loaded' in proc.stdout, proc.stderr[-2000:]


def test_atomic_checkpoints_get_the_usual_file_mode(tmp_path):
    target = tmp_path / 'epoch_1.pth'
    get_file_backend(str(target), backend_args=dict(backend='atomic_local')).put(
        b'x', str(target))
    umask = os.umask(0)
    os.umask(umask)
    assert (target.stat().st_mode & 0o777) == 0o666 & ~umask  # not mkstemp's 0600


def test_arbitrary_pickled_object_is_refused(tmp_path):
    register_checkpoint_safe_globals()
    path = tmp_path / 'evil.pth'
    if os.path.exists('/tmp/mmtde_pwned'):
        os.remove('/tmp/mmtde_pwned')
    torch.save({'state_dict': {}, 'meta': Boom()}, path)
    with pytest.raises(pickle.UnpicklingError, match='system'):
        torch.load(path)
    with pytest.raises(pickle.UnpicklingError):
        load_checkpoint(torch.nn.Linear(2, 1), str(path))
    assert not os.path.exists('/tmp/mmtde_pwned')


def test_getattr_is_restricted_to_history_buffer(tmp_path):
    register_checkpoint_safe_globals()

    class Sneaky:

        def __reduce__(self):
            return (getattr, (np.ndarray, 'tofile'))

    path = tmp_path / 'sneaky.pth'
    torch.save({'x': Sneaky()}, path)
    with pytest.raises(Exception, match='refusing to unpickle getattr'):
        torch.load(path)


def test_atomic_put_never_leaves_partial_file(tmp_path, monkeypatch):
    target = tmp_path / 'epoch_1.pth'
    backend = get_file_backend(str(target), backend_args=dict(backend='atomic_local'))
    assert isinstance(backend, AtomicLocalBackend)
    backend.put(b'old complete checkpoint', str(target))

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # the process dies between writing and renaming

    monkeypatch.setattr(os, 'replace', killed)
    with pytest.raises(KeyboardInterrupt):
        backend.put(b'new' * 1000, str(target))
    assert target.read_bytes() == b'old complete checkpoint'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['epoch_1.pth']


KILLED_WRITER = r'''
import builtins, io, os, sys, time
import torch
from mmengine.fileio import get_file_backend
import mmtde.engine  # registers atomic_local
backend_name, target = sys.argv[1], sys.argv[2]
backend = get_file_backend(target, backend_args=dict(backend=backend_name))
buf = io.BytesIO()
torch.save({'state_dict': {'w': torch.zeros(1024, 1024)}}, buf)  # 4 MB
data = buf.getvalue()


class StallingFile(io.FileIO):
    """A disk that takes forever after the first half: the kill lands mid-write, always."""

    def write(self, b):
        n = super().write(bytes(b)[:len(data) // 2])
        os.fsync(self.fileno())
        print('half written', flush=True)
        time.sleep(600)
        return n


real_open, real_fdopen = builtins.open, os.fdopen
builtins.open = lambda f, mode='r', *a, **k: (
    StallingFile(f, 'wb') if 'w' in mode and 'b' in mode else real_open(f, mode, *a, **k))
os.fdopen = lambda fd, mode='r', *a, **k: (
    StallingFile(fd, 'wb') if 'w' in mode and 'b' in mode else real_fdopen(fd, mode, *a, **k))
backend.put(data, target)
'''


@pytest.mark.parametrize('backend', ['atomic_local', 'local'])
def test_killed_save_leaves_the_previous_checkpoint(tmp_path, backend):
    """SIGKILL a process in the middle of writing a checkpoint: with ``atomic_local`` the path
    still holds the previous, complete checkpoint; mmengine's plain ``local`` backend is shown
    to leave a truncated file there (the failure this guards against)."""
    import signal
    target = tmp_path / 'latest.pth'
    torch.save({'state_dict': {'w': torch.ones(3)}}, target)
    script = tmp_path / 'writer.py'
    script.write_text(KILLED_WRITER)
    proc = subprocess.Popen([sys.executable, str(script), backend, str(target)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == 'half written'
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    if backend == 'atomic_local':
        loaded = torch.load(target, weights_only=True)
        assert torch.equal(loaded['state_dict']['w'], torch.ones(3))
    else:
        with pytest.raises(Exception):
            torch.load(target, weights_only=True)  # truncated
