# Copyright (c) mmtde contributors. All rights reserved.
"""Synthetic LVIS v1 data: the one writer of the tests, the demos and the LVIS benchmarks.

Two kinds of set, both on the real LVIS v1 category list (its ``frequency`` groups matter):

* :func:`make_tiny_lvis`: a tiny dataset with pixels (a few 64 px images), for training and
  testing a detector end to end;
* :func:`synthetic_val_images` / :func:`make_synthetic_val`: an LVIS v1 val-like set without
  pixels, at any size (LVIS v1 val: 19,809 images), with a result set of detections, for
  measuring evaluation (``benchmarks/lvis_eval_cost.py``, ``benchmarks/lvis_eval_memory.py``).

The tiny dataset:

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
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

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


def _draw_category(rng: np.random.Generator, groups: Dict[str, list]) -> int:
    group = rng.choice(list('rcf'), p=[0.15, 0.35, 0.5])
    return int(rng.choice(groups[group]))


def _jitter(rng: np.random.Generator, box: List[float], scale: float) -> List[float]:
    x, y, w, h = box
    dx, dy = rng.normal(0, scale, 2) * [w, h]
    dw, dh = np.exp(rng.normal(0, scale, 2))
    return [float(x + dx), float(y + dy), float(w * dw), float(h * dh)]


def synthetic_val_images(categories: Sequence[dict],
                         num_images: int,
                         dets_per_image: int,
                         seed: int = 0,
                         masks: bool = False) -> Iterator[Tuple[dict, List[dict], List[dict]]]:
    """Yield ``(image, annotations, detections)`` of an LVIS v1 val-like set, image by image.

    Each image (480-640 x 360-480, no pixels) has ~3.5 positive categories (group drawn r / c /
    f = 15 / 35 / 50 %, then a category of it) with ~3.5 objects each, ~8 verified-negative
    categories and, for 10 % of its positive ones, a "not exhaustive" label, as in LVIS v1 val.
    Its detections are exactly ``dets_per_image``, highest score first: for every object a close
    and a loose near-duplicate with its label and a close one with a drawn label, then random
    boxes labelled half from the image's positive / negative categories, half from all. One
    generator draws everything, so a set depends only on its arguments.

    Args:
        categories (Sequence[dict]): LVIS categories with ``frequency``, sorted by id.
        num_images (int): Images (ids 1 ... ``num_images``).
        dets_per_image (int): Detections per image.
        seed (int): Seed of the set. Defaults to 0.
        masks (bool): Objects are the ellipses inscribed in their boxes (24-point polygons, see
            :func:`ellipse_polygon`) instead of their boxes. Defaults to False.

    Yields:
        tuple[dict, list[dict], list[dict]]: The image, its annotations and its detections
        (``image_id``, ``category_id``, ``bbox`` as x, y, w, h, ``score``), as LVIS json and
        an LVIS result json hold them.
    """
    rng = np.random.default_rng(seed)
    groups = {g: [c['id'] for c in categories if c['frequency'] == g] for g in 'rcf'}
    all_ids = np.array([c['id'] for c in categories])
    num_anns = 0
    for img_id in range(1, num_images + 1):
        width, height = int(rng.integers(480, 641)), int(rng.integers(360, 481))
        pos = set()
        while len(pos) < 1 + rng.poisson(2.5):
            pos.add(_draw_category(rng, groups))
        neg = set()
        while len(neg) < 4 + rng.poisson(4):
            c = _draw_category(rng, groups)
            if c not in pos:
                neg.add(c)
        img_anns = []
        for c in sorted(pos):
            for _ in range(1 + rng.poisson(2.5)):
                w = float(rng.uniform(8, width / 2))
                h = float(rng.uniform(8, height / 2))
                x, y = float(rng.uniform(0, width - w)), float(rng.uniform(0, height - h))
                img_anns.append(dict(
                    id=num_anns + len(img_anns) + 1, image_id=img_id, category_id=c,
                    bbox=[x, y, w, h], area=w * h,
                    segmentation=[[x, y, x + w, y, x + w, y + h, x, y + h]]))
        num_anns += len(img_anns)
        not_exhaustive = [c for c in sorted(pos) if rng.random() < 0.1]
        image = dict(id=img_id, width=width, height=height, neg_category_ids=sorted(neg),
                     not_exhaustive_category_ids=not_exhaustive,
                     coco_url=f'{_COCO_URL}val2017/{img_id:012d}.jpg')
        img_dets = []
        for a in img_anns:
            img_dets.append((a['category_id'], _jitter(rng, a['bbox'], 0.1),
                             rng.uniform(0.3, 1)))
            img_dets.append((a['category_id'], _jitter(rng, a['bbox'], 0.3),
                             rng.uniform(0.05, 0.6)))
            img_dets.append((_draw_category(rng, groups), _jitter(rng, a['bbox'], 0.1),
                             rng.uniform(0.0, 0.5)))
        local = np.array(sorted(pos | neg))
        while len(img_dets) < dets_per_image:
            c = int(rng.choice(local) if rng.random() < 0.5 else rng.choice(all_ids))
            w, h = float(rng.uniform(8, width / 2)), float(rng.uniform(8, height / 2))
            box = [float(rng.uniform(0, width - w)), float(rng.uniform(0, height - h)), w, h]
            img_dets.append((c, box, rng.uniform(0.0, 0.4)))
        img_dets.sort(key=lambda d: -d[2])
        dets = []
        for c, (x, y, w, h), score in img_dets[:dets_per_image]:
            x, y = max(0.0, x), max(0.0, y)
            w, h = max(1.0, min(w, width - x)), max(1.0, min(h, height - y))
            dets.append(dict(image_id=img_id, category_id=c, bbox=[x, y, w, h],
                             score=float(score)))
        if masks:
            for a in img_anns:
                a['segmentation'], a['area'] = ellipse_polygon(a['bbox'])
        yield image, img_anns, dets


def synthetic_val_json(categories: Sequence[dict], images: List[dict],
                       annotations: List[dict], description: str) -> dict:
    """The LVIS json of a set from :func:`synthetic_val_images`.

    Args:
        categories (Sequence[dict]): All categories of the set.
        images (list[dict]): Its images.
        annotations (list[dict]): Its annotations.
        description (str): ``info.description``, naming what made it.

    Returns:
        dict: LVIS v1 ground truth, as ``lvis.LVIS`` reads it.
    """
    return dict(info=dict(description=description), licenses=[], images=images,
                annotations=annotations, categories=list(categories))


def make_synthetic_val(categories: Sequence[dict], num_images: int, dets_per_image: int,
                       seed: int = 0, description: str = 'mmtde synthetic LVIS v1 val'
                       ) -> Tuple[dict, List[dict]]:
    """A whole set of :func:`synthetic_val_images` in memory.

    Args:
        categories (Sequence[dict]): LVIS categories with ``frequency``, sorted by id.
        num_images (int): Images.
        dets_per_image (int): Detections per image.
        seed (int): Seed of the set. Defaults to 0.
        description (str): ``info.description`` of the ground truth.
            Defaults to ``'mmtde synthetic LVIS v1 val'``.

    Returns:
        tuple[dict, list[dict]]: The ground truth (LVIS json) and the detections (an LVIS
        result json).
    """
    images, anns, dets = [], [], []
    for image, img_anns, img_dets in synthetic_val_images(categories, num_images,
                                                          dets_per_image, seed):
        images.append(image)
        anns += img_anns
        dets += img_dets
    return synthetic_val_json(categories, images, anns, description), dets


def ellipse_polygon(box: Sequence[float], points: int = 24) -> Tuple[List[list], float]:
    """The ellipse inscribed in ``box`` (x, y, w, h) as an LVIS polygon and its area.

    Args:
        box (Sequence[float]): x, y, w, h.
        points (int): Vertices. Defaults to 24.

    Returns:
        tuple[list[list], float]: ``[[x0, y0, x1, y1, ...]]`` (2 decimals) and the area of the
        polygon.
    """
    x, y, w, h = box
    t = np.linspace(0, 2 * np.pi, points, endpoint=False)
    poly = np.stack([x + w / 2 * (1 + np.cos(t)), y + h / 2 * (1 + np.sin(t))], 1)
    return [poly.reshape(-1).round(2).tolist()], _polygon_area(poly)


def ellipse_rle(box: Sequence[float], height: int, width: int) -> dict:
    """pycocotools' compressed RLE of the ellipse inscribed in ``box`` (x, y, w, h).

    The mask is the pixels whose centre is inside, written column by column (RLE order)
    without drawing it, so that millions of detection masks cost little.

    Args:
        box (Sequence[float]): x, y, w, h.
        height (int): Image height.
        width (int): Image width.

    Returns:
        dict: ``size`` and ``counts`` (bytes), as ``pycocotools.mask.encode`` returns them.
    """
    from pycocotools import mask as mask_utils
    x, y, w, h = box
    cols = np.arange(max(0, int(np.floor(x))), min(width, int(np.ceil(x + w))))
    t = (cols + 0.5 - (x + w / 2)) / (w / 2)
    cols, t = cols[np.abs(t) <= 1], t[np.abs(t) <= 1]
    half = h / 2 * np.sqrt(1 - t ** 2)
    top = np.clip(np.ceil(y + h / 2 - half - 0.5), 0, height).astype(np.int64)
    bottom = np.clip(np.floor(y + h / 2 + half - 0.5) + 1, 0, height).astype(np.int64)
    full = bottom > top
    starts, ends = (cols[full] * height + top[full]), (cols[full] * height + bottom[full])
    if len(starts) == 0:
        counts = [height * width]
    else:  # runs of touching columns (a column filled to the bottom, the next from the top)
        new = np.flatnonzero(starts[1:] != ends[:-1]) + 1
        starts, ends = starts[np.r_[0, new]], ends[np.r_[new - 1, len(ends) - 1]]
        counts = np.empty(2 * len(starts) + 1, dtype=np.int64)
        counts[0], counts[-1] = starts[0], height * width - ends[-1]
        counts[1::2] = ends - starts
        counts[2:-1:2] = starts[1:] - ends[:-1]
        counts = counts.tolist()
    return mask_utils.frPyObjects(dict(size=[height, width], counts=counts), height, width)


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description='Write a tiny LVIS v1 dataset.')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--categories', default=os.environ.get(CATEGORIES_ENV),
                        help=f'LVIS category list or LVIS json (default: ${CATEGORIES_ENV})')
    parser.add_argument('--num-train', type=int, default=8)
    parser.add_argument('--num-val', type=int, default=4)
    parser.add_argument('--per-group', type=int, default=2)
    parser.add_argument('--objects-per-image', type=int, default=2)
    parser.add_argument('--image-size', type=int, default=64)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    if not args.categories:
        parser.error(f'give --categories (a list of the 1203 LVIS v1 categories, or '
                     f'lvis_v1_val.json) or set {CATEGORIES_ENV}')
    paths = make_tiny_lvis(args.out, args.categories, args.num_train, args.num_val,
                           args.per_group, args.objects_per_image, args.image_size, args.seed)
    for key, value in paths.items():
        print(f'{key}: {value}')


if __name__ == '__main__':
    main()
