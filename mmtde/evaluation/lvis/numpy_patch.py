# Copyright (c) mmtde contributors. All rights reserved.
"""Keep the official LVIS API (``lvis`` 0.5.3) working on numpy >= 1.24.

``lvis.eval.LVISEval.accumulate`` calls ``np.float``, an alias that numpy 1.24 removed, so every
LVIS evaluation on a current numpy dies after the whole test set was predicted. Setting
``numpy.float = float`` would fix it for every package in the process and hide the same bug
elsewhere; :func:`patch_lvis_numpy` instead rebinds the name ``np`` inside the lvis modules only,
to a thin proxy of numpy that also answers the removed aliases with the builtins they used to be.
Nothing outside those modules sees a difference.

This module needs neither mmdet nor mmcv: tools and tests can use it on their own.
"""
import builtins
import importlib
import sys
import types
from typing import Iterable, List

import numpy

#: Aliases numpy 1.20 deprecated and 1.24 removed, with the builtins they were bound to.
REMOVED_NUMPY_ALIASES = ('bool', 'int', 'float', 'complex', 'object', 'str')

#: The lvis modules whose module-level ``np`` we rebind (``lvis.eval`` is the one that needs it;
#: the others are rebound too so that a later lvis release moving code around stays covered).
LVIS_NUMPY_MODULES = ('lvis.eval', 'lvis.vis', 'lvis.colormap')


class _NumpyWithRemovedAliases(types.ModuleType):
    """numpy, plus the aliases it removed; every other attribute is numpy's own."""

    def __init__(self) -> None:
        super().__init__('numpy', numpy.__doc__)
        # Names numpy defines itself stay numpy's (numpy 2 brought back ``np.bool`` as the
        # numpy bool type). Looked up in the module dict: ``hasattr(numpy, 'object')`` warns.
        self._aliases = {name: getattr(builtins, name) for name in REMOVED_NUMPY_ALIASES
                         if name not in vars(numpy)}

    def __getattr__(self, name: str):
        # Only reached for names this (empty) module lacks, i.e. every numpy name.
        if name in self._aliases:
            return self._aliases[name]
        return getattr(numpy, name)

    def __dir__(self) -> List[str]:
        return sorted(set(dir(numpy)) | set(REMOVED_NUMPY_ALIASES))

    def __repr__(self) -> str:
        return f'<numpy {numpy.__version__} with removed aliases, scoped to lvis>'


def patch_lvis_numpy(module_names: Iterable[str] = LVIS_NUMPY_MODULES) -> List[str]:
    """Give the lvis modules a numpy that still has ``np.float`` and friends.

    Idempotent and scoped: only the global ``np`` of the named modules changes, the real
    ``numpy`` module does not. A module that is not installed, or has no ``np``, is skipped.

    Args:
        module_names (Iterable[str]): Modules to patch. Defaults to
            :data:`LVIS_NUMPY_MODULES`.

    Returns:
        list[str]: The modules whose ``np`` now is the proxy (patched now or before).
    """
    patched = []
    for name in module_names:
        try:
            module = sys.modules.get(name) or importlib.import_module(name)
        except ImportError:
            continue
        current = getattr(module, 'np', None)
        if isinstance(current, _NumpyWithRemovedAliases):
            patched.append(name)
        elif current is numpy:
            module.np = _NumpyWithRemovedAliases()
            patched.append(name)
    return patched
