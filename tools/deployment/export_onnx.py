"""Export a detector to ONNX: to final detections, or to raw head outputs.

    python tools/deployment/export_onnx.py CONFIG [CHECKPOINT] OUT.onnx
        [--end2end [--dynamic-batch]] [--runtime onnxruntime|openvino]
        [--target CPU_KIND] [--mixconv-max-kernel K] [--pointwise
        grouped|dense] [--size N] [--cfg-options k=v ...] [--force]

``--end2end``: from BGR images of the export size to mmdeploy's ``dets``
(B, max_per_img, 5) and ``labels`` after box decoding and NMS with the
config's ``test_cfg`` (mixdet/deploy/end_to_end.py), for a batch of 1 or, with
``--dynamic-batch``, any; the tool compares onnxruntime's detections with
mmdet's ``predict`` on a test image. Without it: backbone + neck + head to
every level's raw class scores and box deltas, compared with PyTorch.
The graph is the one measured fastest for ``--runtime`` on ``--target``
(default: this CPU's kind, e.g. cpu-avx512) in ``mixdet.deploy.EXPORT_RULES``
(MixConvs fused up to a kernel size, else split; grouped 1x1 convs grouped
or dense); where nothing was measured, every MixConv fused. The two last
flags override the rule (measure with tools/analysis/benchmark_export.py).
Checks the file with onnx. A checkpoint that does not fit the config's
model (another num_classes, another backbone) is refused with every key
that does not fit; so is a head that cannot be exported end to end.
"""

import argparse
import os
import sys

import torch
from mmengine.config import Config

import mixdet  # noqa: F401  (registers modules, applies the fixes)
from mixdet.checkpoint.atomic import check_output_path
from mixdet.cli.checkpoint_fit import (
    build_model_quietly,
    fit_heads_to_checkpoint,
    fitting_state_dict,
    read_whole_checkpoint,
)
from mixdet.cli.tool_config import add_cfg_options_argument, add_force_argument
from mixdet.deploy import export_onnx, onnx_max_diff
from mixdet.deploy.end_to_end import (
    check_exportable,
    compare_with_mmdet,
    export_end_to_end,
    pipeline_resize,
)
from mixdet.deploy.export_rules import (
    DEFAULT,
    POINTWISE,
    RUNTIMES,
    export_rule,
)
from mixdet.utils import ConfigError


