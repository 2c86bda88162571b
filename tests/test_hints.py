"""Tests for sketchcolor.hints: the Hint type, parsing, stroke layers, validation, rasterizing and simulation."""

import json

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from sketchcolor.color import rgb_u8_to_lab_np
from sketchcolor.errors import ConfigError, HintError
from sketchcolor.hints import (
    Hint,
    HintSimConfig,
    color_hex,
    hints_from_layer,
    load_hints_json,
    parse_color,
    parse_hint,
    rasterize_hints,
    simulate_hints,
    validate_hints,
)

# --- Hint and colours --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # Hex, as typed at the command line, in JSON files and in the page's points table.
        ("#e03020", (224, 48, 32)),
        ("E03020", (224, 48, 32)),
        ("#f0a", (255, 0, 170)),
        ("F0A", (255, 0, 170)),
        (" #000000 ", (0, 0, 0)),
        ("#E03020FF", (224, 48, 32)),
        ("e0302000", (224, 48, 32)),
        # CSS functions, as Gradio's colour picker sends them; decimals rounded, alpha dropped.
        ("rgb(224, 48, 32)", (224, 48, 32)),
        ("rgba(224, 48, 32, 0.5)", (224, 48, 32)),
        (" RGBA(0,0,0,1) ", (0, 0, 0)),
        ("rgb( 1 , 2 , 3 , 50% )", (1, 2, 3)),
        ("rgba(1, 2, 3)", (1, 2, 3)),
        ("rgb(0.4, 1.6, 255.4)", (0, 2, 255)),
        ("rgb(3., .9, 0)", (3, 1, 0)),
        # Channel sequences, as the library and JSON files give them.
        ((1, 2, 3), (1, 2, 3)),
        ([255, 255, 255], (255, 255, 255)),
        (np.array([10, 20, 30], dtype=np.uint8), (10, 20, 30)),
    ],
)
def test_parse_color_good(value, expected):
    assert parse_color(value) == expected
    assert all(type(c) is int for c in parse_color(value))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("#e0302", "expected '#rrggbb'"),
        ("#ff00", "expected '#rrggbb'"),
        ("#gg0000", "expected '#rrggbb'"),
        ("red", "expected '#rrggbb'"),
        ("", "expected '#rrggbb'"),
        ("rgb(1, 2)", "expected '#rrggbb'"),
        ("rgb(-1, 0, 0)", "expected '#rrggbb'"),
        ("rgb(1.2.3, 0, 0)", "expected '#rrggbb'"),
        ("rgb(50%, 0, 0)", "expected '#rrggbb'"),
        ("rgb(300, 0, 0)", r"bad color 'rgb\(300, 0, 0\)': channels must be 0-255"),
        ("rgb(255.6, 0, 0)", "channels must be 0-255"),
        ((1, 2), "expected '#rrggbb'"),
        ((0, 0, 256), r"bad color \(0, 0, 256\): channels must be 0-255"),
        ((0.5, 0, 0), "channels must be ints 0-255"),
        ((True, 0, 0), "channels must be ints 0-255"),
        (None, "bad color None: expected '#rrggbb'"),
        (123, "expected '#rrggbb'"),
    ],
)
def test_parse_color_bad(value, message):
    with pytest.raises(HintError, match=message) as info:
        parse_color(value)
    assert "\n" not in str(info.value)


def test_color_hex_formats_parsed_colors():
    assert color_hex(parse_color("rgba(224, 48, 32, 0.5)")) == "#e03020"
    assert color_hex((0, 10, 255)) == "#000aff"


def test_hint_normalizes_and_validates():
    hint = Hint(x=120, y=80, color="#e03020")
    assert hint == Hint(120.0, 80.0, (224, 48, 32), 0.0)
    assert isinstance(hint.x, float) and hint.color == (224, 48, 32)
    assert str(Hint(1.5, 2, "#abc", 3)) == "1.5,2,#aabbcc,3"
    with pytest.raises(HintError, match="radius must be >= 0"):
        Hint(1, 2, "#000000", -1)
    with pytest.raises(HintError, match="x must be a finite number"):
        Hint(float("nan"), 2, "#000000")
    with pytest.raises(HintError, match="y must be a finite number"):
        Hint(1, "2", "#000000")
    with pytest.raises(HintError, match="bad color"):
        Hint(1, 2, "#12345")


# --- CLI strings -------------------------------------------------------------------------------------------------


