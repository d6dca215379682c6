# Copyright (c) mmtde contributors. All rights reserved.
"""Places-LT from the OLTR / Decoupling split lists."""
from mmpretrain.registry import DATASETS

from .list_file_lt import ListFileLT


@DATASETS.register_module()
class PlacesLT(ListFileLT):
    """Places-LT (Liu et al., CVPR 2019), 365 scene classes, 62.5k long-tailed training images.

    Reads ``Places_LT_{split}.txt`` (lines like ``train/airfield/00004851.jpg 0``, paths
    relative to ``data_root/data_prefix``, i.e. a Places365-Standard copy): 62,500 training
    images (4980 ... 5 a class; 131 many-, 163 medium-, 71 few-shot classes), 20 a class in val
    (from Places365 train), 100 a class in test (from Places365 val, stored as
    ``val/<class>/<image>``). The lists carry no class names; give
    ``metainfo=dict(classes=[...])`` (Places365's ``categories_places365.txt`` order) to have
    them. Everything else is :class:`ListFileLT`'s.

    Args:
        data_root (str): Root of the images and, by default, of the list files.
        split (str, optional): ``'train'``, ``'val'`` or ``'test'``. Defaults to None
            (``'train'`` when ``ann_file`` is not given either).
        ann_file (str): List file. Defaults to ``Places_LT_{split}.txt``.
        **kwargs: ``data_prefix``, ``train_ann_file``, ``check_files``, ``num_classes``
            (365) and the rest of :class:`ListFileLT`.
    """

    NUM_CLASSES = 365
    LIST_FORMAT = 'Places_LT_{split}.txt'
    DATA_HINT = ('download Places_LT_{train,val,test}.txt (OLTR / Decoupling releases) into '
                 'data_root or pass ann_file=')
    IMAGES_HINT = ('Put the Places365-Standard images under data_root/data_prefix as the list '
                   'expects (train/<class>/..., and the val images moved to val/<class>/...)')
