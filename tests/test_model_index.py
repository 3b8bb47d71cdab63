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


def test_one_name_per_backbone():
    # the MixConv MobileNetV2 is "mobilenetv2-<variant>" everywhere
    assert not [c for c in runnable_configs() if 'mixmobilenet' in c]
