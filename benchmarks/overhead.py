# Copyright (c) mmtde contributors. All rights reserved.
"""What TDE costs: time ratios against the stock heads, measured in one process.

Each case builds the stock model and the TDE model from the repository's configs, gives them
the same weights wherever they have the same parameters, runs both on the same inputs,
alternating A/B/B/A after warm-up, and reports the median times and their ratio
(TDE / stock). Cases:

* ``cls-r32-train`` / ``cls-r32-infer``: ResNet-32 (BBN) on 32 x 32 CIFAR input, batch 128:
  a full SGD step (loss incl. the update of ``d``, backward, step) and ``predict``.
  ``CausalNormHead`` vs mmpretrain's ``LinearClsHead``. (``EMAFeatureHook`` does nothing per
  iteration: it sets ``mu`` before each epoch and logs after it.)
* ``cls-x50head-train`` / ``-infer`` / ``-logits``: the head alone at ResNeXt-50 sizes (2048-d
  pooled feature, 1000 classes, 64 images as in the 8 x 64 ImageNet-LT config); ``-logits``
  leaves out building the ``DataSample`` list that both heads' ``predict`` returns.
* ``cls-x50-train`` / ``cls-x50-infer``: the whole ResNeXt-50 32x4d at 224 px, small batch
  (``--x50-batch``), to put the head's cost in proportion.
* ``det-bbox-forward`` / ``det-bbox-predict`` / ``det-bbox-train``: the LVIS bbox head
  (1000 RoIs, 256 x 7 x 7 RoI features, 1203 + 1 classes, class-wise regression) of
  ``configs/lvis/mask_rcnn_tde.py`` vs mmdet's ``Shared2FCBBoxHead`` of
  ``mask-rcnn_r50_fpn_ms-1x_lvis-v1.py``: forward, forward + ``predict_by_feat`` (softmax, box
  decoding, NMS, 300 per image), and a training step of the head (forward, cross-entropy + L1
  on random targets, backward, ``d`` update on the foreground RoIs).
* ``det-maskrcnn-predict``: the whole Mask R-CNN R50-FPN of those two configs on one small
  image (``--det-size``).

Random weights give flat scores (~1/1204 each), and the two heads give different ones: at
LVIS's ``score_thr=1e-4`` all 1.2 M (RoI, class) pairs would enter NMS (over a minute per image
on a CPU), and at any threshold the two models would keep different numbers of boxes, so NMS
and the mask head would do different amounts of work (seen here: the TDE model ran the mask
RoIAlign, the stock one did not). The predict cases therefore use ``--det-score-thr`` (1.0) for
both: no box survives, and what is timed is everything that depends on the head (RoI head
forward, softmax, box decoding, thresholding) on top of backbone, neck and RPN. The
post-processing of the boxes a trained model keeps is the same code for both heads.
A case that misses its aim (training 2 %, inference 5 %) is profiled and its top operators
printed, with ``--profile`` every case is.

Example::

    python benchmarks/overhead.py  # results.json, results.md in work_dirs/benchmarks/overhead
"""
import argparse
import os
import os.path as osp
import platform
import statistics
import time
from typing import Callable, Dict, List

import torch
from benchlib import REPO, add_common_args, command_line, write_results

CLS_CFG = 'configs/cifar_lt/resnet32-{}_1xb256-200e_cifar10-lt-if100.py'
X50_CFG = 'configs/imagenet_lt/resnext50-{}_8xb64-coslr-90e_imagenet-lt.py'
DET_CFG = {'baseline': 'configs/lvis/mask-rcnn_r50_fpn_ms-1x_lvis-v1.py',
           'tde': 'configs/lvis/mask_rcnn_tde.py'}
AIMS = {'train': 1.02, 'infer': 1.05}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='TDE heads against the stock heads: time '
                                     'ratios measured in one process.')
    parser.add_argument('--cases', nargs='+', default=['cls', 'x50head', 'x50', 'det', 'maskrcnn'],
                        choices=['cls', 'x50head', 'x50', 'det', 'maskrcnn'])
    parser.add_argument('--reps', type=int, default=30, help='timed runs of each model')
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--x50-batch', type=int, default=4)
    parser.add_argument('--det-size', type=int, default=320)
    parser.add_argument('--det-score-thr', type=float, default=1.0,
                        help='rcnn score_thr of the predict cases (see above)')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--threads', type=int, default=os.cpu_count())
    parser.add_argument('--profile', action='store_true', help='profile every case')
    add_common_args(parser, 'work_dirs/benchmarks/overhead', data_root_help=None)
    return parser.parse_args(argv)


