# Copyright (c) mmtde contributors. All rights reserved.
"""What the benchmark scripts share: one command line, one way to write results, the machine.

Importing it puts this checkout first on ``sys.path``, so that a script measures the code beside
it and not an installed mmtde (the one place that does; a script finds this module because
Python puts the script's own folder on the path).

Every script takes the same three options (:func:`add_common_args`):

* ``--data-root``: the folder its input data is in (CIFAR-10 in any of its forms, the LVIS v1
  category list), default ``$MMTDE_DATA_DIR``; ``--data-dir`` is an alias;
* ``--work-dir``: where it keeps what it makes (caches, checkpoints, generated sets), default
  ``work_dirs/benchmarks/<script>``;
* ``--out``: where ``results.json`` and ``results.md`` go, default the work dir; a path ending
  in ``.json`` names the JSON file, the markdown then goes beside it (``.md``).
"""
import argparse
import json
import os
import os.path as osp
import platform
import resource
import sys
from typing import List, Optional, Sequence, Set, Tuple

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
if sys.path[:1] != [REPO]:
    sys.path.insert(0, REPO)

#: The environment variable that names the data folder (the configs read it too).
DATA_ROOT_ENV = 'MMTDE_DATA_DIR'
#: The environment variable that names the LVIS v1 category list.
LVIS_CATEGORIES_ENV = 'MMTDE_LVIS_CATEGORIES'


def add_common_args(parser: argparse.ArgumentParser,
                    work_dir_default: Optional[str],
                    data_root_help: Optional[str] = 'the folder that holds the input data',
                    data_root_env: bool = True) -> None:
    """Add ``--data-root`` (alias ``--data-dir``), ``--work-dir`` and ``--out`` to ``parser``.

    Args:
        parser (argparse.ArgumentParser): A script's parser.
        work_dir_default (str, optional): Default work dir; a relative path is taken from the
            checkout (e.g. ``'work_dirs/benchmarks/overhead'``). None: no default (the
            script says what it takes instead).
        data_root_help (str, optional): What the script reads from ``--data-root``; None: the
            script reads no data and has no ``--data-root``.
        data_root_env (bool): ``--data-root`` defaults to ``$MMTDE_DATA_DIR``; False: to
            nothing (the data is optional). Defaults to True.
    """
    if data_root_help is not None:
        default = os.environ.get(DATA_ROOT_ENV) if data_root_env else None
        parser.add_argument('--data-root', '--data-dir', dest='data_root', default=default,
                            help=data_root_help + (f' (default: ${DATA_ROOT_ENV})'
                                                   if data_root_env else ''))
    parser.add_argument('--work-dir', default=work_dir_default and osp.join(REPO, work_dir_default),
                        help='where the script keeps what it makes (default: %(default)s)')
    parser.add_argument('--out', default=None,
                        help='folder for results.json and results.md (default: the work dir); '
                        'a path ending in .json names the JSON, the .md goes beside it')


def results_paths(out: Optional[str], work_dir: str) -> Tuple[str, str]:
    """The JSON and markdown files a script writes for ``--out`` and ``--work-dir``.

    Args:
        out (str, optional): ``--out``: a folder, or a ``.json`` file.
        work_dir (str): ``--work-dir``, used when ``out`` is None.

    Returns:
        tuple[str, str]: ``results.json`` and ``results.md`` in the folder, or ``X.json`` and
        ``X.md``.
    """
    out = out or work_dir
    if out.endswith('.json'):
        return out, out[:-len('.json')] + '.md'
    return osp.join(out, 'results.json'), osp.join(out, 'results.md')


def write_results(out: str, results: dict, markdown: str,
                  work_dir: Optional[str] = None) -> Tuple[str, str]:
    """Write ``results`` as JSON and ``markdown`` beside it, each whole or not at all.

    Each file is written to a temporary name and then renamed into place, so a run stopped
    while writing leaves the previous file.

    Args:
        out (str): ``--out`` (a folder, or a ``.json`` file); None for ``work_dir``.
        results (dict): What the script measured (JSON-serialisable).
        markdown (str): The same as a markdown table or page.
        work_dir (str, optional): ``--work-dir``, where results go when ``out`` is None.

    Returns:
        tuple[str, str]: The JSON and the markdown file written.
    """
    json_file, md_file = results_paths(out, work_dir or '.')
    os.makedirs(osp.dirname(osp.abspath(json_file)), exist_ok=True)
    for path, write in ((json_file, lambda f: json.dump(results, f, indent=1)),
                        (md_file, lambda f: f.write(markdown.rstrip('\n') + '\n'))):
        with open(path + '.tmp', 'w') as f:
            write(f)
        os.replace(path + '.tmp', path)
    return json_file, md_file


