"""Data layer: official REACT2024 layout loader, audio features, synthetic dataset, neighbours."""

from reactbench.data.loader import dataset_identity, load_split
from reactbench.data.resolve import default_dataset, resolve_data
from reactbench.data.split import SplitData

__all__ = ["SplitData", "load_split", "resolve_data", "default_dataset", "dataset_identity"]
