# Copyright (c) mmtde contributors. All rights reserved.
from .long_tail_accuracy import LongTailAccuracy

__all__ = ['LongTailAccuracy']
