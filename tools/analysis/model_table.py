"""Params and MAdds of every SSDLite config beside the paper's Table 1.

    python tools/analysis/model_table.py --out-png docs/table1.png
    python tools/analysis/model_table.py --results work_dirs/*/metrics.json

Prints a Markdown table (ours vs paper, relative difference) and plots the
paper's mAP against our MAdds, one line per MobileNet family; mAP from
``tools/test.py`` runs (their ``metrics.json``) is plotted beside it.
"""

import argparse
import glob
import json
import os
import re
import sys
from dataclasses import dataclass
from typing import Optional

from mmengine.config import Config

import mixdet  # noqa: F401  (registers the backbones)
from mixdet.complexity import count_madds, count_params
from mixdet.paper import TABLE1

REPO = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
CONFIG_DIR = os.path.join(REPO, 'configs', 'ssdlite')
NAME = re.compile(r'^ssdlite_(?P<family>[a-z0-9]+)-(?P<variant>[a-z0-9]+)_')


@dataclass
class Row:
    config: str
    family: str
    variant: str
    params: int
    madds: int
    paper: Optional[tuple] = None  # params, MAdds, mAP
    map_ours: Optional[float] = None


def ssdlite_configs(config_dir: str = CONFIG_DIR) -> list[str]:
    """The model configs (not the shared base) in ``config_dir``."""
    return sorted(
        p
        for p in glob.glob(os.path.join(config_dir, '*.py'))
        if NAME.match(os.path.basename(p))
    )


def build_row(path: str) -> Row:
    """Build the detector of one config and count it at 320x320."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    register_all_modules()
    name = os.path.basename(path)
    match = NAME.match(name)
    model = MODELS.build(Config.fromfile(path).model)
    return Row(
        name,
        match['family'],
        match['variant'],
        count_params(model),
        count_madds(model, 320),
        TABLE1.get((match['family'], match['variant'])),
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
    """The table, paper rows first in paper order, then the others."""
    lines = [
        '| model | params | paper | diff | MAdds | paper | diff '
        '| paper mAP | your mAP |',
        '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ]
    for row in rows:
        p_params, p_madds, p_map = row.paper or (None, None, None)
        cells = [
            f'{row.family}-{row.variant}',
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
    """Paper mAP (and yours) against our MAdds, a line per family."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    for family, colour in (
        ('mobilenetv1', 'tab:blue'),
        ('mobilenetv2', 'tab:orange'),
    ):
        fam = sorted(
            (r for r in rows if r.family == family and r.paper),
            key=lambda r: r.madds,
        )
        if not fam:
            continue
        xs = [r.madds / 1e9 for r in fam]
        ax.plot(
            xs,
            [r.paper[2] for r in fam],
            'o-',
            color=colour,
            label=f'SSDLite-{family} (paper mAP)',
        )
        for i, (r, x) in enumerate(zip(fam, xs)):
            ax.annotate(
                r.variant,
                (x, r.paper[2]),
                fontsize=7,
                xytext=(4, 4 if i % 2 else -10),
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
            label='your mAP',
            zorder=3,
        )
        for r in mine:
            ax.annotate(
                f'{r.family}-{r.variant}',
                (r.madds / 1e9, r.map_ours),
                fontsize=7,
                xytext=(3, -9),
                textcoords='offset points',
            )
    ax.set_xlabel('MAdds at 320x320, counted by mixdet (billions)')
    ax.set_ylabel('COCO mAP (%)')
    ax.set_title('MixConv paper Table 1: SSDLite on COCO')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config-dir', default=CONFIG_DIR)
    parser.add_argument(
        '--out-png', default=None, help='write the mAP-vs-MAdds plot here'
    )
    parser.add_argument(
        '--results',
        nargs='*',
        default=[],
        help='metrics.json files written by tools/test.py',
    )
    args = parser.parse_args(argv)
    results = load_results(args.results)
    configs = ssdlite_configs(args.config_dir)
    if not configs:
        print(
            f'error: no ssdlite_*.py configs in {args.config_dir}',
            file=sys.stderr,
        )
        return 1
    rows = [build_row(p) for p in configs]
    order = list(TABLE1)
    rows.sort(
        key=lambda r: (
            order.index((r.family, r.variant))
            if (r.family, r.variant) in order
            else 99,
            r.config,
        )
    )
    for row in rows:
        row.map_ours = results.get(row.config)
    print(markdown(rows))
    if args.out_png:
        plot(rows, args.out_png)
        print(f'\nwrote {args.out_png}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
