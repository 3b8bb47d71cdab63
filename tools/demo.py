"""Placeholder until the demo lands."""

print('make demo: not implemented yet')
