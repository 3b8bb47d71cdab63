"""Params and MAdds of detector configs, the SSDLite ones beside the
paper's Table 1.

    python tools/analysis/model_table.py --out-png docs/table1.png
    python tools/analysis/model_table.py --num-classes 90 --json t1.json
    python tools/analysis/model_table.py --results work_dirs/*/metrics.json
    python tools/analysis/model_table.py configs/swap/*.py configs/demo/*.py

Each config is counted at its own test input size (its test pipeline's
``Resize`` scale: 320x320 for the COCO SSDLite configs, 192x192 for the
demo, 800x1333 for mmdet's FPN detectors). Without configs it counts every
SSDLite config of ``configs/mixconv_mobilenets`` and ``configs/mixnet``:
the paper-faithful ones
(``ssdlite-tfodapi_*``, the TF Object Detection API's detector) and the
mmdet-convention ones (``ssdlite_*``). Prints a Markdown table (ours vs
paper, relative difference) and plots mAP against our MAdds, one line per
family; mAP measured by ``tools/test.py`` (its ``metrics.json``) is plotted
beside the paper's.
"""

import argparse
import glob
import io
import json
import os
import re
import sys
from dataclasses import dataclass
from typing import Optional

from mmengine.config import Config

import mixdet  # noqa: F401  (registers the backbones)
from mixdet.analysis.complexity import count_madds, count_params
from mixdet.analysis.paper import TABLE1
from mixdet.checkpoint.atomic import (
    atomic_write_bytes,
    atomic_write_text,
    check_output_path,
)
from mixdet.cli.tool_config import add_force_argument

REPO = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
CONFIG_DIRS = ('configs/mixconv_mobilenets', 'configs/mixnet')
NAME = re.compile(
    r'^(?P<detector>ssdlite(-[a-z0-9]+)?)_(?P<family>[a-z0-9]+)'
    r'-(?P<variant>[a-z0-9]+)_'
)
FAITHFUL = 'ssdlite-tfodapi'


@dataclass
class Row:
    config: str  # relative to the repo when inside it
    detector: str
    family: str  # '' for a config outside Table 1's naming
    variant: str
    params: int
    madds: int
    paper: Optional[tuple] = None  # params, MAdds, mAP
    map_ours: Optional[float] = None
    input_size: tuple[int, int] = (320, 320)  # (height, width) counted at

    @property
    def faithful(self) -> bool:
        return self.detector == FAITHFUL

    @property
    def name(self) -> str:
        return f'{self.detector} {self.backbone}'

    @property
    def backbone(self) -> str:
        return f'{self.family}-{self.variant}' if self.family else ''

    def to_json(self) -> dict:
        """The object ``--json`` writes for this config."""
        params, madds, _ = self.paper or (None, None, None)
        return dict(
            config=self.config,
            params=self.params,
            madds=self.madds,
            paper_params=None if params is None else round(params),
            paper_madds=None if madds is None else round(madds),
            faithful=self.faithful,
            input_size=list(self.input_size),
        )


def ssdlite_configs(config_dirs=CONFIG_DIRS) -> list[str]:
    """Every SSDLite config in ``config_dirs`` (relative to the repo)."""
    paths = []
    for config_dir in config_dirs:
        folder = os.path.join(REPO, config_dir)
        paths += glob.glob(os.path.join(folder, '*.py'))
    return sorted(p for p in paths if NAME.match(os.path.basename(p)))


def relative(path: str) -> str:
    """``path`` relative to the repo, or as given when outside it."""
    rel = os.path.relpath(os.path.abspath(path), REPO)
    return path if rel.startswith('..') else rel


def test_input_size(cfg: Config) -> tuple[int, int]:
    """(height, width) of the test pipeline's ``Resize`` scale (mmdet's
    scale is (width, height)); 320x320 where there is none."""
    from mixdet.utils import inner_dataset

    dataset, _ = inner_dataset(cfg, 'test_dataloader')
    for step in dataset.get('pipeline') or cfg.get('test_pipeline') or []:
        if step.get('type') in ('Resize', 'mmdet.Resize') and step.get(
            'scale'
        ):
            scale = step['scale']
            if isinstance(scale, int):
                return scale, scale
            width, height = scale
            return int(height), int(width)
    return 320, 320


