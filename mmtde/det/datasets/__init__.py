# Copyright (c) mmtde contributors. All rights reserved.
from .emoji_lvis import EmojiLVISDataset

__all__ = ['EmojiLVISDataset']
