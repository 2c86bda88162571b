"""What the pipeline, the trainer and the benchmark may ask of a net in each role, declared once.

sketchcolor has two roles, each filled by one net of some architecture:

- ``inversion`` (:class:`InversionModel`): line art -> an estimate of the picture's lightness;
- ``color`` (:class:`ColorModel`): lightness, hints and the region fill of the hints -> a distribution over the
  ab bins (and a correction of the fill), decoded to ab.

Code outside :mod:`sketchcolor.models` reaches a net only through these members, so a new architecture (a wider
net, a global-context branch, a reference input) plugs in by implementing them and registering itself in
:data:`sketchcolor.models.ARCHITECTURES`; nothing else changes.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol, runtime_checkable

from torch import Tensor


class ColorOutput(NamedTuple):
    """Raw outputs of a color net for an input ``x`` (B, C, H, W).

    ``logits`` (B, Q, H / logits_stride, W / logits_stride) over the net's ``bins``; ``ab_norm`` (B, 2, H, W) the
    correction head's color, ``base + delta`` (ab / 110, unclamped); ``gate_logit`` (B, 1, H, W) the gate before
    the sigmoid and before masking by where the classical answer exists.
    """

    logits: Tensor
    ab_norm: Tensor
    gate_logit: Tensor


@runtime_checkable
class InversionModel(Protocol):
    """Line art -> lightness estimate.

    ``config``: the architecture's config dataclass (saved in checkpoints); ``size_multiple``: input sides must be
    multiples of it; ``forward(line)``: ``line`` (B, 1, H, W) in [0, 1] (1 = white paper) -> ``l_norm``
    (B, 1, H, W) in [-1, 1] (L = 50 + 50 * l_norm); ``example_input(size)``: a (1, 1, size, size) input for
    counting FLOPs and timing.
    """

    config: Any
    size_multiple: int

    def __call__(self, line: Tensor) -> Tensor: ...

    def example_input(self, size: int) -> Tensor: ...


@runtime_checkable
class ColorModel(Protocol):
    """Lightness + hints + their region fill -> :class:`ColorOutput`, decoded to ab.

    ``config``, ``size_multiple``: as for :class:`InversionModel`. ``bins`` (Q, 2): the ab centre of each class
    (Lab units); ``logits_stride``: the resolution divisor of ``ColorOutput.logits``.
    ``make_input(l_norm, hint_ab_norm, hint_mask, fill_ab_norm, fill_mask)``: the net's input ``x`` from
    ``l_norm`` (B, 1, H, W) in [-1, 1], hint and fill planes (B, 2, H, W) in ab / 110 and their masks
    (B, 1, H, W) in {0, 1} (None means none). Its first 7 channels are those of
    :func:`sketchcolor.models.color.color_input`, where :func:`~sketchcolor.models.color.base_ab` and the losses
    read the classical answer; an architecture that takes more (a reference, global hints) appends channels after
    them. ``forward(x)`` -> :class:`ColorOutput`;
    ``decode(out, x, temperature)`` -> ab_norm (B, 2, H, W) in [-1, 1]; ``example_input(size)``: an input of
    batch 1 for counting FLOPs and timing.
    """

    config: Any
    size_multiple: int
    bins: Tensor
    logits_stride: int

    def make_input(self, l_norm: Tensor, hint_ab_norm: Tensor | None = None, hint_mask: Tensor | None = None,
                   fill_ab_norm: Tensor | None = None, fill_mask: Tensor | None = None) -> Tensor: ...

    def __call__(self, x: Tensor) -> ColorOutput: ...

    def decode(self, out: ColorOutput, x: Tensor, temperature: float) -> Tensor: ...

    def example_input(self, size: int) -> Tensor: ...


__all__ = ["ColorModel", "ColorOutput", "InversionModel"]