def build_row(path: str, num_classes: Optional[int] = None) -> Row:
    """Build the detector of one config and count it at its test size.

    Args:
        path: The config file.
        num_classes: Count with this many classes instead of the config's
            (the paper's detector had 90).
    """
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    from mixdet.cli.own_data import set_num_classes

    register_all_modules()
    name = os.path.basename(path)
    match = NAME.match(name)
    cfg = Config.fromfile(path)
    if num_classes is not None:
        set_num_classes(cfg.model, num_classes)
    model = MODELS.build(cfg.model)
    size = test_input_size(cfg)
    if match:
        detector, family, variant = (
            match['detector'],
            match['family'],
            match['variant'],
        )
    else:
        detector, family, variant = name[: -len('.py')], '', ''
    return Row(
        relative(path),
        detector,
        family,
        variant,
        count_params(model),
        count_madds(model, size),
        TABLE1.get((family, variant)),
        input_size=size,
    )


def load_results(paths: list[str]) -> dict[str, float]:
    """config file name -> bbox mAP (%) from tools/test.py metrics.json."""
    results = {}
    for path in paths:
        with open(path) as f:
            data = json.load(f)
        try:
            value = data['metrics']['coco/bbox_mAP']
            config = os.path.basename(data['config'])
        except (KeyError, TypeError):
            raise SystemExit(
                f'error: {path} is not a tools/test.py '
                "metrics.json (needs 'config' and "
                "'metrics'/'coco/bbox_mAP')"
            ) from None
        results[config] = 100 * value
    return results


def _rel(ours: float, paper: float) -> str:
    return f'{100 * (ours - paper) / paper:+.1f}%'


