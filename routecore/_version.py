"""The package version (single source: setup reads pyproject, code reads this)."""
__version__ = "0.1.0"
