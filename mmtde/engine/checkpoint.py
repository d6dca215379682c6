# Copyright (c) mmtde contributors. All rights reserved.
"""Checkpoints that load under torch >= 2.6 safely, and are written atomically.

torch >= 2.6 loads with ``weights_only=True`` by default, and mmengine 0.10 calls ``torch.load``
without the argument, so resuming fails on the numpy arrays and ``HistoryBuffer`` objects that
mmengine itself puts into every checkpoint. Instead of switching the protection off, we add those
exact globals to torch's allow-list. ``HistoryBuffer`` pickles its statistic methods as
``getattr(HistoryBuffer, 'min')``; rather than allowing the builtin ``getattr`` (which reaches
any attribute), the name ``builtins.getattr`` is bound to :func:`_history_buffer_getattr`, which
only resolves those methods. Anything else still makes ``torch.load`` refuse the file.
"""
import os
import os.path as osp
import tempfile
from typing import Union

import numpy as np
import torch
from mmengine.fileio import LocalBackend, register_backend
from mmengine.logging.history_buffer import HistoryBuffer

_REGISTERED = False
# HistoryBuffer registers these lazily (in its __init__), so its class dict may still be empty.
_DEFAULT_STATISTICS = ('min', 'max', 'current', 'mean')


def _history_buffer_getattr(obj, name: str):
    """``getattr`` restricted to the statistic methods of ``HistoryBuffer``."""
    if obj is HistoryBuffer and (name in _DEFAULT_STATISTICS
                                 or name in HistoryBuffer._statistics_methods):
        return getattr(obj, name)
    raise RuntimeError(
        f'refusing to unpickle getattr({obj!r}, {name!r}): mmtde only allows the statistic '
        f'methods of mmengine HistoryBuffer in checkpoints. If you trust this file, load it '
        f'with torch.load(..., weights_only=False).')


def checkpoint_safe_globals() -> list:
    """The globals an mmengine checkpoint needs, as accepted by ``add_safe_globals``."""
    multiarray = np._core.multiarray if hasattr(np, '_core') else np.core.multiarray
    dtype_classes = [
        type(np.dtype(t)) for t in (np.float16, np.float32, np.float64, np.int8, np.int16,
                                    np.int32, np.int64, np.uint8, np.uint16, np.uint32,
                                    np.uint64, np.bool_)
    ]
    entries = [np.ndarray, np.dtype, HistoryBuffer, *dtype_classes,
               (_history_buffer_getattr, 'builtins.getattr')]
    # Checkpoints written under numpy 1.x name the numpy-2 ``numpy._core`` functions
    # ``numpy.core``; accept both spellings of the same two functions.
    for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        entries.append((multiarray._reconstruct, f'{module}._reconstruct'))
        entries.append((multiarray.scalar, f'{module}.scalar'))
    return entries


def register_checkpoint_safe_globals() -> None:
    """Allow torch's ``weights_only`` loader to read mmengine checkpoints (idempotent)."""
    global _REGISTERED
    if _REGISTERED or not hasattr(torch.serialization, 'add_safe_globals'):
        return
    torch.serialization.add_safe_globals(checkpoint_safe_globals())
    _REGISTERED = True


def _read_umask() -> int:
    """The process umask, read once at import (setting it back and forth later would race
    with other threads creating files)."""
    umask = os.umask(0)
    os.umask(umask)
    return umask


_UMASK = _read_umask()


class AtomicLocalBackend(LocalBackend):
    """Local storage whose writes are atomic: a killed save never leaves a truncated file.

    Data goes to a temporary file in the same directory, is flushed to disk, then replaces the
    target with ``os.replace``. Select it with
    ``default_hooks.checkpoint.backend_args = dict(backend='atomic_local')``
    (``tools/train.py`` does this unless the config chose a backend).
    """

    def put(self, obj: bytes, filepath: Union[str, os.PathLike]) -> None:
        filepath = os.fspath(filepath)
        directory = osp.dirname(osp.abspath(filepath))
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix='.' + osp.basename(filepath) + '.', suffix='.tmp',
                                   dir=directory)
        try:
            # mkstemp creates 0600; give the file the mode a plain open() would (umask applies)
            os.fchmod(fd, 0o666 & ~_UMASK)
            with os.fdopen(fd, 'wb') as f:
                f.write(obj)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, filepath)
        except BaseException:
            if osp.exists(tmp):
                os.remove(tmp)
            raise

    def put_text(self, obj: str, filepath: Union[str, os.PathLike],
                 encoding: str = 'utf-8') -> None:
        self.put(obj.encode(encoding), filepath)


register_backend('atomic_local', AtomicLocalBackend, force=True)