def markdown(rows: list[Row]) -> str:
    """The table, in the order of ``rows``."""
    lines = [
        '| detector | backbone | input | params | paper | diff | MAdds '
        '| paper | diff | paper mAP | your mAP |',
        '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ]
    for row in rows:
        p_params, p_madds, p_map = row.paper or (None, None, None)
        cells = [
            row.detector,
            row.backbone or '-',
            '{}x{}'.format(*row.input_size),
            f'{row.params / 1e6:.2f}M',
            f'{p_params / 1e6:.2f}M' if p_params else '-',
            _rel(row.params, p_params) if p_params else '-',
            f'{row.madds / 1e9:.3f}B',
            f'{p_madds / 1e9:.2f}B' if p_madds else '-',
            _rel(row.madds, p_madds) if p_madds else '-',
            f'{p_map:.1f}' if p_map else '-',
            f'{row.map_ours:.1f}' if row.map_ours is not None else '-',
        ]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def plot(rows: list[Row], path: str) -> None:
    """Paper mAP against our MAdds, a line per family and detector, and
    measured mAP as stars."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    lines = [
        (family, detector, colour, style)
        for family, colour in (
            ('mobilenetv1', 'tab:blue'),
            ('mobilenetv2', 'tab:orange'),
        )
        for detector, style in ((FAITHFUL, 'o-'), ('ssdlite', 's--'))
    ]
    for family, detector, colour, style in lines:
        fam = sorted(
            (
                r
                for r in rows
                if r.family == family and r.detector == detector and r.paper
            ),
            key=lambda r: r.madds,
        )
        if not fam:
            continue
        xs = [r.madds / 1e9 for r in fam]
        faithful = detector == FAITHFUL
        ax.plot(
            xs,
            [r.paper[2] for r in fam],
            style,
            color=colour,
            alpha=1.0 if faithful else 0.45,
            label=f'{family}, {detector} (paper mAP at our MAdds)',
        )
        if faithful:
            # variant names on the side away from the other detector's line
            others = [r.madds for r in rows if r.family == family and r.paper]
            left = sum(xs) / len(xs) < sum(others) / len(others) / 1e9
            for r, x in zip(fam, xs):
                # below the point when a neighbour with the same mAP sits
                # where the label would go
                crowded = any(
                    o.paper[2] == r.paper[2]
                    and 0 < (x - o.madds / 1e9) * (1 if left else -1) < 0.08
                    for o in fam
                )
                ax.annotate(
                    r.variant,
                    (x, r.paper[2]),
                    fontsize=7,
                    xytext=(0, -12) if crowded else (-6 if left else 6, -3),
                    ha='center' if crowded else 'right' if left else 'left',
                    textcoords='offset points',
                )
    mine = [r for r in rows if r.map_ours is not None]
    if mine:
        ax.scatter(
            [r.madds / 1e9 for r in mine],
            [r.map_ours for r in mine],
            marker='*',
            s=90,
            color='tab:green',
            label='your mAP (tools/test.py)',
            zorder=3,
        )
        for i, r in enumerate(mine):
            ax.annotate(
                r.name,
                (r.madds / 1e9, r.map_ours),
                fontsize=7,
                xytext=(4, -10 - 8 * (i % 2)),
                textcoords='offset points',
            )
    ax.set_xlabel('MAdds at 320x320, counted by mixdet (billions)')
    ax.set_ylabel('COCO mAP (%)')
    ax.set_title('MixConv paper Table 1: SSDLite on COCO')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax.margins(x=0.08, y=0.12)
    fig.tight_layout()
    picture = io.BytesIO()
    fig.savefig(picture, format='png')
    plt.close(fig)
    atomic_write_bytes(path, picture.getvalue())


def sort_rows(rows: list[Row]) -> list[Row]:
    """Paper rows first (faithful, then mmdet's), in the paper's order."""
    order = list(TABLE1)

    def key(row: Row) -> tuple:
        pair = (row.family, row.variant)
        return (
            order.index(pair) if pair in order else len(order),
            not row.faithful,
            row.config,
        )

    return sorted(rows, key=key)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        'configs',
        nargs='*',
        help=f'configs to count (default: the SSDLite configs in '
        f'{", ".join(CONFIG_DIRS)})',
    )
    parser.add_argument(
        '--num-classes',
        type=int,
        default=None,
        help="count with N classes (default: each config's)",
    )
    parser.add_argument(
        '--json', default=None, help='write one object per config here'
    )
    parser.add_argument(
        '--out-png', default=None, help='write the mAP-vs-MAdds plot here'
    )
    parser.add_argument(
        '--results',
        nargs='*',
        default=[],
        help='metrics.json files written by tools/test.py',
    )
    add_force_argument(parser, '--json / --out-png')
    args = parser.parse_args(argv)
    if args.num_classes is not None and args.num_classes < 1:
        parser.error(f'--num-classes must be >= 1, got {args.num_classes}')
    for config in args.configs:
        if not os.path.isfile(config):
            parser.error(f'config {config} does not exist')
    inputs = (*args.configs, *args.results)
    for name, out in (('--json', args.json), ('--out-png', args.out_png)):
        try:
            if out:
                check_output_path(out, inputs, args.force, name)
        except ValueError as error:
            parser.error(str(error))
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    results = load_results(args.results)
    configs = args.configs or ssdlite_configs()
    rows = sort_rows([build_row(p, args.num_classes) for p in configs])
    names = {os.path.basename(r.config): r for r in rows}
    for config, value in results.items():
        if config in names:
            names[config].map_ours = value
        else:
            print(
                f'note: ignoring the mAP of {config}: not one of the '
                'counted COCO configs (a demo or other dataset does not '
                'belong on the COCO axis)',
                file=sys.stderr,
            )
    print(markdown(rows))
    if args.json:
        atomic_write_text(
            args.json, json.dumps([r.to_json() for r in rows], indent=2)
        )
        print(f'\nwrote {args.json}')
    if args.out_png:
        plot(rows, args.out_png)
        print(f'\nwrote {args.out_png}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
