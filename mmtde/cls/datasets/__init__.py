# Copyright (c) mmtde contributors. All rights reserved.
from .cifar_lt import CIFAR10LT, CIFAR100LT
from .image_folder_lt import ImageFolderLT
from .imagenet_lt import ImageNetLT
from .long_tail import (
    ClassCountsMixin,
    LongTailMixin,
    check_imbalance_factor,
    count_labels,
    long_tail_counts,
    long_tail_indices,
    plan_long_tail,
)

__all__ = [
    'CIFAR10LT', 'CIFAR100LT', 'ImageFolderLT', 'ImageNetLT', 'ClassCountsMixin',
    'LongTailMixin', 'check_imbalance_factor', 'count_labels', 'long_tail_counts',
    'long_tail_indices', 'plan_long_tail'
]
