"""reactbench: benchmark suite for multiple appropriate facial reaction generation."""

__version__ = "0.1.0"
