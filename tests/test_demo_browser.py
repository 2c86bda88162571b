"""A real browser on the page, used the way an artist uses it: Debian's Chromium driven by playwright uploads a
drawing with "New picture", picks colors, paints strokes, places points, asks for suggestions, colors the picture,
downloads the layers, and loads another picture; under "Colors from…" it gives a color reference and a palette, and
asks for variations.

Needs /usr/bin/chromium (Debian's `chromium` package); skipped without it. The README's screenshot goes to
$SKETCHCOLOR_SCREENSHOT (default: the test's tmp folder).
"""

import io
import os
import re
import socket
import threading
import time
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest
from PIL import Image

from sketchcolor import demo as D

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::Warning:gradio.queueing"),  # pandas deprecations inside gradio
    pytest.mark.skipif(not Path("/usr/bin/chromium").exists(),
                       reason="Debian's chromium is not installed at /usr/bin/chromium"),
]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]
GREEN, BLUE = "#3aa655", "#2f7fd8"
PICTURE_LOADED = ("() => { const i = document.querySelector('#sketchcolor-canvas img.sc-picture');"
                  " const c = document.querySelector('#sketchcolor-canvas canvas.sc-overlay');"
                  " return i && !i.hidden && i.complete && i.naturalWidth > 0 && c.width > 1; }")
RESULT_SHOWN = ("() => { const i = document.querySelector('#sketchcolor-result img');"
                " return i && i.complete && i.naturalWidth > 0; }")


def rgb(hex_color: str) -> tuple[int, int, int]:
    return tuple(int(hex_color[i:i + 2], 16) for i in (1, 3, 5))


class RecordingColorizer:
    """The real Colorizer, remembering each colorize call's hints and settings, the palette and the reference among
    them (to check what the browser sent); ``delay_s`` holds a run long enough to see its progress."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.config = inner.config
        self.calls: list[dict] = []
        self.delay_s = 0.0
        self.lock = threading.Lock()

    def colorize(self, image, hints=None, mode="auto", **kwargs):
        with self.lock:
            self.calls.append({"hints": list(hints or []), "mode": mode, **kwargs})
        time.sleep(self.delay_s)
        return self.inner.colorize(image, hints=hints, mode=mode, **kwargs)

    def colorize_variations(self, image, k, hints=None, mode="auto", **kwargs):
        with self.lock:
            self.calls.append({"k": k, "hints": list(hints or []), "mode": mode, **kwargs})
        return self.inner.colorize_variations(image, k, hints=hints, mode=mode, **kwargs)

    def suggest_colors(self, *args, **kwargs):
        return self.inner.suggest_colors(*args, **kwargs)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def page_server():
    from sketchcolor.pipeline import Colorizer

    # The bundled weights: the page as an artist gets it after install (and the README's screenshot).
    colorizer = RecordingColorizer(Colorizer.from_pretrained(device="cpu"))
    port = free_port()
    demo = D.launch(colorizer, "127.0.0.1", port, examples=D.find_examples(D.REPO_EXAMPLES),
                    prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/", colorizer
    finally:
        demo.close()


@pytest.fixture
def browser_page(page_server):
    """A fresh page of the served demo; fails the test on any script error in the page."""
    sync_api = pytest.importorskip("playwright.sync_api")
    url, colorizer = page_server
    errors: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1500})
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(url, wait_until="load")
            page.wait_for_selector("#sketchcolor-picture-tools input[type=file]", state="attached", timeout=30_000)
            yield page, colorizer, sync_api.expect
        finally:
            browser.close()
    assert not errors, errors


def upload(page, path: Path) -> None:
    """Load a picture with the "New picture" button, as an artist does."""
    page.locator("#sketchcolor-picture-tools input[type=file]").set_input_files(str(path))
    page.wait_for_function(PICTURE_LOADED, timeout=30_000)


def at(page, fx: float, fy: float) -> tuple[float, float]:
    """The page position of the picture's point at fractions (fx, fy) of its width and height."""
    box = page.locator("#sketchcolor-canvas canvas.sc-overlay").bounding_box()
    return box["x"] + box["width"] * fx, box["y"] + box["height"] * fy


def stroke(page, start: tuple[float, float], end: tuple[float, float], steps: int = 10) -> None:
    (x0, y0), (x1, y1) = at(page, *start), at(page, *end)
    page.mouse.move(x0, y0)
    page.mouse.down()
    for step in range(1, steps + 1):
        page.mouse.move(x0 + (x1 - x0) * step / steps, y0 + (y1 - y0) * step / steps)
    page.mouse.up()


