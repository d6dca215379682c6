# Copyright (c) mmtde contributors. All rights reserved.
"""benchmarks/benchlib.py: the command line, the results files and the memory readers that every
benchmark script shares."""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys

import benchlib
import pytest


def _parser(**kwargs):
    parser = argparse.ArgumentParser()
    benchlib.add_common_args(parser, 'work_dirs/benchmarks/x', **kwargs)
    return parser


def test_one_dialect_with_the_old_data_dir_as_an_alias(monkeypatch):
    monkeypatch.setenv('MMTDE_DATA_DIR', '/data/env')
    args = _parser().parse_args([])
    assert args.data_root == '/data/env' and args.out is None
    assert args.work_dir == osp.join(benchlib.REPO, 'work_dirs/benchmarks/x')
    assert _parser().parse_args(['--data-dir', '/d']).data_root == '/d'
    assert _parser().parse_args(['--data-root', '/d', '--work-dir', 'w']).work_dir == 'w'
    assert _parser(data_root_env=False).parse_args([]).data_root is None  # optional data
    assert not hasattr(_parser(data_root_help=None).parse_args([]), 'data_root')


def test_results_go_to_the_work_dir_a_folder_or_a_named_json(tmp_path):
    work = tmp_path / 'work'
    assert benchlib.results_paths(None, str(work)) == (str(work / 'results.json'),
                                                       str(work / 'results.md'))
    assert benchlib.results_paths(str(tmp_path / 'o'), 'w') == (
        str(tmp_path / 'o' / 'results.json'), str(tmp_path / 'o' / 'results.md'))
    assert benchlib.results_paths('a/b.json', 'w') == ('a/b.json', 'a/b.md')
    json_file, md_file = benchlib.write_results(None, dict(a=1), '| a |\n|---|', str(work))
    assert json.loads(open(json_file).read()) == dict(a=1)
    assert open(md_file).read() == '| a |\n|---|\n'
    benchlib.write_results(None, dict(a=2), 'x', str(work))  # replaces, leaves no temporary
    assert sorted(os.listdir(work)) == ['results.json', 'results.md']


def test_memory_of_this_process_and_of_another():
    assert 0 < benchlib.rss_mb() <= benchlib.peak_rss_mb()
    proc = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'])
    try:
        assert benchlib.rss_mb(proc.pid) > 0
    finally:
        proc.kill()
        proc.wait()
    assert benchlib.rss_mb(proc.pid) == 0.0  # ended


def test_lvis_categories_from_the_option_the_variable_or_the_data_root(tmp_path, monkeypatch):
    parser = _parser()
    benchlib.add_categories_argument(parser)
    monkeypatch.delenv('MMTDE_LVIS_CATEGORIES', raising=False)
    assert benchlib.categories_path(parser.parse_args(['--data-root', 'd'])) == \
        osp.join('d', 'lvis_v1_categories.json')
    monkeypatch.setenv('MMTDE_LVIS_CATEGORIES', 'env.json')
    assert benchlib.categories_path(parser.parse_args(['--data-root', 'd'])) == 'env.json'
    assert benchlib.categories_path(parser.parse_args(['--categories', 'c.json'])) == 'c.json'
    cats = tmp_path / 'cats.json'
    cats.write_text(json.dumps(dict(categories=[dict(id=2), dict(id=1)])))
    assert [c['id'] for c in benchlib.load_categories(str(cats))] == [1, 2]
    with pytest.raises(SystemExit, match='--categories'):
        benchlib.load_categories(str(tmp_path / 'nope.json'))


def test_ap_keys_are_the_metrics():
    from mmtde.det import StrictLVISMetric  # noqa: F401
    assert benchlib.lvis_ap_keys()[:3] == ('AP', 'AP50', 'AP75')
    assert benchlib.lvis_ap_keys()[-3:] == ('APr', 'APc', 'APf')
