"""mixdet's tests (a package: modules import shared code relatively)."""
