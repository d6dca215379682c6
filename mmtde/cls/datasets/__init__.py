# Copyright (c) mmtde contributors. All rights reserved.
from .cifar_lt import CIFAR10LT, CIFAR100LT
from .image_folder_lt import ImageFolderLT
from .imagenet_lt import ImageNetLT
from .inaturalist2018 import INaturalist2018
from .list_file_lt import ListFileLT
from .long_tail import (
    ClassCountsMixin,
    LongTailMixin,
    check_imbalance_factor,
    count_labels,
    long_tail_counts,
    long_tail_indices,
    plan_long_tail,
)
from .places_lt import PlacesLT

__all__ = [
    'CIFAR10LT', 'CIFAR100LT', 'ImageFolderLT', 'ImageNetLT', 'INaturalist2018', 'ListFileLT',
    'PlacesLT', 'ClassCountsMixin', 'LongTailMixin', 'check_imbalance_factor', 'count_labels',
    'long_tail_counts', 'long_tail_indices', 'plan_long_tail'
]
