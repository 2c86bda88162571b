"""Variations' draws (sketchcolor.variations): the first is the normal color, the others plausible, distinct and
seeded; the count and seed are checked."""

from __future__ import annotations

import numpy as np
import pytest

from sketchcolor.errors import ConfigError
from sketchcolor.variations import MAX_VARIATIONS, check_count, check_seed, draw_region_ab

BINS = np.array([[a, b] for a in range(-40, 50, 10) for b in range(-40, 50, 10)], np.float64)


def _index(ab) -> int:
    return int(np.argmin(np.square(BINS - np.asarray(ab, np.float64)).sum(1)))


def test_first_variation_is_the_given_color_and_draws_land_where_the_net_put_mass():
    probs = np.zeros((2, len(BINS)))
    probs[0, [_index((40, 30)), _index((-30, -30)), _index((0, 40))]] = [5.0, 3.0, 2.0]
    probs[1, _index((10, 10))] = 1.0
    first = np.array([[40.0, 30.0], [10.0, 10.0]])
    out = draw_region_ab(probs, BINS, first, 4, temperature=0.38, seed=3)
    assert out.shape == (4, 2, 2) and np.array_equal(out[0], first)
    # Region 0: every draw is one of the three colors the net gave mass to, and the three variations cover all
    # three (each earlier color's mass is down-weighted), so none repeats the first.
    drawn0 = {tuple(ab) for ab in out[1:, 0]}
    assert drawn0 <= {(40.0, 30.0), (-30.0, -30.0), (0.0, 40.0)}
    assert {(-30.0, -30.0), (0.0, 40.0)} <= drawn0
    # Region 1 has one likely color only: with every likely color used, it is drawn from the net's mass alone.
    assert (out[1:, 1] == (10.0, 10.0)).all()


def test_draws_are_seeded():
    rng = np.random.default_rng(0)
    probs = rng.random((30, len(BINS)))
    first = np.zeros((30, 2))
    a = draw_region_ab(probs, BINS, first, 5, 0.5, seed=11)
    assert np.array_equal(a, draw_region_ab(probs, BINS, first, 5, 0.5, seed=11))
    assert not np.array_equal(a, draw_region_ab(probs, BINS, first, 5, 0.5, seed=12))
    assert np.array_equal(draw_region_ab(probs, BINS, first, 1, 0.5, seed=11), first[None])


@pytest.mark.parametrize("k", [0, MAX_VARIATIONS + 1, 2.5, True, "4", None])
def test_bad_counts_are_refused(k):
    with pytest.raises(ConfigError, match=f"whole number from 1 to {MAX_VARIATIONS}"):
        check_count(k)


@pytest.mark.parametrize("seed", [-1, 1.5, False, "0"])
def test_bad_seeds_are_refused(seed):
    with pytest.raises(ConfigError, match="seed must be a whole number >= 0"):
        check_seed(seed)


def test_good_counts_and_seeds_pass():
    assert check_count(np.int64(MAX_VARIATIONS)) == MAX_VARIATIONS and check_count(1) == 1
    assert check_seed(0) == 0 and check_seed(2**40) == 2**40
