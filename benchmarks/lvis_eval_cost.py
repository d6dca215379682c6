# Copyright (c) mmtde contributors. All rights reserved.
"""Time and peak memory of LVIS evaluation, and whether faster-coco-eval reproduces lvis-api.

A synthetic LVIS v1 validation set is written once from the real category list (1203
categories with their r/c/f frequency groups): ``--num-images`` images (500), ~12 objects each
from ~3.5 positive categories (group picked r/c/f = 15/35/50 %, then a category of it), ~8
verified-negative categories per image, some "not exhaustive" labels, as in LVIS v1 val; and a
result set of exactly ``--dets-per-image`` (300) detections per image: near-duplicates of each
object with the right label (score 0.3-1) or a wrong one, and random boxes whose labels are
half from the image's positive/negative categories and half from all 1203.

Each evaluator then runs in fresh processes (``--repeats``, 3; the median is reported), each
reporting its wall time (split into loading and evaluating) and its peak resident
memory (``ru_maxrss``) together with the memory it had before evaluating (imports done):

* ``lvis-api``: ``LVIS`` + ``LVISResults(max_dets=300)`` + ``LVISEval`` (lvis 0.5.3 with
  :func:`mmtde.evaluation.lvis_compat.patch_lvis_numpy`), as mmdet calls it;
* ``mmdet``: mmdet's ``LVISMetric`` end to end (``process`` of every image's
  ``pred_instances``, then ``compute_metrics``: json dump, ``LVISResults``, ``LVISEval``);
* ``faster-coco-eval``: ``COCOeval_faster(..., lvis_style=True)`` with ``maxDets=[300]``
  (optional package; skipped when not installed).

The AP / AP50 / AP75 / APs / APm / APl / APr / APc / APf of faster-coco-eval are compared with
lvis-api's to ``--tol`` (1e-4).

Example::

    python benchmarks/lvis_eval_cost.py --categories /path/to/lvis_v1_categories.json
"""
import argparse
import json
import os
import os.path as osp
import resource
import subprocess
import sys
import time

import numpy as np

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)
EVALUATORS = ('lvis-api', 'mmdet', 'faster-coco-eval')
KEYS = ('AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'APr', 'APc', 'APf')


def default_categories():
    if os.environ.get('MMTDE_LVIS_CATEGORIES'):
        return os.environ['MMTDE_LVIS_CATEGORIES']
    if os.environ.get('MMTDE_DATA_DIR'):
        return osp.join(os.environ['MMTDE_DATA_DIR'], 'lvis_v1_categories.json')
    return None


def add_categories_argument(parser: argparse.ArgumentParser) -> None:
    """``--categories``: the LVIS v1 category list the synthetic set is built from."""
    parser.add_argument('--categories', default=default_categories(),
                        help='LVIS v1 category list, or an LVIS json (default: '
                        '$MMTDE_LVIS_CATEGORIES, else $MMTDE_DATA_DIR/lvis_v1_categories.json)')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Cost of LVIS evaluation (lvis-api, mmdet '
                                     'LVISMetric, faster-coco-eval) on a synthetic LVIS v1 set.')
    add_categories_argument(parser)
    parser.add_argument('--num-images', type=int, default=500)
    parser.add_argument('--dets-per-image', type=int, default=300)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--evaluators', nargs='+', default=list(EVALUATORS), choices=EVALUATORS)
    parser.add_argument('--tol', type=float, default=1e-4)
    parser.add_argument('--repeats', type=int, default=3,
                        help='fresh processes per evaluator; times are their median')
    parser.add_argument('--work-dir', default=osp.join(REPO, 'work_dirs/benchmarks/lvis_eval'))
    parser.add_argument('--out', default=None, help='results JSON (default: in the work dir)')
    parser.add_argument('--worker', choices=EVALUATORS, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def load_categories(path):
    if not path or not osp.isfile(path):
        sys.exit(f'[lvis-eval] LVIS categories not found at {path!r}: pass --categories '
                 f'FILE (a list of the 1203 LVIS v1 categories, or lvis_v1_val.json) or set '
                 f'MMTDE_LVIS_CATEGORIES / MMTDE_DATA_DIR')
    with open(path) as f:
        data = json.load(f)
    cats = data['categories'] if isinstance(data, dict) else data
    return sorted(cats, key=lambda c: c['id'])


def synthetic_images(cats, num_images, dets_per_image, seed):
    """Yield ``(image, annotations, detections)`` of each synthetic image, one at a time."""
    rng = np.random.default_rng(seed)
    groups = {g: [c['id'] for c in cats if c['frequency'] == g] for g in 'rcf'}
    all_ids = np.array([c['id'] for c in cats])

    def draw_cat():
        group = rng.choice(list('rcf'), p=[0.15, 0.35, 0.5])
        return int(rng.choice(groups[group]))

    def jitter(box, scale):
        x, y, w, h = box
        dx, dy = rng.normal(0, scale, 2) * [w, h]
        dw, dh = np.exp(rng.normal(0, scale, 2))
        return [float(x + dx), float(y + dy), float(w * dw), float(h * dh)]

    num_anns = 0
    for img_id in range(1, num_images + 1):
        width, height = int(rng.integers(480, 641)), int(rng.integers(360, 481))
        pos = set()
        while len(pos) < 1 + rng.poisson(2.5):
            pos.add(draw_cat())
        neg = set()
        while len(neg) < 4 + rng.poisson(4):
            c = draw_cat()
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
                     coco_url=f'http://images.cocodataset.org/val2017/{img_id:012d}.jpg')
        img_dets = []
        for a in img_anns:
            img_dets.append((a['category_id'], jitter(a['bbox'], 0.1), rng.uniform(0.3, 1)))
            img_dets.append((a['category_id'], jitter(a['bbox'], 0.3), rng.uniform(0.05, 0.6)))
            img_dets.append((draw_cat(), jitter(a['bbox'], 0.1), rng.uniform(0.0, 0.5)))
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
        yield image, img_anns, dets


def make_dataset(cats, num_images, dets_per_image, seed):
    """Synthetic LVIS v1 ground truth (dict) and results (list of dicts)."""
    images, anns, dets = [], [], []
    for image, img_anns, img_dets in synthetic_images(cats, num_images, dets_per_image, seed):
        images.append(image)
        anns += img_anns
        dets += img_dets
    gt = dict(info=dict(description='synthetic LVIS v1 val for benchmarks/lvis_eval_cost.py'),
              licenses=[], images=images, annotations=anns, categories=cats)
    return gt, dets


def rss_mb():
    """Current resident memory of this process (MiB)."""
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**20


def peak_rss_mb():
    """Peak resident memory of this process (MiB): ``ru_maxrss``, which the kernel updates
    lazily and can trail the current RSS by a few pages, so never below it."""
    return max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, rss_mb())


