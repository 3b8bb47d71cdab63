"""make setup's mmcv recipe: the torch range, checked before any work, and
the C++20 patch of mmcv's setup.py."""

import subprocess

import pytest

from .helpers import REPO_DIR, load_tool

install_mmcv = load_tool('setup', 'install_mmcv.py')


@pytest.mark.parametrize('version', ['2.6.0', '2.13.0', '2.15.0+cu132'])
def test_supported_torch_passes(version):
    install_mmcv.check_torch(version)


@pytest.mark.parametrize('version', ['2.5.1', '2.16.0', '3.0.0'])
def test_unsupported_torch_is_one_line_before_any_work(
    tmp_path, version, capsys
):
    with pytest.raises(SystemExit) as info:
        install_mmcv.check_torch(version)
    assert info.value.code == 2
    assert '>=2.6,<2.16' in capsys.readouterr().err
    # make setup stops there: no venv, nothing downloaded or compiled.
    venv = tmp_path / 'venv'
    proc = subprocess.run(
        ['make', 'setup', f'TORCH_VERSION={version}', f'VENV={venv}'],
        cwd=REPO_DIR,
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0
    assert f'torch {version} is not supported' in proc.stderr
    assert not venv.exists()


# The lines of mmcv 2.1.0's setup.py that choose the C++ standard.
MMCV_SETUP_LINES = """
            else:
                extra_compile_args['cxx'] = ['-std=c++17']
                extra_compile_args['cxx'] = ['/std:c++17']
            extra_compile_args['cxx'] = ['-Wall', '-std=c++17']
                extra_compile_args['nvcc'] += ['-std=c++17']
            'nvcc': [cuda_args, '-std=c++14'] if cuda_args else ['-std=c++14'],
"""


def test_cxx_standard_patch(tmp_path):
    setup_py = tmp_path / 'setup.py'
    setup_py.write_text(MMCV_SETUP_LINES)
    assert install_mmcv.patch_cxx_standard(str(setup_py)) == 4
    text = setup_py.read_text()
    assert 'c++17' not in text
    assert text.count("'-std=c++20'") == 3 and "'/std:c++20'" in text
    assert "'-std=c++14'" in text  # the parrots build is left alone


def test_wheels_are_cached_per_torch_build(monkeypatch):
    monkeypatch.setattr(install_mmcv, 'cuda_available', lambda: False)
    monkeypatch.delenv('FORCE_CUDA', raising=False)
    assert install_mmcv.wheel_key('2.15.0+cu132', '13.2') == (
        'mmcv-2.1.0_torch-2.15.0_cpu'
    )
    monkeypatch.setenv('FORCE_CUDA', '1')
    assert install_mmcv.wheel_key('2.15.0', '13.2') == (
        'mmcv-2.1.0_torch-2.15.0_cu132'
    )
    assert install_mmcv.wheel_key('2.13.0', '12.8') != (
        install_mmcv.wheel_key('2.15.0', '12.8')
    )
