"""The exception types that every entry point raises for bad input.

Each one is a ``ValueError`` so callers that only know the standard library can still catch it; the CLI
catches :class:`SketchcolorError` and prints its message on one line.
"""


class SketchcolorError(ValueError):
    """Base class of every error caused by the caller's input (files, hints, options, checkpoints)."""


class ImageError(SketchcolorError):
    """A picture could not be read, is too large, or has a form we cannot use."""


class HintError(SketchcolorError):
    """A color hint or palette is malformed, has a bad color, or (a hint) lies outside the picture."""


class CheckpointError(SketchcolorError):
    """A checkpoint is missing, corrupt, truncated or does not match the model it should hold."""


class ConfigError(SketchcolorError):
    """A configuration key or value is unknown or out of range."""


class DataError(SketchcolorError):
    """A dataset or manifest entry is missing or unreadable."""
