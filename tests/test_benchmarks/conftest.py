# Copyright (c) mmtde contributors. All rights reserved.
"""The benchmark scripts live in ``benchmarks/`` (not a package): make them importable."""
import os.path as osp
import sys

BENCHMARKS = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'benchmarks')
if BENCHMARKS not in sys.path:
    sys.path.insert(0, BENCHMARKS)
