"""COCO metrics of an exported end-to-end detector (``export_onnx.py
--end2end``) on a config's test set, with the config's own evaluator
(mmdet's ``CocoMetric``): the numbers ``tools/test.py`` gives for the
PyTorch model, for the graph a runtime runs.
"""

import os

import numpy as np
import torch
from mmengine.config import Config

from .end_to_end import detections
from .runtime import runtime_session


def check_end_to_end(onnx_file: str, name: str = 'MODEL.onnx') -> None:
    """Raise ValueError, naming the argument ``name``, unless ``onnx_file``
    is an end-to-end graph (``export_onnx.py --end2end``)."""
    if not os.path.isfile(onnx_file):
        raise ValueError(f'{name} {onnx_file!r} does not exist')
    graph = read_onnx_graph(onnx_file, name)
    outputs = [o.name for o in graph.output]
    inputs = [i.name for i in graph.input]
    if inputs != ['image'] or outputs != ['dets', 'labels']:
        raise ValueError(
            f'{name} {onnx_file!r} has outputs {outputs}, not an end-to-end '
            "detector's ['dets', 'labels']: export it with export_onnx.py "
            '--end2end'
        )
    if not any(node.name.startswith('/detector/') for node in graph.node):
        raise ValueError(
            f'{name} {onnx_file!r} has no node of the detector (named '
            "'/detector/...' by export_onnx.py --end2end): export it with "
            'export_onnx.py --end2end'
        )


# Operator domains the runtimes run: ONNX's and onnxruntime's contrib ops.
KNOWN_DOMAINS = ('', 'ai.onnx', 'com.microsoft')


def read_onnx_graph(onnx_file: str, name: str = 'MODEL.onnx'):
    """The graph of an ONNX file (without external data), or ValueError
    naming ``name``: not an ONNX model, or ops of a custom domain."""
    import onnx

    try:
        model = onnx.load(onnx_file, load_external_data=False)
    except Exception as error:  # protobuf raises several kinds
        raise ValueError(
            f'{name} {onnx_file!r} is not an ONNX model '
            f'({type(error).__name__})'
        ) from None
    if not model.graph.node:
        raise ValueError(
            f'{name} {onnx_file!r} is not an ONNX model (no nodes)'
        )
    custom = sorted({n.domain for n in model.graph.node} - set(KNOWN_DOMAINS))
    if custom:
        raise ValueError(
            f'{name} {onnx_file!r} uses ops of the custom domain(s) '
            f'{custom}, which onnxruntime and OpenVINO do not run; export '
            'it with export_onnx.py --end2end'
        )
    return model.graph


def graph_input_size(onnx_file: str) -> tuple[int, int]:
    """(height, width) the graph's image input is fixed to."""
    import onnx

    graph = onnx.load(onnx_file, load_external_data=False).graph
    dims = graph.input[0].type.tensor_type.shape.dim
    return dims[2].dim_value, dims[3].dim_value


def evaluate_onnx(
    cfg: Config,
    onnx_file: str,
    runtime: str = 'onnxruntime',
) -> dict:
    """Run ``onnx_file`` in ``runtime`` on every image of ``cfg``'s test
    loader and return its test evaluator's metrics. Boxes are scaled back
    to each original image with the test pipeline's ``scale_factor``.
    Raises ValueError when the pipeline's images do not have the graph's
    input size."""
    from mmengine.evaluator import Evaluator
    from mmengine.runner import Runner

    from ..scope import mmdet_scope

    size = graph_input_size(onnx_file)
    run = runtime_session(runtime, onnx_file)
    with mmdet_scope():
        loader_cfg = cfg.test_dataloader.copy()
        loader_cfg['num_workers'] = 0
        loader_cfg.pop('persistent_workers', None)
        loader = Runner.build_dataloader(loader_cfg)
        evaluator = Evaluator(cfg.test_evaluator)
        evaluator.dataset_meta = loader.dataset.metainfo
        for data in loader:
            for image, sample in zip(data['inputs'], data['data_samples']):
                if tuple(image.shape[-2:]) != size:
                    raise ValueError(
                        f'{onnx_file}: its input is {size[0]}x{size[1]} but '
                        'the test pipeline gives '
                        f'{image.shape[-2]}x{image.shape[-1]} images; export '
                        'it with --size equal to the pipeline Resize'
                    )
                dets, labels = run(image.float().numpy()[None])
                boxes, scores, labels = detections(dets[0], labels[0])
                classes = len(evaluator.dataset_meta['classes'])
                if (
                    labels.size
                    and not 0 <= labels.min() <= labels.max() < classes
                ):
                    raise ValueError(
                        f'{onnx_file}: labels {labels.min()}..{labels.max()} '
                        f'but the config has {classes} classes: a graph of '
                        'another num_classes (or another dataset)?'
                    )
                w_scale, h_scale = sample.scale_factor
                boxes = boxes / np.array([w_scale, h_scale] * 2, np.float32)
                pred = dict(
                    bboxes=torch.from_numpy(boxes),
                    scores=torch.from_numpy(scores),
                    labels=torch.from_numpy(labels),
                )
                evaluator.process(
                    [
                        dict(
                            pred_instances=pred,
                            img_id=sample.img_id,
                            ori_shape=sample.ori_shape,
                        )
                    ]
                )
        return evaluator.evaluate(len(loader.dataset))
