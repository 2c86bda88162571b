"""Tests for sketchcolor.color: sRGB <-> Lab, ab bins, soft encoding, prior, rebalancing, decoding, suggestions."""

import numpy as np
import pytest
import torch
from skimage.color import colorconv, rgb2lab

from sketchcolor import color
from sketchcolor.errors import DataError

BINS = color.ab_bins()
Q = BINS.shape[0]


def _bin_index(a: float, b: float) -> int:
    hits = ((BINS[:, 0] == a) & (BINS[:, 1] == b)).nonzero()
    assert hits.numel() == 1, f"no bin at ({a}, {b})"
    return int(hits[0, 0])


def _random_rgb(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, 3))


def _as_image(rgb_n3: np.ndarray) -> torch.Tensor:
    """(N, 3) numpy -> (3, N, 1) tensor, an image of width 1."""
    return torch.from_numpy(rgb_n3.T.copy()).unsqueeze(-1)


# --- constants and normalization ---------------------------------------------------------------------------------


def test_matrix_maps_white_onto_white_point():
    np.testing.assert_allclose(color.RGB_TO_XYZ.sum(axis=1), color.WHITE_D65, rtol=0, atol=1e-12)
    np.testing.assert_allclose(color.RGB_TO_XYZ @ color.XYZ_TO_RGB, np.eye(3), atol=1e-12)
    # Y row of the sRGB matrix: the Rec. 709 luma weights.
    np.testing.assert_allclose(color.RGB_TO_XYZ[1], [0.2126, 0.7152, 0.0722], atol=1e-4)


def test_normalization_helpers_round_trip_numpy_and_torch():
    assert color.NORMALIZATION == {"l_shift": 50.0, "l_scale": 50.0, "ab_scale": 110.0}
    l_np = np.array([0.0, 50.0, 100.0])
    np.testing.assert_allclose(color.l_to_norm(l_np), [-1.0, 0.0, 1.0])
    assert isinstance(color.l_to_norm(l_np), np.ndarray)
    ab_t = torch.tensor([-110.0, 0.0, 55.0])
    assert torch.allclose(color.ab_to_norm(ab_t), torch.tensor([-1.0, 0.0, 0.5]))
    assert isinstance(color.norm_to_ab(ab_t), torch.Tensor)
    assert torch.allclose(color.norm_to_ab(color.ab_to_norm(ab_t)), ab_t)
    np.testing.assert_allclose(color.norm_to_l(color.l_to_norm(l_np)), l_np)


# --- conversions -------------------------------------------------------------------------------------------------


def test_rgb_to_lab_matches_scikit_image_with_our_constants(monkeypatch):
    """Same algorithm as scikit-image: with its matrix swapped for our derived one the two agree within 1e-3."""
    rgb = _random_rgb(100_000)
    monkeypatch.setattr(colorconv, "xyz_from_rgb", np.array(color.RGB_TO_XYZ))
    expected = rgb2lab(rgb[None], illuminant="D65")[0]
    ours = color.rgb_to_lab(_as_image(rgb))[:, :, 0].T.numpy()
    assert np.abs(ours - expected).max() <= 1e-3


def test_rgb_to_lab_close_to_stock_scikit_image():
    """scikit-image's rounded matrix does not send white onto its own white point; the gap stays below 0.01 Lab."""
    rgb = _random_rgb(100_000, seed=1)
    expected = rgb2lab(rgb[None], illuminant="D65")[0]
    ours = color.rgb_to_lab(_as_image(rgb))[:, :, 0].T.numpy()
    assert np.abs(ours - expected).max() <= 0.01


def test_reference_values():
    rgb = torch.tensor([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.5, 0.5, 0.5]], dtype=torch.float64)
    lab = color.rgb_to_lab(rgb.T.unsqueeze(-1))[:, :, 0].T
    assert torch.allclose(lab[0], torch.tensor([100.0, 0.0, 0.0], dtype=torch.float64), atol=1e-4)
    assert torch.allclose(lab[1], torch.zeros(3, dtype=torch.float64), atol=1e-9)
    # Pure sRGB red, textbook value (53.24, 80.09, 67.20).
    assert torch.allclose(lab[2], torch.tensor([53.2408, 80.0925, 67.2032], dtype=torch.float64), atol=2e-3)
    assert abs(float(lab[3, 1])) < 1e-4 and abs(float(lab[3, 2])) < 1e-4  # every gray is neutral
    white32 = color.rgb_to_lab(torch.ones(3, 1, 1))
    assert torch.allclose(white32.flatten(), torch.tensor([100.0, 0.0, 0.0]), atol=1e-4)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_round_trip_rgb_lab_rgb(dtype):
    rgb = torch.from_numpy(_random_rgb(30_000, seed=2)).to(dtype).T.reshape(3, 100, 300)
    back = color.lab_to_rgb(color.rgb_to_lab(rgb))
    assert back.dtype == dtype
    assert (back - rgb).abs().max() <= 1e-4