def test_parse_hint_good():
    assert parse_hint("120,80,#e03020") == Hint(120, 80, (224, 48, 32))
    assert parse_hint(" 1.5 , 2 , 00ff00 , 4 ") == Hint(1.5, 2, (0, 255, 0), 4)
    assert parse_hint(str(Hint(3, 4, "#123456", 2.5))) == Hint(3, 4, "#123456", 2.5)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("120,80", "expected X,Y,#RRGGBB"),
        ("120,80,#e03020,3,9", "expected X,Y,#RRGGBB"),
        ("a,80,#e03020", "x 'a' is not a number"),
        ("1,80,#e03020,big", "radius 'big' is not a number"),
        ("1,2,#zz0000", "bad color"),
        ("1,2,#ff0000,-2", "radius must be >= 0"),
        ("inf,2,#ff0000", "finite"),
        ("", "expected X,Y,#RRGGBB"),
    ],
)
def test_parse_hint_bad(text, message):
    with pytest.raises(HintError, match=message) as info:
        parse_hint(text)
    assert repr(text) in str(info.value) and "\n" not in str(info.value)


# --- JSON files --------------------------------------------------------------------------------------------------


def _write(tmp_path, content, name="hints.json"):
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


def test_load_hints_json_good(tmp_path):
    path = _write(
        tmp_path,
        {"hints": [{"x": 1, "y": 2, "color": "#ff0000", "radius": 3}, {"x": 4.5, "y": 0, "color": [0, 0, 255]}]},
    )
    assert load_hints_json(path) == [Hint(1, 2, (255, 0, 0), 3), Hint(4.5, 0, (0, 0, 255), 0)]
    assert load_hints_json(_write(tmp_path, {"hints": []}, "empty.json")) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", r"not valid JSON \(line 1"),
        ([{"x": 1, "y": 2, "color": "#ff0000"}], "expected an object with a 'hints' list"),
        ({"points": []}, "expected an object with a 'hints' list"),
        ({"hints": {"x": 1}}, "'hints' must be a list, got dict"),
        (
            {"hints": [{"x": 1, "y": 2, "color": "#ff0000"}, {"x": 1, "color": "#ff0000"}]},
            r"hint #1: missing key\(s\) 'y'",
        ),
        ({"hints": [{"x": 1, "y": 2, "color": "#ff00"}]}, "hint #0: bad color '#ff00'"),
        ({"hints": [{"x": 1, "y": 2, "color": "#ff0000", "raduis": 2}]}, r"hint #0: unknown key\(s\) 'raduis'"),
        ({"hints": [{"x": "1", "y": 2, "color": "#ff0000"}]}, "hint #0: hint x must be a finite number"),
        ({"hints": [{"x": 1, "y": 2, "color": "#ff0000", "radius": -1}]}, "hint #0: hint radius must be >= 0"),
        ({"hints": [7]}, "hint #0: expected an object"),
    ],
)
def test_load_hints_json_bad(tmp_path, content, message):
    path = _write(tmp_path, content)
    with pytest.raises(HintError, match=message) as info:
        load_hints_json(path)
    assert str(path) in str(info.value)


def test_load_hints_json_missing_file(tmp_path):
    with pytest.raises(HintError, match="hints file not found"):
        load_hints_json(tmp_path / "nope.json")


# --- validation --------------------------------------------------------------------------------------------------


def test_validate_hints():
    validate_hints([Hint(0, 0, "#000"), Hint(99.9, 69.5, "#fff")], 100, 70)
    with pytest.raises(HintError, match=r"hint #1 \(100,5,#ffffff\) lies outside the 100x70 picture") as info:
        validate_hints([Hint(0, 0, "#000"), Hint(100, 5, "#fff")], 100, 70)
    assert "x must be in [0, 100)" in str(info.value)
    with pytest.raises(HintError, match="outside"):
        validate_hints([Hint(-0.5, 5, "#fff")], 100, 70)
    with pytest.raises(HintError, match="must be a Hint"):
        validate_hints([(1, 2, "#fff")], 100, 70)
    with pytest.raises(HintError, match="picture size"):
        validate_hints([], 0, 70)


# --- rasterizing -------------------------------------------------------------------------------------------------


def test_rasterize_scales_corners_to_corners():
    hints = [Hint(999, 699, "#ff0000"), Hint(0, 0, "#0000ff")]
    ab, mask = rasterize_hints(hints, (1000, 700), (100, 70))
    assert ab.shape == (2, 70, 100) and mask.shape == (1, 70, 100)
    assert ab.dtype == torch.float32 and mask.dtype == torch.float32
    assert mask.sum() == 2 and mask[0, 69, 99] == 1 and mask[0, 0, 0] == 1
    red_ab = rgb_u8_to_lab_np(np.array([[[255, 0, 0]]], dtype=np.uint8))[0, 0, 1:]
    assert torch.allclose(ab[:, 69, 99], torch.from_numpy(red_ab))
    assert ab[1, 0, 0] < -100  # blue: strongly negative b
    assert set(mask.unique().tolist()) == {0.0, 1.0}


