# Copyright (c) mmtde contributors. All rights reserved.
from .eqlv2_loss import BBoxHeadEQLV2Loss

__all__ = ['BBoxHeadEQLV2Loss']
