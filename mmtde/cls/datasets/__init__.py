# Copyright (c) mmtde contributors. All rights reserved.
from .cifar_lt import CIFAR10LT, CIFAR100LT
from .image_folder_lt import ImageFolderLT
from .imagenet_lt import ImageNetLT
from .inaturalist2018 import INaturalist2018
from .list_file_lt import ListFileLT
from .long_tail import (
    TEST_PRIORS,
    ClassCountsMixin,
    LongTailMixin,
    check_imbalance_factor,
    count_labels,
    long_tail_counts,
    long_tail_indices,
    parse_test_prior,
    plan_long_tail,
    shifted_test_counts,
    shifted_test_indices,
)
from .places_lt import PlacesLT

__all__ = [
    'CIFAR10LT', 'CIFAR100LT', 'ImageFolderLT', 'ImageNetLT', 'INaturalist2018', 'ListFileLT',
    'PlacesLT', 'ClassCountsMixin', 'LongTailMixin', 'check_imbalance_factor', 'count_labels',
    'long_tail_counts', 'long_tail_indices', 'plan_long_tail', 'TEST_PRIORS', 'parse_test_prior',
    'shifted_test_counts', 'shifted_test_indices'
]
