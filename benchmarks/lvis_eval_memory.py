# Copyright (c) mmtde contributors. All rights reserved.
"""Time and peak memory of LVIS bbox + segm evaluation at the size of LVIS v1 val.

A synthetic result set the size of LVIS v1 val (``--scale 1``: 19,809 images, 300 detections
each, 5.9 million, every one with a mask) is evaluated for bbox and segm by:

* ``lvis-api``: lvis 0.5.3 on the two result jsons mmdet would have written (``LVIS``, then per
  IoU type ``LVISResults`` + ``LVISEval``), the reference for AP;
* ``mmdet``: mmdet 3.3's ``LVISMetric``, ``process`` image by image, then ``evaluate``;
* ``ours``: ``StrictLVISMetric`` (lvis-api in ``cats_per_chunk`` groups), and ``ours-faster``
  (``backend='faster-coco-eval'``), fed the same way.

Each runs in fresh processes: one, and (``--ranks 2``) two gloo ranks on this machine, each
``process``-ing every other image as mmengine's ``DefaultSampler`` deals them, collecting to
rank 0 through mmengine's ``collect_results`` (cpu) as in a distributed test. Reported per
process: wall time of ``process`` and of ``evaluate``, peak resident memory (``ru_maxrss``)
and the memory held before the metric was built (imports done). A watchdog kills a run whose
processes together exceed ``--max-rss-gb`` (the machine must keep working: a benchmark that
runs out of memory would take other jobs down with it) and reports where it stopped.

The set is ``benchmarks/lvis_eval_cost.py``'s, :func:`mmtde.testing.tiny_lvis.synthetic_val_images`
(real LVIS v1 categories and frequency groups, ~12 objects an image, verified-negative and
not-exhaustive lists, near-duplicate and random detections), with masks: objects are ellipse
polygons (24 points) filling their box, and every detection's mask is the ellipse inscribed in
its box, at the image's size (480-640 x 360-480), RLE-encoded as mmdet's
``encode_mask_results`` stores it. Mask encoding is the test loop's
cost, not evaluation's, so the metrics are fed already-encoded RLEs (mmdet's ``LVISMetric``
through its own ``encode_mask_results``, patched to pass them on): each stores exactly what it
would have stored after encoding.

Generated data is written once per ``--scale`` / ``--dets-per-image`` / ``--seed`` under
``--work-dir`` and reused. Results (``results.json`` and ``results.md``) go to ``--out``, default
``<work-dir>/scale<scale>``, one folder per scale, saved after every run; a later command keeps
the runs already there (``--rerun`` measures its selected runs again), so the
full size can be measured one evaluator at a time, across sessions or machines (each run
records its date and CPU).

Example (full size; see the README for the figures)::

    python benchmarks/lvis_eval_memory.py --data-root /path/to/data --scale 1
"""
import argparse
import datetime
import json
import os
import os.path as osp
import pickle
import signal
import socket
import subprocess
import sys
import time

import benchlib
import numpy as np

