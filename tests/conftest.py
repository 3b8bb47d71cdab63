"""Fixtures: the repo, golden files, tool scripts; deterministic torch."""

import os

import pytest
import torch

from .helpers import REPO_DIR, load_golden, load_tool

torch.set_num_threads(2)
# The tools' subprocesses wait spinning, as OpenMP does by default: the
# suite runs alone, where that is about 20% faster than the tools' own
# passive waiting (docs/performance.md); tests that need the tools'
# choice set it themselves.
os.environ.setdefault('OMP_WAIT_POLICY', 'ACTIVE')


@pytest.fixture(scope='session')
def repo_dir() -> str:
    """The repository's root."""
    return REPO_DIR


@pytest.fixture(scope='session')
def golden_file():
    """``golden_file(name)``: a stored timm output file of
    tests/data/golden (weights rebuilt by seeded_weights.py)."""
    return load_golden


@pytest.fixture(scope='session')
def tool():
    """``tool('analysis', 'model_table.py')``: a tools/ script as a
    module."""
    return load_tool


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def pytest_configure(config):
    config.addinivalue_line(
        'markers',
        'slow: trains, compiles or runs a tool in a subprocess; '
        '`make test-fast` (-m "not slow") leaves it out',
    )


def pytest_addoption(parser):
    parser.addoption(
        '--file-order',
        default='',
        help="run the test files in another order: 'reverse', or "
        "'shuffle:SEED' (each file's own tests keep their order); the "
        'suite must pass in any',
    )


def pytest_collection_modifyitems(config, items):
    order = config.getoption('--file-order')
    if not order:
        return
    files = list(dict.fromkeys(item.path for item in items))
    if order == 'reverse':
        files.reverse()
    elif order.startswith('shuffle:'):
        import random

        random.Random(int(order.split(':', 1)[1])).shuffle(files)
    else:
        raise pytest.UsageError(
            f"--file-order {order!r}: use 'reverse' or 'shuffle:SEED'"
        )
    rank = {path: i for i, path in enumerate(files)}
    items.sort(key=lambda item: rank[item.path])  # stable within a file
