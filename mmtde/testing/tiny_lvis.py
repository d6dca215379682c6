# Copyright (c) mmtde contributors. All rights reserved.
"""Write a tiny LVIS v1 dataset (a few 64 px images) in the official layout, for tests and demos.

The result reads like the real thing to ``lvis.LVIS``, mmdet's ``LVISV1Dataset`` and
``LVISMetric``::

    OUT/train2017/000000000001.jpg ...          (file names come from each image's coco_url)
    OUT/val2017/000000001001.jpg ...
    OUT/annotations/lvis_v1_train.json
    OUT/annotations/lvis_v1_val.json

Both files list all categories of the given LVIS category list (1203 for v1, so configs keep
``num_classes=1203``), but only ``per_group`` categories from each frequency group (rare,
common, frequent) have objects: filled ellipses with polygon masks on a noisy background, one
colour per category. Every picked category occurs in both splits. Images list the picked
categories they do not contain as ``neg_category_ids`` (verified absent, so false positives
there count), as LVIS does. The categories are copied as given (``image_count`` etc. describe
the real training set, not these images): only their ``frequency`` matters for evaluation.

Run ``python -m mmtde.testing.tiny_lvis --out DIR --categories lvis_v1_categories.json``; the
categories file is a list of LVIS categories, or an LVIS json with a ``categories`` key. The
environment variable ``MMTDE_LVIS_CATEGORIES`` may name it instead.
"""
import argparse
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

import cv2
import numpy as np

#: Environment variable naming the LVIS category list when no path is given on the command line.
CATEGORIES_ENV = 'MMTDE_LVIS_CATEGORIES'

_COCO_URL = 'http://images.cocodataset.org/'


def load_lvis_categories(path: str) -> List[dict]:
    """Read LVIS categories from a list file or from the ``categories`` of an LVIS json.

    Args:
        path (str): A json file.

    Returns:
        list[dict]: The categories, sorted by id.
    """
    with open(path, encoding='utf-8') as f:
        data = json.load(f)
    cats = data.get('categories') if isinstance(data, dict) else data
    if not isinstance(cats, list) or not cats or not all('id' in c for c in cats):
        raise ValueError(f'{path} is neither a list of LVIS categories nor an LVIS json with a '
                         f'"categories" list (e.g. lvis_v1_val.json)')
    return sorted(cats, key=lambda c: c['id'])


def pick_categories(categories: Sequence[dict], per_group: int, seed: int = 0) -> List[dict]:
    """Pick ``per_group`` categories from each of the rare, common and frequent groups.

    Args:
        categories (Sequence[dict]): LVIS categories with ``frequency``.
        per_group (int): How many to pick from each group.
        seed (int): Seed of the choice. Defaults to 0.

    Returns:
        list[dict]: ``3 * per_group`` categories, rare first, each group sorted by id.
    """
    rng = np.random.default_rng(seed)
    picked = []
    for freq in ('r', 'c', 'f'):
        group = [c for c in categories if c.get('frequency') == freq]
        if len(group) < per_group:
            raise ValueError(f'need {per_group} categories with frequency {freq!r}, the list '
                             f'has {len(group)}; pass a full LVIS category list')
        idx = np.sort(rng.choice(len(group), size=per_group, replace=False))
        picked += [group[i] for i in idx]
    return picked


def _ellipse_polygon(cx: float, cy: float, rx: float, ry: float, n: int = 12) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1).round(1)


def _polygon_area(poly: np.ndarray) -> float:
    x, y = poly[:, 0], poly[:, 1]
    return float(0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))


def _make_split(out_dir: str, split: str, first_id: int, num_images: int, picked: List[dict],
                colours: Dict[int, list], first_ann_id: int, image_size: int,
                objects_per_image: int, rng: np.random.Generator) -> Dict[str, list]:
    os.makedirs(osp.join(out_dir, f'{split}2017'), exist_ok=True)
    images, annotations = [], []
    ann_id = first_ann_id
    for i in range(num_images):
        img_id = first_id + i
        rel = f'{split}2017/{img_id:012d}.jpg'
        canvas = rng.integers(0, 40, size=(image_size, image_size, 3), dtype=np.uint8)
        # Cycle through the picked categories so that every one of them occurs in the split.
        cats = [picked[(i * objects_per_image + j) % len(picked)]
                for j in range(objects_per_image)]
        for cat in cats:
            rx, ry = rng.uniform(0.12, 0.25, size=2) * image_size
            cx = rng.uniform(rx + 1, image_size - rx - 1)
            cy = rng.uniform(ry + 1, image_size - ry - 1)
            poly = _ellipse_polygon(cx, cy, rx, ry)
            cv2.fillPoly(canvas, [poly.round().astype(np.int32)], colours[cat['id']])
            x0, y0 = poly.min(axis=0)
            x1, y1 = poly.max(axis=0)
            annotations.append(dict(
                id=ann_id, image_id=img_id, category_id=cat['id'],
                bbox=[round(float(v), 2) for v in (x0, y0, x1 - x0, y1 - y0)],
                area=round(_polygon_area(poly), 2), segmentation=[poly.reshape(-1).tolist()]))
            ann_id += 1
        cv2.imwrite(osp.join(out_dir, rel), canvas, [cv2.IMWRITE_JPEG_QUALITY, 95])
        present = {c['id'] for c in cats}
        images.append(dict(
            id=img_id, coco_url=_COCO_URL + rel, flickr_url=_COCO_URL + rel, license=1,
            date_captured='2013-11-14 16:28:13', height=image_size, width=image_size,
            neg_category_ids=sorted(c['id'] for c in picked if c['id'] not in present),
            not_exhaustive_category_ids=[]))
    return dict(images=images, annotations=annotations)


