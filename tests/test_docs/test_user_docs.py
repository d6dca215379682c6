# Copyright (c) mmtde contributors. All rights reserved.
"""The Markdown a user reads: every relative link resolves (a heading anchor included), and no
page speaks of how the project itself is run."""
import glob
import os.path as osp
import re

import pytest

from mmtde_test_utils import REPO

USER_DOCS = sorted(
    ['README.md', 'benchmarks/README.md'] +
    [osp.relpath(p, REPO) for p in glob.glob(osp.join(REPO, 'configs', '*', 'README.md'))] +
    [osp.relpath(p, REPO)
     for p in glob.glob(osp.join(REPO, 'docs', 'en', '**', '*.md'), recursive=True)])

# words of the project's own process, which a user cannot follow
BANNED = [r'\bthe issue\b', r"\bissue's\b", r'\b(?:our|this|that) issues?\b', r'\breview',
          r'\bsessions?\b', r'\baims?\b', r'(?-i:\bMETHOD\.md\b)', r'\blab notebook\b']

FENCE = re.compile(r'^(```|~~~).*?^\1', re.S | re.M)
INLINE_CODE = re.compile(r'`[^`\n]*`')
LINK = re.compile(r'!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)')


def _text(path: str) -> str:
    with open(osp.join(REPO, path), encoding='utf-8') as f:
        return f.read()


def _prose(text: str) -> str:
    """The text without code blocks and inline code."""
    return INLINE_CODE.sub('', FENCE.sub('', text))


def github_anchors(text: str) -> set:
    """The anchors GitHub (and MyST's heading anchors) give the headings of a Markdown file."""
    anchors = set()
    for line in FENCE.sub('', text).splitlines():
        match = re.match(r'#{1,6}\s+(.*?)\s*#*\s*$', line)
        if match:
            title = re.sub(r'[^\w\- ]', '', match.group(1).replace('`', '').lower())
            anchors.add(title.replace(' ', '-'))
    return anchors


def test_the_user_docs_are_found():
    assert 'README.md' in USER_DOCS and 'docs/en/index.md' in USER_DOCS
    assert 'configs/cifar_lt/README.md' in USER_DOCS


@pytest.mark.parametrize('path', USER_DOCS)
def test_relative_links_resolve(path):
    broken = []
    for target in LINK.findall(_prose(_text(path))):
        if re.match(r'[a-z][a-z0-9+.-]*:', target):  # http:, https:, mailto:
            continue
        file_part, _, anchor = target.partition('#')
        resolved = osp.normpath(osp.join(REPO, osp.dirname(path), file_part)) if file_part \
            else osp.join(REPO, path)
        if not osp.exists(resolved):
            broken.append(f'{target} (no {osp.relpath(resolved, REPO)})')
        elif anchor and resolved.endswith('.md') and \
                anchor not in github_anchors(_text(osp.relpath(resolved, REPO))):
            broken.append(f'{target} (no heading #{anchor})')
    assert not broken, f'{path}: broken links: {broken}'


@pytest.mark.parametrize('path', USER_DOCS)
def test_no_process_words(path):
    prose = _prose(_text(path))
    found = [m.group(0) for pattern in BANNED for m in re.finditer(pattern, prose, re.I)]
    assert not found, f'{path} speaks of the project\'s process: {found}'


def test_readme_is_short_and_starts_with_the_two_commands():
    readme = _text('README.md')
    assert len(readme.splitlines()) <= 300
    first = FENCE.search(readme).group(0)
    assert 'bash tools/demo.sh' in first and 'bash tools/run_tests.sh' in first
    assert 'bash tools/build_docs.sh' in readme


def test_anchor_slugs():
    assert github_anchors('# The method in one screen\n## `d` and alpha') == {
        'the-method-in-one-screen', 'd-and-alpha'}
