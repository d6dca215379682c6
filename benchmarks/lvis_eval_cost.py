# Copyright (c) mmtde contributors. All rights reserved.
"""Time and peak memory of LVIS evaluation, and whether faster-coco-eval reproduces lvis-api.

A synthetic LVIS v1 validation set is written once from the real category list (1203
categories with their r/c/f frequency groups) by :func:`mmtde.testing.tiny_lvis.make_synthetic_val`:
``--num-images`` images (500), ~12 objects each from ~3.5 positive categories (group picked
r/c/f = 15/35/50 %, then a category of it), ~8 verified-negative categories per image, some
"not exhaustive" labels, as in LVIS v1 val; and a result set of exactly ``--dets-per-image``
(300) detections per image: near-duplicates of each object with the right label (score 0.3-1)
or a wrong one, and random boxes whose labels are half from the image's positive/negative
categories and half from all 1203.

Each evaluator then runs in fresh processes (``--repeats``, 3; the median is reported), each
reporting its wall time (split into loading and evaluating) and its peak resident
memory (``ru_maxrss``) together with the memory it had before evaluating (imports done):

* ``lvis-api``: ``LVIS`` + ``LVISResults(max_dets=300)`` + ``LVISEval`` (lvis 0.5.3 with
  :func:`mmtde.evaluation.lvis.numpy_patch.patch_lvis_numpy`), as mmdet calls it;
* ``mmdet``: mmdet's ``LVISMetric`` end to end (``process`` of every image's
  ``pred_instances``, then ``compute_metrics``: json dump, ``LVISResults``, ``LVISEval``);
* ``faster-coco-eval``: ``COCOeval_faster(..., lvis_style=True)`` with ``maxDets=[300]``
  (optional package; skipped when not installed).

The AP / AP50 / AP75 / APs / APm / APl / APr / APc / APf of faster-coco-eval are compared with
lvis-api's to ``--tol`` (1e-4). ``results.json`` and ``results.md`` go to ``--out`` (default:
the work dir).

Example::

    python benchmarks/lvis_eval_cost.py --data-root /path/to/data  # its lvis_v1_categories.json
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time

from benchlib import (
    add_categories_argument,
    add_common_args,
    categories_path,
    command_line,
    load_categories,
    lvis_ap_keys,
    peak_rss_mb,
    rss_mb,
    write_results,
)

EVALUATORS = ('lvis-api', 'mmdet', 'faster-coco-eval')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Cost of LVIS evaluation (lvis-api, mmdet '
                                     'LVISMetric, faster-coco-eval) on a synthetic LVIS v1 set.')
    add_common_args(parser, 'work_dirs/benchmarks/lvis_eval',
                    data_root_help='the folder that holds lvis_v1_categories.json')
    add_categories_argument(parser)
    parser.add_argument('--num-images', type=int, default=500)
    parser.add_argument('--dets-per-image', type=int, default=300)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--evaluators', nargs='+', default=list(EVALUATORS), choices=EVALUATORS)
    parser.add_argument('--tol', type=float, default=1e-4)
    parser.add_argument('--repeats', type=int, default=3,
                        help='fresh processes per evaluator; times are their median')
    parser.add_argument('--worker', choices=EVALUATORS, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def make_dataset(cats, num_images, dets_per_image, seed):
    """Synthetic LVIS v1 ground truth (dict) and results (list of dicts)."""
    from mmtde.testing.tiny_lvis import make_synthetic_val
    return make_synthetic_val(cats, num_images, dets_per_image, seed,
                              'synthetic LVIS v1 val for benchmarks/lvis_eval_cost.py')


def run_worker(name, gt_file, dt_file):
    """Evaluate in this process; print one JSON line with time, memory and the metrics."""
    if name in ('lvis-api', 'mmdet'):
        import lvis  # noqa: F401

        from mmtde.evaluation.lvis.numpy_patch import patch_lvis_numpy
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
        value_of = ev.get_results().get
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

        def value_of(key):
            return res.get(f'lvis/bbox_{key}')
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

        def value_of(key):
            return stats.get(names.get(key, key))
    end = time.perf_counter()
    peak = peak_rss_mb()
    metrics = {k: float(value_of(k)) for k in lvis_ap_keys() if value_of(k) is not None}
    print(json.dumps(dict(evaluator=name, seconds=end - start, load_seconds=loaded - start,
                          eval_seconds=end - loaded, rss_before_mb=before, peak_rss_mb=peak,
                          metrics=metrics)))


def main(argv=None):
    args = parse_args(argv)
    gt_file = osp.join(args.work_dir, f'lvis_v1_val_synthetic_{args.num_images}.json')
    dt_file = osp.join(args.work_dir, f'results_{args.num_images}x{args.dets_per_image}.json')
    if args.worker:
        return run_worker(args.worker, gt_file, dt_file)
    cats = load_categories(categories_path(args))
    keys = lvis_ap_keys()
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
              ', '.join(f'{k} {v:.4f}' for k, v in r['metrics'].items() if k in keys), flush=True)
    ref = results.get('lvis-api', {}).get('metrics')
    lines = ['| evaluator | time (s), median | load + evaluate (s) | speed-up vs lvis-api | '
             'peak RSS (MiB) | max abs diff of AP..APf vs lvis-api |', '|---|---|---|---|---|---|']
    for name, r in results.items():
        if 'error' in r:
            lines.append(f"| {name} | - | - | - | - | not run: {r['error'][:60]} |")
            continue
        diff = '-'
        if ref and name != 'lvis-api':
            common = [k for k in keys if k in ref and k in r['metrics']]
            missing = [k for k in keys if k not in r['metrics']]
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
    json_file, md_file = write_results(
        args.out, dict(num_images=args.num_images, dets_per_image=args.dets_per_image,
                       num_objects=len(gt['annotations']), num_dets=len(dets),
                       command=command_line(__file__, argv), table='\n'.join(lines),
                       results=results), '\n'.join(lines), args.work_dir)
    print(f'[lvis-eval] wrote {json_file} and {md_file}')
    return results


if __name__ == '__main__':
    main()
