# Copyright (c) mmtde contributors. All rights reserved.
"""ImageNet-LT from the OLTR / Decoupling split lists."""
from mmpretrain.datasets.categories import IMAGENET_CATEGORIES
from mmpretrain.registry import DATASETS

from .list_file_lt import ListFileLT


@DATASETS.register_module()
class ImageNetLT(ListFileLT):
    """ImageNet-LT (Liu et al., CVPR 2019), 1000 classes, 115.8k long-tailed training images.

    Reads ``ImageNet_LT_{split}.txt`` (lines like ``train/n01440764/n01440764_190.JPEG 0``,
    paths relative to ``data_root/data_prefix``): 115,846 training images (1280 ... 5 a class),
    20 a class in val (from ImageNet-2012 train), 50 a class in test (from ImageNet-2012 val).
    Everything else, including the checks and the training ``class_counts`` on every split, is
    :class:`ListFileLT`'s.

    Args:
        data_root (str): Root of the images and, by default, of the list files.
        split (str, optional): ``'train'``, ``'val'`` or ``'test'``; only picks the default
            ``ann_file``. Defaults to None (``'train'`` when ``ann_file`` is not given either).
        ann_file (str): List file, relative to ``data_root`` unless absolute.
            Defaults to ``ImageNet_LT_{split}.txt``.
        **kwargs: ``data_prefix``, ``train_ann_file`` (default ``ImageNet_LT_train.txt`` beside
            ``ann_file``), ``check_files`` and the rest of :class:`ListFileLT`.
    """

    METAINFO = {'classes': IMAGENET_CATEGORIES}
    LIST_FORMAT = 'ImageNet_LT_{split}.txt'
    DATA_HINT = ('download ImageNet_LT_{train,val,test}.txt (OLTR / Decoupling releases) into '
                 'data_root or pass ann_file=')
    IMAGES_HINT = ('Put the ILSVRC-2012 images under data_root/data_prefix as the list expects '
                   '(val and test images in per-class folders)')
