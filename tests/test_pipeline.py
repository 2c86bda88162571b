"""The Colorizer: modes, full-resolution recombination, lines multiplied back, L kept in gray mode, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from skimage.color import rgb2lab

from sketchcolor.errors import CheckpointError, ConfigError, HintError
from sketchcolor.hints import Hint
from sketchcolor.pipeline import Colorizer, detect_mode, fit_to_gamut

from conftest import draw_flat_color, draw_line_art


@pytest.fixture(scope="module")
def colorizer(tiny_checkpoint):
    return Colorizer.from_pretrained(tiny_checkpoint, device="cpu")


def test_sketch_output_keeps_size_and_lines(colorizer, line_art):
    result = colorizer.colorize(line_art, mode="auto")
    assert result.mode == "sketch"
    assert result.image.size == (1000, 700) and result.image.mode == "RGB"
    out = np.asarray(result.image.convert("L"))
    lines = np.asarray(line_art) < 64
    # Lines are multiplied back at full resolution: every input line pixel is dark in the output.
    assert out[lines].max() < 64
    for layer in (result.l_estimate, result.lines):
        assert layer.size == (1000, 700) and layer.mode == "L"
    assert result.flat.size == (1000, 700) and result.flat.mode == "RGB"
    assert np.array_equal(np.asarray(result.lines), np.asarray(line_art))


def test_white_page_stays_white(colorizer, line_art):
    out = np.asarray(colorizer.colorize(line_art, mode="sketch").image)
    # The page outside every shape (top-left corner region is page for this seed) stays neutral.
    corner = out[:5, :5].reshape(-1, 3).astype(int)
    assert (corner.max(1) - corner.min(1)).max() <= 2


def test_gray_mode_keeps_input_lightness(colorizer, gray_picture):
    result = colorizer.colorize(gray_picture, mode="gray")
    assert result.mode == "gray"
    l_in = rgb2lab(np.asarray(gray_picture.convert("RGB")))[..., 0]
    l_out = rgb2lab(np.asarray(result.image))[..., 0]
    # 8-bit rounding of each RGB channel moves L by at most ~0.4.
    assert np.abs(l_out - l_in).max() < 0.6


def test_color_input_is_converted_to_gray(colorizer):
    picture = draw_flat_color(300, 200)
    result = colorizer.colorize(picture, mode="gray")
    l_in = rgb2lab(np.asarray(picture))[..., 0]
    l_out = rgb2lab(np.asarray(result.image))[..., 0]
    assert np.abs(l_out - l_in).max() < 0.6


def test_detect_mode(line_art, gray_picture):
    assert detect_mode(np.asarray(line_art)) == "sketch"
    assert detect_mode(np.asarray(gray_picture)) == "gray"
    assert detect_mode(np.asarray(draw_flat_color().convert("L"))) == "gray"


@pytest.mark.parametrize("size", [(37, 500), (500, 37), (1, 1), (129, 257)])
def test_any_size_and_aspect(colorizer, size):
    img = draw_line_art(*size) if min(size) > 10 else Image.new("L", size, 255)
    for mode in ("sketch", "gray"):
        assert colorizer.colorize(img, mode=mode).image.size == size


def test_hints_and_inputs_of_every_kind(colorizer, line_art):
    hints = [Hint(x=500, y=350, color="#e03020"), "10,10,#00ff00", {"x": 20, "y": 30, "color": (0, 0, 255)}]
    array = np.asarray(line_art)
    a = colorizer.colorize(array, hints=hints, mode="sketch")
    b = colorizer.colorize(line_art, hints=hints, mode="sketch")
    assert np.array_equal(np.asarray(a.image), np.asarray(b.image))
    assert len(a.hints) == 3


def test_deterministic(colorizer, line_art):
    a = colorizer.colorize(line_art, mode="sketch")
    b = colorizer.colorize(line_art, mode="sketch")
    assert np.array_equal(np.asarray(a.image), np.asarray(b.image))


def _largest_spread(result) -> float:
    ab = rgb2lab(np.asarray(result.colors))[..., 1:]
    return max(ab[result.labels == label].std(axis=0).max() for label in np.unique(result.labels[result.labels > 0])
               if (result.labels == label).sum() > 50)


def test_cleanup_makes_regions_uniform(colorizer, line_art):
    # With the shading kept, colors vary inside a region unless cleaned up.
    plain = colorizer.colorize(line_art, mode="sketch", shading=True)
    result = colorizer.colorize(line_art, mode="sketch", shading=True, cleanup=True)
    assert result.image.size == line_art.size
    assert _largest_spread(result) < 1.0  # one color per region (rounding to 8 bits aside)
    assert _largest_spread(plain) > _largest_spread(result)


def test_line_art_comes_in_flat_colors_by_default(colorizer, line_art):
    result = colorizer.colorize(line_art, mode="sketch")
    assert _largest_spread(result) < 1.0
    assert np.array_equal(np.asarray(result.flat), np.asarray(result.colors))


def test_regionfill_method_needs_no_weights(line_art):
    result = Colorizer(device="cpu").colorize(line_art, hints=[Hint(x=3, y=3, color="#2040e0")], method="regionfill")
    out = np.asarray(result.image)
    assert tuple(out[3, 3]) == (0x20, 0x40, 0xE0)


def test_levin_method(gray_picture):
    result = Colorizer(device="cpu").colorize(gray_picture, hints=[Hint(x=200, y=170, color="#d02020")],
                                              mode="gray", method="levin")
    out = np.asarray(result.image).astype(int)
    assert out[170, 200, 0] > out[170, 200, 2] + 20  # reddish where the hint is


def test_suggest_colors(colorizer, line_art):
    colors = colorizer.suggest_colors(line_art, 500, 350, k=4)
    assert len(colors) == 4
    assert all(c.startswith("#") and len(c) == 7 for c, _ in colors)
    probs = [p for _, p in colors]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"mode": "watercolor"}, ConfigError, "unknown mode"),
        ({"method": "magic"}, ConfigError, "unknown method"),
        ({"temperature": 0.0}, ConfigError, "temperature"),
        ({"temperature": "hot"}, ConfigError, "temperature must be a number"),
        ({"temperature": float("nan")}, ConfigError, "temperature"),
        ({"shading": "yes"}, ConfigError, "shading must be true or false"),
        ({"cleanup": 1}, ConfigError, "cleanup must be true or false"),
        ({"hints": [Hint(x=5000, y=3, color="#ffffff")]}, HintError, "5000"),
        ({"method": "levin", "mode": "sketch"}, ConfigError, "grayscale"),
    ],
)
def test_bad_arguments(colorizer, line_art, kwargs, error, message):
    with pytest.raises(error, match=message):
        colorizer.colorize(line_art, **kwargs)


@pytest.mark.parametrize("k", [0, -1, 100000, 2.5, True])
def test_suggest_colors_bad_k(colorizer, line_art, k):
    with pytest.raises(ConfigError, match="k must be a whole number from 1 to 262"):
        colorizer.suggest_colors(line_art, 500, 350, k=k)


@pytest.mark.parametrize("device, message", [("tpu", "unsupported device 'tpu'"), (3.5, "device must be"),
                                             ("cpu:x", "unsupported device")])
def test_bad_devices(tiny_checkpoint, device, message):
    with pytest.raises(ConfigError, match=message):
        Colorizer.from_pretrained(tiny_checkpoint, device=device)


@pytest.mark.parametrize("config, message", [
    ({"working_size": "big"}, "working_size: expected an integer, got 'big'"),
    ({"working_size": 100000}, "working_size must be between 32 and 2048"),
    ({"gap_closing": 0.5}, "gap_closing must be a number between 0 and 0.1"),
    ({"decode_sketch": "vote"}, r"decode_sketch 'vote' is unknown; allowed: pixel, mean, risk, mode"),
    ({"temperature_gray": 0}, "temperature_gray must be in"),
    ({"shaded_l": 120}, r"shaded_l must be between 0 and 100 \(CIE L\), got 120"),
    ({"variation_shapes_l": -5}, r"variation_shapes_l must be between 0 and 100 \(CIE L\), got -5"),
    ({"hint_reach": -1}, r"hint_reach must be 0 or more \(Lab units per 1% of the long side\), got -1.0"),
    ({"colour": 1}, "unknown config key 'colour'"),
])
def test_bad_pipeline_settings(tiny_checkpoint, config, message):
    with pytest.raises(ConfigError, match=message):
        Colorizer.from_pretrained(tiny_checkpoint, device="cpu", config=config)


def test_each_rule_can_be_switched_off(colorizer, tiny_checkpoint):
    from PIL import ImageDraw

    big = Image.new("L", (800, 800), 255)
    ImageDraw.Draw(big).rectangle([81, 161, 381, 641], outline=0, width=14)
    ImageDraw.Draw(big).rectangle([441, 161, 741, 641], outline=0, width=14)  # no hint: the net colors it
    img = big.resize((200, 200), Image.BOX)  # anti-aliased edges, where the carried color shows
    hint = [Hint(x=57, y=100, color="#2040e0")]
    base = colorizer.colorize(img, hints=hint, mode="sketch")
    for overrides in ({"hint_fill": False}, {"carry_lines": False}, {"white_page": False},
                      {"decode_sketch": "pixel"}, {"shading": True}):
        other = Colorizer.from_pretrained(tiny_checkpoint, device="cpu", config=overrides)
        assert not np.array_equal(np.asarray(other.colorize(img, hints=hint, mode="sketch").image),
                                  np.asarray(base.image)), overrides
    same = Colorizer.from_pretrained(tiny_checkpoint, device="cpu", config={"decode_gray": "risk"})
    assert np.array_equal(np.asarray(same.colorize(img, hints=hint, mode="sketch").image), np.asarray(base.image))


def test_no_bundled_weights_is_a_clear_error(monkeypatch, tmp_path):
    import sketchcolor.pipeline as pipeline

    monkeypatch.setattr(pipeline, "BUNDLED_WEIGHTS", tmp_path / "nothing")
    with pytest.raises(CheckpointError, match="no bundled weights"):
        Colorizer.from_pretrained()


def test_missing_net_is_a_clear_error(tmp_path, line_art):
    from sketchcolor.checkpoint import save_checkpoint
    from sketchcolor.models import build_model

    from conftest import TINY_CONFIGS

    folder = save_checkpoint(tmp_path / "color-only", {"color": build_model("color", TINY_CONFIGS["color"])})
    only_color = Colorizer.from_pretrained(folder, device="cpu")
    with pytest.raises(CheckpointError, match="no inversion net"):
        only_color.colorize(line_art, mode="sketch")
    assert only_color.colorize(line_art, mode="gray").image.size == line_art.size


def test_checkpoint_file_path_is_accepted(tiny_checkpoint):
    assert Colorizer.from_pretrained(tiny_checkpoint / "model.safetensors", device="cpu").color is not None


def test_fit_to_gamut_keeps_lightness():
    l = torch.tensor([[50.0, 90.0, 10.0, 100.0]])
    ab = torch.tensor([[[120.0, -100.0, 80.0, 50.0]], [[100.0, 90.0, -120.0, 50.0]]])
    rgb = fit_to_gamut(l, ab)
    assert rgb.min() >= 0 and rgb.max() <= 1
    lab = rgb2lab(rgb.permute(1, 2, 0).double().numpy())
    assert np.abs(lab[..., 0] - l.numpy()).max() < 1e-2


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_cuda_matches_cpu(tiny_checkpoint, line_art):
    cpu = Colorizer.from_pretrained(tiny_checkpoint, device="cpu").colorize(line_art, mode="sketch")
    gpu = Colorizer.from_pretrained(tiny_checkpoint, device="cuda").colorize(line_art, mode="sketch")
    diff = np.abs(np.asarray(cpu.image).astype(int) - np.asarray(gpu.image).astype(int))
    assert diff.mean() < 2


@pytest.mark.parametrize("name, mode", [("sunflower-lines", "sketch"), ("robot-lines", "sketch"),
                                        ("penguin-gray", "gray"), ("crocodile-gray", "gray")])
def test_detect_mode_on_the_examples(name, mode):
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "examples" / f"{name}.png"
    assert detect_mode(np.asarray(Image.open(path).convert("L"))) == mode


def _boxed(fill: int = 255, ink: int = 0) -> Image.Image:
    from PIL import ImageDraw

    img = Image.new("L", (200, 200), 255)
    ImageDraw.Draw(img).rectangle([40, 40, 160, 160], fill=fill, outline=ink, width=4)
    return img


def test_sketch_hint_sets_the_region_color(colorizer):
    dark_blue = (20, 40, 120)
    out = np.asarray(colorizer.colorize(_boxed(), hints=[Hint(x=100, y=100, color=dark_blue)], mode="sketch").image)
    target = rgb2lab(np.array([[dark_blue]], np.uint8))[0, 0]
    inside = rgb2lab(out[46:155, 46:155]).reshape(-1, 3)
    # The whole closed region is flat in the hint's color whatever the (random) nets estimated.
    assert np.abs(inside - target).max() < 1.5


def test_sketch_lines_carry_the_color_beside_them(colorizer):
    from PIL import ImageFilter

    # An anti-aliased stroke: its soft inner edge is a blend of ink and the fill, so it must not turn gray-blue.
    img = _boxed().filter(ImageFilter.GaussianBlur(1.5))
    red = (220, 30, 30)
    out = np.asarray(colorizer.colorize(img, hints=[Hint(x=100, y=100, color=red)], mode="sketch").image).astype(int)
    gray = np.asarray(img).astype(int)
    row = 100
    # The stroke covers x = 40..43: line pixels (label 0) right of its centre lie on the fill side.
    inner_edge = [x for x in range(42, 60) if 40 < gray[row, x] <= 128]
    assert inner_edge
    for x in inner_edge:
        r, g, b = out[row, x]
        # The fill's hue, darkened by the line: red dominates; outside the box it is white times the line.
        assert r > g + 20 and r > b + 20, (x, out[row, x])
    assert np.abs(out[row, 30] - out[row, 30].mean()).max() <= 2


def test_gray_hint_sets_the_region_ab_and_keeps_l(colorizer):
    img = _boxed(fill=150, ink=30)
    teal = (40, 150, 140)
    result = colorizer.colorize(img, hints=[Hint(x=100, y=100, color=teal)], mode="gray")
    out = rgb2lab(np.asarray(result.image)[50:150, 50:150]).reshape(-1, 3)
    l_in = rgb2lab(np.asarray(img.convert("RGB"))[50:150, 50:150]).reshape(-1, 3)[:, 0]
    hue_target = np.degrees(np.arctan2(*rgb2lab(np.array([[teal]], np.uint8))[0, 0, [2, 1]]))
    hue = np.degrees(np.arctan2(out[:, 2], out[:, 1]))
    assert np.abs(out[:, 0] - l_in).max() < 0.6
    assert np.abs((hue - hue_target + 180) % 360 - 180).max() < 3


def test_bundled_weights_follow_a_hint_file():
    """The README's first command relies on the bundled weights; they must load and follow hints."""
    from pathlib import Path

    from sketchcolor.hints import load_hints_json

    root = Path(__file__).resolve().parents[1] / "examples"
    hints = load_hints_json(root / "robot-hints.json")
    result = Colorizer.from_pretrained(device="cpu").colorize(root / "robot-lines.png", hints=hints)
    assert result.mode == "sketch" and result.image.size == (512, 512)
    from skimage.color import deltaE_ciede2000

    out = np.asarray(result.image)
    got = np.array([[out[int(h.y), int(h.x)] for h in hints]], np.uint8)
    asked = np.array([[h.color for h in hints]], np.uint8)
    de = deltaE_ciede2000(rgb2lab(asked), rgb2lab(got))[0]
    # Shading moves the lightness around the hint's, so not exact; a wrong hue would be 30 and more.
    assert np.median(de) < 12 and de.max() < 22, de


