# Copyright (c) mmtde contributors. All rights reserved.
"""Check, before a test runs, that an LVIS json and a dataset can be evaluated together.

This module needs neither mmdet nor mmcv: tools and tests can use it on their own.
"""
import difflib
from typing import Iterable, List, Mapping

#: LVIS frequency groups: rare (1-10 training images), common (11-100), frequent (> 100).
LVIS_FREQUENCIES = ('r', 'c', 'f')


def check_lvis_categories(categories: Iterable[Mapping], source: str = 'the annotation file'
                          ) -> None:
    """Check that every category carries an LVIS frequency group.

    ``LVISEval`` splits AP into APr/APc/APf by the ``frequency`` field of each category and
    fails with a bare ``KeyError: 'frequency'`` at the very end of a test run without it (as
    with a json converted from a dataset, or a COCO-style file).

    Args:
        categories (Iterable[Mapping]): The ``categories`` list of an LVIS json.
        source (str): Where they came from, for the error message.

    Raises:
        ValueError: When the list is empty or a category has no valid ``frequency``.
    """
    categories = list(categories)
    if not categories:
        raise ValueError(f'{source} has no categories; an LVIS v1 file lists all 1203')
    bad = [c.get('id', '?') for c in categories if c.get('frequency') not in LVIS_FREQUENCIES]
    if bad:
        raise ValueError(
            f'{len(bad)} of {len(categories)} categories in {source} have no LVIS frequency '
            f"group (a 'frequency' of 'r', 'c' or 'f'), e.g. category ids {bad[:5]}; LVIS "
            f'evaluation needs it for APr/APc/APf. Use the official lvis_v1_val.json / '
            f'lvis_v1_train.json (or copy the categories list from it) as ann_file.')


def check_classes_match(classes: List[str], names: List[str], ann_file: str) -> None:
    """Raise unless the dataset's classes are the json's category names, in id order.

    A name may differ slightly (mmdet spells ``speaker_(stereo_equipment)``, the LVIS v1
    json ``speaker_(stero_equipment)``); a different count or a shifted order is refused.
    """
    fix = ('use the dataset type of this annotation file (LVISV1Dataset for lvis_v1_*.json, '
           'LVISV05Dataset for lvis_v0.5_*.json) with its own classes, and the same '
           'num_classes in the model')
    if len(classes) != len(names):
        raise ValueError(f'{ann_file} has {len(names)} categories but the test dataset lists '
                         f'{len(classes)} classes: {fix}')
    unlike = [(i, a, b) for i, (a, b) in enumerate(zip(classes, names))
              if a != b and difflib.SequenceMatcher(None, a, b).ratio() < 0.8]
    if unlike:
        i, a, b = unlike[0]
        raise ValueError(f'the test dataset\'s class {i} is {a!r} but category {i} of '
                         f'{ann_file} (by id) is {b!r} ({len(unlike)} such pairs): labels '
                         f'would be scored under the wrong categories; {fix}')
