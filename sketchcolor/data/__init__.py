"""Training data: pair manifests, dataset builders (OpenMoji, folders), augmentation and the PyTorch dataset.

Heavy pieces (torch, albumentations) are imported lazily so the dataset scripts stay quick to start.
"""

from importlib import import_module

_LAZY = {
    "ManifestEntry": "sketchcolor.data.manifest",
    "read_manifest": "sketchcolor.data.manifest",
    "write_manifest": "sketchcolor.data.manifest",
    "split_for": "sketchcolor.data.manifest",
    "AugmentConfig": "sketchcolor.data.augment",
    "PairDataset": "sketchcolor.data.dataset",
    "worker_init_fn": "sketchcolor.data.dataset",
}

__all__ = list(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sketchcolor.data' has no attribute {name!r}")