def use_tool(page, tool: str) -> None:
    page.locator(f"#sketchcolor-canvas [data-tool={tool}]").click()


def hint_count(page, expect, strokes: int, points: int) -> int:
    """Wait until the line next to "Color it" counts these strokes and points; the number of hints it announces."""
    line = page.locator("#sketchcolor-hint-count")
    expect(line).to_contain_text(re.compile(rf"from {strokes} strokes?, {points} points?\."), timeout=20_000)
    return int(re.search(r"Sends (\d+) hints?", line.inner_text()).group(1))


def table_rows(page) -> list[tuple[int, int, str]]:
    """The points table's rows (x, y, color), read from its cells as shown."""
    rows = []
    for row in page.locator("#sketchcolor-points-table .virtual-row").all():
        x, y, color = (t.strip() for t in row.locator("[role=gridcell]").all_inner_texts())
        if x or y or color:
            rows.append((int(float(x)), int(float(y)), color))
    return rows


def overlay_alpha(page, fx: float, fy: float, dx_css: float = 0.0) -> int:
    """Alpha of the overlay canvas (strokes and markers) at the picture's point (fx, fy), dx_css CSS px right."""
    return page.evaluate(
        """([fx, fy, dx]) => { const c = document.querySelector('#sketchcolor-canvas canvas.sc-overlay');
           const r = c.getBoundingClientRect(), k = c.width / r.width;
           const x = Math.round((r.width * fx + dx) * k), y = Math.round(r.height * fy * k);
           return c.getContext('2d').getImageData(x, y, 1, 1).data[3]; }""", [fx, fy, dx_css])


def download(page, expect, elem_id: str, suffix: str) -> bytes:
    link = page.locator(f"#{elem_id} a[href$='{suffix}']")
    expect(link).to_have_count(1, timeout=30_000)
    response = page.request.get(link.get_attribute("href"))
    assert response.ok
    return response.body()


def flats_alpha_from_ora(ora_bytes: bytes, size: tuple[int, int]) -> np.ndarray:
    """The flats layer's alpha at full size, (H, W) uint8, from an OpenRaster file."""
    with zipfile.ZipFile(io.BytesIO(ora_bytes)) as archive:
        assert archive.read("mimetype") == b"image/openraster"
        stack = ElementTree.fromstring(archive.read("stack.xml"))
        layer = next(e for e in stack.iter("layer") if e.get("name") == "flats")
        alpha = np.zeros(size[::-1], np.uint8)
        with Image.open(io.BytesIO(archive.read(layer.get("src")))) as im:
            x, y = int(layer.get("x", 0)), int(layer.get("y", 0))
            alpha[y:y + im.height, x:x + im.width] = np.asarray(im.convert("RGBA"))[..., 3]
    return alpha


def flats_alpha_from_psd(psd_bytes: bytes, size: tuple[int, int]) -> np.ndarray:
    """The flats layer's alpha at full size, (H, W) uint8, from a Photoshop file."""
    from psd_tools import PSDImage

    psd = PSDImage.open(io.BytesIO(psd_bytes))
    layer = next(layer for layer in psd.descendants() if layer.name == "flats")
    alpha = np.zeros(size[::-1], np.uint8)
    im = layer.topil()
    x, y = layer.offset
    alpha[y:y + im.height, x:x + im.width] = np.asarray(im.convert("RGBA"))[..., 3]
    return alpha


def saturation(rgb_u8: np.ndarray) -> np.ndarray:
    """HSV saturation in [0, 1] of an (H, W, 3) uint8 picture."""
    rgb_f = rgb_u8.astype(np.float32)
    high, low = rgb_f.max(-1), rgb_f.min(-1)
    return np.where(high > 0, (high - low) / np.maximum(high, 1), 0)


