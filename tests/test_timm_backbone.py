"""mixdet's MixNet beside the alternative users would pick, mmpretrain's
``TIMMBackbone`` (mmpretrain 1.2.0 and timm from PyPI, installed into a
throwaway folder as the mmdeploy test does): the comparison script finds
one network (same counts, outputs, ONNX graphs) and measures both; the
tests that compare live with timm run there instead of being skipped."""

import os
import re
import subprocess
import sys

import pytest

from .helpers import REPO_DIR, pip_install_into

SCRIPT = os.path.join(
    REPO_DIR, 'tools', 'analysis', 'compare_timm_backbone.py'
)
# what docs/performance.md installs (--no-deps, pinned)
REQUIREMENTS = os.path.join(REPO_DIR, 'requirements', 'timm.txt')
LIVE_TIMM_TESTS = [
    'tests/test_mixnet.py::test_live_parity_with_timm_on_random_weights',
    'tests/test_fold_bn.py::test_fold_bn_keeps_timm_mixnet_outputs',
]


@pytest.fixture(scope='module')
def timm_env(tmp_path_factory):
    target = str(tmp_path_factory.mktemp('mmpretrain'))
    pip_install_into(target, ['-r', REQUIREMENTS])
    return dict(os.environ, PYTHONPATH=target, PYTHONWARNINGS='ignore')


@pytest.mark.slow
def test_comparison_finds_one_network_and_times_both(timm_env):
    result = subprocess.run(
        [sys.executable, SCRIPT, '--rounds', '2', '--batches', '1', '2'],
        capture_output=True, text=True, env=timm_env, cwd=REPO_DIR,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    out = result.stdout
    counts = re.search(r'mixdet MixNet: (.*), TIMMBackbone: (.*)', out)
    assert counts[1] == counts[2]  # parameters and multiply-adds
    diffs = re.findall(r'(?:max difference:?|scores within) (\S+)', out)
    assert len(diffs) == 6 and max(map(float, diffs)) < 1e-4, out
    rows = re.findall(r'^\| (.+) \| [\d.]+ \| [\d.]+ \| ([\d.]+)x \|$', out,
                      re.M)  # fmt: skip
    assert [r[0] for r in rows] == [
        'forward, batch 1', 'training step, batch 1',
        'forward, batch 2', 'training step, batch 2',
        'end-to-end ONNX, ONNX Runtime, batch 1',
    ]  # fmt: skip
    assert all(float(r[1]) > 0 for r in rows)


@pytest.mark.slow
def test_live_timm_comparisons_run_with_timm_installed(timm_env):
    result = subprocess.run(
        [sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider',
         *LIVE_TIMM_TESTS],
        capture_output=True, text=True, env=timm_env, cwd=REPO_DIR,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    assert f'{len(LIVE_TIMM_TESTS)} passed' in result.stdout
    assert 'skipped' not in result.stdout


def test_without_mmpretrain_one_line_and_exit_2():
    try:
        import mmpretrain  # noqa: F401

        pytest.skip('mmpretrain is installed here')
    except ImportError:
        pass
    result = subprocess.run(
        [sys.executable, SCRIPT, '--rounds', '1'],
        capture_output=True, text=True, cwd=REPO_DIR,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().count('\n') == 0
    assert 'pip install mmpretrain' in result.stderr


RECIPE = """
import sys
import mixdet, mmpretrain.models
from mmdet.utils import register_all_modules
from mmengine.config import Config
sys.path.insert(0, 'tools/analysis')
from compare_timm_backbone import scores_vs_mmdet
from mixdet.cli.checkpoint_fit import build_model_quietly
import torch
register_all_modules()
det = build_model_quietly(Config.fromfile(sys.argv[1]).model).eval()
image = torch.randint(0, 256, (1, 3, 320, 320)).float()
print('RESULT', *scores_vs_mmdet(det, image, sys.argv[2]))
"""


@pytest.mark.slow
def test_recipe_for_another_timm_backbone_exports_with_mmdets_scores(
    timm_env, tmp_path
):
    """docs/performance.md's config for a timm backbone mixdet lacks
    (EfficientNet-Lite0, its norms with an activation inside): the export
    tool takes it, and its end-to-end graph gives mmdet's scores."""
    doc = open(os.path.join(REPO_DIR, 'docs', 'performance.md')).read()
    after = doc.split('For a timm backbone mixdet does not have')[1]
    snippet = after.split('```python\n')[1].split('```')[0]
    base = os.path.join(REPO_DIR, 'configs', 'mixnet')
    config = tmp_path / 'timm_config.py'
    config.write_text(
        snippet.replace("'../mixnet/", f"'{base}/").replace(
            'pretrained=True',
            'pretrained=False',  # no network in CI
        )
    )
    export = subprocess.run(
        [sys.executable, 'tools/deployment/export_onnx.py', str(config),
         str(tmp_path / 'tool.onnx'), '--end2end'],
        capture_output=True, text=True, env=timm_env, cwd=REPO_DIR,
    )  # fmt: skip
    assert export.returncode == 0, export.stderr[-3000:]
    assert (tmp_path / 'tool.onnx').stat().st_size > 1e6
    result = subprocess.run(
        [sys.executable, '-c', RECIPE, str(config), str(tmp_path / 'a.onnx')],
        capture_output=True, text=True, env=timm_env, cwd=REPO_DIR,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    line = result.stdout.split('RESULT ')[1]
    counts, diff = line.rsplit(' ', 1)
    assert counts == '(200, 200)' and float(diff) < 1e-6, line
