"""The benchmarks' timing helpers."""

import torch
import torch.nn.functional as F

from mixdet.cli.timing import interleaved, op_breakdown


def test_op_breakdown_names_each_functions_ops():
    x = torch.randn(1, 32, 64, 64)
    table = op_breakdown(
        {'swish': lambda: F.silu(x), 'relu6': lambda: F.relu6(x)},
        calls=3,
        top=2,
    )
    assert table['aten::silu']['swish'] > 0
    assert table['aten::silu']['relu6'] == 0
    relu6_ops = [op for op, ms in table.items() if ms['relu6'] > 0]
    assert relu6_ops and 'aten::silu' not in relu6_ops
    assert all(set(ms) == {'swish', 'relu6'} for ms in table.values())
    *ops, total = table
    assert total == 'all ops'
    for name in ('swish', 'relu6'):
        assert table[total][name] >= sum(table[op][name] for op in ops)


def test_interleaved_alternates_the_order():
    order = []
    fns = {name: (lambda n=name: order.append(n)) for name in 'ab'}
    times = interleaved(fns, rounds=3)
    assert order == ['a', 'b', 'b', 'a', 'a', 'b']
    assert {name: len(t) for name, t in times.items()} == {'a': 3, 'b': 3}
