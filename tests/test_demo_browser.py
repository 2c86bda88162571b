"""A real browser on the page: Debian's Chromium driven by playwright uploads a drawing through the page's file
input, paints a stroke on the editor's canvas, clicks a color point, colors the picture and checks the result.

Needs /usr/bin/chromium (Debian's `chromium` package); skipped without it. The screenshot goes to
$SKETCHCOLOR_SCREENSHOT (default: the test's tmp folder).
"""

import io
import os
import socket
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sketchcolor import demo as D

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::Warning:gradio.queueing"),  # pandas deprecations inside gradio
]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]
STROKE_COLOR = (224, 48, 32)  # D.BRUSH_COLORS[0], the brush's default color


class RecordingColorizer:
    """The real Colorizer, remembering the hints of each colorize call (to check what the browser sent)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.hint_lists: list[list] = []
        self.lock = threading.Lock()

    def colorize(self, image, hints=None, mode="auto", **kwargs):
        with self.lock:
            self.hint_lists.append(list(hints or []))
        return self.inner.colorize(image, hints=hints, mode=mode, **kwargs)

    def suggest_colors(self, *args, **kwargs):
        return self.inner.suggest_colors(*args, **kwargs)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def example_drawing() -> Path:
    """The repository's robot line drawing (closed outlines, so a stroke inside it colors a region)."""
    return D.REPO_EXAMPLES / "robot-lines.png"


@pytest.fixture
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


def saturation(rgb_u8: np.ndarray) -> np.ndarray:
    """HSV saturation in [0, 1] of an (H, W, 3) uint8 picture."""
    rgb = rgb_u8.astype(np.float32)
    high, low = rgb.max(-1), rgb.min(-1)
    return np.where(high > 0, (high - low) / np.maximum(high, 1), 0)


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium")
def test_artist_colors_a_drawing_in_the_browser(page_server, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    url, colorizer = page_server
    drawing = example_drawing()
    shot = Path(os.environ.get("SKETCHCOLOR_SCREENSHOT") or tmp_path / "demo.png")
    shot.parent.mkdir(parents=True, exist_ok=True)
    page_errors: list[str] = []

    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1500})
            page.on("pageerror", lambda exc: page_errors.append(str(exc)))
            page.goto(url, wait_until="load")
            page.wait_for_selector("#sketchcolor-editor input[type=file]", state="attached", timeout=30_000)

            # Coloring before uploading anything: a readable message on the page, not a stack trace.
            page.locator("#sketchcolor-run").click()
            sync_api.expect(page.get_by_text("upload a picture or pick an example first").first).to_be_visible(
                timeout=20_000)

            page.locator("#sketchcolor-editor input[type=file]").set_input_files(str(drawing))
            page.wait_for_function(
                "() => { const i = document.querySelector('#sketchcolor-points img');"
                " return i && i.complete && i.naturalWidth > 0; }", timeout=30_000)
            page.wait_for_timeout(500)

            # A brush stroke across the middle of the editor's canvas (the picture is centred in it).
            canvas = page.locator("#sketchcolor-editor canvas").first.bounding_box()
            cx, cy = canvas["x"] + canvas["width"] / 2, canvas["y"] + canvas["height"] / 2
            page.mouse.move(cx - 50, cy)
            page.mouse.down()
            for step in range(1, 11):
                page.mouse.move(cx - 50 + 10 * step, cy + 3 * (step % 2))
            page.mouse.up()

            # A color point: a click on the points view with the default point color.
            view = page.locator("#sketchcolor-points img").first.bounding_box()
            page.mouse.click(view["x"] + view["width"] * 0.25, view["y"] + view["height"] * 0.3)
            sync_api.expect(page.locator("#sketchcolor-points-table")).to_contain_text("#e03020", timeout=20_000)

            page.locator("#sketchcolor-run").click()
            page.wait_for_function(
                "() => { const i = document.querySelector('#sketchcolor-result img');"
                " return i && i.complete && i.naturalWidth > 0; }", timeout=60_000)
            ora_link = page.locator("#sketchcolor-ora a[href$='sketchcolor.ora']")
            sync_api.expect(ora_link).to_have_count(1, timeout=20_000)
            ora_bytes = page.request.get(ora_link.get_attribute("href")).body()
            psd_link = page.locator("#sketchcolor-psd a[href$='sketchcolor.psd']")
            sync_api.expect(psd_link).to_have_count(1, timeout=20_000)
            psd_bytes = page.request.get(psd_link.get_attribute("href")).body()
            src = page.locator("#sketchcolor-result img").first.get_attribute("src")
            response = page.request.get(src)
            assert response.ok, f"GET {src} -> {response.status}"
            result_u8 = np.asarray(Image.open(io.BytesIO(response.body())).convert("RGB"))
            # The first step's error toast closes by itself; the screenshot shows the colored result without it.
            page.get_by_text("upload a picture or pick an example first").first.wait_for(state="hidden", timeout=30_000)
            page.wait_for_timeout(500)
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()

    assert not page_errors, page_errors
    with zipfile.ZipFile(io.BytesIO(ora_bytes)) as archive:
        assert archive.read("mimetype") == b"image/openraster" and "stack.xml" in archive.namelist()
    from psd_tools import PSDImage

    psd = PSDImage.open(io.BytesIO(psd_bytes))
    assert [layer.name for layer in psd][-3:] == ["lines", "closed gaps", "hints"]
    with Image.open(drawing) as original:
        assert result_u8.shape[:2] == (original.height, original.width)
    assert (saturation(result_u8) > 0.15).sum() > 50, "the result should be a colored picture"
    # The stroke reached the model as hints in the brush's color, alongside the clicked point.
    hints = colorizer.hint_lists[-1]
    assert sum(h.color == STROKE_COLOR for h in hints) >= 2
    assert shot.is_file() and shot.stat().st_size > 10_000
