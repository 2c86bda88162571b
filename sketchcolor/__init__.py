"""sketchcolor: color line drawings, sketches and grayscale cartoons, automatically or from a few hints.

The public API is :class:`Colorizer` (the one inference path) and :class:`Hint`. They are imported lazily so that
light modules (image I/O, hints parsing) stay cheap to import.
"""

from importlib import import_module

__version__ = "0.1.0"

_LAZY = {
    "Colorizer": "sketchcolor.pipeline",
    "ColorizeResult": "sketchcolor.pipeline",
    "Hint": "sketchcolor.hints",
    "load_image": "sketchcolor.image_io",
    "save_image": "sketchcolor.image_io",
    "load_checkpoint": "sketchcolor.checkpoint",
    "save_checkpoint": "sketchcolor.checkpoint",
    "SketchcolorError": "sketchcolor.errors",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sketchcolor' has no attribute {name!r}")
