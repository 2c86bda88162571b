"""Tests for sketchcolor.palette: reading palettes (API, command line, files), errors, and the choice of an entry."""

import json

import numpy as np
import pytest

from sketchcolor.color import ab_bins, rgb_u8_to_lab_np
from sketchcolor.errors import HintError
from sketchcolor.hints import Hint
from sketchcolor.palette import (
    MAX_PALETTE,
    PALETTE_READINGS_SKETCH,
    choose_entries,
    describe,
    nearest_entries,
    palette_lab,
    parse_palette,
    read_palette,
    snap_hints,
)

RED, BLUE, GREEN = (224, 48, 32), (48, 96, 192), (32, 160, 64)


def test_parse_palette_takes_hexes_and_tuples_and_collapses_duplicates():
    got = parse_palette(["#e03020", (48, 96, 192), "#E03020", "#0f0", np.array([48, 96, 192])])
    assert got.dtype == np.uint8 and got.tolist() == [list(RED), list(BLUE), [0, 255, 0]]
    assert parse_palette(np.array([RED, BLUE], np.uint8)).tolist() == [list(RED), list(BLUE)]
    assert describe(parse_palette([RED, BLUE])) == "#e03020,#3060c0"


@pytest.mark.parametrize("colors, message", [
    ([], "the palette is empty"),
    (["#e03020", "#12345g"], r"palette entry #1: bad color '#12345g'"),
    ([RED, (300, 0, 0)], r"palette entry #1: bad color \(300, 0, 0\): channels must be 0-255"),
    ([(1.5, 0, 0)], r"palette entry #0: bad color \(1.5, 0, 0\): channels must be ints"),
    ([(1, 2)], r"palette entry #0: bad color \(1, 2\)"),
    ("#e03020,#3060c0", "a palette must be a list of colors"),
    (None, "a palette must be a list of colors"),
    ([(i, 0, 0) for i in range(MAX_PALETTE + 1)], f"65 distinct colors; at most {MAX_PALETTE}"),
])
def test_bad_palettes_are_clear_errors(colors, message):
    with pytest.raises(HintError, match=message):
        parse_palette(colors)


def test_sixty_four_distinct_colors_and_any_duplicates_are_allowed():
    assert len(parse_palette([(i, 0, 0) for i in range(MAX_PALETTE)] * 2)) == MAX_PALETTE


def test_read_palette_from_hexes_and_files(tmp_path):
    assert read_palette("#e03020, #3060c0,").tolist() == [list(RED), list(BLUE)]
    assert read_palette("#e03020").tolist() == [list(RED)]
    lines = tmp_path / "colors.txt"
    lines.write_text("#e03020\n\n  #3060c0  \n")
    assert read_palette(lines).tolist() == [list(RED), list(BLUE)]
    listed = tmp_path / "colors.json"
    listed.write_text(json.dumps(["#e03020", [48, 96, 192]]))
    assert read_palette(str(listed)).tolist() == [list(RED), list(BLUE)]


