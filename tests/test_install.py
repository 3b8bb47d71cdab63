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


def test_link_for_mim_leaves_other_checkouts_and_read_only_alone(
    tmp_path, monkeypatch, capsys
):
    """--remove takes away only a link to this checkout; a site-packages it
    cannot write is one line, not a traceback."""
    import os
    import sysconfig

    from .helpers import load_tool

    tool = load_tool('setup', 'link_for_mim.py')
    site = tmp_path / 'site'
    site.mkdir()
    monkeypatch.setattr(sysconfig, 'get_paths', lambda: {'purelib': str(site)})
    other = tmp_path / 'other' / 'mixdet'
    other.mkdir(parents=True)
    (site / 'mixdet').symlink_to(other)
    assert tool.main(['--remove']) == 1
    assert 'another checkout' in capsys.readouterr().err
    assert os.path.islink(site / 'mixdet')
    (site / 'mixdet').unlink()
    assert tool.main([]) == 0 and os.path.islink(site / 'mixdet')
    assert tool.main(['--remove']) == 0 and not os.path.lexists(
        site / 'mixdet'
    )
    site.chmod(0o555)
    try:
        if os.access(site, os.W_OK):  # root ignores the mode bits
            monkeypatch.setattr(
                tool.os,
                'symlink',
                _raise(PermissionError(13, 'Permission denied')),
            )
        assert tool.main([]) == 1
        err = capsys.readouterr().err
        assert (
            err.startswith('error: cannot change')
            and len(err.strip().splitlines()) == 1
        )
    finally:
        site.chmod(0o755)


def _raise(error):
    def fail(*args, **kwargs):
        raise error

    return fail


def test_setup_keeps_a_real_mim_folder(tmp_path):
    """setup.py's mim links: a real folder where a link would go is left
    alone (it raised FileExistsError)."""
    import shutil
    import subprocess
    import sys

    from .helpers import REPO_DIR

    repo = tmp_path / 'repo'
    (repo / 'mixdet' / '.mim' / 'configs').mkdir(parents=True)
    (repo / 'configs').mkdir()
    (repo / 'tools').mkdir()
    shutil.copy(f'{REPO_DIR}/setup.py', repo)
    code = (
        'import setuptools, sys\n'
        'setuptools.setup = lambda **kw: None\n'
        "sys.argv = ['setup.py']\n"
        "exec(open('setup.py').read(), {'__file__': 'setup.py'})\n"
    )
    out = subprocess.run(
        [sys.executable, '-c', code], cwd=repo, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert (repo / 'mixdet' / '.mim' / 'configs').is_dir()
    assert (repo / 'mixdet' / '.mim' / 'tools').is_symlink()
