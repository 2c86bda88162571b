"""Typical tones per ab bin (sketchcolor.tones): measured on a tiny manifest, stored in a checkpoint, read by line
art's drawn variations."""

import json
import shutil

import numpy as np
import pytest
from PIL import Image, ImageDraw
from skimage.color import rgb2lab

from sketchcolor import tones
from sketchcolor.color import ab_bins
from sketchcolor.errors import CheckpointError, ConfigError, DataError
from sketchcolor.pipeline import Colorizer

YELLOW = (250, 215, 40)
NAVY = (30, 40, 110)


def _lab(rgb):
    return rgb2lab(np.array([[rgb]], np.uint8))[0, 0]


def test_the_gamut_centre_puts_yellow_light_blue_dark_and_gray_in_the_middle():
    ab = np.array([_lab(YELLOW)[1:], _lab((40, 60, 230))[1:], [0.0, 0.0]])
    yellow, blue, gray = tones.gamut_centre_l(ab)
    assert yellow > 75 and blue < 50 and 45 < gray < 55
    # An ab no L reaches takes the L of its hue's largest chroma rather than failing.
    assert 0 <= tones.gamut_centre_l(np.array([[0.0, 140.0]]))[0] <= 100


def _manifest(tmp_path, pictures):
    """A manifest of flat pictures (name -> RGB array), all in the train split."""
    (tmp_path / "flat").mkdir()
    lines = []
    for name, rgb in pictures.items():
        if rgb is not None:
            Image.fromarray(rgb).save(tmp_path / "flat" / f"{name}.png")
        lines.append(json.dumps({"id": name, "base": name, "split": "train", "line": f"line/{name}.png",
                                 "color": f"flat/{name}.png", "flat": f"flat/{name}.png", "weight": 1.0}))
    lines.append(json.dumps({"id": "v", "base": "v", "split": "val", "line": "line/v.png", "color": "flat/a.png"}))
    (tmp_path / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    return tmp_path / "manifest.jsonl"


def _page_with(rgb, share):
    """A white 64² page with the top ``share`` of its rows in ``rgb``."""
    picture = np.full((64, 64, 3), 255, np.uint8)
    picture[: int(64 * share)] = rgb
    return picture


def test_measure_counts_the_drawing_not_the_page_and_skips_unreadable_pictures(tmp_path):
    bins = ab_bins().double().numpy()
    manifest = _manifest(tmp_path, {"a": _page_with(YELLOW, 0.5), "b": _page_with(NAVY, 0.25), "gone": None})
    sums, weights, pictures = tones.measure([manifest], bins)
    assert pictures == 2
    assert weights.sum() == pytest.approx(64 * 32 + 64 * 16)  # the white page is left out
    yellow = tones._bin_index(_lab(YELLOW)[None, 1:], bins)[0]
    navy = tones._bin_index(_lab(NAVY)[None, 1:], bins)[0]
    table = tones.tone_table(sums, weights, bins)
    assert table[yellow] == pytest.approx(_lab(YELLOW)[0], abs=1.0)
    assert table[navy] == pytest.approx(_lab(NAVY)[0], abs=1.5)
    # A bin never seen is the gamut's middle tone; one seen on a few pixels leans toward it.
    unseen = np.flatnonzero(weights == 0)
    assert np.allclose(table[unseen], tones.gamut_centre_l(bins[unseen]))
    few = tones.tone_table(sums / 100, weights / 100, bins)[yellow]
    assert tones.gamut_centre_l(bins[[yellow]])[0] < few < table[yellow] or \
        table[yellow] < few < tones.gamut_centre_l(bins[[yellow]])[0]


def test_measure_without_a_readable_picture_is_a_data_error(tmp_path):
    manifest = _manifest(tmp_path, {"gone": None})
    with pytest.raises(DataError, match="no readable train picture"):
        tones.measure([manifest], ab_bins().double().numpy())


@pytest.mark.parametrize("value", [{"l": [50.0] * 3}, {"l": "50"}, [50.0] * 262, {"l": [50.0] * 261 + [float("nan")]},
                                   {"l": [50.0] * 261 + [101.0]}, {"l": [50.0] * 261 + [True]}, {}])
def test_bad_tone_tables_are_checkpoint_errors(value):
    with pytest.raises(CheckpointError, match='"tones" must hold "l": 262 numbers in \\[0, 100\\]'):
        tones.check_tones(value, 262, "ckpt")


def test_a_good_tone_table_reads_back_and_none_stays_none():
    assert tones.check_tones(None, 262, "ckpt") is None
    assert tones.check_tones({"l": [40] * 262}, 262, "ckpt").tolist() == [40.0] * 262


def test_the_command_writes_the_table_into_the_checkpoint_and_the_colorizer_reads_it(tmp_path, tiny_checkpoint):
    ckpt = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, ckpt)
    manifest = _manifest(tmp_path, {"a": _page_with(YELLOW, 0.5)})
    assert Colorizer.from_pretrained(ckpt).tones is None
    assert tones.main(["--data", str(manifest), "--checkpoint", str(ckpt)]) == 0
    config = json.loads((ckpt / "config.json").read_text())
    colorizer = Colorizer.from_pretrained(ckpt)
    assert colorizer.tones is not None and colorizer.tones.shape == (colorizer.color.bins.shape[0],)
    assert config["tones"]["pictures"] == 1 and config["models"]  # the rest of the config is kept
    config["tones"]["l"][0] = -3
    (ckpt / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="tones"):
        Colorizer.from_pretrained(ckpt)


