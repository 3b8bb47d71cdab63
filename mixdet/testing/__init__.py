"""What tests and benchmarks feed a detector: a random batch as a
dataloader gives it (mmdet's ``demo_mm_inputs`` takes no seed and scales
its boxes)."""

import torch
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData


def random_det_batch(
    num_images: int = 2, size: int = 320, num_classes: int = 80, seed: int = 0
) -> dict:
    """A batch as a dataloader gives it: uint8 images and samples with
    a few random ground-truth boxes each."""
    g = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(num_images):
        inputs.append(
            torch.randint(
                0, 256, (3, size, size), generator=g, dtype=torch.uint8
            )
        )
        xy = torch.rand(3, 2, generator=g) * size * 0.6
        wh = torch.rand(3, 2, generator=g) * size * 0.3 + size * 0.1
        sample = DetDataSample(
            metainfo=dict(
                img_shape=(size, size),
                ori_shape=(size, size),
                pad_shape=(size, size),
                scale_factor=(1.0, 1.0),
                batch_input_shape=(size, size),
            )
        )
        sample.gt_instances = InstanceData(
            bboxes=torch.cat([xy, xy + wh], 1),
            labels=torch.randint(0, num_classes, (3,), generator=g),
        )
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)
