# Copyright (c) mmtde contributors. All rights reserved.
from .resnet32_bbn import BBNResNet32

__all__ = ['BBNResNet32']
