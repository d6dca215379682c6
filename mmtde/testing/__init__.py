# Copyright (c) mmtde contributors. All rights reserved.
"""Small generated datasets for tests and demos (numpy and OpenCV only)."""

__all__ = ['make_tiny_lvis']


def __getattr__(name: str):
    # Imported on first use, so that ``python -m mmtde.testing.tiny_lvis`` does not find the
    # module already imported by its package (runpy warns about that).
    if name == 'make_tiny_lvis':
        from .tiny_lvis import make_tiny_lvis
        return make_tiny_lvis
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
