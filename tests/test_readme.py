"""The README's recipes run as written."""

import os
import re

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules
from mmengine.config import Config

from .helpers import REPO_DIR
from .seeded_weights import seeded_state_dict
from .test_timm2mixdet import max_error_to_timm


def snippet(name: str, doc: str = 'README.md') -> str:
    """The code block after ``<!-- snippet: NAME`` in ``doc`` (the
    README, or a page of docs/)."""
    with open(os.path.join(REPO_DIR, doc)) as f:
        text = f.read()
    match = re.search(
        rf'<!-- snippet: {re.escape(name)} .*?-->\n```python\n(.*?)```',
        text,
        re.S,
    )
    assert match, f'no snippet {name!r} in {doc}'
    return match[1]


@pytest.mark.parametrize(
    'name, timm_model, checkpoint',
    [
        ('pretrained', 'mixnet_s', 'mixnet-s.pth'),
        ('pretrained-tf', 'tf_mixnet_s', 'tf-mixnet-s.pth'),
    ],
)
def test_pretrained_recipe_loads_the_converted_weights(
    tmp_path, golden_file, tool, name, timm_model, checkpoint
):
    # the README's steps: convert timm's weights, then the config snippet
    src = tmp_path / f'{timm_model}.pth'
    shapes = golden_file(timm_model)['state_dict_shapes']
    torch.save(seeded_state_dict(shapes), src)
    converted = tmp_path / 'checkpoints' / checkpoint
    os.makedirs(converted.parent)
    converter = tool('model_converters', 'timm2mixdet.py')
    assert converter.main([str(src), str(converted)]) == 0

    text = snippet(name)
    assert f"checkpoint='checkpoints/{checkpoint}'" in text
    text = text.replace("'./configs/", f"'{REPO_DIR}/configs/")
    text = text.replace("'checkpoints/", f"'{tmp_path}/checkpoints/")
    config = tmp_path / 'my_mixnet.py'
    config.write_text(text)
    register_all_modules()
    model = MODELS.build(Config.fromfile(str(config)).model)
    model.init_weights()
    weights = torch.load(converted, weights_only=True)['state_dict']
    state = model.backbone.state_dict()
    loaded = [k for k in state if not k.endswith('num_batches_tracked')]
    assert len(loaded) > 100
    for key in loaded:
        assert torch.equal(state[key], weights[key]), key
    # and the outputs are timm's (the BN eps and padding of the snippet)
    golden = golden_file(timm_model)
    assert max_error_to_timm(model.backbone, golden) < 1e-4


def test_swap_snippet_runs_as_written_in_a_fresh_process():
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, '-c', snippet('swap')],
        capture_output=True,
        text=True,
        cwd=REPO_DIR,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == '[32, 40, 120, 200]'


def test_demo_table_is_the_recorded_run(tool):
    """The README's demo table shows docs/demo_metrics.json, the metrics a
    `make demo` run wrote (tools/misc/record_demo.py)."""
    import json

    recorder = tool('misc', 'record_demo.py')
    assert recorder.main(['--check']) == 0
    with open(recorder.RECORD) as f:
        recorded = json.load(f)['metrics']
    assert recorder.demo_table(recorded) in open(recorder.README).read()
    changed = dict(recorded, **{'coco/bbox_mAP_50': 0.1})
    text = open(recorder.README).read()
    assert recorder.readme_with_table(text, changed) != text