LVIS_V1_VAL_IMAGES = 19809
EVALUATORS = ('lvis-api', 'mmdet', 'ours', 'ours-faster')
IOU_TYPES = ('bbox', 'segm')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Time and peak memory of LVIS bbox + segm '
                                     'evaluation on a synthetic set the size of LVIS v1 val.')
    benchlib.add_common_args(parser, 'work_dirs/benchmarks/lvis_eval_memory',
                    data_root_help='the folder that holds lvis_v1_categories.json')
    benchlib.add_categories_argument(parser)
    parser.add_argument('--scale', type=float, default=1.0,
                        help=f'fraction of LVIS v1 val\'s {LVIS_V1_VAL_IMAGES} images')
    parser.add_argument('--dets-per-image', type=int, default=300)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--evaluators', nargs='+', default=list(EVALUATORS), choices=EVALUATORS)
    parser.add_argument('--ranks', nargs='+', type=int, default=[1, 2], choices=[1, 2],
                        help='processes per run (lvis-api always runs in one)')
    parser.add_argument('--cats-per-chunk', type=int, default=100,
                        help="StrictLVISMetric's cats_per_chunk")
    parser.add_argument('--max-rss-gb', type=float, default=None,
                        help='kill a run whose processes together hold more (default: 85%% of '
                        'the memory available when the benchmark starts)')
    parser.add_argument('--tol', type=float, default=1e-4)
    parser.add_argument('--rerun', action='store_true',
                        help='measure the selected runs again, replacing their saved results')
    parser.add_argument('--worker', choices=EVALUATORS, help=argparse.SUPPRESS)
    parser.add_argument('--rank', type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument('--world-size', type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument('--port', type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument('--set-dir', help=argparse.SUPPRESS)  # the generated set, for workers
    return parser.parse_args(argv)


def generate(args, data_dir):
    """Ground truth json, the two result jsons, and a pickle stream of per-image predictions
    (with an index of offsets) under ``data_dir``; skipped when already there."""
    done = osp.join(data_dir, 'done.json')
    if osp.isfile(done):
        with open(done) as f:
            return json.load(f)
    from mmtde.testing.tiny_lvis import ellipse_rle, synthetic_val_images, synthetic_val_json
    os.makedirs(data_dir, exist_ok=True)
    cats = benchlib.load_categories(benchlib.categories_path(args))
    label_of = {c['id']: i for i, c in enumerate(cats)}
    num_images = max(1, round(args.scale * LVIS_V1_VAL_IMAGES))
    images, anns, offsets, rle_bytes, num_dets = [], [], [], 0, 0
    start = time.perf_counter()
    with open(osp.join(data_dir, 'predictions.pkl'), 'wb') as preds, \
            open(osp.join(data_dir, 'results_bbox.json'), 'w') as bbox_json, \
            open(osp.join(data_dir, 'results_segm.json'), 'w') as segm_json:
        for f in (bbox_json, segm_json):
            f.write('[')
        for image, img_anns, dets in synthetic_val_images(cats, num_images, args.dets_per_image,
                                                          args.seed, masks=True):
            images.append(image)
            anns += img_anns
            rles = [ellipse_rle(d['bbox'], image['height'], image['width']) for d in dets]
            for d, rle in zip(dets, rles):
                sep = ',' if num_dets else ''
                bbox_json.write(sep + json.dumps(d))
                segm_json.write(sep + json.dumps(dict(
                    d, segmentation=dict(size=rle['size'], counts=rle['counts'].decode()))))
                rle_bytes += len(rle['counts'])
                num_dets += 1
            xywh = np.array([d['bbox'] for d in dets], np.float64).reshape(-1, 4)
            offsets.append(preds.tell())
            pickle.dump(dict(
                img_id=image['id'], height=image['height'], width=image['width'],
                bboxes=np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], 1).astype(
                    np.float32),
                scores=np.array([d['score'] for d in dets], np.float32),
                labels=np.array([label_of[d['category_id']] for d in dets], np.int64),
                masks=rles), preds, protocol=pickle.HIGHEST_PROTOCOL)
        for f in (bbox_json, segm_json):
            f.write(']')
    np.save(osp.join(data_dir, 'offsets.npy'), np.array(offsets, np.int64))
    with open(osp.join(data_dir, 'lvis_v1_val_synthetic.json'), 'w') as f:
        json.dump(synthetic_val_json(cats, images, anns, 'benchmarks/lvis_eval_memory.py'), f)
    info = dict(num_images=num_images, num_objects=len(anns), num_dets=num_dets,
                mean_rle_bytes=rle_bytes / max(num_dets, 1),
                generate_seconds=time.perf_counter() - start,
                files_mb={n: os.path.getsize(osp.join(data_dir, n)) / 2**20 for n in (
                    'lvis_v1_val_synthetic.json', 'results_bbox.json', 'results_segm.json',
                    'predictions.pkl')})
    with open(done, 'w') as f:
        json.dump(info, f)
    return info


def my_images(num_images, rank, world_size):
    """The indices mmengine's ``DefaultSampler(shuffle=False)`` gives ``rank``: every
    ``world_size``-th, the total padded to a multiple of ``world_size`` from the start."""
    total = -(-num_images // world_size) * world_size
    indices = (list(range(num_images)) * 2)[:total]
    return indices[rank:total:world_size]


class _Encoded(list):
    """Masks already RLE-encoded, passed through mmdet's ``.detach().cpu().numpy()``."""

    def detach(self):
        return self

    cpu = numpy = detach


def run_worker(args):
    """Evaluate in this process; print one JSON line with time, memory and the metrics.

    mmdet's mask encoder is patched for the run (the masks come encoded) and restored after
    it, so that a worker run in-process (the tests) leaves mmdet as it found it."""
    from mmdet.evaluation.metrics import lvis_metric
    original = lvis_metric.encode_mask_results
    try:
        return _evaluate(args)
    finally:
        lvis_metric.encode_mask_results = original


def _evaluate(args):
    import torch

    from mmtde.evaluation.lvis.numpy_patch import patch_lvis_numpy
    patch_lvis_numpy()
    gt_file = osp.join(args.set_dir, 'lvis_v1_val_synthetic.json')
    if args.world_size > 1:
        torch.distributed.init_process_group(
            'gloo', init_method=f'tcp://127.0.0.1:{args.port}', rank=args.rank,
            world_size=args.world_size)
    if args.worker in ('mmdet', 'ours', 'ours-faster'):
        from mmdet.evaluation import LVISMetric
        from mmdet.evaluation.metrics import lvis_metric

        from mmtde.det import StrictLVISMetric
        lvis_metric.encode_mask_results = list  # the masks come encoded (see _Encoded)
    from lvis import LVIS, LVISEval, LVISResults
    before = benchlib.rss_mb()
    out = dict(evaluator=args.worker, rank=args.rank, world_size=args.world_size,
               rss_before_mb=before)
    start = time.perf_counter()
    if args.worker == 'lvis-api':
        gt = LVIS(gt_file)
        metrics = {}
        for iou_type in IOU_TYPES:
            ev = LVISEval(gt, LVISResults(gt, osp.join(args.set_dir,
                                                       f'results_{iou_type}.json')), iou_type)
            ev.run()
            metrics[iou_type] = {k: float(v) for k, v in ev.get_results().items()}
            del ev
        out.update(process_seconds=0.0, evaluate_seconds=time.perf_counter() - start,
                   metrics=metrics)
    else:
        if args.worker == 'mmdet':
            metric = LVISMetric(ann_file=gt_file, metric=list(IOU_TYPES))
        else:
            metric = StrictLVISMetric(
                ann_file=gt_file, metric=list(IOU_TYPES), cats_per_chunk=args.cats_per_chunk,
                backend='lvis' if args.worker == 'ours' else 'faster-coco-eval',
                per_class_ap=True, per_class_dir=args.work_dir)  # its unrounded summary
        out['build_seconds'] = time.perf_counter() - start
        offsets = np.load(osp.join(args.set_dir, 'offsets.npy'))
        process_seconds = 0.0
        with open(osp.join(args.set_dir, 'predictions.pkl'), 'rb') as f:
            for i in my_images(len(offsets), args.rank, args.world_size):
                f.seek(offsets[i])
                p = pickle.load(f)
                tic = time.perf_counter()
                metric.process({}, [dict(img_id=p['img_id'], ori_shape=(p['height'], p['width']),
                                         pred_instances=dict(
                                             bboxes=torch.from_numpy(p['bboxes']),
                                             scores=torch.from_numpy(p['scores']),
                                             labels=torch.from_numpy(p['labels']),
                                             masks=_Encoded(p['masks'])))])
                process_seconds += time.perf_counter() - tic
        out['process_seconds'] = process_seconds
        tic = time.perf_counter()
        res = metric.evaluate(len(offsets))
        out['evaluate_seconds'] = time.perf_counter() - tic
        if args.rank == 0:
            if args.worker == 'mmdet':  # rounded to 3 decimals by mmdet
                out['metrics'] = {t: {k: res[f'lvis/{t}_{k}'] for k in benchlib.lvis_ap_keys()}
                                  for t in IOU_TYPES}
            else:
                with open(osp.join(args.work_dir, 'lvis_per_class_ap.json')) as f:
                    per_class = json.load(f)
                out['metrics'] = {t: per_class[t]['summary'] for t in IOU_TYPES}
    out['peak_rss_mb'] = benchlib.peak_rss_mb()
    print(json.dumps(out), flush=True)


def launch(args, evaluator, world_size, limit_mb):
    """Run ``evaluator`` in ``world_size`` processes under the memory watchdog."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    work_dir = osp.join(args.work_dir, f'{evaluator}_x{world_size}')
    os.makedirs(work_dir, exist_ok=True)
    procs = [subprocess.Popen(
        [sys.executable, osp.abspath(__file__), '--worker', evaluator, '--rank', str(rank),
         '--world-size', str(world_size), '--port', str(port), '--set-dir', args.set_dir,
         '--work-dir', work_dir, '--cats-per-chunk', str(args.cats_per_chunk)],
        cwd=work_dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, PYTHONPATH=benchlib.REPO, OMP_NUM_THREADS='1'))
        for rank in range(world_size)]
    start, peaks, killed = time.perf_counter(), [0.0] * world_size, None
    while any(p.poll() is None for p in procs):
        rss = [benchlib.rss_mb(p.pid) if p.poll() is None else 0.0 for p in procs]
        peaks = [max(a, b) for a, b in zip(peaks, rss)]
        failed = any(p.poll() not in (None, 0) for p in procs)  # the others would wait
        if (sum(rss) > limit_mb and killed is None) or failed:
            if not failed:
                killed = sum(rss)
            for p in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGKILL)
        time.sleep(0.2)
    wall = time.perf_counter() - start
    outs = [p.communicate() for p in procs]
    if killed is not None:
        return dict(error=f'stopped by the watchdog at {killed / 1024:.1f} GiB (over '
                    f'--max-rss-gb) after {wall:.0f} s', seconds=wall, polled_peak_mb=peaks)
    rows = []
    for p, (stdout, stderr) in zip(procs, outs):
        lines = [ln for ln in stdout.splitlines() if ln.startswith('{"evaluator"')]
        if p.returncode or not lines:
            err = (stderr.strip().splitlines() or [f'exit code {p.returncode}'])[-1]
            return dict(error=f'rank failed: {err[:200]}', seconds=wall, polled_peak_mb=peaks)
        rows.append(json.loads(lines[-1]))
    return dict(seconds=wall, ranks=rows, metrics=rows[0].get('metrics'))


def load_results(out, info):
    """The runs already measured in ``out`` on the same generated set; each command adds its
    runs to them, so a full-size benchmark can be measured one evaluator at a time."""
    if not osp.isfile(out):
        return {}
    with open(out) as f:
        saved = json.load(f)
    def the_set(data):  # generating it again (same seed, another day) gives the same set
        return {k: v for k, v in (data or {}).items() if k != 'generate_seconds'}

    if the_set(saved.get('data')) != the_set(info):
        raise SystemExit(f'{out} holds results for another generated set ({saved.get("data")}'
                         f' against {info}): move it away or give --out another file')
    return saved['results']


def save_results(out, args, info, meminfo, results):
    """Write ``out`` whole, then rename it into place: a run stopped while writing leaves the
    previous file."""
    table = results_table(results, args.tol)
    benchlib.write_results(out, dict(command=benchlib.command_line(__file__, args.argv),
                            mem_total_gib=meminfo['MemTotal'] / 1024, data=info, table=table,
                            results=results), table)


def results_table(results, tol):
    """Markdown rows of every run; AP differences against the ``lvis-api x1`` run, or, where
    lvis-api did not finish, against ``ours x1`` (lvis-api's own ``LVISEval``, run on groups of
    categories), named in the row (adds ``max_abs_diff``, ``matches`` and ``reference`` to each
    compared run)."""
    ref_name = next((n for n in ('lvis-api x1', 'ours x1')
                     if results.get(n, {}).get('metrics')), None)
    ref = results[ref_name]['metrics'] if ref_name else None
    lines = ['| evaluator | processes | wall time (s) | process + evaluate (s), rank 0 | '
             'peak RSS (MiB) per process (before the metric) | sum of peaks (MiB) | '
             'max abs diff of AP..APf vs lvis-api (bbox, segm) | date, machine |',
             '|---' * 8 + '|']
    for name, r in results.items():
        evaluator, procs = name.split(' x')
        when = f"{r.get('date', '?')}, {r.get('machine', '?')}"
        if 'error' in r:
            lines.append(f"| {evaluator} | {procs} | - | - | - | - | {r['error']} | {when} |")
            continue
        r0 = r['ranks'][0]
        diff = '-'
        if ref and name != ref_name:
            t = max(tol, 5e-4) if evaluator == 'mmdet' else tol
            d = max(abs(r['metrics'][i][k] - ref[i][k]) for i in IOU_TYPES
                    for k in benchlib.lvis_ap_keys())
            r['max_abs_diff'], r['matches'], r['reference'] = d, d <= t, ref_name
            diff = f"{d:.1e} ({'within' if d <= t else 'OVER'} {t:g}" + \
                (', mmdet rounds to 3 decimals' if evaluator == 'mmdet' else '') + \
                ('' if ref_name == 'lvis-api x1' else
                 '; lvis-api did not finish: vs ours x1, its LVISEval by category groups') + ')'
        lines.append(
            f"| {evaluator} | {procs} | {r['seconds']:.0f} | {r0['process_seconds']:.0f} + "
            f"{r0['evaluate_seconds']:.0f} | " + ', '.join(
                f"{x['peak_rss_mb']:.0f} ({x['rss_before_mb']:.0f})" for x in r['ranks']) +
            f" | {sum(x['peak_rss_mb'] for x in r['ranks']):.0f} | {diff} | {when} |")
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        return run_worker(args)
    if not osp.isfile(benchlib.categories_path(args) or ''):
        benchlib.load_categories(benchlib.categories_path(args))  # exits with how to give them
    args.argv = argv
    # every setting that changes the set names its folder: another one is never reused for it
    args.set_dir = osp.join(args.work_dir, f'data_scale{args.scale:g}_dets'
                            f'{args.dets_per_image}_seed{args.seed}')
    info = generate(args, args.set_dir)
    print(f"[lvis-mem] {info['num_images']} images, {info['num_objects']} objects, "
          f"{info['num_dets']} detections with masks (RLE {info['mean_rle_bytes']:.0f} bytes "
          f"on average); files (MiB) {info['files_mb']}", flush=True)
    with open('/proc/meminfo') as f:
        meminfo = {ln.split(':')[0]: int(ln.split()[1]) / 1024 for ln in f}
    limit_mb = (args.max_rss_gb * 1024 if args.max_rss_gb
                else 0.85 * meminfo['MemAvailable'])
    out = args.out or osp.join(args.work_dir, f'scale{args.scale:g}')
    results = load_results(benchlib.results_paths(out, args.work_dir)[0], info)
    for evaluator in args.evaluators:
        for world_size in ([1] if evaluator == 'lvis-api' else args.ranks):
            name = f'{evaluator} x{world_size}'
            if name in results and not args.rerun:
                print(f'[lvis-mem] {name}: measured on {results[name].get("date")}, kept (in '
                      f'{out}; --rerun measures again)', flush=True)
                continue
            r = launch(args, evaluator, world_size, limit_mb)
            r.update(date=datetime.date.today().isoformat(), machine=benchlib.machine(),
                     watchdog_limit_gib=limit_mb / 1024)
            if 'error' in r:
                print(f'[lvis-mem] {name}: {r["error"]}', flush=True)
            else:
                print(f"[lvis-mem] {name}: {r['seconds']:.0f} s, peak RSS " + ', '.join(
                    f"rank {x['rank']} {x['peak_rss_mb']:.0f} MiB" for x in r['ranks']),
                    flush=True)
            if r.get('error', '').startswith('rank failed'):
                results.pop(name, None)  # a crashed rank is not a measurement: run it again
            else:
                results[name] = r
            save_results(out, args, info, meminfo, results)
    print(results_table(results, args.tol))
    save_results(out, args, info, meminfo, results)
    print('[lvis-mem] wrote {} and {}'.format(*benchlib.results_paths(out, args.work_dir)))
    return results


if __name__ == '__main__':
    main()