def test_the_command_names_a_bad_checkpoint_or_empty_data(tmp_path, tiny_checkpoint, capsys):
    manifest = _manifest(tmp_path, {"gone": None})
    assert tones.main(["--data", str(manifest), "--checkpoint", str(tmp_path / "nowhere")]) == 2
    assert "no such checkpoint folder" in capsys.readouterr().err
    ckpt = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, ckpt)
    assert tones.main(["--data", str(manifest), "--checkpoint", str(ckpt)]) == 2
    assert "no readable train picture" in capsys.readouterr().err
    assert "tones" not in json.loads((ckpt / "config.json").read_text())  # nothing written


def test_a_colorizer_refuses_tones_that_do_not_fit_its_color_net(tiny_checkpoint):
    base = Colorizer.from_pretrained(tiny_checkpoint)
    with pytest.raises(ConfigError, match="one finite CIE L per ab bin"):
        Colorizer(base.inversion, base.color, tones=np.zeros(5))
    with pytest.raises(ConfigError, match="one finite CIE L per ab bin"):
        Colorizer(tones=np.zeros(262))


def _boxes():
    picture = Image.new("L", (300, 200), 255)
    draw = ImageDraw.Draw(picture)
    draw.rectangle([20, 40, 130, 160], outline=0, width=4)
    draw.rectangle([170, 40, 280, 160], outline=0, width=4)
    return picture


def test_drawn_variations_take_their_colors_typical_tone(tiny_checkpoint):
    base = Colorizer.from_pretrained(tiny_checkpoint)
    plain = base.colorize_variations(_boxes(), 4, mode="sketch", seed=3)
    for level in (30.0, 80.0):
        toned = Colorizer(base.inversion, base.color, config=base.config,
                          tones=np.full(base.color.bins.shape[0], level))
        results = toned.colorize_variations(_boxes(), 4, mode="sketch", seed=3)
        assert np.array_equal(np.asarray(results[0].image), np.asarray(plain[0].image))  # the normal result is kept
        for result in results[1:]:
            # Both boxes are drawn regions: their tone is the table's, whatever the estimate said.
            lab = rgb2lab(np.asarray(result.flat)[100:101, [75, 225]])[0]
            assert np.abs(lab[:, 0] - level).max() < 1.0
            assert (np.asarray(result.flat)[:30] == 255).all()  # the page stays white
