"""Variations: k different plausible automatic colorings of one picture, drawn region by region from the color
net's pooled distributions.

Variation 0 is the normal automatic result. Every other variation gives each drawable region (no hint, not the
page, at least one logits cell) an ab drawn from the region's pooled distribution over the color bins, sharpened
by a temperature (``p^(1/T)``, as the annealed mean reads it; the pipeline's ``temperature_draw``) so draws stay
among the colors the net finds likely, with the mass near the colors the earlier variations gave that region
down-weighted so the variations differ. The draws are seeded: one seed gives the same variations. In flat line
art variations 1, 3, ... (the second, the fourth) also color the open shapes of the page that the lightness
estimate shades (``PipelineConfig.variation_shapes_l``), which the others leave paper: whether an outline open to
the page holds a shape is the pipeline's least certain guess, so the artist picks it too.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sketchcolor.errors import ConfigError

__all__ = ["DIVERSITY_SIGMA_AB", "MAX_VARIATIONS", "check_count", "check_seed", "draw_region_ab"]

# Beyond this an artist no longer picks among them, and every one costs a recombination at full size.
MAX_VARIATIONS = 16
# Reach (Lab ab units) of the down-weighting around an earlier variation's color: two to three bins, so a draw
# lands on another color rather than a neighbouring shade of the same one.
DIVERSITY_SIGMA_AB = 25.0


def check_count(k: Any) -> int:
    """``k`` as the number of variations, a whole number from 1 to :data:`MAX_VARIATIONS` (ConfigError else)."""
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or not 1 <= k <= MAX_VARIATIONS:
        raise ConfigError(f"the number of variations must be a whole number from 1 to {MAX_VARIATIONS}, got {k!r}")
    return int(k)


def check_seed(seed: Any) -> int:
    """``seed`` as the variations' seed, a whole number >= 0 (ConfigError else)."""
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"the variations' seed must be a whole number >= 0, got {seed!r}")
    return int(seed)


def draw_region_ab(probs: np.ndarray, bins: np.ndarray, first_ab: np.ndarray, k: int, temperature: float,
                   seed: int) -> np.ndarray:
    """(k, R, 2) float64: each of R regions' ab in each of k variations; variation 0 is ``first_ab`` (R, 2).

    probs: (R, Q) each region's pooled distribution over ``bins`` (Q, 2) ab (any scale, rows with mass > 0).
    Variation v draws region r's bin from ``p_r^(1/T) * Π_u (1 - exp(-|ab_q - ab_u,r|² / 2σ²))`` over the earlier
    variations u (σ = :data:`DIVERSITY_SIGMA_AB`), normalized; where that leaves no mass (every likely color used)
    it draws from ``p_r^(1/T)`` alone. temperature: T > 0; seed: the draws' seed.
    """
    probs = np.asarray(probs, np.float64)
    bins = np.asarray(bins, np.float64)
    out = np.empty((k, probs.shape[0], 2))
    out[0] = first_ab
    if k == 1 or probs.shape[0] == 0:
        return out
    # Sharpened in the log domain: p^(1/T) underflows for small p and small T.
    logp = np.log(np.maximum(probs / probs.sum(1, keepdims=True), 1e-300)) / temperature
    sharp = np.exp(logp - logp.max(1, keepdims=True))
    sharp /= sharp.sum(1, keepdims=True)
    rng = np.random.default_rng(seed)
    weights = sharp.copy()
    for v in range(1, k):
        # Down-weight the mass near the color the previous variation gave each region (earlier ones already are).
        near = np.square(bins[None, :, :] - out[v - 1][:, None, :]).sum(-1)  # (R, Q)
        weights *= 1.0 - np.exp(-near / (2 * DIVERSITY_SIGMA_AB**2))
        totals = weights.sum(1, keepdims=True)
        chance = np.where(totals > 1e-12, weights / np.maximum(totals, 1e-300), sharp)
        cumulative = np.cumsum(chance, axis=1)
        pick = (cumulative < rng.random((probs.shape[0], 1)) * cumulative[:, -1:]).sum(1)
        out[v] = bins[np.minimum(pick, bins.shape[0] - 1)]
    return out