def run_worker(name, gt_file, dt_file):
    """Evaluate in this process; print one JSON line with time, memory and the metrics."""
    if name in ('lvis-api', 'mmdet'):
        import lvis  # noqa: F401

        from mmtde.evaluation.lvis_compat import patch_lvis_numpy
        patch_lvis_numpy()
    if name == 'mmdet':
        import torch
        from mmdet.evaluation import LVISMetric
    if name == 'faster-coco-eval':
        from faster_coco_eval import COCO, COCOeval_faster
    with open(dt_file) as f:
        dets = json.load(f)
    before = rss_mb()
    start = time.perf_counter()
    if name == 'lvis-api':
        from lvis import LVIS, LVISEval, LVISResults
        gt = LVIS(gt_file)
        ev = LVISEval(gt, LVISResults(gt, dets, max_dets=300), 'bbox')
        loaded = time.perf_counter()
        ev.run()
        res = ev.get_results()
        metrics = {k: float(res[k]) for k in KEYS}
    elif name == 'mmdet':
        metric = LVISMetric(ann_file=gt_file, metric='bbox')
        cat_ids = metric._lvis_api.get_cat_ids()
        metric.dataset_meta = dict(classes=[str(c) for c in cat_ids])
        label_of = {c: i for i, c in enumerate(cat_ids)}
        by_img = {}
        for d in dets:
            by_img.setdefault(d['image_id'], []).append(d)
        for img_id, ds in by_img.items():
            xywh = torch.tensor([d['bbox'] for d in ds])
            metric.process({}, [dict(
                img_id=img_id, ori_shape=(0, 0),
                pred_instances=dict(
                    bboxes=torch.cat([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], dim=1),
                    scores=torch.tensor([d['score'] for d in ds]),
                    labels=torch.tensor([label_of[d['category_id']] for d in ds])))])
        loaded = time.perf_counter()
        res = metric.evaluate(len(by_img))
        metrics = {k: float(res[f'lvis/bbox_{k}']) for k in KEYS if f'lvis/bbox_{k}' in res}
    else:
        gt = COCO(gt_file)
        ev = COCOeval_faster(gt, gt.loadRes(dets), 'bbox', lvis_style=True,
                             print_function=lambda *a, **k: None)
        ev.params.maxDets = [300]
        loaded = time.perf_counter()
        ev.run()
        stats = ev.stats_as_dict
        names = dict(AP='AP_all', AP50='AP_50', AP75='AP_75', APs='AP_small', APm='AP_medium',
                     APl='AP_large')
        metrics = {k: float(stats[names.get(k, k)]) for k in KEYS if names.get(k, k) in stats}
    end = time.perf_counter()
    peak = peak_rss_mb()
    print(json.dumps(dict(evaluator=name, seconds=end - start, load_seconds=loaded - start,
                          eval_seconds=end - loaded, rss_before_mb=before, peak_rss_mb=peak,
                          metrics=metrics)))