def sync(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def compare(fns: Dict[str, Callable], reps: int, warmup: int, device: str) -> Dict[str, List]:
    """Seconds of each call, the two functions alternating A B B A ... after warm-up."""
    names = list(fns)
    for _ in range(warmup):
        for name in names:
            fns[name]()
    sync(device)
    times = {name: [] for name in names}
    for rep in range(reps):
        for name in (names if rep % 2 == 0 else names[::-1]):
            start = time.perf_counter()
            fns[name]()
            sync(device)
            times[name].append(time.perf_counter() - start)
    return times


def profile(fn: Callable, device: str, rows: int = 8) -> str:
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA]
                                           if device.startswith('cuda') else [])
    fn()
    with torch_profile(activities=activities) as prof:
        for _ in range(3):
            fn()
        sync(device)
    key = 'self_cuda_time_total' if device.startswith('cuda') else 'self_cpu_time_total'
    return prof.key_averages().table(sort_by=key, row_limit=rows, max_name_column_width=40)


def load_cfg(path: str):
    from mmengine.config import Config
    return Config.fromfile(osp.join(REPO, path))


def build(cfg_model, scope: str):
    from mmengine.registry import init_default_scope
    init_default_scope(scope)
    registry = __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS
    return registry.build(cfg_model)


def make_ready(module) -> None:
    """Give every moving-average feature of a freshly built model a usable ``d``."""
    from mmtde.functional import MovingAverageFeature
    for m in module.modules():
        if isinstance(m, MovingAverageFeature):
            m.d.copy_(torch.rand_like(m.d))  # post-ReLU features are non-negative
            m.num_updates.fill_(1)


def share_weights(stock: torch.nn.Module, tde: torch.nn.Module) -> None:
    """Copy every stock parameter/buffer into the TDE model where name and shape agree.

    Both models then compute on the same numbers (the same proposals in a detector, hence the
    same RoIAlign work); only the heads differ. ``d`` is not touched (:func:`make_ready`).
    """
    own = tde.state_dict()
    same = {k: v for k, v in stock.state_dict().items()
            if k in own and own[k].shape == v.shape and 'feat_ema' not in k}
    tde.load_state_dict(same, strict=False)


def sgd_steps(modules: Dict[str, torch.nn.Module],
              loss_of: Callable[[str], torch.Tensor]) -> Dict[str, Callable]:
    """A timed training step per module: ``loss_of(name)``, backward, one SGD step."""
    optims = {n: torch.optim.SGD(m.parameters(), lr=1e-4, momentum=0.9)
              for n, m in modules.items()}

    def step_of(name):
        def step():
            loss = loss_of(name)
            optims[name].zero_grad()
            loss.backward()
            optims[name].step()
        return step

    return {n: step_of(n) for n in modules}


