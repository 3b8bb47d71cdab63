"""Shared fixtures: deterministic torch, the golden-file loader."""

import os
import sys

import pytest
import torch

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(TESTS_DIR)
GOLDEN_DIR = os.path.join(TESTS_DIR, 'data', 'golden')
sys.path.insert(0, TESTS_DIR)  # seeded_weights.py

torch.set_num_threads(2)


def load_golden(name: str) -> dict:
    """A golden file, loaded safely (its torch_version is a TorchVersion)."""
    with torch.serialization.safe_globals([torch.torch_version.TorchVersion]):
        return torch.load(
            os.path.join(GOLDEN_DIR, f'{name}.pt'), weights_only=True
        )


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
