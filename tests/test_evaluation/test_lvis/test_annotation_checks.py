# Copyright (c) mmtde contributors. All rights reserved.
import pytest

from mmtde.evaluation.lvis.annotation_checks import check_classes_match, check_lvis_categories

# Three categories per frequency group.
CATEGORIES = [dict(id=i + 1, name=f'cat{i + 1}', frequency=f, image_count=1)
              for i, f in enumerate('rrrcccfff')]


def test_check_lvis_categories():
    check_lvis_categories(CATEGORIES)
    with pytest.raises(ValueError, match=r'1 of 9 categories in x\.json .*ids \[4\]'):
        check_lvis_categories([dict(c, frequency='common') if c['id'] == 4 else c
                               for c in CATEGORIES], 'x.json')
    with pytest.raises(ValueError, match='no categories'):
        check_lvis_categories([])


def test_check_classes_match():
    names = ['apple', 'speaker_(stero_equipment)', 'zebra']
    # mmdet's spelling of the LVIS v1 json's misspelt name is the same class
    check_classes_match(['apple', 'speaker_(stereo_equipment)', 'zebra'], names, 'x.json')
    with pytest.raises(ValueError, match='x.json has 3 categories but .* lists 2 classes'):
        check_classes_match(names[:2], names, 'x.json')
    with pytest.raises(ValueError, match=r"class 0 is 'zebra' .* is 'apple' \(2 such pairs\)"):
        check_classes_match(names[::-1], names, 'x.json')