def cls_cases(args, kind: str) -> Dict[str, dict]:
    """Classification pairs: {case: {'kind', 'fns': {stock, tde}}}."""
    from mmpretrain.structures import DataSample
    dev = args.device
    torch.manual_seed(0)
    if kind in ('cls', 'x50'):
        pattern, size, batch = (CLS_CFG, 32, 128) if kind == 'cls' else \
            (X50_CFG, 224, args.x50_batch)
        models = {}
        for name, tag in (('stock', 'ce'), ('tde', 'causalnorm-tde')):
            models[name] = build(load_cfg(pattern.format(tag)).model, 'mmpretrain').to(dev)
        share_weights(models['stock'], models['tde'])
        make_ready(models['tde'])
        inputs = torch.randn(batch, 3, size, size, device=dev)
        labels = torch.randint(0, models['tde'].head.num_classes, (batch, ))
        samples = [DataSample().set_gt_label(int(y)) for y in labels]

        def loss_of(name):
            losses = models[name].train().loss(inputs, samples)
            return sum(v for k, v in losses.items() if 'loss' in k)

        def infer(name):
            def run():
                with torch.no_grad():
                    models[name].eval().predict(inputs)
            return run

        tag = 'cls-r32' if kind == 'cls' else 'cls-x50'
        return {f'{tag}-train': dict(kind='train', fns=sgd_steps(models, loss_of),
                                     shape=f'batch {batch}, {size}x{size}'),
                f'{tag}-infer': dict(kind='infer', fns={n: infer(n) for n in models},
                                     shape=f'batch {batch}, {size}x{size}')}
    # head alone at ResNeXt-50 sizes
    heads = {}
    for name, tag in (('stock', 'ce'), ('tde', 'causalnorm-tde')):
        heads[name] = build(load_cfg(X50_CFG.format(tag)).model.head, 'mmpretrain').to(dev)
    share_weights(heads['stock'], heads['tde'])
    make_ready(heads['tde'])
    feats = torch.relu(torch.randn(64, 2048, device=dev))
    labels = torch.randint(0, 1000, (64, ))
    samples = [DataSample().set_gt_label(int(y)) for y in labels]

    def h_loss(name):
        return heads[name].train().loss((feats.clone().requires_grad_(), ), samples)['loss']

    def h_infer(name):
        def run():
            with torch.no_grad():
                heads[name].eval().predict((feats, ))
        return run

    def h_logits(name):
        head = heads[name]

        def run():
            with torch.no_grad():
                if name == 'tde':  # what predict scores, without building DataSamples
                    head.fc.tde_logits(head.pre_logits((feats, )))
                else:
                    head((feats, ))
        return run

    shape = 'head only: 64 x 2048 -> 1000'
    return {'cls-x50head-train': dict(kind='train', fns=sgd_steps(heads, h_loss),
                                      shape=shape),
            'cls-x50head-infer': dict(kind='infer', fns={n: h_infer(n) for n in heads},
                                      shape=shape),
            'cls-x50head-logits': dict(kind='infer', fns={n: h_logits(n) for n in heads},
                                       shape=shape + ', logits only')}