def test_artist_colors_a_drawing_in_the_browser(browser_page, tmp_path):
    page, colorizer, expect = browser_page
    drawing = D.REPO_EXAMPLES / "robot-lines.png"  # closed outlines: a stroke inside the head colors a region
    shot = Path(os.environ.get("SKETCHCOLOR_SCREENSHOT") or tmp_path / "demo.png")
    shot.parent.mkdir(parents=True, exist_ok=True)

    # Coloring before uploading anything: a readable message on the page, not a stack trace.
    page.locator("#sketchcolor-run").click()
    expect(page.get_by_text("upload a picture or pick an example first").first).to_be_visible(timeout=20_000)

    upload(page, drawing)
    assert hint_count(page, expect, 0, 0) == 0

    # A palette swatch, then at once a stroke across the head: the stroke is drawn in that color and counted.
    page.locator(f"#sketchcolor-color .sc-palette [data-color='{GREEN}']").click()
    stroke(page, (0.33, 0.48), (0.66, 0.48))
    stroke_hints = hint_count(page, expect, 1, 0)
    assert stroke_hints >= 2
    assert overlay_alpha(page, 0.5, 0.48) == 255

    # A typed hex code is the current color everywhere: the picker, the swatch, and the next point.
    hex_field = page.locator("#sketchcolor-color input.sc-hex")
    hex_field.fill(BLUE)
    assert page.locator("#sketchcolor-color input.sc-picker").input_value() == BLUE
    use_tool(page, "point")
    page.mouse.click(*at(page, 0.5, 0.71))  # below the mouth, inside the head
    expect(page.locator("#sketchcolor-points-table")).to_contain_text(BLUE, timeout=20_000)
    assert hint_count(page, expect, 1, 1) == stroke_hints + 1
    expect(page.locator(f"#sketchcolor-color .sc-recent [data-color='{BLUE}']")).to_have_count(1)

    # Suggestions: the clicked spot is marked, the row is labelled with the probabilities, a swatch click sets the
    # current color and places a point there.
    use_tool(page, "suggest")
    page.mouse.click(*at(page, 0.176, 0.48))  # inside the left ear
    choices = page.locator("#sketchcolor-suggestions button.sc-choice")
    expect(choices).to_have_count(5, timeout=30_000)
    expect(page.locator("#sketchcolor-suggestions")).to_contain_text("most probable first")
    assert re.fullmatch(r"#[0-9a-f]{6}: \d+%", choices.first.get_attribute("title"))
    assert overlay_alpha(page, 0.176, 0.48, dx_css=11) > 0  # the marker's ring around the clicked spot
    suggested = choices.first.get_attribute("data-color")
    choices.first.click()
    expect(hex_field).to_have_value(suggested)
    expect(page.locator("#sketchcolor-points-table")).to_contain_text(suggested, timeout=20_000)
    total = hint_count(page, expect, 1, 2)
    ear = next(row for row in table_rows(page) if row[2] == suggested)

    # Close wider gaps than the default: the slider's value reaches the Colorizer.
    gap_field = page.locator("#sketchcolor-gap input[type=number]")
    gap_field.fill("0.02")
    gap_field.press("Enter")

    # "Color it": progress while it runs, no picture uploaded again, the result, then both layered downloads.
    requests: list = []
    page.on("request", lambda request: requests.append(request))
    colorizer.delay_s = 1.0
    try:
        page.locator("#sketchcolor-run").click()
        expect(page.get_by_text(re.compile(r"Coloring the picture with \d+ hints")).first).to_be_visible(
            timeout=20_000)
        page.wait_for_function(RESULT_SHOWN, timeout=60_000)
    finally:
        colorizer.delay_s = 0.0
    ora_bytes = download(page, expect, "sketchcolor-ora", "sketchcolor.ora")
    psd_bytes = download(page, expect, "sketchcolor-psd", "sketchcolor.psd")
    expect(page.locator("#sketchcolor-status")).to_contain_text(f"with {total} hints.")
    sent = [r for r in requests if r.method == "POST"]
    assert not [r.url for r in sent if "/upload" in r.url], "Color it re-sent files"
    assert all(len(r.post_data_buffer or b"") < 50_000 for r in sent)
    result_src = page.locator("#sketchcolor-result img").first.get_attribute("src")
    result_u8 = np.asarray(Image.open(io.BytesIO(page.request.get(result_src).body())).convert("RGB"))

    # The first step's error toast closes by itself; the screenshot shows the colored result without it.
    page.get_by_text("upload a picture or pick an example first").first.wait_for(state="hidden", timeout=30_000)
    page.wait_for_timeout(500)
    page.screenshot(path=str(shot), full_page=True)

    call = colorizer.calls[-1]
    assert call["gap_closing"] == pytest.approx(0.02)
    hints = call["hints"]
    assert len(hints) == total  # what the line next to "Color it" announced is what arrived
    assert sum(h.color == rgb(GREEN) for h in hints) == stroke_hints
    assert all(0.3 * 512 <= h.x <= 0.69 * 512 and abs(h.y - 0.48 * 512) < 12 for h in hints if h.color == rgb(GREEN))
    assert any(h.color == rgb(BLUE) and abs(h.x - 256) <= 2 and abs(h.y - 363) <= 2 for h in hints)
    assert (ear[0], ear[1], rgb(suggested)) in {(round(h.x), round(h.y), h.color) for h in hints}

    with Image.open(drawing) as original:
        size = original.size
    assert result_u8.shape[:2] == size[::-1]
    assert (saturation(result_u8) > 0.15).sum() > 50, "the result should be a colored picture"
    assert (np.abs(result_u8.astype(int) - rgb(GREEN)).max(-1) <= 40).sum() > 1000, "the stroke's region is green"
    # Paper is transparent in the flats layer of both layered files (select the flats by transparency).
    for alpha in (flats_alpha_from_ora(ora_bytes, size), flats_alpha_from_psd(psd_bytes, size)):
        assert (alpha[:20, :20] == 0).all() and (alpha[-20:, -20:] == 0).all()
        assert (alpha == 255).mean() > 0.1 and (alpha == 0).mean() > 0.3
    assert shot.is_file() and shot.stat().st_size > 10_000


