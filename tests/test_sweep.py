"""tools/sweep_table1.py: trains and tests every Table-1 config."""

import os

import pytest

from .helpers import REPO_DIR, load_tool

sweep = load_tool('sweep_table1.py')

TABLE1_CONFIGS = 20  # 2 families x 5 variants x 2 detectors


def test_dry_run_prints_every_command(capsys):
    assert sweep.main(['--dry-run', '--work-root', 'w']) == 0
    lines = capsys.readouterr().out.splitlines()
    trains = [x for x in lines if x.startswith('+ tools/dist_train.sh ')]
    tests = [x for x in lines if x.startswith('+ tools/dist_test.sh ')]
    assert len(trains) == len(tests) == TABLE1_CONFIGS
    for prefix in ('ssdlite-tfodapi', 'ssdlite'):
        for family in ('mobilenetv1', 'mobilenetv2'):
            for variant in sweep_variants():
                name = f'{prefix}_{family}-{variant}_8xb24-600e_coco'
                config = f'configs/mixconv_mobilenets/{name}.py'
                assert os.path.isfile(os.path.join(REPO_DIR, config))
                assert (
                    f'+ tools/dist_train.sh {config} 8 --work-dir w/{name} '
                    '--resume'
                ) in lines
                assert (
                    f'+ tools/dist_test.sh {config} '
                    f'"$(cat w/{name}/last_checkpoint)" 8 --work-dir w/{name}'
                ) in lines
    assert lines[-1].endswith(
        'tools/analysis/model_table.py --out-png w/table1.png --json '
        'w/table1.json --results w/*/metrics.json'
    )


def sweep_variants():
    return [
        'baseline3x3',
        'depthwise5x5',
        'mixconv35',
        'depthwise7x7',
        'mixconv357',
    ]


def test_dry_run_slurm_and_filters(capsys):
    argv = ['--dry-run', '--launcher', 'slurm', '--partition', 'gpu']
    argv += ['--gpus', '16', '--detector', 'tfodapi', '--only', 'v1-mix']
    argv += ['--', '--amp']
    assert sweep.main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    trains = [x for x in lines if x.startswith('+ tools/slurm_train.sh gpu ')]
    assert len(trains) == 2  # mixconv35, mixconv357
    assert all('ssdlite-tfodapi_mobilenetv1-mixconv' in x for x in trains)
    assert all(x.endswith('--resume --amp') for x in trains)


def test_runs_trains_tests_and_skips_finished(tmp_path, monkeypatch, capsys):
    calls = []

    def fake_call(command, cwd, env, stdout=None):
        calls.append(command)
        if command[0] == 'tools/dist_train.sh':
            work_dir = os.path.join(
                cwd, command[command.index('--work-dir') + 1]
            )
            os.makedirs(work_dir, exist_ok=True)
            with open(os.path.join(work_dir, 'last_checkpoint'), 'w') as f:
                f.write(f'{work_dir}/epoch_120.pth')
        elif command[0] == 'tools/dist_test.sh':
            assert command[2].endswith('/epoch_120.pth')
            work_dir = os.path.join(cwd, command[-1])
            with open(os.path.join(work_dir, 'metrics.json'), 'w') as f:
                f.write('{}')
        return 0

    monkeypatch.setattr(sweep.subprocess, 'call', fake_call)
    root = str(tmp_path / 'sweep')
    argv = ['--work-root', root, '--only', 'v2-mixconv357', '--gpus', '2']
    assert sweep.main(argv) == 0
    kinds = [c[0] if c[0].startswith('tools/') else c[1] for c in calls]
    assert kinds == [
        'tools/dist_train.sh',
        'tools/dist_test.sh',
        'tools/dist_train.sh',
        'tools/dist_test.sh',
        'tools/analysis/model_table.py',
    ]
    assert calls[0][2] == '2'
    assert sorted(calls[-1][calls[-1].index('--results') + 1 :]) == sorted(
        f'{root}/{name}/metrics.json'
        for name in (
            'ssdlite-tfodapi_mobilenetv2-mixconv357_8xb24-600e_coco',
            'ssdlite_mobilenetv2-mixconv357_8xb24-600e_coco',
        )
    )
    # a second run skips what is tested and only remakes the table
    calls.clear()
    assert sweep.main(argv) == 0
    assert [c[1] for c in calls] == ['tools/analysis/model_table.py']
    assert 'tested already' in capsys.readouterr().out


def test_failed_training_stops_with_the_command(tmp_path, monkeypatch):
    monkeypatch.setattr(sweep.subprocess, 'call', lambda *a, **k: 3)
    root = str(tmp_path / 'sweep')
    with pytest.raises(SystemExit, match='exit 3 from: tools/dist_train.sh'):
        sweep.main(['--work-root', root, '--only', 'v1-baseline'])


@pytest.mark.parametrize(
    'argv, message',
    [
        (['--launcher', 'slurm'], '--launcher slurm needs --partition'),
        (['--only', 'nothing'], "no Table-1 config matches --only 'nothing'"),
        (['--gpus', '0'], '--gpus must be >= 1'),
    ],
)
def test_bad_arguments(argv, message, capsys):
    with pytest.raises(SystemExit):
        sweep.main(argv)
    assert message in capsys.readouterr().err
