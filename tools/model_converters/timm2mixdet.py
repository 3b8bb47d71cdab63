"""Convert timm MixNet ImageNet weights into a mixdet backbone checkpoint.

    python tools/model_converters/timm2mixdet.py mixnet_s.pth mixnet-s.pth

The output loads with ``init_cfg=dict(type='Pretrained', checkpoint=...)``;
the tool prints the config lines that reproduce timm's outputs exactly:
timm's PyTorch-trained ``mixnet_*`` use BN eps 1e-5, the TensorFlow ports
``tf_mixnet_*`` TF's 'same' padding and BN eps 1e-3.
"""

import argparse
import os
import sys

import torch

from mixdet.checkpoint import compare_keys
from mixdet.checkpoint.atomic import atomic_path, check_output_path
from mixdet.cli.checkpoint_fit import read_checkpoint
from mixdet.cli.tool_config import add_force_argument
from mixdet.converters import (
    ConversionError,
    convert_timm_mixnet,
    extract_state_dict,
    timm_key,
)
from mixdet.models.backbones.mixnet import MixNet
from mixdet.models.backbones.mixnet_archs import MIXNET_ARCHS
from mixdet.utils import ConfigError


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='timm mixnet_* / tf_mixnet_* checkpoint')
    parser.add_argument('dst', help='mixdet checkpoint to write')
    parser.add_argument(
        '--arch',
        choices=['auto', *MIXNET_ARCHS],
        default='auto',
        help='MixNet arch of the weights (default: found from the shapes)',
    )
    parser.add_argument(
        '--family',
        choices=['auto', *FAMILIES],
        default='auto',
        help="timm's PyTorch-trained mixnet_* or its TensorFlow ports "
        'tf_mixnet_* (same keys and shapes; they differ in padding and BN '
        "eps). Default: 'tf_mixnet' when the src file name starts with "
        "'tf_', else 'mixnet'",
    )
    add_force_argument(parser, 'dst')
    parser.add_argument(
        '--keep-classifier',
        action='store_true',
        help='also keep the 1000-class classifier (classifier.*)',
    )
    return parser.parse_args(argv)


# What each family of timm MixNets needs beyond the weights for timm's
# outputs (on top of any MixNet config: the SSDLite base sets eps 1e-3).
FAMILIES = {
    'mixnet': dict(norm_cfg=dict(type='BN', eps=1e-5)),
    'tf_mixnet': dict(padding='same', norm_cfg=dict(type='BN', eps=1e-3)),
}


def guess_family(src: str) -> str:
    """The family a timm file name says (``tf_mixnet_s-89d3354b.pth``)."""
    return 'tf_mixnet' if os.path.basename(src).startswith('tf_') else 'mixnet'


def backbone_keys(arch: str) -> dict:
    """Expected keys and shapes of a full MixNet (all stages and head)."""
    return MixNet(
        arch, out_indices=range(6), init_cfg=dict(type='Constant', val=0)
    ).state_dict()


def convert_file(
    src: str,
    dst: str,
    arch: str = 'auto',
    keep_classifier: bool = False,
    force: bool = False,
    family: str = 'auto',
) -> str:
    """Convert ``src`` to ``dst``; return the arch. Nothing is written on
    error; an existing ``dst`` is replaced only with ``force``. ``family``
    (``'mixnet'``, ``'tf_mixnet'``, ``'auto'``: from the file name) is
    recorded in the checkpoint's meta."""
    if family == 'auto':
        family = guess_family(src)
    if family not in FAMILIES:
        raise ConversionError(
            f"family {family!r} is not one of 'auto', "
            + ', '.join(map(repr, FAMILIES))
        )
    if not os.path.isfile(src):
        raise ConversionError(f'src checkpoint {src!r} does not exist')
    try:
        check_output_path(dst, (src,), force, name='dst')
    except ValueError as error:
        raise ConversionError(str(error)) from None
    try:
        checkpoint = read_checkpoint(src, 'src')
    except ConfigError as error:
        raise ConversionError(str(error)) from None
    source = extract_state_dict(checkpoint)
    converted = convert_timm_mixnet(source, keep_classifier=keep_classifier)
    backbone = {
        k: v for k, v in converted.items() if not k.startswith('classifier.')
    }
    candidates = list(MIXNET_ARCHS) if arch == 'auto' else [arch]
    report = {}
    for name in candidates:
        problems = compare_keys(
            backbone_keys(name),
            backbone,
            lambda key: timm_key(key, list(source)),
        )
        if not problems:
            break
        report[name] = problems
    else:
        lines = [f'  arch {n!r}: ' + '; '.join(p) for n, p in report.items()]
        raise ConversionError(
            f'{src} does not match a MixNet arch ({", ".join(candidates)}):'
            '\n' + '\n'.join(lines)
        )
    with atomic_path(dst) as tmp:
        torch.save(
            {
                'state_dict': converted,
                'meta': {
                    'arch': name,
                    'family': family,
                    'source': os.path.basename(src),
                },
            },
            tmp,
        )
    return name


def pretrained_snippet(arch: str, dst: str, family: str) -> str:
    """What to put in a config that inherits a MixNet config (e.g. one of
    configs/mixnet/, whose SSDLite base initialises the backbone otherwise:
    ``_delete_`` replaces that init instead of merging into it); with the
    padding and BN eps of ``family`` (:data:`FAMILIES`), the backbone's
    outputs are timm's."""
    extra = ''.join(
        f'        {key}={_literal(value)},\n'
        for key, value in FAMILIES[family].items()
    )
    config = f'configs/mixnet/ssdlite_mixnet-{arch}_8xb24-600e_coco.py'
    repo = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
    example = (
        f' (e.g. {config})'
        if os.path.isfile(os.path.join(repo, config))
        else ''
    )
    return (
        f'use it in a config that inherits a MixNet-{arch.upper()} '
        f'config{example}:\n'
        'model = dict(\n'
        '    backbone=dict(\n'
        f"        type='MixNet',\n"
        f"        arch='{arch}',\n"
        f'{extra}'
        '        init_cfg=dict(\n'
        "            _delete_=True, type='Pretrained',\n"
        f'            checkpoint={dst!r}),\n'
        '    )\n'
        ')'
    )


def _literal(value) -> str:
    """``value`` as config text (``dict(type='BN', eps=1e-05)``)."""
    if isinstance(value, dict):
        items = ', '.join(f'{k}={_literal(v)}' for k, v in value.items())
        return f'dict({items})'
    return repr(value)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        arch = convert_file(
            args.src,
            args.dst,
            args.arch,
            args.keep_classifier,
            args.force,
            args.family,
        )
    except ConversionError as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    family = guess_family(args.src) if args.family == 'auto' else args.family
    how = (
        'from the file name; --family to choose'
        if args.family == 'auto'
        else '--family'
    )
    print(
        f'wrote {args.dst} (MixNet-{arch.upper()}, '
        f'timm {family}_{arch}: {how})'
    )
    print(pretrained_snippet(arch, args.dst, family))
    return 0


if __name__ == '__main__':
    sys.exit(main())