def command_line(script: str, argv: Optional[Sequence[str]] = None) -> str:
    """The command that ran ``script``, from the checkout, for the record of its results.

    Args:
        script (str): The script's ``__file__``.
        argv (Sequence[str], optional): Its arguments. Defaults to ``sys.argv[1:]``.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    return 'python ' + ' '.join([osp.relpath(osp.abspath(script), REPO)] + args)


def rss_mb(pid: Optional[int] = None) -> float:
    """Current resident memory (MiB) of this process, or of process ``pid`` (0 once it ended).

    Args:
        pid (int, optional): Another process. Defaults to this one.
    """
    try:
        with open(f"/proc/{pid or 'self'}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**20
    except (OSError, IndexError, ValueError):
        if pid is None:
            raise
        return 0.0


def peak_rss_mb() -> float:
    """Peak resident memory of this process (MiB): ``ru_maxrss``, which the kernel updates
    lazily and can trail the current RSS by a few pages, so never below it."""
    return max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, rss_mb())


def cpu_info() -> Tuple[str, Set[str]]:
    """The CPU's model name and flags as ``/proc/cpuinfo`` gives them; the platform's name and
    no flags where it cannot be read."""
    fallback = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            lines = f.read().splitlines()
    except OSError:
        return fallback, set()
    fields = {}
    for line in lines:
        if ':' in line:
            key, value = line.split(':', 1)
            fields.setdefault(key.strip(), value.strip())
    return fields.get('model name', fallback), set(fields.get('flags', '').split())


def machine() -> str:
    """The CPU as /proc/cpuinfo names it and how many there are (``'<model>, N CPUs'``)."""
    return f'{cpu_info()[0]}, {os.cpu_count()} CPUs'


def lvis_ap_keys() -> Tuple[str, ...]:
    """LVIS's summary keys AP ... APf: ``StrictLVISMetric``'s own ``SUMMARY_KEYS``.

    Imports mmdet (through :mod:`mmtde.evaluation.lvis.metric_settings`): a worker that
    measures memory calls it after measuring.
    """
    from mmtde.evaluation.lvis.metric_settings import SUMMARY_KEYS
    return SUMMARY_KEYS


def add_categories_argument(parser: argparse.ArgumentParser) -> None:
    """``--categories``: the LVIS v1 category list a synthetic set is built from."""
    parser.add_argument('--categories', default=None,
                        help='LVIS v1 category list, or an LVIS json (default: '
                        f'${LVIS_CATEGORIES_ENV}, else lvis_v1_categories.json in --data-root)')


def categories_path(args: argparse.Namespace) -> Optional[str]:
    """``--categories``, else ``$MMTDE_LVIS_CATEGORIES``, else the list in ``--data-root``."""
    if args.categories:
        return args.categories
    if os.environ.get(LVIS_CATEGORIES_ENV):
        return os.environ[LVIS_CATEGORIES_ENV]
    if args.data_root:
        return osp.join(args.data_root, 'lvis_v1_categories.json')
    return None


def load_categories(path: Optional[str]) -> List[dict]:
    """The LVIS categories in ``path``, sorted by id; exits saying how to give them if absent.

    Args:
        path (str, optional): A list of LVIS categories, or an LVIS json.
    """
    if not path or not osp.isfile(path):
        sys.exit(f'LVIS categories not found at {path!r}: pass --categories FILE (a list of '
                 f'the 1203 LVIS v1 categories, or lvis_v1_val.json) or set '
                 f'{LVIS_CATEGORIES_ENV} / --data-root (${DATA_ROOT_ENV})')
    from mmtde.testing.tiny_lvis import load_lvis_categories
    return load_lvis_categories(path)
