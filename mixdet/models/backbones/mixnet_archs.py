"""MixNet architectures as data: the paper's block strings.

Each inner list is one group of lines that share a depth scaling (timm's
stages), so MixNet-XL's depth multiplier reproduces timm's ``mixnet_xl``.
Stride endpoints are not written here: a new output stage starts at every
stride-2 block (see ``MixNet``).
"""

MIXNET_S_BLOCKS = [
    ['r1_k3_a1_p1_s11_e1_i16_o16'],
    ['r1_k3_a1.1_p1.1_s22_e6_i16_o24', 'r1_k3_a1.1_p1.1_s11_e3_i24_o24'],
    [
        'r1_k3.5.7_a1_p1_s22_e6_i24_o40_se0.5_sw',
        'r3_k3.5_a1.1_p1.1_s11_e6_i40_o40_se0.5_sw',
    ],
    [
        'r1_k3.5.7_a1_p1.1_s22_e6_i40_o80_se0.25_sw',
        'r2_k3.5_a1_p1.1_s11_e6_i80_o80_se0.25_sw',
    ],
    [
        'r1_k3.5.7_a1.1_p1.1_s11_e6_i80_o120_se0.5_sw',
        'r2_k3.5.7.9_a1.1_p1.1_s11_e3_i120_o120_se0.5_sw',
    ],
    [
        'r1_k3.5.7.9.11_a1_p1_s22_e6_i120_o200_se0.5_sw',
        'r2_k3.5.7.9_a1_p1.1_s11_e6_i200_o200_se0.5_sw',
    ],
]

MIXNET_M_BLOCKS = [
    ['r1_k3_a1_p1_s11_e1_i24_o24'],
    ['r1_k3.5.7_a1.1_p1.1_s22_e6_i24_o32', 'r1_k3_a1.1_p1.1_s11_e3_i32_o32'],
    [
        'r1_k3.5.7.9_a1_p1_s22_e6_i32_o40_se0.5_sw',
        'r3_k3.5_a1.1_p1.1_s11_e6_i40_o40_se0.5_sw',
    ],
    [
        'r1_k3.5.7_a1_p1_s22_e6_i40_o80_se0.25_sw',
        'r3_k3.5.7.9_a1.1_p1.1_s11_e6_i80_o80_se0.25_sw',
    ],
    [
        'r1_k3_a1_p1_s11_e6_i80_o120_se0.5_sw',
        'r3_k3.5.7.9_a1.1_p1.1_s11_e3_i120_o120_se0.5_sw',
    ],
    [
        'r1_k3.5.7.9_a1_p1_s22_e6_i120_o200_se0.5_sw',
        'r3_k3.5.7.9_a1_p1.1_s11_e6_i200_o200_se0.5_sw',
    ],
]

# arch -> block strings, width multiplier, depth multiplier. The stem has
# the first block's input channels; the 1536-channel head is never scaled.
MIXNET_ARCHS = {
    's': dict(blocks=MIXNET_S_BLOCKS, width=1.0, depth=1.0),
    'm': dict(blocks=MIXNET_M_BLOCKS, width=1.0, depth=1.0),
    'l': dict(blocks=MIXNET_M_BLOCKS, width=1.3, depth=1.0),
    'xl': dict(blocks=MIXNET_M_BLOCKS, width=1.6, depth=1.2),
}
