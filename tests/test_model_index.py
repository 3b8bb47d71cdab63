"""model-index.yml and the metafiles list exactly the runnable configs."""

import glob
import os

import yaml

from .helpers import REPO_DIR


def runnable_configs():
    paths = glob.glob(os.path.join(REPO_DIR, 'configs', '*', '*.py'))
    return sorted(
        os.path.relpath(p, REPO_DIR)
        for p in paths
        if os.sep + '_base_' + os.sep not in p
    )


def indexed_models():
    with open(os.path.join(REPO_DIR, 'model-index.yml')) as f:
        index = yaml.safe_load(f)
    models = []
    for metafile in index['Import']:
        with open(os.path.join(REPO_DIR, metafile)) as f:
            meta = yaml.safe_load(f)
        collections = {c['Name']: c for c in meta['Collections']}
        for model in meta['Models']:
            collection = collections[model['In Collection']]
            assert os.path.isfile(os.path.join(REPO_DIR, collection['README']))
            assert os.path.dirname(model['Config']) == os.path.dirname(
                metafile
            )
            models.append(model)
    return models


def test_model_index_lists_exactly_the_runnable_configs():
    models = indexed_models()
    configs = [m['Config'] for m in models]
    assert sorted(configs) == runnable_configs()
    assert len(set(configs)) == len(configs)
    names = [m['Name'] for m in models]
    assert names == [os.path.basename(c)[:-3] for c in configs]
    assert len(configs) >= 34  # 20 Table-1, 4 MixNet, 8 swap, 2 demo


def test_every_family_readme_lists_its_configs():
    for folder in ('mixconv_mobilenets', 'mixnet', 'swap', 'demo'):
        with open(os.path.join(REPO_DIR, 'configs', folder, 'README.md')) as f:
            readme = f.read()
        for config in runnable_configs():
            if config.startswith(f'configs{os.sep}{folder}{os.sep}'):
                assert f'[{os.path.basename(config)}]' in readme


def test_config_names_follow_mmdet():
    """``{algorithm}_{backbone}_{schedule}_{dataset}.py`` (mmdet's
    convention), with one name per backbone: ``mixnet-s``,
    ``mobilenetv2-mixconv357``, ... (never the class name)."""
    import re

    pattern = re.compile(
        r'^[a-z0-9-]+_(mixnet-[sml]|mobilenetv[12]-[a-z0-9]+)(_[a-z0-9-]+)*'
        r'_(\d+xb\d+(-\d+)?-\d+e|\d+x)_(coco|shapes)\.py$'
    )
    wrong = [
        c
        for c in runnable_configs()
        if not pattern.match(os.path.basename(c))
    ]
    assert not wrong