def test_a_new_picture_starts_clean(browser_page):
    page, colorizer, expect = browser_page
    page.get_by_text("robot-lines").first.click()  # an example is a new picture too
    page.wait_for_function(PICTURE_LOADED, timeout=30_000)
    stroke(page, (0.33, 0.48), (0.66, 0.48))
    use_tool(page, "point")
    page.mouse.click(*at(page, 0.5, 0.71))
    use_tool(page, "suggest")
    page.mouse.click(*at(page, 0.176, 0.48))
    expect(page.locator("#sketchcolor-suggestions button.sc-choice")).to_have_count(5, timeout=30_000)
    hint_count(page, expect, 1, 1)
    page.locator("#sketchcolor-run").click()
    page.wait_for_function(RESULT_SHOWN, timeout=60_000)
    expect(page.locator("#sketchcolor-psd a[href$='sketchcolor.psd']")).to_have_count(1, timeout=30_000)

    upload(page, D.REPO_EXAMPLES / "penguin-gray.png")
    # Nothing of the robot is left: no result, downloads, points, suggestions or strokes.
    expect(page.locator("#sketchcolor-result img")).to_have_count(0, timeout=20_000)
    for elem_id in ("sketchcolor-png", "sketchcolor-ora", "sketchcolor-psd"):
        expect(page.locator(f"#{elem_id} a")).to_have_count(0)
    expect(page.locator("#sketchcolor-suggestions button.sc-choice")).to_have_count(0)
    assert table_rows(page) == []
    assert hint_count(page, expect, 0, 0) == 0
    assert overlay_alpha(page, 0.5, 0.48) == 0 and overlay_alpha(page, 0.5, 0.71) == 0
    expect(page.locator("#sketchcolor-status")).to_contain_text("Loaded a 512×512 picture.")
    # The next run colors the new picture, without the old hints; a grayscale picture's flats leave its paper
    # transparent too.
    page.locator("#sketchcolor-run").click()
    expect(page.locator("#sketchcolor-status")).to_contain_text("Colored as a grayscale picture (auto-detected)",
                                                                timeout=60_000)
    expect(page.locator("#sketchcolor-status")).to_contain_text("with 0 hints.")
    assert colorizer.calls[-1]["hints"] == []
    alpha = flats_alpha_from_ora(download(page, expect, "sketchcolor-ora", "sketchcolor.ora"), (512, 512))
    assert (alpha[:20, :20] == 0).all() and (alpha == 0).mean() > 0.3 and (alpha == 255).mean() > 0.1


