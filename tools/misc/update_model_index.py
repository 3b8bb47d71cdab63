"""Write each config folder's metafile.yml and README table, and the root
model-index.yml (mmdet's model-index format, read by ``mim``).

    python tools/misc/update_model_index.py          # rewrite the files
    python tools/misc/update_model_index.py --check  # exit 1 if stale

Every runnable config (``configs/<folder>/*.py``, not ``_base_``) gets one
entry: its parameters, and for SSDLite its MAdds at 320x320 (counted as
``tools/analysis/model_table.py`` does). Results and weights stay out until
someone trains the config; the README tables keep empty mAP, log and
checkpoint cells for them.
"""

import argparse
import glob
import os
import sys
from dataclasses import dataclass

import yaml
from mmengine.config import Config

import mixdet
from mixdet.analysis.complexity import count_madds, count_params
from mixdet.analysis.paper import TABLE1
from mixdet.checkpoint.atomic import atomic_write_text

REPO = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
PAPER = dict(
    URL='https://arxiv.org/abs/1907.09595',
    Title='MixConv: Mixed Depthwise Convolutional Kernels',
)
TABLE_START = '<!-- model table: tools/misc/update_model_index.py -->'
TABLE_END = '<!-- end of model table -->'


@dataclass(frozen=True)
class Family:
    """One config folder: an mmdet model-index ``Collection``."""

    folder: str
    collection: str
    architecture: tuple[str, ...]
    data: str
    code: str


FAMILIES = (
    Family(
        'mixconv_mobilenets',
        'SSDLite-MixConv-MobileNets',
        ('SSDLite', 'MobileNetV1', 'MobileNetV2', 'MixConv'),
        'COCO',
        'mixdet/models/backbones/mobilenet_v2.py',
    ),
    Family(
        'mixnet',
        'SSDLite-MixNet',
        ('SSDLite', 'MixNet', 'MixConv'),
        'COCO',
        'mixdet/models/backbones/mixnet.py',
    ),
    Family(
        'swap',
        'MixConv-Backbones-in-mmdet',
        ('MixNet', 'MobileNetV2', 'MixConv'),
        'COCO',
        'mixdet/swap.py',
    ),
    Family(
        'demo',
        'SSDLite-Shapes-Demo',
        ('SSDLite', 'MixNet', 'MobileNetV2', 'MixConv'),
        'mixdet shapes (generated)',
        'mixdet/testing/shapes.py',
    ),
)


def runnable_configs(folder: str) -> list[str]:
    """The configs of ``configs/<folder>``, relative to the repo."""
    paths = glob.glob(os.path.join(REPO, 'configs', folder, '*.py'))
    return sorted(os.path.relpath(p, REPO) for p in paths)


def paper_key(path: str):
    """``(family, variant)`` of a Table-1 config, else None."""
    if not path.startswith('configs/mixconv_mobilenets/'):
        return None
    name = os.path.basename(path)
    for family, variant in TABLE1:
        if f'_{family}-{variant}_' in name:
            return family, variant
    return None


def count(path: str) -> dict:
    """Parameters, and MAdds at 320x320 for SSDLite, of one config."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    register_all_modules()
    model = MODELS.build(Config.fromfile(os.path.join(REPO, path)).model)
    numbers = dict(Parameters=count_params(model))
    if os.path.basename(path).startswith('ssdlite'):
        numbers['FLOPs'] = count_madds(model, 320)
    return numbers


def epochs(path: str) -> int:
    """Training epochs, counting RepeatDataset's repeats as mmdet does."""
    cfg = Config.fromfile(os.path.join(REPO, path))
    times = cfg.train_dataloader.dataset.get('times', 1)
    return int(cfg.train_cfg.max_epochs * times)


def metafile(family: Family, counts: dict[str, dict]) -> dict:
    """The metafile.yml of one folder."""
    models = []
    for path, numbers in counts.items():
        name = os.path.splitext(os.path.basename(path))[0]
        models.append(
            {
                'Name': name,
                'In Collection': family.collection,
                'Config': path,
                'Metadata': {
                    'Training Data': family.data,
                    'Epochs': epochs(path),
                    **numbers,
                },
            }
        )
    return {
        'Collections': [
            {
                'Name': family.collection,
                'Metadata': {
                    'Training Data': family.data,
                    'Architecture': list(family.architecture),
                },
                'Paper': PAPER,
                'README': f'configs/{family.folder}/README.md',
                'Code': {'URL': family.code, 'Version': mixdet.__version__},
            }
        ],
        'Models': models,
    }


def table(counts: dict[str, dict]) -> str:
    """The README table of one folder: empty result cells until trained."""
    lines = [
        '| config | params | MAdds (320) | paper mAP | mAP | log '
        '| checkpoint |',
        '|---|---:|---:|---:|---:|---|---|',
    ]
    for path, numbers in counts.items():
        name = os.path.basename(path)
        key = paper_key(path)
        flops = numbers.get('FLOPs')
        cells = [
            f'[{name}]({name})',
            f'{numbers["Parameters"] / 1e6:.2f}M',
            f'{flops / 1e9:.3f}B' if flops else '-',
            f'{TABLE1[key][2]:.1f}' if key else '-',
            '',
            '',
            '',
        ]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def with_table(readme: str, rendered: str, path: str) -> str:
    """``readme`` with the text between the table markers replaced."""
    if TABLE_START not in readme or TABLE_END not in readme:
        raise SystemExit(
            f'error: {path} has no model table markers '
            f'({TABLE_START} ... {TABLE_END})'
        )
    head, rest = readme.split(TABLE_START, 1)
    _, tail = rest.split(TABLE_END, 1)
    return f'{head}{TABLE_START}\n{rendered}\n{TABLE_END}{tail}'


def render() -> dict[str, str]:
    """Path (relative to the repo) -> the text it should hold."""
    files = {}
    imports = []
    for family in FAMILIES:
        counts = {p: count(p) for p in runnable_configs(family.folder)}
        meta = f'configs/{family.folder}/metafile.yml'
        files[meta] = yaml.safe_dump(metafile(family, counts), sort_keys=False)
        imports.append(meta)
        readme = f'configs/{family.folder}/README.md'
        with open(os.path.join(REPO, readme)) as f:
            files[readme] = with_table(f.read(), table(counts), readme)
    files['model-index.yml'] = yaml.safe_dump({'Import': imports})
    return files


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--check',
        action='store_true',
        help='write nothing; exit 1 naming the files that are out of date',
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    stale = []
    for path, text in render().items():
        full = os.path.join(REPO, path)
        old = open(full).read() if os.path.exists(full) else None
        if old == text:
            continue
        stale.append(path)
        if not args.check:
            atomic_write_text(full, text)
    verb = 'out of date' if args.check else 'updated'
    for path in stale:
        print(f'{verb}: {path}')
    if not stale:
        print('model index up to date')
    return 1 if args.check and stale else 0


if __name__ == '__main__':
    sys.exit(main())