def test_round_trip_covers_knees_and_extremes():
    values = torch.tensor([0.0, 1e-6, 0.04045, 0.0405, 0.5, 0.999, 1.0], dtype=torch.float64)
    grid = torch.cartesian_prod(values, values, values).T.unsqueeze(-1)  # (3, 343, 1)
    assert (color.lab_to_rgb(color.rgb_to_lab(grid)) - grid).abs().max() <= 1e-6


def test_shapes_extra_batch_dims_and_dtypes():
    rgb = torch.rand(2, 4, 3, 5, 6)
    lab = color.rgb_to_lab(rgb)
    assert lab.shape == rgb.shape and lab.dtype == torch.float32
    # Batched result equals the per-image result.
    assert torch.allclose(lab[1, 2], color.rgb_to_lab(rgb[1, 2]), atol=1e-5)
    assert color.lab_to_rgb(lab).shape == rgb.shape
    assert color.rgb_to_lab(torch.rand(3, 2, 2, dtype=torch.float16)).dtype == torch.float16


@pytest.mark.parametrize("shape", [(3,), (3, 4), (4, 5, 5), (2, 1, 5, 5), (5, 5, 3)])
def test_bad_shapes_raise(shape):
    with pytest.raises(ValueError, match=r"\(\*, 3, H, W\)"):
        color.rgb_to_lab(torch.rand(*shape))
    with pytest.raises(ValueError, match=r"\(\*, 3, H, W\)"):
        color.lab_to_rgb(torch.rand(*shape))


def test_bad_types_raise():
    with pytest.raises(ValueError, match="torch.Tensor"):
        color.rgb_to_lab(np.zeros((3, 2, 2)))
    with pytest.raises(ValueError, match="floating-point"):
        color.rgb_to_lab(torch.zeros(3, 2, 2, dtype=torch.uint8))


def test_lab_to_rgb_clip():
    out_of_gamut = torch.tensor([50.0, 120.0, -120.0]).view(3, 1, 1)
    clipped = color.lab_to_rgb(out_of_gamut)
    raw = color.lab_to_rgb(out_of_gamut, clip=False)
    assert clipped.min() >= 0 and clipped.max() <= 1
    assert raw.min() < 0 or raw.max() > 1


def test_gradcheck_both_directions():
    gen = torch.Generator().manual_seed(0)
    # Away from the transfer-function knees and the Lab linear segment: every channel in [0.15, 0.95].
    rgb = (0.15 + 0.8 * torch.rand(1, 3, 2, 3, generator=gen, dtype=torch.float64)).requires_grad_()
    assert torch.autograd.gradcheck(color.rgb_to_lab, (rgb,))
    lab = color.rgb_to_lab(rgb.detach()).requires_grad_()
    assert torch.autograd.gradcheck(lambda x: color.lab_to_rgb(x, clip=False), (lab,))


def test_gradients_finite_at_singular_points():
    rgb = torch.tensor([0.0, 0.04045, 1.0, 0.0, 0.0, 0.0], dtype=torch.float64).view(3, 1, 2).requires_grad_()
    color.rgb_to_lab(rgb).sum().backward()
    assert torch.isfinite(rgb.grad).all()
    lab = torch.tensor([0.0, 100.0, 50.0, 0.0, -128.0, 0.0], dtype=torch.float64).view(3, 1, 2).requires_grad_()
    color.lab_to_rgb(lab, clip=False).sum().backward()
    assert torch.isfinite(lab.grad).all()


