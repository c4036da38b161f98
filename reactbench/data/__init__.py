"""Data layer: official REACT2024 layout loader, audio features, synthetic dataset, neighbours."""

from reactbench.data.split import SplitData

__all__ = ["SplitData"]