def test_artist_colors_with_a_reference_a_palette_and_variations(browser_page, tmp_path):
    page, colorizer, expect = browser_page
    drawing = D.REPO_EXAMPLES / "robot-lines.png"
    reference = tmp_path / "reference.png"  # a colored picture: warm on the left, cool on the right
    reference_u8 = np.zeros((120, 160, 3), np.uint8)
    reference_u8[:, :80] = (224, 48, 32)
    reference_u8[:, 80:] = (48, 96, 192)
    Image.fromarray(reference_u8).save(reference)
    palette = ["#e03020", "#3060c0", "#f0c040"]
    status = page.locator("#sketchcolor-status")

    def color_it() -> np.ndarray:
        """Press "Color it", wait for the whole run (its own .psd download, the last output) -> the result as shown,
        (H, W, 3) int."""
        before = len(colorizer.calls)
        psd = page.locator("#sketchcolor-psd a[href$='sketchcolor.psd']")
        old_href = psd.get_attribute("href") if psd.count() else None
        page.locator("#sketchcolor-run").click()
        expect(psd).to_have_count(1, timeout=60_000)
        if old_href is not None:  # the previous run's download stays until this run's replaces it
            expect(psd).not_to_have_attribute("href", old_href, timeout=60_000)
        page.wait_for_function(RESULT_SHOWN, timeout=30_000)
        assert len(colorizer.calls) == before + 1
        src = page.locator("#sketchcolor-result img").first.get_attribute("src")
        return np.asarray(Image.open(io.BytesIO(page.request.get(src).body())).convert("RGB")).astype(int)

    upload(page, drawing)
    page.locator(f"#sketchcolor-color .sc-palette [data-color='{GREEN}']").click()
    stroke(page, (0.33, 0.48), (0.66, 0.48))  # hints apply with a reference or a palette too
    stroke_hints = hint_count(page, expect, 1, 0)

    # The controls are tucked away under "Colors from…" until the artist opens it. A reference and a palette at
    # once: both reach the Colorizer as given, and its message that they do not combine shows on the page.
    page.get_by_role("button", name=re.compile("^Colors from…")).click()
    page.locator("#sketchcolor-reference input[type=file]").set_input_files(str(reference))
    expect(page.locator("#sketchcolor-reference img")).to_have_count(1, timeout=20_000)
    palette_field = page.locator("#sketchcolor-palette textarea")
    palette_field.fill("#E03020, #3060c0 #f0c040")
    page.locator("#sketchcolor-run").click()
    expect(page.get_by_text("a reference and a palette do not combine").first).to_be_visible(timeout=30_000)
    call = colorizer.calls[-1]
    assert call["palette"] == palette
    assert call["reference"].shape == reference_u8.shape and np.array_equal(call["reference"], reference_u8)
    assert len(call["hints"]) == stroke_hints

    # The reference alone: the result follows it (and the stroke), and the status says what the reference did.
    palette_field.fill("")
    result_u8 = color_it()
    expect(status).to_contain_text(f"with {stroke_hints} hints and the color reference (")
    call = colorizer.calls[-1]
    assert "palette" not in call and np.array_equal(call["reference"], reference_u8)
    assert len(call["hints"]) == stroke_hints and all(h.color == rgb(GREEN) for h in call["hints"])
    assert result_u8.shape[:2] == (512, 512) and (saturation(result_u8.astype(np.uint8)) > 0.15).sum() > 1000

    # The palette alone (the reference removed with its own ✕): every region takes one of its colors.
    page.locator("#sketchcolor-reference button[aria-label='Remove Image']").click()
    expect(page.locator("#sketchcolor-reference img")).to_have_count(0, timeout=20_000)
    palette_field.fill("#E03020, #3060c0 #f0c040")
    result_u8 = color_it()
    expect(status).to_contain_text(f"with {stroke_hints} hints and a palette of 3 colors.")
    call = colorizer.calls[-1]
    assert call["palette"] == palette and "reference" not in call and len(call["hints"]) == stroke_hints
    near_palette = np.min([np.abs(result_u8 - rgb(c)).max(-1) for c in palette], axis=0) <= 6
    assert near_palette.sum() > 1000, "the regions take the palette's colors"
    expect(page.locator("#sketchcolor-variations-gallery")).to_have_count(0)  # one coloring: no gallery

    # Variations are the model's own colors: with a palette the page says so and colors nothing.
    calls = len(colorizer.calls)
    variations = page.locator("#sketchcolor-variations input[type=number]")
    variations.fill("3")
    variations.press("Enter")
    page.locator("#sketchcolor-run").click()
    expect(page.get_by_text("set Variations to 1, or clear the palette and the reference").first).to_be_visible(
        timeout=20_000)
    assert len(colorizer.calls) == calls

    # Without the palette, three variations: the first above and in the downloads, all three in the gallery.
    palette_field.fill("")
    color_it()
    expect(status).to_contain_text("Colored 3 variations as line art")
    expect(page.locator("#sketchcolor-variations-gallery img")).to_have_count(3, timeout=30_000)
    call = colorizer.calls[-1]
    assert call["k"] == 3 and len(call["hints"]) == stroke_hints
    assert "palette" not in call and "reference" not in call