def test_numpy_conveniences():
    rng = np.random.default_rng(3)
    rgb_u8 = rng.integers(0, 256, size=(40, 50, 3), dtype=np.uint8)
    lab = color.rgb_u8_to_lab_np(rgb_u8)
    assert lab.shape == (40, 50, 3) and lab.dtype == np.float32
    expected = color.rgb_to_lab(torch.from_numpy(rgb_u8).permute(2, 0, 1).double() / 255).permute(1, 2, 0)
    np.testing.assert_allclose(lab, expected.numpy(), atol=1e-3)
    np.testing.assert_array_equal(color.lab_to_rgb_u8_np(lab), rgb_u8)
    assert color.lab_to_rgb_u8_np(np.array([[[50.0, 150.0, 0.0]]])).dtype == np.uint8
    with pytest.raises(ValueError, match="uint8"):
        color.rgb_u8_to_lab_np(rgb_u8.astype(np.float32))
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        color.lab_to_rgb_u8_np(np.zeros((4, 4)))


# --- ab bins -----------------------------------------------------------------------------------------------------


def test_bins_count_layout_and_cache():
    assert BINS.shape == (262, 2) and BINS.dtype == torch.float32
    assert (BINS.remainder(10) == 0).all() and BINS.abs().max() <= 110
    assert len({tuple(b) for b in BINS.tolist()}) == Q
    keys = (BINS[:, 0] * 1000 + BINS[:, 1]).tolist()
    assert keys == sorted(keys)  # a-major order
    again = color.ab_bins()
    again[0] = 999.0  # callers get their own copy
    assert torch.equal(color.ab_bins(), BINS)
    with pytest.raises(ValueError, match="grid > 0"):
        color.ab_bins(grid=0)


def test_bins_stable_under_denser_or_sparser_sampling():
    sparse = color._gamut_cells(10.0, 110.0, 385)
    assert np.array_equal(sparse * 10, BINS.numpy().astype(np.int64))


def _cells(ab: np.ndarray) -> set[tuple[int, int]]:
    return {tuple(c) for c in np.floor((ab + 5.0) / 10.0).astype(int).tolist()}


