"""Static INT8 post-training quantization of an exported end-to-end
detector with ONNX Runtime's quantization tools.

Every op of the network that onnxruntime can quantize (convs, Swish, SE,
residual adds) is quantized, in QDQ format: conv weights per output
channel (int8, symmetric), activations per tensor (uint8), with ranges
calibrated on a few images of the config's training set run through its
test pipeline (no augmentation). Box decoding and NMS stay float. Convs
named by ``keep_float`` stay float (:data:`KEEP_FLOAT` lists the groups).

Measured on the demo model (docs/deployment.md): quantizing only the convs
left a dequantize / quantize pair around every Swish and SE gate and ran
1.3x slower than float in onnxruntime; quantizing the post-processing too
cost 8 points of mAP.
"""

from typing import Iterable, Optional

import numpy as np
from mmengine.config import Config

from ..utils import inner_dataset

# groups of Conv nodes that can be kept in float
KEEP_FLOAT = {
    'none': 'quantize every conv',
    'depthwise': 'depthwise convs (MixConv and 3x3/5x5 depthwise)',
    'stem': 'the first conv (the image itself)',
    'head': "the head's class and box convs",
}


def calibration_images(cfg: Config, count: int) -> list[np.ndarray]:
    """``count`` images of the training set as the graph takes them
    (1x3xHxW BGR float32), through the test pipeline."""
    from mmengine.dataset import Compose

    from ..scope import mmdet_scope

    dataset_cfg = dict(inner_dataset(cfg, 'train_dataloader')[0], pipeline=[])
    with mmdet_scope():
        from mmdet.registry import DATASETS

        dataset = DATASETS.build(dataset_cfg)
        pipeline = Compose(cfg.test_dataloader.dataset.pipeline)
        if len(dataset) < count:
            raise ValueError(
                f'--calib-images {count}: the training set has only '
                f'{len(dataset)} images'
            )
        # spread over the set: every (len // count)-th image
        step = len(dataset) // count
        images = []
        for i in range(0, step * count, step):
            info = dataset.get_data_info(i)
            item = pipeline(dict(img_path=info['img_path'], img_id=i))
            images.append(item['inputs'].float().numpy()[None])
    return images


def conv_groups(graph) -> dict[str, list[str]]:
    """The Conv node names of each :data:`KEEP_FLOAT` group of an ONNX
    ``graph``."""
    convs = [n for n in graph.node if n.op_type == 'Conv']
    groups: dict[str, list[str]] = {name: [] for name in KEEP_FLOAT}
    for node in convs:
        group = next((a.i for a in node.attribute if a.name == 'group'), 1)
        if group > 1:
            groups['depthwise'].append(node.name)
        if '/bbox_head/' in node.name:
            groups['head'].append(node.name)
    if convs:
        groups['stem'].append(convs[0].name)
    return groups


def network_nodes(graph) -> list[str]:
    """The nodes of the detector itself (backbone, neck, head) in an ONNX
    ``graph``, not those of the normalisation, box decoding and NMS around
    it (``EndToEnd`` names its detector ``detector``)."""
    return [n.name for n in graph.node if n.name.startswith('/detector/')]


def quantize_int8(
    cfg: Config,
    float_onnx: str,
    out_file: str,
    calib_images: int = 32,
    keep_float: Iterable[str] = ('none',),
    method: str = 'minmax',
) -> list[str]:
    """Write the INT8 graph of ``float_onnx`` to ``out_file`` (all or
    nothing); returns the names of the convs kept in float.

    Args:
        cfg: The detector's config (its training set calibrates).
        float_onnx: An end-to-end graph (``export_onnx.py --end2end``).
        out_file: Where to write the quantized graph.
        calib_images: How many training images calibrate the ranges.
        keep_float: Groups of :data:`KEEP_FLOAT` to leave in float.
        method: ``'minmax'``, ``'entropy'`` or ``'percentile'``.
    """
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    from ..checkpoint.atomic import atomic_path

    unknown = set(keep_float) - set(KEEP_FLOAT)
    if unknown:
        raise ValueError(
            f'keep_float: unknown {sorted(unknown)}; expected some of '
            f'{sorted(KEEP_FLOAT)}'
        )
    methods = {
        'minmax': CalibrationMethod.MinMax,
        'entropy': CalibrationMethod.Entropy,
        'percentile': CalibrationMethod.Percentile,
    }
    if method not in methods:
        raise ValueError(f'method={method!r}: expected one of {list(methods)}')
    images = calibration_images(cfg, calib_images)

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.items = iter(images)

        def get_next(self) -> Optional[dict]:
            image = next(self.items, None)
            return None if image is None else {'image': image}

    import onnx

    graph = onnx.load(float_onnx).graph
    groups = conv_groups(graph)
    empty = [g for g in keep_float if g != 'none' and not groups[g]]
    if empty:
        raise ValueError(
            f'--keep-float {" ".join(empty)}: {float_onnx} has no such conv '
            '(an end-to-end graph of export_onnx.py --end2end names them)'
        )
    excluded = sorted({n for g in keep_float for n in groups[g]})
    network = network_nodes(graph)
    if not network:
        # an empty list means "every node" to onnxruntime: NMS and box
        # decoding would be quantized too
        raise ValueError(
            f'{float_onnx} has no node named /detector/...: not a graph of '
            'export_onnx.py --end2end, whose network alone is quantized'
        )
    with atomic_path(out_file) as tmp:
        quantize_static(
            float_onnx,
            tmp,
            Reader(),
            quant_format=QuantFormat.QDQ,
            nodes_to_quantize=network,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            nodes_to_exclude=excluded,
            calibrate_method=methods[method],
        )
    return excluded