def test_rasterize_radius_scales_and_later_wins():
    ab, mask = rasterize_hints([Hint(50, 50, "#ff0000", radius=20)], (100, 100), (50, 50))
    # Radius 20 source px -> 10 target px: a disc of about pi * 10^2 pixels around (24.75, 24.75).
    assert 280 < mask.sum() < 350
    assert mask[0, 25, 25] == 1 and mask[0, 25, 36] == 0 and mask[0, 25, 34] == 1
    tiny, tiny_mask = rasterize_hints([Hint(5, 5, "#00ff00", radius=1)], (1000, 1000), (100, 100))
    assert tiny_mask.sum() == 1  # scaled radius 0.1 still marks its pixel
    overlap, _ = rasterize_hints([Hint(10, 10, "#ff0000", 3), Hint(11, 10, "#00ff00", 0)], (20, 20), (20, 20))
    green_a = rgb_u8_to_lab_np(np.array([[[0, 255, 0]]], dtype=np.uint8))[0, 0, 1]
    assert overlap[0, 10, 11] == pytest.approx(float(green_a)) and overlap[0, 10, 9] > 50


def test_rasterize_empty_and_errors():
    ab, mask = rasterize_hints([], (10, 10), (4, 4))
    assert ab.abs().sum() == 0 and mask.sum() == 0
    with pytest.raises(HintError, match="outside the 10x10 picture"):
        rasterize_hints([Hint(10, 3, "#fff")], (10, 10), (4, 4))
    with pytest.raises(HintError, match="dst_size"):
        rasterize_hints([], (10, 10), (4, 0))


# --- stroke layers -----------------------------------------------------------------------------------------------


def _stroke_layer(width=200, height=120):
    layer = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    draw.line([(20, 30), (180, 30)], fill=(255, 0, 0, 255), width=7)  # a long red stroke
    draw.ellipse([(90, 80), (96, 86)], fill=(0, 0, 255, 255))  # a small blue dab
    draw.point((5, 110), fill=(0, 255, 0, 60))  # too faint to count
    return np.array(layer)


def test_hints_from_layer_samples_strokes():
    layer = _stroke_layer()
    hints = hints_from_layer(layer, spacing=20)
    red = [h for h in hints if h.color == (255, 0, 0)]
    blue = [h for h in hints if h.color == (0, 0, 255)]
    assert len(red) + len(blue) == len(hints)
    assert len(blue) == 1 and 6 <= len(red) <= 10  # the long stroke is sampled along its length
    assert sorted(h.x for h in red)[-1] - sorted(h.x for h in red)[0] > 120
    for hint in hints:
        assert layer[int(hint.y), int(hint.x), 3] > 128  # every hint sits on paint
    assert all(27 <= h.y <= 33 for h in red)
    # Radius: the stroke's half-width (7 px wide -> 3) along its length; its cut end can be thinner.
    assert all(h.radius <= 3.0 for h in red) and np.median([h.radius for h in red]) == 3.0
    validate_hints(hints, 200, 120)


def test_hints_from_layer_caps_and_empty():
    layer = _stroke_layer()
    capped = hints_from_layer(layer, spacing=4, max_hints=5)
    assert 1 <= len(capped) <= 5
    assert {h.color for h in hints_from_layer(layer, max_hints=2)} == {(255, 0, 0), (0, 0, 255)}
    assert [h.color for h in hints_from_layer(layer, max_hints=1)] == [(255, 0, 0)]  # the larger stroke wins
    assert hints_from_layer(np.zeros((10, 10, 4), dtype=np.uint8)) == []
    with pytest.raises(HintError, match=r"\(H, W, 4\)"):
        hints_from_layer(np.zeros((10, 10, 3), dtype=np.uint8))


# --- simulation --------------------------------------------------------------------------------------------------


def _target_lab(size=32):
    rgb = np.zeros((size, size, 3), dtype=np.uint8)
    rgb[:, : size // 2] = (220, 40, 40)
    rgb[:, size // 2 :] = (40, 40, 220)
    return torch.from_numpy(rgb_u8_to_lab_np(rgb)).permute(2, 0, 1)


def test_simulate_is_deterministic_and_well_formed():
    lab = _target_lab()
    cfg = HintSimConfig(p_no_hints=0.0)
    first = simulate_hints(lab, np.random.default_rng(11), cfg)
    second = simulate_hints(lab, np.random.default_rng(11), cfg)
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])
    ab, mask = first
    assert ab.shape == (2, 32, 32) and mask.shape == (1, 32, 32) and ab.dtype == torch.float32
    assert mask.sum() >= 1 and set(mask.unique().tolist()) <= {0.0, 1.0}
    assert (ab.abs().sum(dim=0)[mask[0] == 0] == 0).all()  # ab only under the mask
    others = [simulate_hints(lab, np.random.default_rng(seed), cfg)[1] for seed in range(5)]
    assert any(not torch.equal(o, mask) for o in others)