def det_cases(args, kind: str) -> Dict[str, dict]:
    from mmdet.structures import DetDataSample

    import mmtde.det  # noqa: F401
    dev = args.device
    torch.manual_seed(0)
    cfgs = {'stock': load_cfg(DET_CFG['baseline']), 'tde': load_cfg(DET_CFG['tde'])}
    for cfg in cfgs.values():
        cfg.model.test_cfg.rcnn.score_thr = args.det_score_thr
    if kind == 'maskrcnn':
        models = {n: build(c.model, 'mmdet').to(dev).eval() for n, c in cfgs.items()}
        share_weights(models['stock'], models['tde'])
        make_ready(models['tde'])
        s = args.det_size
        data = dict(inputs=[torch.randint(0, 255, (3, s, s), dtype=torch.uint8)],
                    data_samples=[DetDataSample(metainfo=dict(
                        img_shape=(s, s), ori_shape=(s, s), scale_factor=(1.0, 1.0),
                        img_id=0, pad_shape=(s, s), batch_input_shape=(s, s)))])

        def predict(name):
            def run():
                with torch.no_grad():
                    models[name].test_step(data)
            return run

        return {'det-maskrcnn-predict': dict(kind='infer', fns={n: predict(n) for n in models},
                                             shape=f'R50-FPN, one {s}x{s} image, '
                                             f'score_thr {args.det_score_thr:g}')}
    heads = {n: build(c.model.roi_head.bbox_head, 'mmdet').to(dev) for n, c in cfgs.items()}
    share_weights(heads['stock'], heads['tde'])
    make_ready(heads['tde'])
    test_cfg = cfgs['tde'].model.test_cfg.rcnn
    n_roi, img = 1000, 800
    roi_feats = torch.relu(torch.randn(n_roi, 256, 7, 7, device=dev))
    xy = torch.rand(n_roi, 2, device=dev) * img * 0.8
    wh = torch.rand(n_roi, 2, device=dev) * img * 0.2 + 8
    rois = torch.cat([torch.zeros(n_roi, 1, device=dev), xy, xy + wh], dim=1)
    metas = [dict(img_shape=(img, img), ori_shape=(img, img), scale_factor=(1.0, 1.0))]
    num_classes = heads['tde'].num_classes
    labels = torch.randint(0, num_classes + 1, (512, ), device=dev)  # 512 sampled RoIs
    labels[:384] = num_classes  # 25 % foreground, as mmdet's sampler aims for
    targets = torch.randn(512, 4, device=dev)

    def forward(name):
        def run():
            with torch.no_grad():
                heads[name].eval()(roi_feats)
        return run

    def predict(name):
        def run():
            with torch.no_grad():
                head = heads[name].eval()
                cls_score, bbox_pred = head(roi_feats)
                head.predict_by_feat((rois, ), (cls_score, ), (bbox_pred, ), metas,
                                     rcnn_test_cfg=test_cfg)
        return run

    def loss_of(name):
        head = heads[name].train()
        cls_score, bbox_pred = head(roi_feats[:512])
        fg = labels < num_classes
        reg = bbox_pred.view(512, -1, 4)[fg, labels[fg]]
        if name == 'tde':  # d from the foreground RoIs, as loss_and_target does
            head.fc_cls.update_feature(fg)
        return torch.nn.functional.cross_entropy(cls_score, labels) + \
            (reg - targets[fg]).abs().mean()

    shape = f'{n_roi} RoIs, 256x7x7 -> 1024 -> {num_classes}+1'
    return {'det-bbox-forward': dict(kind='infer', fns={n: forward(n) for n in heads},
                                     shape=shape),
            'det-bbox-predict': dict(kind='infer', fns={n: predict(n) for n in heads},
                                     shape=shape + f', + predict_by_feat, '
                                     f'score_thr {args.det_score_thr:g}'),
            'det-bbox-train': dict(kind='train', fns=sgd_steps(heads, loss_of),
                                   shape='512 sampled RoIs, 25% foreground')}


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    import mmtde.cls  # noqa: F401
    hardware = torch.cuda.get_device_name() if args.device.startswith('cuda') else \
        f'{os.cpu_count()}-core CPU ({platform.machine()}), {args.threads} threads, no GPU'
    print(f'[overhead] {hardware}; torch {torch.__version__}; {args.reps} timed runs each after '
          f'{args.warmup} warm-up, A/B alternating; times are medians (the heavy ResNeXt-50 and '
          f'Mask R-CNN cases: max(3, reps // 5) runs after 1 warm-up)', flush=True)
    rows = []
    lines = ['| case | shape | stock (ms) | TDE (ms) | TDE / stock | aim | met |',
             '|---|---|---|---|---|---|---|']
    print('\n'.join(lines), flush=True)
    for kind in args.cases:
        cases = det_cases(args, kind) if kind in ('det', 'maskrcnn') else cls_cases(args, kind)
        for case, spec in cases.items():
            reps = args.reps if kind not in ('x50', 'maskrcnn') else max(3, args.reps // 5)
            times = compare(spec['fns'], reps, args.warmup if reps == args.reps else 1,
                            args.device)
            med = {n: statistics.median(t) for n, t in times.items()}
            ratio = med['tde'] / med['stock']
            aim = AIMS[spec['kind']]
            row = dict(case=case, shape=spec['shape'], kind=spec['kind'], reps=reps,
                       stock_ms=1e3 * med['stock'], tde_ms=1e3 * med['tde'], ratio=ratio,
                       aim=aim, met=ratio <= aim,
                       stock_iqr_ms=[1e3 * q for q in statistics.quantiles(times['stock'], n=4)],
                       tde_iqr_ms=[1e3 * q for q in statistics.quantiles(times['tde'], n=4)])
            rows.append(row)
            line = (f"| {case} | {spec['shape']} | {row['stock_ms']:.2f} | {row['tde_ms']:.2f} | "
                    f"{ratio:.3f} | <= {aim:.2f} | {'yes' if row['met'] else 'NO'} |")
            lines.append(line)
            print(line, flush=True)
            if args.profile or not row['met']:
                for name in ('stock', 'tde'):
                    row[f'profile_{name}'] = profile(spec['fns'][name], args.device)
        del cases
    for row in rows:
        for name in ('stock', 'tde'):
            if f'profile_{name}' in row:
                print(f"\n[overhead] profile of {row['case']} ({name}):\n{row[f'profile_{name}']}")
    print('[overhead] wrote {} and {}'.format(*write_results(
        args.out, dict(hardware=hardware, torch=torch.__version__, reps=args.reps,
                       command=command_line(__file__, argv), table='\n'.join(lines),
                       rows=rows), '\n'.join(lines), args.work_dir)))
    return rows


if __name__ == '__main__':
    main()
