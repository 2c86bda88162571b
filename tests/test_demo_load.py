"""Load on the page's API: 20 concurrent /colorize requests through gradio_client all succeed (the queue holds
the ones beyond the concurrency limit); prints p50 / p95 latency."""

import socket
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

from sketchcolor import demo as D

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::Warning:gradio.queueing"),  # pandas deprecations inside gradio
]

REQUESTS = 20


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def inside_a_shape(path) -> tuple[int, int]:
    """(x, y) deepest inside the largest closed shape of a line drawing (not the page around the shapes)."""
    from scipy import ndimage

    from sketchcolor.regions import on_border

    with Image.open(path) as im:
        paper = np.asarray(im.convert("L")) > 128
    parts, _ = ndimage.label(paper)
    sizes = np.bincount(parts.ravel())
    sizes[0] = 0
    sizes[on_border(parts)] = 0
    depth = ndimage.distance_transform_edt(parts == int(np.argmax(sizes)))
    y, x = np.unravel_index(int(np.argmax(depth)), depth.shape)
    return int(x), int(y)


def test_twenty_concurrent_requests_all_succeed(tiny_checkpoint, tmp_path, capsys):
    from gradio_client import Client, handle_file

    from conftest import draw_line_art
    from sketchcolor.pipeline import Colorizer

    colorizer = Colorizer.from_pretrained(tiny_checkpoint, device="cpu")
    paths = []
    for seed in range(4):
        path = tmp_path / f"drawing{seed}.png"
        draw_line_art(320, 240, seed=seed).save(path)
        paths.append(path)
    points = [inside_a_shape(path) for path in paths]  # a point on the open page colors only what the nets see
    port = free_port()
    demo = D.launch(colorizer, "127.0.0.1", port, concurrency_limit=2, prevent_thread_lock=True, quiet=True)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)

        def one_request(i: int) -> tuple[float, str]:
            editor = {"background": handle_file(str(paths[i % len(paths)])), "layers": [], "composite": None}
            x, y = points[i % len(points)]
            table = {"headers": D.POINT_HEADERS, "data": [[x, y, "#2f7fd8"]]}
            start = time.perf_counter()
            result = client.predict(editor, table, "sketch", i % 2 == 0, i % 3 == 0, api_name="/colorize")
            return time.perf_counter() - start, result[0]

        wall = time.perf_counter()
        with ThreadPoolExecutor(max_workers=REQUESTS) as pool:
            outcomes = list(pool.map(one_request, range(REQUESTS)))
        wall = time.perf_counter() - wall
    finally:
        demo.close()

    latencies = np.array([seconds for seconds, _ in outcomes])
    for _, image_path in outcomes:
        with Image.open(image_path) as im:
            assert im.size == (320, 240)
            # Each request was colored with its own point: the hinted region holds the point's color.
            rgb = np.asarray(im.convert("RGB"), np.int16)
            assert (np.abs(rgb - (0x2F, 0x7F, 0xD8)).max(axis=2) <= 3).sum() > 50
    p50, p95 = np.percentile(latencies, [50, 95])
    with capsys.disabled():
        print(f"\n[demo load] {REQUESTS} concurrent /colorize requests (320x240, concurrency 2): "
              f"p50 {p50:.2f} s, p95 {p95:.2f} s, max {latencies.max():.2f} s, wall {wall:.2f} s")
