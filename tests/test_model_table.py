"""tools/analysis/model_table.py: our SSDLite sizes against Table 1."""

import json
import os

import pytest

from mixdet.analysis.paper import TABLE1

from .helpers import REPO_DIR, load_tool

model_table = load_tool('analysis', 'model_table.py')

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


def faithful(rows, family):
    return {r.variant: r for r in rows if r.faithful and r.family == family}


def test_every_table1_row_has_both_configs(rows):
    for is_faithful in (True, False):
        pairs = {
            (r.family, r.variant) for r in rows if r.faithful is is_faithful
        }
        assert pairs >= set(TABLE1)


def test_faithful_rows_within_one_percent_of_the_paper(rows):
    # with COCO's 80 classes (+ background) as the configs train: the
    # paper's counts are those of 81 class slots, see the README
    for row in rows:
        if not row.faithful:
            continue
        params, madds, _ = row.paper
        assert abs(row.params - params) / params < 0.01, row
        assert abs(row.madds - madds) / madds < 0.01, row


@pytest.mark.parametrize('family', ['mobilenetv1', 'mobilenetv2'])
def test_between_variant_differences_as_in_the_paper(rows, family):
    ours = faithful(rows, family)
    base = ours['baseline3x3']
    for variant, row in ours.items():
        paper = TABLE1[family, variant][0] - TABLE1[family, 'baseline3x3'][0]
        assert abs((row.params - base.params) - paper) < 0.01e6, variant


@pytest.mark.parametrize('family', ['mobilenetv1', 'mobilenetv2'])
def test_same_ordering_as_paper(rows, family):
    for is_faithful in (True, False):
        by_variant = {
            r.variant: r
            for r in rows
            if r.family == family and r.faithful is is_faithful
        }
        params = [by_variant[v].params for v in ORDER]
        assert params == sorted(params) and len(set(params)) == 5
        madds = [by_variant[v].madds for v in ORDER]
        assert madds == sorted(madds)
    paper = [TABLE1[family, v][0] for v in ORDER]
    assert paper == sorted(paper)


def test_num_classes_changes_only_the_class_predictors(rows):
    # the class predictor of level l is a 1x1 conv C_l -> A_l * (K + 1)
    # with bias: 10 more classes add 10 * A_l * (C_l + 1) parameters
    row = faithful(rows, 'mobilenetv2')['baseline3x3']
    with90 = model_table.build_row(row.config, num_classes=90)
    channels = (576, 1280, 512, 256, 256, 128)
    anchors = (3, 6, 6, 6, 6, 6)
    assert with90.params - row.params == sum(
        10 * a * (c + 1) for c, a in zip(channels, anchors)
    )
    sizes = (20, 10, 5, 3, 2, 1)  # feature maps at 320x320
    assert with90.madds - row.madds == sum(
        10 * a * c * s * s for c, a, s in zip(channels, anchors, sizes)
    )


def test_cli_json_table_and_plot(tmp_path, capsys):
    metrics = tmp_path / 'metrics.json'
    metrics.write_text(
        json.dumps(
            {
                'config': 'ssdlite_mixnet-s_8xb24-600e_coco.py',
                'metrics': {'coco/bbox_mAP': 0.231},
            }
        )
    )
    demo = tmp_path / 'demo.json'
    demo.write_text(
        json.dumps(
            {
                'config': 'configs/demo/ssdlite_mixnet-s_1xb16-10e_shapes.py',
                'metrics': {'coco/bbox_mAP': 0.462},
            }
        )
    )
    png = tmp_path / 'plot' / 'table1.png'
    out_json = tmp_path / 'table.json'
    mixnet = 'configs/mixnet/ssdlite_mixnet-s_8xb24-600e_coco.py'
    faithful_v2 = (
        'configs/mixconv_mobilenets/'
        'ssdlite-tfodapi_mobilenetv2-mixconv357_8xb24-600e_coco.py'
    )
    argv = [mixnet, faithful_v2, '--out-png', str(png), '--json']
    argv += [str(out_json), '--results', str(metrics), str(demo)]
    cwd = os.getcwd()
    os.chdir(REPO_DIR)
    try:
        assert model_table.main(argv) == 0
    finally:
        os.chdir(cwd)
    captured = capsys.readouterr()
    line = next(x for x in captured.out.splitlines() if '| mixnet-s |' in x)
    assert line.rstrip().endswith('| 23.1 |')
    assert 'ignoring the mAP of ssdlite_mixnet-s_1xb16-10e_shapes.py' in (
        captured.err
    )
    assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    data = json.loads(out_json.read_text())
    assert [d['config'] for d in data] == [faithful_v2, mixnet]
    assert set(data[0]) == {
        'config',
        'params',
        'madds',
        'paper_params',
        'paper_madds',
        'faithful',
        'input_size',
    }
    assert data[0]['faithful'] is True and data[1]['faithful'] is False
    assert data[0]['paper_params'] == 4_490_000
    assert data[0]['paper_madds'] == 880_000_000
    assert data[1]['paper_params'] is None
    assert isinstance(data[0]['params'], int) and data[0]['params'] > 4e6


@pytest.mark.parametrize(
    'argv, message',
    [
        (['--num-classes', '0'], '--num-classes must be >= 1'),
        (['configs/mixnet/ssdlite_mixnet-x_8xb24.py'], 'does not exist'),
    ],
)
def test_bad_arguments(argv, message, capsys):
    with pytest.raises(SystemExit):
        model_table.main(argv)
    assert message in capsys.readouterr().err


def test_any_detector_config_at_its_own_input_size(capsys):
    """The demo config at 192x192 (mmengine's count at that size is the
    reference), an mmdet FPN detector at its 1333x800 test scale."""
    demo = 'configs/demo/ssdlite_mixnet-s_1xb16-10e_shapes.py'
    row = model_table.build_row(os.path.join(REPO_DIR, demo))
    assert row.input_size == (192, 192) and row.paper is None
    from mmdet.registry import MODELS
    from mmengine.config import Config

    from mixdet.analysis.complexity import count_madds

    model = MODELS.build(Config.fromfile(os.path.join(REPO_DIR, demo)).model)
    assert row.madds == count_madds(model, 192) < count_madds(model, 320)
    swap = 'configs/swap/retinanet_mixnet-m_fpn_1x_coco.py'
    assert model_table.main([os.path.join(REPO_DIR, swap)]) == 0
    table = capsys.readouterr().out
    line = next(x for x in table.splitlines() if 'retinanet' in x)
    assert '| 800x1333 |' in line


def test_bad_results_file(tmp_path):
    bad = tmp_path / 'x.json'
    bad.write_text('{"bbox": 1}')
    with pytest.raises(SystemExit, match='metrics.json'):
        model_table.main(['--results', str(bad)])


def test_metafiles_hold_these_counts(rows):
    # tools/misc/update_model_index.py wrote them; a model change without
    # a rerun leaves them stale
    import yaml

    counted = {r.config: r for r in rows}
    checked = 0
    for folder in ('mixconv_mobilenets', 'mixnet'):
        path = os.path.join(REPO_DIR, 'configs', folder, 'metafile.yml')
        with open(path) as f:
            models = yaml.safe_load(f)['Models']
        for model in models:
            row = counted[model['Config']]
            assert model['Metadata']['Parameters'] == row.params, row
            assert model['Metadata']['FLOPs'] == row.madds, row
            checked += 1
    assert checked == len(rows) == 24
