"""Error types. All subclass ValueError so callers can catch bad input uniformly."""


class ReactbenchError(ValueError):
    """Base class: the CLI prints these as a clean one-paragraph message (exit code 2)."""


class DataError(ReactbenchError):
    """A dataset file or directory is missing or malformed; the message names the file."""


class ModelError(ReactbenchError):
    """A model is unknown, failed, or returned invalid reactions."""


class ResultsError(ReactbenchError):
    """A result file or results directory is invalid, conflicting, or would be overwritten."""