def test_simulate_patch_colour_is_patch_mean():
    lab = _target_lab()
    cfg = HintSimConfig(p_no_hints=0.0, geometric_p=1.0, patch_min=1, patch_max=1)
    for seed in range(20):
        ab, mask = simulate_hints(lab, np.random.default_rng(seed), cfg)
        (y, x), = mask[0].nonzero().tolist()
        assert torch.allclose(ab[:, y, x], lab[1:, y, x])


def test_simulate_counts_and_patch_sizes():
    lab = torch.zeros(3, 64, 64)
    cfg = HintSimConfig(p_no_hints=0.0, geometric_p=1.0, patch_min=3, patch_max=3, location="uniform")
    rng = np.random.default_rng(12)
    for _ in range(20):
        _, mask = simulate_hints(lab, rng, cfg)
        assert 4 <= mask.sum() <= 9  # one 3x3 patch, clipped at borders to at least 2x2


def test_simulate_p_no_hints_honoured():
    lab = _target_lab(16)
    rng = np.random.default_rng(13)
    cfg = HintSimConfig(p_no_hints=0.3)
    empty = sum(simulate_hints(lab, rng, cfg)[1].sum() == 0 for _ in range(1000))
    # Binomial(1000, 0.3): mean 300, sd 14.5.
    assert 250 < empty < 350
    never = HintSimConfig(p_no_hints=1.0)
    assert all(simulate_hints(lab, rng, never)[1].sum() == 0 for _ in range(20))


def test_simulate_allowed_mask_honoured():
    lab = _target_lab()
    allowed = np.zeros((32, 32), dtype=bool)
    allowed[4:8, 20:26] = True
    cfg = HintSimConfig(p_no_hints=0.0, patch_min=1, patch_max=1, location="uniform")
    rng = np.random.default_rng(14)
    for _ in range(30):
        _, mask = simulate_hints(lab, rng, cfg, allowed=allowed)
        assert mask.sum() >= 1 and (mask[0].numpy().astype(bool) <= allowed).all()
    _, none_mask = simulate_hints(lab, rng, cfg, allowed=np.zeros((32, 32), dtype=bool))
    assert none_mask.sum() == 0
    with pytest.raises(ValueError, match="allowed must be a bool array"):
        simulate_hints(lab, rng, cfg, allowed=np.ones((8, 8), dtype=bool))


def test_simulate_gaussian_locations_concentrate_at_centre():
    lab = torch.zeros(3, 64, 64)
    cfg = HintSimConfig(p_no_hints=0.0, geometric_p=0.2, patch_min=1, patch_max=1)
    rng = np.random.default_rng(15)
    total = sum(simulate_hints(lab, rng, cfg)[1][0] for _ in range(200))
    centre = total[16:48, 16:48].sum() / total.sum()
    # Within one sigma (a quarter of the side) on both axes: about 0.68^2 = 0.47 of a truncated 2-D Gaussian.
    assert centre > 0.4
    uniform = HintSimConfig(p_no_hints=0.0, geometric_p=0.2, patch_min=1, patch_max=1, location="uniform")
    total_u = sum(simulate_hints(lab, rng, uniform)[1][0] for _ in range(200))
    assert total_u[16:48, 16:48].sum() / total_u.sum() < 0.35


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"p_no_hints": 1.5}, r"p_no_hints must be in \[0, 1\]"),
        ({"geometric_p": 0.0}, r"geometric_p must be in \(0, 1\]"),
        ({"max_hints": 0}, "max_hints must be an integer >= 1"),
        ({"patch_min": 0}, "patch_min must be an integer >= 1"),
        ({"patch_min": 5, "patch_max": 3}, "patch_max must be an integer >= patch_min"),
        ({"location": "corner"}, "location must be one of 'gaussian', 'uniform'"),
        ({"gaussian_sigma": -1.0}, "gaussian_sigma must be"),
    ],
)
def test_hint_sim_config_validation(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        HintSimConfig(**kwargs)


def test_hint_sim_config_from_dict():
    assert HintSimConfig.from_dict({"p_no_hints": 0.2}) == HintSimConfig(p_no_hints=0.2)
    with pytest.raises(ConfigError, match="allowed: p_no_hints"):
        HintSimConfig.from_dict({"p_nohints": 0.2})