@pytest.mark.parametrize("content, message", [
    ("[\"#e03020\",", "not valid JSON"),
    ("#e03020\nnot-a-color\n", r"palette entry #1: bad color 'not-a-color'"),
    ("", "the palette is empty"),
])
def test_read_palette_names_the_file_and_the_bad_entry(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_text(content)
    with pytest.raises(HintError, match=message) as info:
        read_palette(path)
    assert str(info.value).startswith(str(path))


@pytest.mark.parametrize("spec, message", [
    ("missing.txt", "'missing.txt' is neither a file nor a comma-separated list of colors"),
    ("#e03020,#zzz", r"palette entry #1: bad color '#zzz'"),
    ("", "the palette is empty"),
    (",", "the palette is empty"),
])
def test_read_palette_bad_specs(spec, message):
    with pytest.raises(HintError, match=message):
        read_palette(spec)


def _entries(*colors):
    return palette_lab(np.array(colors, np.uint8))


def _mass_at(ab, bins):
    """(1, Q): all probability on the bin nearest ``ab``."""
    probs = np.zeros((1, len(bins)))
    probs[0, np.square(bins - np.asarray(ab)).sum(1).argmin()] = 1.0
    return probs


def _choose(probs, bins, region_l, entries, **kwargs):
    kwargs.setdefault("sigma_l", 18.0)
    return choose_entries(probs, bins, np.zeros((len(probs), 2)), np.asarray(region_l, float), entries,
                          **kwargs).tolist()


def test_a_region_takes_the_entry_its_mass_is_near():
    bins = ab_bins().double().numpy()
    entries = _entries(BLUE, RED)
    red_ab, blue_ab = entries[1, 1:], entries[0, 1:]
    level = entries[:, 0].mean()  # as far in L from both entries
    for probs, want in ((_mass_at(red_ab, bins), 1), (_mass_at(blue_ab, bins), 0),
                        (0.6 * _mass_at(red_ab, bins) + 0.4 * _mass_at(blue_ab, bins), 1),
                        (0.4 * _mass_at(red_ab, bins) + 0.6 * _mass_at(blue_ab, bins), 0)):
        # Alone or with a gray rest of the picture, with or without the picture's reading taken off.
        assert _choose(probs, bins, [level], entries, prior_weight=0.0) == [want]
        assert _choose(probs, bins, [level], entries) == [want]
        assert _choose(np.concatenate([probs, _mass_at((0.0, 0.0), bins)]), bins, [level] * 2, entries)[0] == want


def test_a_region_takes_the_entry_it_favours_more_than_the_picture_does():
    bins = ab_bins().double().numpy()
    skin, red = (230, 180, 140), (200, 40, 40)
    entries = _entries(skin, red)
    at_skin, at_red = _mass_at(entries[0, 1:], bins), _mass_at(entries[1, 1:], bins)
    # Region 0 reads 55 % skin, 45 % red; region 1 all skin: the net reads skin all over the picture, so region 0's
    # red stands out. Both entries are equally far in L from the regions'.
    probs = np.concatenate([0.55 * at_skin + 0.45 * at_red, at_skin])
    level = [entries[:, 0].mean()] * 2
    assert _choose(probs, bins, level, entries, prior_weight=0.0) == [0, 0]
    assert _choose(probs, bins, level, entries) == [1, 0]


def test_rows_left_out_of_the_picture_reading_do_not_count_against_an_entry():
    bins = ab_bins().double().numpy()
    white, orange = (250, 250, 250), (230, 110, 30)
    entries = _entries(white, orange)
    at_white, at_orange = _mass_at(entries[0, 1:], bins), _mass_at(entries[1, 1:], bins)
    # Region 0 (a snowman's body) reads 60 % white; region 1 is a large page that reads all white.
    probs = np.concatenate([0.6 * at_white + 0.4 * at_orange, 20 * at_white])
    level = [entries[:, 0].mean()] * 2
    assert _choose(probs, bins, level, entries)[0] == 1  # the page's white counts against white
    assert _choose(probs, bins, level, entries, prior_rows=np.array([True, False]))[0] == 0


def test_lightness_tells_a_dark_from_a_light_entry_of_one_hue():
    bins = ab_bins().double().numpy()
    entries = _entries((40, 60, 140), (150, 180, 240))  # a dark and a light blue
    probs = _mass_at((entries[0, 1:] + entries[1, 1:]) / 2, bins).repeat(2, axis=0)
    for sigma_l in (6.0, 18.0):
        assert _choose(probs, bins, entries[:, 0], entries, sigma_l=sigma_l) == [0, 1]


def test_line_arts_readings_prefer_a_concentrated_peak_to_a_broad_shoulder():
    bins = ab_bins().double().numpy()
    entries = _entries((200, 60, 50), (60, 150, 70))  # a red and a green
    red_ab, green_ab = entries[0, 1:], entries[1, 1:]
    # 30 % of the mass sits right on the red; the rest lies spread in a ring 15-25 ab units around the green, none
    # of it on the green itself: at one narrow reach the green reads about as well, the wide reading tells them apart.
    ring = np.linalg.norm(bins - green_ab, axis=1)
    probs = 0.3 * _mass_at(red_ab, bins)
    probs[0, (ring > 12) & (ring < 25)] += 0.7 / ((ring > 12) & (ring < 25)).sum()
    level = [entries[:, 0].mean()]
    assert _choose(probs, bins, level, entries, prior_weight=0.0, sigma_ab=20.0) == [1]  # one wide reach: green
    readings = [(sigma, u, 0.0) for sigma, u, _ in PALETTE_READINGS_SKETCH]
    assert _choose(probs, bins, level, entries, readings=readings) == [0]
    # One reading (σ, 1, w) is the default rule itself.
    assert (_choose(probs, bins, level, entries, readings=[(8.0, 1.0, 0.9)])
            == _choose(probs, bins, level, entries, sigma_ab=8.0, prior_weight=0.9))


def test_a_region_without_cells_reads_its_mean_color():
    bins = ab_bins().double().numpy()
    entries = _entries(BLUE, RED, GREEN)
    region_ab = np.array([entries[2, 1:], entries[0, 1:]])
    chosen = choose_entries(np.zeros((2, len(bins))), bins, region_ab, entries[[2, 0], 0], entries, sigma_l=18.0)
    assert chosen.tolist() == [2, 0]


def test_mass_far_from_every_entry_picks_the_nearer_one():
    bins = ab_bins().double().numpy()
    entries = _entries((128, 128, 128), (110, 130, 150))  # a gray and a grayish blue; the mass is a vivid yellow
    probs = _mass_at((0.0, 100.0), bins)
    # Both entries read almost none of the mass (exp(-100² / 2σ²) ~ 1e-15); the nearer, the gray, still wins.
    assert _choose(probs, bins, [entries[0, 0]], entries, prior_weight=0.0) == [0]


def test_nearest_entries_and_snapped_hints_use_delta_e_2000():
    entries = np.array([RED, BLUE, GREEN], np.uint8)
    lab = rgb_u8_to_lab_np(np.array([[(200, 40, 40), (40, 40, 200), (60, 200, 90)]], np.uint8))[0]
    assert nearest_entries(lab, palette_lab(entries)).tolist() == [0, 1, 2]
    assert nearest_entries(np.zeros((0, 3)), palette_lab(entries)).tolist() == []
    hints = [Hint(1, 2, (200, 40, 40), radius=3), Hint(5, 6, "#2828c8")]
    snapped = snap_hints(hints, entries)
    assert snapped == [Hint(1, 2, RED, radius=3), Hint(5, 6, BLUE)]
    assert snap_hints([], entries) == []
