"""Fixtures: the repo, golden files, tool scripts; deterministic torch."""

import pytest
import torch

from .helpers import REPO_DIR, load_golden, load_tool

torch.set_num_threads(2)


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