def test_bins_are_exactly_the_cells_sRGB_reaches():
    """Independent check with scikit-image: the cells hit by the RGB cube's faces and random colours are the bins."""
    t = np.linspace(0, 1, 257)
    u, v = (g.ravel() for g in np.meshgrid(t, t))
    faces = []
    for axis in range(3):
        for value in (0.0, 1.0):
            face = np.insert(np.stack([u, v], 1), axis, value, axis=1)
            faces.append(face)
    ab_faces = rgb2lab(np.concatenate(faces)[None])[0][:, 1:]
    ab_random = rgb2lab(_random_rgb(100_000, seed=4)[None])[0][:, 1:]
    expected = {(int(a) // 10, int(b) // 10) for a, b in BINS.tolist()}
    assert _cells(ab_faces) == expected
    assert _cells(ab_random) <= expected


def test_every_bin_holds_a_displayable_colour():
    """For each bin some (L, a, b) inside its cell converts to RGB in [0, 1] without clipping."""
    rgb = color._rgb_cube_faces(129)
    lab = color.rgb_to_lab(rgb)[:, :, 0].T  # (N, 3)
    cells = torch.floor((lab[:, 1:] + 5.0) / 10.0)
    found = set()
    for i in range(0, lab.shape[0], 20_000):
        back = color.lab_to_rgb(lab[i : i + 20_000].T.unsqueeze(-1), clip=False)
        ok = ((back >= -1e-9) & (back <= 1 + 1e-9)).all(dim=0)[:, 0]
        found |= {tuple(c) for c in cells[i : i + 20_000][ok].to(torch.int64).tolist()}
    dense = {tuple(c) for c in (BINS / 10).to(torch.int64).tolist()}
    # 129 samples a side reach all cells but the one sliver bin (20, -80) that needs the denser grid.
    assert dense - found <= {(2, -8)}
    assert found <= dense


# --- soft encoding -----------------------------------------------------------------------------------------------


def test_soft_encode_sums_to_one_and_peaks_at_nearest_bin():
    gen = torch.Generator().manual_seed(5)
    ab = torch.randn(2, 2, 16, 24, generator=gen) * 40
    enc = color.soft_encode(ab, BINS)
    assert enc.shape == (2, Q, 16, 24) and enc.dtype == torch.float32
    assert torch.allclose(enc.sum(dim=1), torch.ones(2, 16, 24), atol=1e-5)
    assert (enc >= 0).all() and ((enc > 0).sum(dim=1) <= 5).all()
    assert torch.equal(enc.argmax(dim=1), color.nearest_bin(ab, BINS))


def test_soft_encode_value_at_a_bin_centre():
    ab = torch.zeros(1, 2, 1, 1)  # centre of bin (0, 0); its four grid neighbours are 10 away
    enc = color.soft_encode(ab, BINS)[0, :, 0, 0]
    expected = 1.0 / (1.0 + 4.0 * np.exp(-100.0 / 50.0))
    assert abs(float(enc[_bin_index(0, 0)]) - expected) < 1e-5
    assert abs(float(enc[_bin_index(10, 0)]) - expected * np.exp(-2.0)) < 1e-5


def test_soft_encode_chunking_is_invisible(monkeypatch):
    ab = torch.randn(2, 2, 9, 7, generator=torch.Generator().manual_seed(6)) * 30
    whole = color.soft_encode(ab, BINS, k=3, sigma=4.0)
    monkeypatch.setattr(color, "_CHUNK_PIXELS", 10)
    assert torch.allclose(color.soft_encode(ab, BINS, k=3, sigma=4.0), whole)
    assert torch.equal(color.nearest_bin(ab, BINS), whole.argmax(dim=1))


def test_soft_encode_bad_input():
    with pytest.raises(ValueError, match=r"\(B, 2, H, W\)"):
        color.soft_encode(torch.zeros(2, 16, 16), BINS)
    with pytest.raises(ValueError, match=r"\(Q, 2\)"):
        color.soft_encode(torch.zeros(1, 2, 4, 4), torch.zeros(5, 3))
    with pytest.raises(ValueError, match="k"):
        color.soft_encode(torch.zeros(1, 2, 4, 4), BINS, k=0)


# --- prior and rebalancing ---------------------------------------------------------------------------------------


def test_ab_prior_counts_nearest_bins():
    ab = torch.zeros(1, 2, 4, 4)
    ab[0, 0, :, :2] = 31.0  # 8 pixels near bin (30, 0), 8 at bin (0, 0)
    prior = color.ab_prior([ab[:, :, :2], ab[:, :, 2:]], BINS, smooth_sigma=None)
    assert prior.shape == (Q,) and abs(float(prior.sum()) - 1) < 1e-12
    assert float(prior[_bin_index(0, 0)]) == 0.5 and float(prior[_bin_index(30, 0)]) == 0.5


def test_ab_prior_smoothing_and_masks():
    ab = torch.zeros(1, 2, 4, 4)
    smooth = color.ab_prior([ab], BINS, smooth_sigma=5.0)
    assert abs(float(smooth.sum()) - 1) < 1e-12
    assert 0.4 < float(smooth[_bin_index(0, 0)]) < 1.0 and float(smooth[_bin_index(10, 0)]) > 0
    ab[0, 0, 0, 0] = 50.0
    mask = torch.zeros(1, 1, 4, 4, dtype=torch.bool)
    mask[0, 0, 0, 0] = True
    masked = color.ab_prior([ab], BINS, smooth_sigma=None, masks=[mask])
    assert float(masked[_bin_index(50, 0)]) == 1.0
    with pytest.raises(DataError, match="no pixels"):
        color.ab_prior([], BINS)


def test_rebalance_weights_normalization():
    prior = torch.distributions.Dirichlet(torch.full((Q,), 0.3)).sample((1,))[0].double()
    prior[:10] = 0
    prior = prior / prior.sum()
    weights = color.rebalance_weights(prior)
    assert abs(float((prior * weights).sum()) - 1.0) < 1e-9
    assert (weights > 0).all()
    # w is proportional to 1 / (0.5 p + 0.5 / Q): rarer bins weigh more.
    ratio = weights * (0.5 * prior + 0.5 / Q)
    assert torch.allclose(ratio, ratio[0].expand_as(ratio))
    assert torch.allclose(color.rebalance_weights(torch.full((Q,), 1.0 / Q)), torch.ones(Q))
    assert torch.allclose(color.rebalance_weights(prior, lam=1.0), torch.ones(Q, dtype=torch.float64))


def test_rebalance_weights_bad_input():
    with pytest.raises(ValueError, match="lam"):
        color.rebalance_weights(torch.full((4,), 0.25), lam=1.5)
    with pytest.raises(ValueError, match="sum to 1"):
        color.rebalance_weights(torch.full((4,), 0.5))
    with pytest.raises(ValueError, match="without zero"):
        color.rebalance_weights(torch.tensor([0.0, 0.5, 0.5]), lam=0.0)


# --- decoding and suggestions ------------------------------------------------------------------------------------


def test_annealed_mean_one_hot_gives_bin_centre():
    q = _bin_index(40, -30)
    logits = torch.zeros(1, Q, 2, 2)
    logits[:, q] = 60.0
    out = color.annealed_mean(logits, BINS)
    assert out.shape == (1, 2, 2, 2)
    assert torch.allclose(out, torch.tensor([40.0, -30.0]).view(1, 2, 1, 1).expand(1, 2, 2, 2), atol=1e-4)


def test_annealed_mean_temperature_limits():
    logits = torch.randn(2, Q, 3, 3, generator=torch.Generator().manual_seed(7), dtype=torch.float64) * 2
    mode = BINS.double()[logits.argmax(dim=1)].permute(0, 3, 1, 2)
    assert torch.allclose(color.annealed_mean(logits, BINS, temperature=1e-4), mode, atol=1e-6)
    mean = torch.einsum("bqhw,qc->bchw", torch.softmax(logits, dim=1), BINS.double())
    assert torch.allclose(color.annealed_mean(logits, BINS, temperature=1.0), mean)
    # softmax(log p / T) is the same as softmax(logits / T).
    log_p = torch.log_softmax(logits, dim=1)
    assert torch.allclose(color.annealed_mean(log_p, BINS, 0.38), color.annealed_mean(logits, BINS, 0.38))


def test_annealed_mean_is_differentiable_and_validates():
    logits = torch.randn(1, Q, 2, 2, requires_grad=True)
    color.annealed_mean(logits, BINS).sum().backward()
    assert logits.grad is not None and torch.isfinite(logits.grad).all()
    with pytest.raises(ValueError, match="temperature"):
        color.annealed_mean(logits, BINS, temperature=0)
    with pytest.raises(ValueError, match="Q=262"):
        color.annealed_mean(torch.zeros(1, 5, 2, 2), BINS)


def test_topk_colors():
    logits = torch.full((Q,), -5.0)
    logits[_bin_index(0, 0)] = 5.0
    logits[_bin_index(60, 50)] = 4.0
    top = color.topk_colors(logits, 50.0, BINS, k=3)
    assert len(top) == 3
    (rgb0, p0), (rgb1, p1), (_, p2) = top
    assert rgb0 == (119, 119, 119)  # Lab (50, 0, 0) is mid gray
    expected1 = color.lab_to_rgb_u8_np(np.array([[[50.0, 60.0, 50.0]]]))[0, 0]
    assert rgb1 == tuple(int(c) for c in expected1) and rgb1[0] > rgb1[1] > rgb1[2]
    assert p0 > p1 > p2 and abs(p0 - float(torch.softmax(logits.double(), 0).max())) < 1e-9
    assert all(isinstance(c, int) and 0 <= c <= 255 for c in rgb0)
    assert abs(sum(p for _, p in color.topk_colors(logits, 50.0, BINS, k=Q)) - 1.0) < 1e-9


def test_topk_colors_from_a_logit_map():
    logit_map = torch.zeros(1, Q, 4, 5)
    logit_map[0, _bin_index(-40, 40), 3, 2] = 10.0
    (rgb, prob), *_ = color.topk_colors(logit_map, 70.0, BINS, k=2, xy=(2, 3))
    assert rgb[1] > rgb[0] and prob > 0.9  # a green
    assert color.topk_colors(logit_map[:, :, 3:, 2:3], 70.0, BINS, k=1)[0][0] == rgb
    with pytest.raises(ValueError, match="xy"):
        color.topk_colors(logit_map, 70.0, BINS)
    with pytest.raises(ValueError, match="outside"):
        color.topk_colors(logit_map, 70.0, BINS, xy=(5, 0))
    with pytest.raises(ValueError, match="k must be"):
        color.topk_colors(logit_map[0, :, 0, 0], 70.0, BINS, k=0)