def main(argv=None):
    args = parse_args(argv)
    gt_file = osp.join(args.work_dir, f'lvis_v1_val_synthetic_{args.num_images}.json')
    dt_file = osp.join(args.work_dir, f'results_{args.num_images}x{args.dets_per_image}.json')
    if args.worker:
        return run_worker(args.worker, gt_file, dt_file)
    cats = load_categories(args.categories)
    os.makedirs(args.work_dir, exist_ok=True)
    gt, dets = make_dataset(cats, args.num_images, args.dets_per_image, args.seed)
    for path, obj in ((gt_file, gt), (dt_file, dets)):
        with open(path, 'w') as f:
            json.dump(obj, f)
    freq = {c['id']: c['frequency'] for c in cats}
    present = {a['category_id'] for a in gt['annotations']}
    groups = ', '.join(f"{g}: {sum(freq[c] == g for c in present)}" for g in 'rcf')
    print(f"[lvis-eval] {len(gt['images'])} images, {len(gt['annotations'])} objects of "
          f"{len(present)} categories ({groups}), {len(dets)} detections; {len(cats)} "
          f"categories listed", flush=True)
    results = {}
    for name in args.evaluators:
        cmd = [sys.executable, osp.abspath(__file__), '--worker', name, '--work-dir',
               args.work_dir, '--num-images', str(args.num_images), '--dets-per-image',
               str(args.dets_per_image)]
        runs = []
        for _ in range(args.repeats):
            proc = subprocess.run(cmd, capture_output=True, text=True)
            lines = [ln for ln in proc.stdout.splitlines() if ln.startswith('{"evaluator"')]
            if proc.returncode or not lines:
                break
            runs.append(json.loads(lines[-1]))
        if not runs:
            err = (proc.stderr.strip().splitlines() or ['?'])[-1]
            print(f'[lvis-eval] {name}: skipped ({err})', flush=True)
            results[name] = dict(error=err)
            continue
        runs.sort(key=lambda r: r['seconds'])
        r = results[name] = dict(runs[len(runs) // 2], all_seconds=[x['seconds'] for x in runs])
        print(f"[lvis-eval] {name}: {r['seconds']:.1f} s (load {r['load_seconds']:.1f} + "
              f"evaluate {r['eval_seconds']:.1f}; runs {[round(t, 1) for t in r['all_seconds']]})"
              f", peak RSS {r['peak_rss_mb']:.0f} MiB "
              f"({r['peak_rss_mb'] - r['rss_before_mb']:+.0f} MiB over the {r['rss_before_mb']:.0f}"
              f" MiB before evaluating); " +
              ', '.join(f'{k} {v:.4f}' for k, v in r['metrics'].items() if k in KEYS), flush=True)
    ref = results.get('lvis-api', {}).get('metrics')
    lines = ['| evaluator | time (s), median | load + evaluate (s) | speed-up vs lvis-api | '
             'peak RSS (MiB) | max abs diff of AP..APf vs lvis-api |', '|---|---|---|---|---|---|']
    for name, r in results.items():
        if 'error' in r:
            lines.append(f"| {name} | - | - | - | - | not run: {r['error'][:60]} |")
            continue
        diff = '-'
        if ref and name != 'lvis-api':
            common = [k for k in KEYS if k in ref and k in r['metrics']]
            missing = [k for k in KEYS if k not in r['metrics']]
            # mmdet's LVISMetric rounds every value to 3 decimals.
            tol = max(args.tol, 5e-4) if name == 'mmdet' else args.tol
            d = max(abs(r['metrics'][k] - ref[k]) for k in common)
            r['max_abs_diff'], r['matches'] = d, d <= tol and not missing
            diff = f"{d:.2e} ({'within' if d <= tol else 'over'} {tol:g}" + \
                (', mmdet rounds to 3 decimals)' if name == 'mmdet' else ')') + \
                (f', missing {missing}' if missing else '')
        speed = f"{results['lvis-api']['seconds'] / r['seconds']:.2f}x" \
            if 'seconds' in results.get('lvis-api', {}) else '-'
        lines.append(f"| {name} | {r['seconds']:.1f} | {r['load_seconds']:.1f} + "
                     f"{r['eval_seconds']:.1f} | {speed} | {r['peak_rss_mb']:.0f} "
                     f"({r['peak_rss_mb'] - r['rss_before_mb']:+.0f}) | {diff} |")
    print('\n'.join(lines))
    out = args.out or osp.join(args.work_dir, 'lvis_eval_cost.json')
    with open(out, 'w') as f:
        json.dump(dict(num_images=args.num_images, dets_per_image=args.dets_per_image,
                       num_objects=len(gt['annotations']), num_dets=len(dets),
                       command='python ' + ' '.join([osp.relpath(__file__, REPO)] + sys.argv[1:]),
                       table='\n'.join(lines), results=results), f, indent=1)
    print(f'[lvis-eval] wrote {out}')
    return results


if __name__ == '__main__':
    main()