def describe(rule, model: torch.nn.Module) -> str:
    """One line: how MixConvs and grouped 1x1 convs were exported (only
    what ``model`` has)."""
    from mixdet.models.layers import MixConv2d
    from mixdet.models.layers.pointwise import GroupedPointwiseConv2d

    k = rule.mixconv_max_kernel
    mixconvs = f'fused up to kernel {k}, split above'
    if k == 0 or k >= DEFAULT.mixconv_max_kernel:
        mixconvs = 'split' if k == 0 else 'fused'
    kinds = {type(m) for m in model.modules()}
    parts = []
    if MixConv2d in kinds:
        parts.append(f'MixConvs {mixconvs}')
    if GroupedPointwiseConv2d in kinds:
        parts.append(f'grouped 1x1 convs {rule.pointwise}')
    if not parts:
        return (
            f'for {rule.runtime}: no MixConv or grouped 1x1 conv to choose for'
        )
    chosen = '; '.join(parts)
    return f'for {rule.runtime} on {rule.device}: {chosen} ({rule.measured})'


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        'config',
        help='the detector config',
    )
    parser.add_argument(
        'files',
        nargs='+',
        metavar='[CHECKPOINT] OUT.onnx',
        help='a checkpoint (optional: random weights without) and the file',
    )
    parser.add_argument(
        '--size',
        type=int,
        default=None,
        help="input side (default: the test pipeline's Resize, else the "
        "config's input_size, else 320)",
    )
    parser.add_argument(
        '--opset', type=int, default=17, help='ONNX opset, 11 to 21 (17)'
    )
    parser.add_argument(
        '--end2end',
        action='store_true',
        help='to final detections (boxes, scores, labels) after NMS',
    )
    parser.add_argument(
        '--dynamic-batch',
        action='store_true',
        help='with --end2end: any batch size (default: 1)',
    )
    parser.add_argument(
        '--runtime',
        choices=RUNTIMES,
        default='onnxruntime',
        help='the runtime the graph is for (default: onnxruntime)',
    )
    parser.add_argument(
        '--target',
        default=None,
        help="the CPU it will run on (default: this one's kind)",
    )
    parser.add_argument(
        '--mixconv-max-kernel',
        type=int,
        default=None,
        help='MixConvs fused up to this largest kernel, split above it',
    )
    parser.add_argument(
        '--pointwise',
        choices=POINTWISE,
        default=None,
        help='grouped 1x1 convs as grouped or dense convs (default: rule)',
    )
    add_cfg_options_argument(parser)
    add_force_argument(parser, 'OUT.onnx')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if len(args.files) > 2 or not args.files[-1].endswith('.onnx'):
        print('error: expected [CHECKPOINT] OUT.onnx', file=sys.stderr)
        return 2
    if not 11 <= args.opset <= 21:
        print(
            f'error: --opset {args.opset}: expected 11 to 21', file=sys.stderr
        )
        return 2
    if args.mixconv_max_kernel is not None and args.mixconv_max_kernel < 0:
        print(
            f'error: --mixconv-max-kernel {args.mixconv_max_kernel}: expected '
            '0 (every MixConv split) or a kernel size',
            file=sys.stderr,
        )
        return 2
    if args.dynamic_batch and not args.end2end:
        print('error: --dynamic-batch needs --end2end', file=sys.stderr)
        return 2
    checkpoint = args.files[0] if len(args.files) == 2 else None
    rule = export_rule(args.runtime, args.target)
    if args.mixconv_max_kernel is not None:
        rule = rule._replace(
            mixconv_max_kernel=args.mixconv_max_kernel, measured='by hand'
        )
    if args.pointwise is not None:
        rule = rule._replace(pointwise=args.pointwise, measured='by hand')
    try:
        if not os.path.isfile(args.config):
            raise ValueError(f'config {args.config!r} does not exist')
        check_output_path(
            args.files[-1], (args.config, checkpoint), args.force, 'OUT.onnx'
        )
        cfg = Config.fromfile(args.config)
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        if args.size is not None and not 32 <= args.size <= 4096:
            raise ValueError(
                f'--size {args.size}: expected an input side from 32 to '
                '4096 pixels'
            )
        loaded = read_whole_checkpoint(checkpoint) if checkpoint else None
        # own data: the heads of the classes the checkpoint was trained on
        fit_heads_to_checkpoint(cfg, loaded)
        model = build_model_quietly(cfg.model)
        if checkpoint:
            state, _ = fitting_state_dict(
                model, checkpoint, args.config, loaded
            )
            model.load_state_dict(state, strict=True)
        if args.end2end:  # the head first: no option fixes that one
            check_exportable(model)
        try:
            pipeline_size, resize = pipeline_resize(cfg)
        except ValueError as error:
            if args.end2end:  # its graph resizes nothing: it would stretch
                raise
            # raw outputs: resizing the input is the user's, but say so
            print(f'note: {str(error).split(";")[0]}; this raw-output graph '
                  'takes square images of the export size')  # fmt: skip
            pipeline_size, resize = None, None
    except (ValueError, ConfigError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 2
    size = args.size or pipeline_size or cfg.get('input_size', 320)
    if args.size and pipeline_size and args.size != pipeline_size:
        print(
            f'note: --size {args.size}, while the test pipeline resizes to '
            f'{pipeline_size} ({resize}): the graph sees other images than '
            'the model was tested on'
        )
    weights = checkpoint or 'random init: no checkpoint given'
    if args.end2end:
        out = export_end_to_end(
            model, args.files[-1], size, args.opset, args.dynamic_batch, rule
        )
        batch = 'B' if args.dynamic_batch else '1'
        shape = f'{batch}x3x{size}x{size} BGR images -> dets, labels'
        if not checkpoint:
            print(
                f'wrote {out} ({shape}; weights: {weights}: its scores tie, '
                'so its detections are not compared with mmdet)'
            )
            print(describe(rule, model))
            return 0
        image = torch.rand(
            1, 3, size, size, generator=torch.Generator().manual_seed(0)
        )
        found = compare_with_mmdet(model, out, image * 255)
        print(
            f'wrote {out} ({shape}; weights: {weights}); on a test image '
            'onnxruntime found '
            f'{found["onnx"]} detections, mmdet {found["mmdet"]}, boxes '
            f'within {found["box_diff"]:.1e}, labels '
            f'{"equal" if found["same_labels"] else "DIFFERENT"}'
        )
        print(describe(rule, model))
        return 0
    out = export_onnx(model, args.files[-1], size, args.opset, rule)
    diff, scale = onnx_max_diff(model, out, size)
    print(
        f'wrote {out} ({size}x{size}, weights: {weights}); onnxruntime vs '
        f'PyTorch max abs diff {diff:.2e} (largest output {scale:.2e})'
    )
    print(describe(rule, model))
    return 0


if __name__ == '__main__':
    sys.exit(main())
