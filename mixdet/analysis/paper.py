"""Numbers from the MixConv paper (Tan & Le, BMVC 2019), in one place.

FLOPs are multiply-adds. Table 1 is SSDLite at 320x320 on COCO (TF Object
Detection API, 90 classes); Table 2 is ImageNet at 224x224.
"""

# (backbone, variant) -> params, MAdds, COCO mAP
TABLE1 = {
    ('mobilenetv1', 'baseline3x3'): (5.12e6, 1.31e9, 21.7),
    ('mobilenetv1', 'depthwise5x5'): (5.20e6, 1.38e9, 22.3),
    ('mobilenetv1', 'mixconv35'): (5.16e6, 1.35e9, 22.2),
    ('mobilenetv1', 'depthwise7x7'): (5.32e6, 1.47e9, 21.8),
    ('mobilenetv1', 'mixconv357'): (5.22e6, 1.39e9, 22.4),
    ('mobilenetv2', 'baseline3x3'): (4.35e6, 0.79e9, 21.5),
    ('mobilenetv2', 'depthwise5x5'): (4.47e6, 0.87e9, 22.1),
    ('mobilenetv2', 'mixconv35'): (4.41e6, 0.83e9, 22.1),
    ('mobilenetv2', 'depthwise7x7'): (4.64e6, 0.98e9, 21.2),
    ('mobilenetv2', 'mixconv357'): (4.49e6, 0.88e9, 22.3),
}

# arch -> params (with the 1000-class classifier), MAdds, top-1
TABLE2 = {
    's': (4.1e6, 256e6, 75.8),
    'm': (5.0e6, 360e6, 77.0),
    'l': (7.3e6, 565e6, 78.9),
}
