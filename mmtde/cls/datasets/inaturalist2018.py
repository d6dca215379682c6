# Copyright (c) mmtde contributors. All rights reserved.
"""iNaturalist 2018 from the Decoupling split lists."""
from mmpretrain.registry import DATASETS

from .list_file_lt import ListFileLT


@DATASETS.register_module()
class INaturalist2018(ListFileLT):
    """iNaturalist 2018 (Van Horn et al., CVPR 2018), 8142 species, naturally long-tailed.

    Reads ``iNaturalist18_{split}.txt`` as Decoupling's ``gen_lists.py`` writes them from the
    official ``train2018.json`` / ``val2018.json`` (lines like
    ``train_val2018/Plantae/7477/3b60c9486db1d2ee875f11a669fbde4b.jpg 7477``, paths relative to
    ``data_root/data_prefix``): 437,513 training images (1000 ... 2 a class), 24,426 in val
    (3 a class), the split every paper reports (the test labels were never released, so there
    is no held-out split). Everything else is :class:`ListFileLT`'s.

    Args:
        data_root (str): Root of the images and, by default, of the list files.
        split (str, optional): ``'train'`` or ``'val'``. Defaults to None (``'train'`` when
            ``ann_file`` is not given either).
        ann_file (str): List file. Defaults to ``iNaturalist18_{split}.txt``.
        **kwargs: ``data_prefix``, ``train_ann_file``, ``check_files``, ``num_classes``
            (8142) and the rest of :class:`ListFileLT`.
    """

    SPLITS = ('train', 'val')
    NUM_CLASSES = 8142
    LIST_FORMAT = 'iNaturalist18_{split}.txt'
    DATA_HINT = ('write iNaturalist18_{train,val}.txt from train2018.json / val2018.json '
                 '("<file_name> <category_id>" a line, as Decoupling\'s gen_lists.py does) '
                 'into data_root or pass ann_file=')
    IMAGES_HINT = ('Put the iNaturalist 2018 images (train_val2018/) under '
                   'data_root/data_prefix as the list expects')