def test_unhinted_region_decodes_its_pooled_distribution(colorizer):
    stride = colorizer.color.config.logits_stride
    q = colorizer.color.num_bins
    labels = np.zeros((16, 16), np.int32)
    labels[:, :7] = 1  # region 1: unhinted
    labels[:, 9:] = 2  # region 2: hinted; columns 7-8 are a line
    fill_mask = (labels == 2).astype(np.float32)
    logits = torch.full((q, 16 // stride, 16 // stride), -10.0)
    logits[3, :, :] = 5.0
    logits[3, ::2, :], logits[40, ::2, :] = -10.0, 5.0  # neighbouring cells disagree: speckle per pixel
    ab_small = torch.randn(2, 16, 16)
    out = colorizer._pooled_region_ab(logits, labels, fill_mask, ab_small, 0.38)
    region = out[:, labels == 1]
    assert torch.allclose(region, region[:, :1].expand_as(region))
    bins = colorizer.color.bins
    # The pooled distribution is an even mix of the two bins, so the color lies between them.
    assert torch.allclose(region[:, 0], (bins[3] + bins[40]) / 2, atol=1e-3)
    assert torch.equal(out[:, labels != 1], ab_small[:, labels != 1])  # line and hinted region keep theirs


def test_least_risk_decoding_keeps_the_majority_color(colorizer):
    """Line art decodes a pooled region to the color with the least expected ΔE2000: with 60 % of the mass on one
    color and 40 % on a far one that is the majority color itself, where the annealed mean blends the two."""
    stride = colorizer.color.config.logits_stride
    bins = colorizer.color.bins
    a = int(torch.argmin((bins - torch.tensor([60.0, 40.0])).norm(dim=1)))  # a red
    b = int(torch.argmin((bins - torch.tensor([-30.0, -40.0])).norm(dim=1)))  # a blue
    labels = np.ones((20, 20), np.int32)
    logits = torch.full((colorizer.color.num_bins, 20 // stride, 20 // stride), -20.0)
    logits[a], logits[b] = np.log(0.6), np.log(0.4)
    l_small = torch.full((20, 20), 50.0)
    args = (logits, labels, np.zeros((20, 20), np.float32), torch.zeros(2, 20, 20), 0.38)
    risk = colorizer._pooled_region_ab(*args, l_small=l_small, decode="risk")
    assert torch.allclose(risk, bins[a].float()[:, None, None].expand(2, 20, 20))
    mean = colorizer._pooled_region_ab(*args, decode="mean")[:, 0, 0]
    assert (mean - bins[a]).norm() > 10 and (mean - bins[b]).norm() > 10


def test_mode_decoding_takes_the_broad_dominant_color_not_a_spike(colorizer):
    """"mode" gives a region the color around its smoothed peak: 60 % of the mass spread over a red and its
    neighbour bins beats a 40 % spike on one blue bin, and the answer is the red mass's own mean, as vivid as it."""
    stride = colorizer.color.config.logits_stride
    bins = colorizer.color.bins
    red = torch.tensor([60.0, 40.0])
    near_red = torch.nonzero((bins - red).norm(dim=1) < 11).flatten()
    b = int(torch.argmin((bins - torch.tensor([-30.0, -40.0])).norm(dim=1)))
    labels = np.ones((20, 20), np.int32)
    logits = torch.full((colorizer.color.num_bins, 20 // stride, 20 // stride), -30.0)
    logits[near_red] = float(np.log(0.6 / len(near_red)))
    logits[b] = float(np.log(0.4))
    args = (logits, labels, np.zeros((20, 20), np.float32), torch.zeros(2, 20, 20), 0.38)
    mode = colorizer._pooled_region_ab(*args, decode="mode")
    assert torch.allclose(mode, mode[:, :1, :1].expand_as(mode))  # one color per region
    want = bins[near_red].float().mean(0)
    assert (mode[:, 0, 0] - want).norm() < 3  # the red mass's mean: the blue spike does not pull it
    mean = colorizer._pooled_region_ab(*args, decode="mean")[:, 0, 0]
    assert mean.norm() < mode[:, 0, 0].norm() - 10  # the annealed mean blends toward gray


@pytest.mark.parametrize("shading", [False, True])
def test_a_region_with_hints_of_two_colors_is_split_where_the_net_puts_the_border(colorizer, monkeypatch, shading):
    red, blue = (210, 30, 30), (30, 30, 210)
    real = colorizer._net_small

    def net_border_at_x100(*args, **kwargs):
        out = real(*args, **kwargs)
        ab = out["ab_small"]
        left = ab.shape[-1] // 2  # the net's own border: the middle of the picture
        ab[0], ab[1] = 0.0, 0.0
        ab[0, :, :left], ab[1, :, :left] = 60.0, 40.0  # reddish
        ab[1, :, left:] = -60.0  # bluish
        return out

    monkeypatch.setattr(colorizer, "_net_small", net_border_at_x100)
    hints = [Hint(x=60, y=100, color=red), Hint(x=80, y=100, color=blue)]
    out = np.asarray(colorizer.colorize(_boxed(), hints=hints, mode="sketch", shading=shading).image).astype(int)
    # x=90 is nearer the blue hint, but the net puts it on the red side: the split follows the net, not a bisector.
    for y, x in [(100, 50), (100, 90), (60, 95), (150, 60)]:
        assert out[y, x, 0] > out[y, x, 2] + 100, (y, x, out[y, x])
    for y, x in [(100, 110), (60, 150), (150, 140)]:
        assert out[y, x, 2] > out[y, x, 0] + 100, (y, x, out[y, x])


def test_a_gray_region_with_hints_of_two_colors_is_split_between_them(colorizer, gray_picture):
    red, blue = (210, 30, 30), (30, 30, 210)
    flat = Image.new("L", (200, 200), 128)
    hints = [Hint(x=40, y=100, color=red), Hint(x=160, y=100, color=blue)]
    out = np.asarray(colorizer.colorize(flat, hints=hints, mode="gray").image).astype(int)
    assert out[100, 40, 0] > out[100, 40, 2] + 30 and out[100, 160, 2] > out[100, 160, 0] + 30


def _open_shapes() -> Image.Image:
    """A box with a 4 px gap in its top side, and a U open at the bottom (line width 4, 200x200)."""
    from PIL import ImageDraw

    img = Image.new("L", (200, 200), 255)
    draw = ImageDraw.Draw(img)
    draw.rectangle([20, 20, 90, 90], outline=0, width=4)
    draw.rectangle([53, 20, 56, 23], fill=255)  # the gap
    draw.line([(120, 180), (120, 40), (180, 40), (180, 180)], fill=0, width=4)  # the U
    return img


def test_a_hint_in_a_leaking_shape_does_not_flood_the_page(colorizer):
    red = (210, 30, 30)
    out = np.asarray(colorizer.colorize(_open_shapes(), hints=[Hint(x=55, y=60, color=red)], mode="sketch").image)
    out = out.astype(int)
    for y, x in [(60, 40), (60, 75), (30, 55)]:
        assert out[y, x, 0] > out[y, x, 1] + 100, (y, x, out[y, x])  # the box, its gap closed, is red
    for y, x in [(5, 5), (10, 150), (120, 150), (195, 150), (100, 195)]:
        assert np.abs(out[y, x] - 255).max() <= 2, (y, x, out[y, x])  # the page, inside the open U too, is not


@pytest.mark.parametrize("net_sees_blue", [True, False])
def test_a_hint_on_the_paper_colors_what_the_nets_see_in_its_color(colorizer, monkeypatch, net_sees_blue):
    real = colorizer._net_small

    def nets(*args, **kwargs):
        out = real(*args, **kwargs)
        ab, l_small = out["ab_small"], out["l_small"]
        l_small[:] = 100.0
        ab[:] = 0.0
        if net_sees_blue:  # the nets put the hint's color on the right half of the picture
            l_small[:, l_small.shape[1] // 2:] = 40.0
            ab[1, :, ab.shape[2] // 2:] = -60.0
        return out

    monkeypatch.setattr(colorizer, "_net_small", nets)
    blue = (30, 30, 210)
    out = np.asarray(colorizer.colorize(_open_shapes(), hints=[Hint(x=150, y=120, color=blue)], mode="sketch").image)
    out = out.astype(int)
    assert np.abs(out[60, 55] - 255).max() <= 2 and np.abs(out[5, 5] - 255).max() <= 2  # box and left paper: white
    for y, x in [(120, 150), (195, 190), (10, 150)]:
        if net_sees_blue:  # the paper, inside the U and around it, where the nets see blue
            assert out[y, x, 2] > out[y, x, 0] + 100, (y, x, out[y, x])
        else:  # the nets see white paper: it stays white
            assert np.abs(out[y, x] - 255).max() <= 2, (y, x, out[y, x])


def test_a_hint_on_the_paper_colors_one_piece_without_holes_and_no_stray_blob(colorizer, monkeypatch):
    real = colorizer._net_small

    def nets(*args, **kwargs):
        out = real(*args, **kwargs)
        ab, l_small = out["ab_small"], out["l_small"]
        h, w = l_small.shape
        l_small[:] = 100.0
        ab[:] = 0.0
        for rows, cols in ((slice(0, h), slice(w * 55 // 100, w)),  # the hint's side, the U inside it
                           (slice(h * 75 // 100, h * 95 // 100), slice(w * 5 // 100, w * 25 // 100))):  # a blob
            l_small[rows, cols] = 40.0
            ab[1, rows, cols] = -60.0
        hole = (slice(h * 44 // 100, h * 56 // 100), slice(w * 69 // 100, w * 81 // 100))  # white, inside the U
        l_small[hole] = 100.0
        ab[1][hole] = 0.0
        return out

    monkeypatch.setattr(colorizer, "_net_small", nets)
    blue = (30, 30, 210)
    out = np.asarray(colorizer.colorize(_open_shapes(), hints=[Hint(x=150, y=140, color=blue)], mode="sketch").image)
    out = out.astype(int)
    for y, x in [(140, 150), (100, 150), (195, 190)]:  # the hint's piece, the hole in it included
        assert out[y, x, 2] > out[y, x, 0] + 100, (y, x, out[y, x])
    for y, x in [(170, 30), (5, 5)]:  # the blob the nets see far from the hint stays paper
        assert np.abs(out[y, x] - 255).max() <= 2, (y, x, out[y, x])


def test_hints_of_several_colors_split_a_region_by_nearness_where_the_nets_see_no_color(colorizer, monkeypatch):
    real = colorizer._net_small

    def gray_nets(*args, **kwargs):
        out = real(*args, **kwargs)
        out["ab_small"][:] = 0.0
        out["l_small"][:] = 50.0
        return out

    monkeypatch.setattr(colorizer, "_net_small", gray_nets)
    from skimage.color import lab2rgb

    # A flag's stripes, no lines between them: three hues of one L and chroma, as far from the nets' gray.
    hues = np.radians([30.0, 150.0, 270.0])
    lab = np.stack([np.full(3, 50.0), 45 * np.cos(hues), 45 * np.sin(hues)], axis=1)
    stripes = [tuple(int(v) for v in rgb) for rgb in np.round(lab2rgb(lab[None])[0] * 255)]
    hints = [Hint(x=100, y=y, color=c) for y, c in zip((60, 100, 140), stripes)]
    out = np.asarray(colorizer.colorize(_boxed(), hints=hints, mode="sketch").image).astype(int)
    for y, stripe in zip((50, 100, 150), stripes):
        for x in (50, 100, 150):
            assert np.abs(out[y, x] - stripe).max() <= 3, (y, x, out[y, x], stripe)


@pytest.mark.parametrize("estimate", [40.0, 98.0])
def test_no_open_shape_is_filled_whatever_the_estimate(colorizer, monkeypatch, estimate):
    real = colorizer._net_small

    def constant_estimate(*args, **kwargs):
        out = real(*args, **kwargs)
        out["l_small"] = torch.full_like(out["l_small"], estimate)
        return out

    monkeypatch.setattr(colorizer, "_net_small", constant_estimate)
    result = colorizer.colorize(_open_shapes(), mode="sketch")
    l_layer = np.asarray(result.l_estimate).astype(float) * 100 / 255
    assert l_layer[120, 150] > 99  # inside the U is page: no hull or shape rule fills it
    assert abs(l_layer[60, 55] - estimate) < 2  # the box with its gap closed is never page
    assert l_layer[5, 5] > 99 and l_layer[195, 150] > 99


def test_each_mode_has_its_default_temperature(colorizer, gray_picture, line_art):
    from sketchcolor.pipeline import PipelineConfig

    defaults = PipelineConfig()
    for picture, mode in ((gray_picture, "gray"), (line_art, "sketch")):
        default = np.asarray(colorizer.colorize(picture, mode=mode).image)
        same = np.asarray(colorizer.colorize(picture, mode=mode, temperature=defaults.temperature(mode)).image)
        assert np.array_equal(default, same), mode
    assert defaults.temperature("gray") != defaults.temperature("sketch")
    other = np.asarray(colorizer.colorize(gray_picture, mode="gray", temperature=defaults.temperature("sketch")).image)
    assert not np.array_equal(other, np.asarray(colorizer.colorize(gray_picture, mode="gray").image))


def test_line_art_regions_get_one_tone_unless_shading_is_asked_for(colorizer):
    from sketchcolor.regions import label_regions

    img = _boxed()
    inside = label_regions(np.asarray(img)) == label_regions(np.asarray(img))[100, 100]
    from scipy import ndimage

    flat = np.asarray(colorizer.colorize(img, mode="sketch").l_estimate).astype(float)[inside]
    shaded_full = np.asarray(colorizer.colorize(img, mode="sketch", shading=True).l_estimate).astype(float)
    shaded = shaded_full[inside]
    assert flat.max() - flat.min() <= 1
    assert shaded.max() - shaded.min() > 1  # the (random) estimate varies inside the box
    # The tone is the estimate's mean over the region's pixels clear of the lines (beside them it is the lines' blur).
    clear = ndimage.binary_erosion(inside, iterations=4)
    assert abs(flat.mean() - shaded_full[clear].mean()) < 2.5  # 1 unit of L


def _shade_the_u(colorizer, monkeypatch):
    """``colorizer`` with an estimate of paper white everywhere but dark inside the U of :func:`_open_shapes`."""
    real = colorizer._net_small

    def dark_in_the_u(*args, **kwargs):
        out = real(*args, **kwargs)
        l_small = torch.full_like(out["l_small"], 100.0)
        h, w = l_small.shape[-2:]
        l_small[..., int(0.2 * h):int(0.9 * h), int(0.6 * w):int(0.9 * w)] = 40.0  # inside the U
        out["l_small"] = l_small
        return out

    monkeypatch.setattr(colorizer, "_net_small", dark_in_the_u)
    return colorizer


def test_shaded_l_colors_the_open_shape_the_estimate_shades_and_not_the_paper(tiny_checkpoint, monkeypatch):
    shaded = _shade_the_u(Colorizer.from_pretrained(tiny_checkpoint, device="cpu", config={"shaded_l": 85}),
                          monkeypatch)
    result = shaded.colorize(_open_shapes(), mode="sketch")
    assert not result.page[120, 150] and result.page[5, 5] and result.page[195, 60]
    l_layer = np.asarray(result.l_estimate).astype(float) * 100 / 255
    assert l_layer[120, 150] < 60 and l_layer[5, 5] > 99
    # Off (the default), the same estimate leaves the U as page.
    plain = _shade_the_u(Colorizer.from_pretrained(tiny_checkpoint, device="cpu"), monkeypatch)
    assert plain.colorize(_open_shapes(), mode="sketch").page[120, 150]


def test_odd_variations_color_the_open_shape_the_estimate_shades_and_the_others_leave_it_paper(tiny_checkpoint,
                                                                                              monkeypatch):
    colorizer = _shade_the_u(Colorizer.from_pretrained(tiny_checkpoint, device="cpu"), monkeypatch)
    normal = colorizer.colorize(_open_shapes(), mode="sketch")
    results = colorizer.colorize_variations(_open_shapes(), 4, mode="sketch", seed=3)
    for name in ("image", "flat", "l_estimate", "shading"):  # the first is colorize's, to the pixel
        assert np.array_equal(np.asarray(getattr(results[0], name)), np.asarray(getattr(normal, name)))
    assert np.array_equal(results[0].page, normal.page) and np.array_equal(results[0].labels, normal.labels)
    for number, result in enumerate(results):
        u = np.asarray(result.flat)[120, 150]
        assert result.page[5, 5] and result.page[195, 60] and (np.asarray(result.image)[:4, :4] == 255).all()
        if number % 2:
            assert not result.page[120, 150] and (u < 250).any()  # a color, and its tone in the L layer
            assert result.labels[120, 150] > normal.labels.max()
            assert np.asarray(result.l_estimate)[120, 150] < 250
        else:
            assert result.page[120, 150] and (u == 255).all()
            assert np.array_equal(result.labels, normal.labels)
    # Off, no variation colors it.
    off = _shade_the_u(Colorizer.from_pretrained(tiny_checkpoint, device="cpu", config={"variation_shapes_l": 0}),
                       monkeypatch)
    assert all(r.page[120, 150] for r in off.colorize_variations(_open_shapes(), 4, mode="sketch", seed=3))


def test_palette_colors_the_open_shape_the_estimate_shades_with_an_entry(tiny_checkpoint, monkeypatch):
    palette = ["#3060c0", "#e03020"]
    colorizer = _shade_the_u(Colorizer.from_pretrained(tiny_checkpoint, device="cpu"), monkeypatch)
    assert colorizer.colorize(_open_shapes(), mode="sketch").page[120, 150]  # no palette: the U stays paper
    result = colorizer.colorize(_open_shapes(), mode="sketch", palette=palette)
    assert not result.page[120, 150] and result.page[5, 5] and result.page[195, 60]
    assert tuple(np.asarray(result.flat)[120, 150]) in {(48, 96, 192), (224, 48, 32)}
    assert (np.asarray(result.flat)[:4, :4] == 255).all()
    off = _shade_the_u(Colorizer.from_pretrained(tiny_checkpoint, device="cpu", config={"palette_shapes_l": 0}),
                       monkeypatch)
    locked = off.colorize(_open_shapes(), mode="sketch", palette=palette)
    assert locked.page[120, 150] and (np.asarray(locked.flat)[120, 150] == 255).all()


def test_no_gap_closing_keeps_open_shapes_as_page(tiny_checkpoint, monkeypatch):
    strict = Colorizer.from_pretrained(tiny_checkpoint, device="cpu", gap_closing=0)
    real = strict._net_small

    def dark_estimate(*args, **kwargs):
        out = real(*args, **kwargs)
        out["l_small"] = torch.full_like(out["l_small"], 40.0)
        return out

    monkeypatch.setattr(strict, "_net_small", dark_estimate)
    l_layer = np.asarray(strict.colorize(_open_shapes(), mode="sketch").l_estimate).astype(float) * 100 / 255
    # The U and the box with a gap are page like everything that the lines do not close.
    assert l_layer[120, 150] > 99 and l_layer[60, 55] > 99
    with pytest.raises(ConfigError, match="gap_closing"):
        Colorizer.from_pretrained(tiny_checkpoint, device="cpu", gap_closing=-0.1)


def test_result_carries_the_picture_without_lines_the_page_the_regions_and_the_shading(colorizer, line_art,
                                                                                        gray_picture):
    sketch = colorizer.colorize(line_art, mode="sketch")
    lines = np.asarray(sketch.lines, np.float64)[..., None] / 255
    remade = np.asarray(sketch.colors, np.float64) * lines
    assert np.abs(remade - np.asarray(sketch.image, np.float64)).max() <= 1.0  # image = colors × lines, rounded
    dark = np.asarray(sketch.lines) < 64
    assert np.asarray(sketch.colors.convert("L"))[dark].mean() > np.asarray(sketch.image.convert("L"))[dark].mean()
    width, height = sketch.image.size
    assert sketch.labels.shape == sketch.page.shape == (height, width) and sketch.labels.dtype == np.int32
    assert sketch.page[0, 0] and not sketch.page.all()
    assert (sketch.labels[dark] == 0).all() and (sketch.labels[~dark & ~sketch.page] > 0).any()
    assert sketch.shading.mode == "L" and sketch.shading.size == (width, height)
    gray = colorizer.colorize(gray_picture, mode="gray")
    assert np.array_equal(np.asarray(gray.colors), np.asarray(gray.image))  # no lines to take out
    shaded = colorizer.colorize(line_art, mode="sketch", shading=True)
    shade = np.asarray(shaded.shading)[~shaded.page & (shaded.labels > 0)]
    assert shade.min() < 250  # with the estimate's shading kept, the shading layer shows it


def _degenerate_pictures() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:120, 0:160]
    photo = (128 + 90 * np.sin(xx / 9.0) * np.cos(yy / 13.0) + rng.normal(0, 8, (120, 160))).clip(0, 255)
    one_px = np.full((120, 160), 255, np.uint8)
    one_px[60, 10:150] = 0
    strip = np.full((3, 20000), 255, np.uint8)
    strip[1, ::9] = 0
    return {"all black": np.zeros((120, 160), np.uint8), "all white": np.full((120, 160), 255, np.uint8),
            "photo": np.repeat(photo.astype(np.uint8)[..., None], 3, axis=2), "1-px line": one_px,
            "20000x3 strip": strip, "3x20000 strip": np.ascontiguousarray(strip.T)}


@pytest.mark.parametrize("name", list(_degenerate_pictures()))
@pytest.mark.parametrize("mode", ["auto", "sketch"])
def test_degenerate_pictures_come_back_colored_not_as_a_traceback(colorizer, name, mode):
    picture = _degenerate_pictures()[name]
    height, width = picture.shape[:2]
    hints = [Hint(x=width // 2, y=height // 2, color=(200, 40, 40)), Hint(x=0, y=0, color=(40, 40, 200))]
    result = colorizer.colorize(picture, hints=hints, mode=mode)
    assert result.image.size == (width, height) and result.mode in ("sketch", "gray")
    assert np.isfinite(np.asarray(result.image, float)).all()
    if name == "all white" and mode == "sketch":
        # A blank page with a hint on it: the page is paper, the hint colors what the nets see in its color.
        assert result.page is not None and result.labels.max() >= 1


def test_a_hint_color_the_net_puts_nowhere_in_its_region_is_no_trouble(colorizer, monkeypatch):
    real = colorizer._net_small

    def all_blue(*args, **kwargs):
        out = real(*args, **kwargs)
        out["ab_small"][0], out["ab_small"][1] = 20.0, -60.0
        return out

    monkeypatch.setattr(colorizer, "_net_small", all_blue)
    hints = [Hint(x=60, y=100, color=(210, 30, 30)), Hint(x=140, y=100, color=(30, 30, 210))]
    for shading in (False, True):
        out = np.asarray(colorizer.colorize(_boxed(), hints=hints, mode="sketch", shading=shading).image).astype(int)
        assert out[100, 60, 2] > out[100, 60, 0] + 100  # the nets see blue throughout the box: it is blue


def test_auto_mode_reads_gray_paper_clean_but_a_gray_cartoon_as_it_is():
    from sketchcolor.paper import clean_page
    from sketchcolor.pipeline import detect_page_mode

    cartoon = np.full((256, 256), 255, np.uint8)  # light gray fills on white: a grayscale picture
    cartoon[30:130, 30:230] = 215
    cartoon[140:230, 60:200] = 225
    cartoon[100:180, 90:160] = 120
    assert detect_page_mode(cartoon, clean_page(cartoon)) == "gray"
    pencil = np.full((256, 256), 170, np.uint8)  # pencil on gray paper: line art once the paper is removed
    pencil[60:200:20, 40:220] = 90
    pencil[40:220, 60:200:35] = 90
    assert detect_page_mode(pencil, clean_page(pencil)) == "sketch"


def test_auto_mode_reads_a_page_lit_unevenly_clean():
    from sketchcolor.paper import clean_page
    from sketchcolor.pipeline import detect_page_mode

    # White in the middle, falling to gray toward the corners (a photographed page), a thin outline on it.
    yy, xx = np.mgrid[:256, :256] / 255.0 - 0.5
    page = np.clip(255 - 600 * np.maximum(0, np.hypot(yy, xx) - 0.3) ** 2, 0, 255)
    page[60:64, 60:200] = page[196:200, 60:200] = page[60:200, 60:64] = page[60:200, 196:200] = 40
    page = page.round().astype(np.uint8)
    clean = clean_page(page)
    assert clean.found and min(clean.paper) >= 240  # a white paper on average: only its edges are dark
    assert detect_page_mode(page, clean) == "sketch"


# --- palette lock ------------------------------------------------------------------------------------------------

PALETTE = [(48, 96, 192), (224, 48, 32), (32, 160, 64), (240, 192, 32)]  # blue, red, green, yellow


def _palette_set(palette=PALETTE) -> set[tuple[int, int, int]]:
    return {tuple(int(c) for c in color) for color in palette}


def _flat_colors_off_the_page(result) -> set[tuple[int, int, int]]:
    flat = np.asarray(result.flat)
    page = result.page if result.page is not None else np.zeros(flat.shape[:2], bool)
    return {tuple(int(c) for c in rgb) for rgb in np.unique(flat[~page], axis=0)}


@pytest.mark.parametrize("mode, shading", [("sketch", False), ("sketch", True), ("gray", False)])
def test_palette_flats_hold_only_palette_colors_and_the_page_stays_white(colorizer, line_art, mode, shading):
    picture = line_art if mode == "sketch" else draw_flat_color(240, 200).convert("L")
    result = colorizer.colorize(picture, mode=mode, shading=shading, palette=["#3060c0", "#e03020", "#20a040",
                                                                              "#f0c020"])
    used = _flat_colors_off_the_page(result)
    assert used and used <= _palette_set()
    flat = np.asarray(result.flat)
    if result.page is not None and result.page.any():
        assert (flat[result.page] == 255).all()
    if mode == "sketch" and not shading:
        # The picture is the flats with the artist's lines multiplied back, as without a palette.
        lines = np.asarray(result.lines).astype(np.uint16)[..., None]
        multiplied = ((flat.astype(np.uint16) * lines + 127) // 255).astype(np.uint8)
        assert np.array_equal(np.asarray(result.image), multiplied)
    if mode == "gray":
        l_in = rgb2lab(np.asarray(picture.convert("RGB")))[..., 0]
        assert np.abs(rgb2lab(np.asarray(result.image))[..., 0] - l_in).max() < 0.6  # its own L, the entries' ab


@pytest.mark.parametrize("net_ab, want", [((60.0, 45.0), (224, 48, 32)), ((10.0, -50.0), (48, 96, 192))])
@pytest.mark.parametrize("mode", ["sketch", "gray"])
def test_palette_region_takes_the_entry_the_net_favours(colorizer, monkeypatch, net_ab, want, mode):
    real = colorizer._net_small

    def nets_see(*args, **kwargs):
        out = real(*args, **kwargs)
        bins = colorizer.color.bins.cpu()
        cells = torch.zeros_like(out["cells"])
        rows, cols = cells.shape[1:]
        cells[int(torch.argmin(bins.norm(dim=1)))] = 1.0  # gray around the box
        inside = (slice(None), slice(rows * 3 // 8, rows * 5 // 8), slice(cols * 3 // 8, cols * 5 // 8))
        cells[inside] = 0.0
        cells[(int(torch.argmin((bins - torch.tensor(net_ab)).norm(dim=1))),) + inside[1:]] = 1.0  # one clear color
        out["cells"] = cells
        return out

    monkeypatch.setattr(colorizer, "_net_small", nets_see)
    picture = _boxed() if mode == "sketch" else _boxed(fill=110, ink=30)
    result = colorizer.colorize(picture, mode=mode, palette=[(48, 96, 192), (224, 48, 32)])
    assert tuple(np.asarray(result.flat)[100, 100]) == want


def test_palette_hints_take_their_nearest_entry(colorizer):
    result = colorizer.colorize(_boxed(), hints=[Hint(x=100, y=100, color=(200, 40, 40))], mode="sketch",
                                palette=PALETTE)
    flat = np.asarray(result.flat)
    assert (flat[46:155, 46:155] == (224, 48, 32)).all()  # the whole hinted region, exactly the red entry
    assert result.hints == [Hint(x=100, y=100, color=(224, 48, 32))]


def test_palette_gray_region_with_hints_of_two_colors_is_split_between_their_entries(colorizer):
    flat_gray = Image.new("L", (200, 200), 128)
    hints = [Hint(x=40, y=100, color=(210, 30, 30)), Hint(x=160, y=100, color=(30, 30, 210))]
    result = colorizer.colorize(flat_gray, hints=hints, mode="gray", palette=PALETTE)
    flat = np.asarray(result.flat)
    assert tuple(flat[100, 30]) == (224, 48, 32) and tuple(flat[100, 170]) == (48, 96, 192)
    assert _flat_colors_off_the_page(result) <= _palette_set()


@pytest.mark.parametrize("palette, error, message", [
    ([], HintError, "the palette is empty"),
    (["#3060c0", "#12345g"], HintError, r"palette entry #1: bad color '#12345g'"),
    ([(48, 96, 192), (256, 0, 0)], HintError, r"palette entry #1: bad color \(256, 0, 0\)"),
    ("#3060c0", HintError, "a palette must be a list of colors"),
])
def test_bad_palettes_are_refused(colorizer, line_art, palette, error, message):
    with pytest.raises(error, match=message):
        colorizer.colorize(line_art, palette=palette)


def test_palette_needs_the_net():
    with pytest.raises(ConfigError, match="a palette works with method 'net', not 'regionfill'"):
        Colorizer().colorize(_boxed(), hints=[Hint(x=100, y=100, color=(200, 40, 40))], method="regionfill",
                             palette=PALETTE)


# --- variations ---------------------------------------------------------------------------------------------------

_VARIATION_CASES = [("sketch", False), ("sketch", True), ("gray", False)]


def _variation_picture(mode):
    return draw_line_art(400, 300) if mode == "sketch" else draw_flat_color(240, 200).convert("L")


@pytest.mark.parametrize("mode, shading", _VARIATION_CASES)
def test_variations_differ_are_seeded_and_the_first_is_the_normal_result(colorizer, mode, shading):
    picture = _variation_picture(mode)
    normal = colorizer.colorize(picture, mode=mode, shading=shading)
    results = colorizer.colorize_variations(picture, 4, mode=mode, shading=shading, seed=5)
    images = [np.asarray(r.image) for r in results]
    assert len(results) == 4 and all(r.mode == mode and r.image.size == picture.size for r in results)
    assert np.array_equal(images[0], np.asarray(normal.image))
    assert np.array_equal(np.asarray(results[0].flat), np.asarray(normal.flat))
    assert all(not np.array_equal(images[i], images[j]) for i in range(4) for j in range(i + 1, 4))
    again = colorizer.colorize_variations(picture, 4, mode=mode, shading=shading, seed=5)
    assert all(np.array_equal(a, np.asarray(b.image)) for a, b in zip(images, again))
    other = colorizer.colorize_variations(picture, 4, mode=mode, shading=shading, seed=6)
    assert any(not np.array_equal(a, np.asarray(b.image)) for a, b in zip(images[1:], other[1:]))
    single = colorizer.colorize_variations(picture, 1, mode=mode, shading=shading)
    assert len(single) == 1 and np.array_equal(np.asarray(single[0].image), images[0])
    if mode == "gray":
        l_in = rgb2lab(np.asarray(picture.convert("RGB")))[..., 0]
        for image in images:  # a grayscale picture keeps its own L in every variation
            assert np.abs(rgb2lab(image)[..., 0] - l_in).max() < 0.6
    else:
        lines = np.asarray(picture) < 64
        assert all(np.asarray(Image.fromarray(image).convert("L"))[lines].max() < 64 for image in images)


@pytest.mark.parametrize("mode, shading", _VARIATION_CASES)
def test_variations_keep_hinted_regions_at_their_hints_and_the_page_white(colorizer, mode, shading):
    red = (224, 48, 32)
    picture = _boxed() if mode == "sketch" else _boxed(fill=110, ink=30)
    results = colorizer.colorize_variations(picture, 3, hints=[Hint(x=100, y=100, color=red)], mode=mode,
                                            shading=shading, seed=1)
    target = rgb2lab(np.array([[red]], np.uint8))[0, 0]
    for result in results:
        inside = rgb2lab(np.asarray(result.flat)[46:155, 46:155]).reshape(-1, 3)
        # The hinted region keeps its hint's color (gray: its ab; its L is the picture's own).
        assert np.abs(inside[:, 1:] - target[1:]).max() < 1.5
        if mode == "sketch":
            assert np.abs(inside[:, 0] - target[0]).max() < 1.5
        assert result.page is not None and result.page.any() and np.array_equal(result.page, results[0].page)
        assert np.array_equal(np.asarray(result.flat)[result.page], np.asarray(results[0].flat)[results[0].page])
        assert (np.asarray(result.image)[:20, :20] == 255).all()  # the page outside the box
    if mode == "sketch":
        # Nothing but the box and the page (the gray picture's outline is a region of its own): all the same.
        assert all(np.array_equal(np.asarray(results[0].image), np.asarray(r.image)) for r in results[1:])


def test_variations_change_only_unhinted_regions(colorizer):
    picture = Image.new("L", (300, 200), 255)
    from PIL import ImageDraw

    draw = ImageDraw.Draw(picture)
    draw.rectangle([20, 40, 130, 160], outline=0, width=4)
    draw.rectangle([170, 40, 280, 160], outline=0, width=4)
    red = (224, 48, 32)
    results = colorizer.colorize_variations(picture, 4, hints=[Hint(x=75, y=100, color=red)], mode="sketch", seed=2)
    flats = [np.asarray(r.flat) for r in results]
    for flat in flats:
        assert (flat[50:150, 30:120] == flats[0][50:150, 30:120]).all()  # the hinted box
        assert (flat[:30] == 255).all()  # the page
    free = {tuple(int(c) for c in flat[100, 225]) for flat in flats}
    assert len(free) == 4  # the box without a hint takes four different colors


@pytest.mark.parametrize("kwargs, message", [
    ({"k": 0}, "whole number from 1 to 16"),
    ({"k": 17}, "whole number from 1 to 16"),
    ({"k": 2.0}, "whole number from 1 to 16"),
    ({"k": 2, "seed": -3}, "seed must be a whole number >= 0"),
    ({"k": 2, "method": "regionfill"}, "variations work with method 'net', not 'regionfill'"),
    ({"k": 2, "mode": "color"}, "unknown mode 'color'"),
])
def test_bad_variations_are_refused(colorizer, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        colorizer.colorize_variations(_boxed(), **kwargs)
