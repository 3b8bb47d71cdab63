"""tools/analysis/model_table.py: our SSDLite sizes against Table 1."""

import importlib.util
import json
import os

import pytest
from conftest import REPO_DIR

from mixdet.paper import TABLE1

spec = importlib.util.spec_from_file_location(
    'model_table',
    os.path.join(REPO_DIR, 'tools', 'analysis', 'model_table.py'),
)
model_table = importlib.util.module_from_spec(spec)
spec.loader.exec_module(model_table)

ORDER = [
    'baseline3x3',
    'mixconv35',
    'depthwise5x5',
    'mixconv357',
    'depthwise7x7',
]


@pytest.fixture(scope='module')
def rows():
    return [model_table.build_row(p) for p in model_table.ssdlite_configs()]


def test_every_table1_row_has_a_config(rows):
    assert {(r.family, r.variant) for r in rows} >= set(TABLE1)


def test_params_and_madds_close_to_paper(rows):
    for row in rows:
        if row.paper is None:
            continue
        params, madds, _ = row.paper
        assert abs(row.params - params) / params < 0.05, row
        assert abs(row.madds - madds) / madds < 0.10, row


@pytest.mark.parametrize('family', ['mobilenetv1', 'mobilenetv2'])
def test_same_ordering_as_paper(rows, family):
    by_variant = {r.variant: r for r in rows if r.family == family}
    params = [by_variant[v].params for v in ORDER]
    assert params == sorted(params) and len(set(params)) == 5
    paper = [TABLE1[family, v][0] for v in ORDER]
    assert paper == sorted(paper)
    madds = [by_variant[v].madds for v in ORDER]
    assert madds == sorted(madds)


def test_cli_writes_table_and_plot_with_user_results(tmp_path, capsys):
    metrics = tmp_path / 'metrics.json'
    metrics.write_text(
        json.dumps(
            {
                'config': 'ssdlite_mixnet-s_8xb24-600e_coco.py',
                'metrics': {'coco/bbox_mAP': 0.231},
            }
        )
    )
    png = tmp_path / 'plot' / 'table1.png'
    assert (
        model_table.main(['--out-png', str(png), '--results', str(metrics)])
        == 0
    )
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith('| mixnet-s '))
    assert line.rstrip().endswith('| 23.1 |')
    assert '| mobilenetv2-mixconv357 | 4.36M | 4.49M |' in out
    assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_bad_results_file(tmp_path):
    bad = tmp_path / 'x.json'
    bad.write_text('{"bbox": 1}')
    with pytest.raises(SystemExit, match='metrics.json'):
        model_table.main(['--results', str(bad)])