def make_tiny_lvis(out_dir: str,
                   categories: Union[str, Sequence[dict]],
                   num_train: int = 8,
                   num_val: int = 4,
                   per_group: int = 2,
                   objects_per_image: int = 2,
                   image_size: int = 64,
                   seed: int = 0) -> Dict[str, str]:
    """Write a tiny LVIS v1 dataset to ``out_dir``.

    Args:
        out_dir (str): Output folder (created).
        categories (str | Sequence[dict]): A categories file (see :func:`load_lvis_categories`)
            or the categories themselves.
        num_train (int): Training images. Defaults to 8.
        num_val (int): Validation images. Defaults to 4.
        per_group (int): Categories with objects per frequency group. Defaults to 2.
        objects_per_image (int): Objects drawn on each image. Defaults to 2.
        image_size (int): Side of the square images in pixels. Defaults to 64.
        seed (int): Seed for the category choice and the drawings. Defaults to 0.

    Returns:
        dict[str, str]: ``data_root``, ``train_ann`` and ``val_ann`` paths, and
        ``category_ids`` (the picked ids, as a comma-separated string).
    """
    if isinstance(categories, str):
        categories = load_lvis_categories(categories)
    categories = sorted(categories, key=lambda c: c['id'])
    picked = pick_categories(categories, per_group, seed)
    if num_val * objects_per_image < len(picked) or num_train * objects_per_image < len(picked):
        raise ValueError(f'{num_train} train / {num_val} val images with {objects_per_image} '
                         f'objects each cannot show all {len(picked)} picked categories')
    rng = np.random.default_rng(seed)
    # one colour per category, the same in both splits: what a model learns on train holds on val
    colours = {c['id']: (rng.integers(40, 256, size=3)).tolist() for c in picked}
    os.makedirs(osp.join(out_dir, 'annotations'), exist_ok=True)
    paths = dict(data_root=out_dir)
    first_ann_id = 1
    for split, first_id, num in (('train', 1, num_train), ('val', 1001, num_val)):
        data = _make_split(out_dir, split, first_id, num, picked, colours, first_ann_id,
                           image_size, objects_per_image, rng)
        first_ann_id += len(data['annotations'])
        data.update(
            info=dict(description='mmtde tiny LVIS v1 (generated)', version='1.0', year=2020),
            licenses=[dict(id=1, name='CC BY 4.0', url='https://creativecommons.org/'
                           'licenses/by/4.0/')],
            categories=list(categories))
        path = osp.join(out_dir, 'annotations', f'lvis_v1_{split}.json')
        with open(path, 'w', encoding='utf-8') as f:
            json.dump(data, f)
        paths[f'{split}_ann'] = path
    paths['category_ids'] = ','.join(str(c['id']) for c in picked)
    return paths


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description='Write a tiny LVIS v1 dataset.')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--categories', default=os.environ.get(CATEGORIES_ENV),
                        help=f'LVIS category list or LVIS json (default: ${CATEGORIES_ENV})')
    parser.add_argument('--num-train', type=int, default=8)
    parser.add_argument('--num-val', type=int, default=4)
    parser.add_argument('--per-group', type=int, default=2)
    parser.add_argument('--image-size', type=int, default=64)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    if not args.categories:
        parser.error(f'give --categories (a list of the 1203 LVIS v1 categories, or '
                     f'lvis_v1_val.json) or set {CATEGORIES_ENV}')
    paths = make_tiny_lvis(args.out, args.categories, args.num_train, args.num_val,
                           args.per_group, image_size=args.image_size, seed=args.seed)
    for key, value in paths.items():
        print(f'{key}: {value}')


if __name__ == '__main__':
    main()
