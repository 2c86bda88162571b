"""Tests for sketchcolor.losses on known values: soft CE, rebalancing, Huber, gate, inversion, SSIM, GAN."""

from __future__ import annotations

import math

import pytest
import torch

from sketchcolor import color as C
from sketchcolor.losses import (
    ColorLossConfig,
    InversionLossConfig,
    color_loss,
    edge_l1,
    gan_loss,
    gate_loss,
    gate_targets,
    huber_ab,
    inversion_loss,
    rebalanced_soft_ce,
    ssim,
)
from sketchcolor.errors import ConfigError
from sketchcolor.models import ColorOutput, color_input


def _entropy(ab: torch.Tensor, bins: torch.Tensor) -> torch.Tensor:
    t = C.soft_encode(ab, bins)
    return -(t * t.clamp_min(1e-12).log()).sum(dim=1)


def test_soft_ce_uniform_logits_is_log_q_minus_target_entropy():
    bins = C.ab_bins()
    q = bins.shape[0]
    logits = torch.zeros(2, q, 4, 4)
    ab = torch.randn(2, 2, 4, 4) * 20
    expected = math.log(q) - _entropy(ab, bins).mean().item()
    assert rebalanced_soft_ce(logits, ab, bins).item() == pytest.approx(expected, rel=1e-5)


def test_soft_ce_perfect_fit_is_zero():
    bins = C.ab_bins()
    ab = torch.randn(1, 2, 4, 4) * 20
    logits = C.soft_encode(ab, bins).clamp_min(1e-12).log()  # softmax(log t) = t
    assert rebalanced_soft_ce(logits, ab, bins).item() == pytest.approx(0.0, abs=1e-5)


def test_soft_ce_rebalancing_weights_nearest_bin():
    bins = C.ab_bins()
    q = bins.shape[0]
    idx = int((bins - torch.tensor([30.0, 40.0])).norm(dim=1).argmin())
    ab = bins[idx].view(1, 2, 1, 1).expand(1, 2, 8, 8).clone()  # one flat color exactly on a bin
    weights = torch.ones(q)
    weights[idx] = 3.0
    logits = torch.zeros(1, q, 8, 8)
    expected = 3 * (math.log(q) - _entropy(ab[..., :1, :1], bins).item())
    assert rebalanced_soft_ce(logits, ab, bins, weights).item() == pytest.approx(expected, rel=1e-5)


def test_soft_ce_is_low_for_the_right_bin_and_high_for_a_wrong_one():
    bins = C.ab_bins()
    q = bins.shape[0]
    idx = int((bins - torch.tensor([-20.0, 50.0])).norm(dim=1).argmin())
    ab = bins[idx].view(1, 2, 1, 1).expand(1, 2, 4, 4).clone()
    right = torch.zeros(1, q, 4, 4)
    right[:, idx] = 10.0
    wrong = torch.zeros(1, q, 4, 4)
    wrong[:, (idx + q // 2) % q] = 10.0
    assert rebalanced_soft_ce(right, ab, bins) < rebalanced_soft_ce(wrong, ab, bins) - 5


def test_huber_known_values_and_mask():
    pred = torch.zeros(1, 2, 2, 2)
    target = torch.full((1, 2, 2, 2), 0.5)
    beta = 1 / C.AB_SCALE
    per_channel = 0.5 - beta / 2  # linear branch of smooth L1
    assert huber_ab(pred, target).item() == pytest.approx(2 * per_channel, rel=1e-6)
    small = torch.full((1, 2, 2, 2), 0.5 * beta)  # quadratic branch: 0.5 * e**2 / beta
    assert huber_ab(pred, small).item() == pytest.approx(2 * 0.5 * (0.5 * beta) ** 2 / beta, rel=1e-6)
    mask = torch.zeros(1, 1, 2, 2)
    mask[..., 0, 0] = 1
    target2 = target.clone()
    target2[..., 1, 1] = 5.0  # outside the mask: ignored
    assert huber_ab(pred, target2, mask).item() == pytest.approx(2 * per_channel, rel=1e-6)
    assert huber_ab(pred, target, torch.zeros(1, 1, 2, 2)).item() == 0.0


def test_gate_targets_and_loss():
    l_norm = torch.zeros(1, 1, 1, 3)
    fill_ab = torch.tensor([0.2, 0.2, 0.2]).view(1, 1, 1, 3).expand(1, 2, 1, 3).clone()
    fill_mask = torch.tensor([1.0, 1.0, 0.0]).view(1, 1, 1, 3)
    x = color_input(l_norm, fill_ab_norm=fill_ab, fill_mask=fill_mask)
    target = torch.zeros(1, 2, 1, 3)
    target[..., 0] = 0.2  # pixel 0: the fill is right; pixel 1: 0.2 * 110 * sqrt(2) ~ 31 Lab units off
    trusted, base_mask = gate_targets(x, target, trust_ab=10.0)
    assert trusted.flatten().tolist() == [1.0, 0.0, 0.0]
    assert base_mask.flatten().tolist() == [1.0, 1.0, 0.0]
    logits = torch.tensor([20.0, -20.0, 5.0]).view(1, 1, 1, 3)  # right on both base pixels
    assert gate_loss(logits, trusted, base_mask).item() == pytest.approx(0.0, abs=1e-6)
    assert gate_loss(-logits, trusted, base_mask).item() == pytest.approx(20.0, rel=1e-3)


def test_color_loss_combines_terms():
    bins = C.ab_bins()
    q = bins.shape[0]
    x = color_input(torch.zeros(1, 1, 8, 8), fill_ab_norm=torch.zeros(1, 2, 8, 8), fill_mask=torch.ones(1, 1, 8, 8))
    out = ColorOutput(
        logits=torch.zeros(1, q, 2, 2, requires_grad=True),
        ab_norm=torch.zeros(1, 2, 8, 8, requires_grad=True),
        gate_logit=torch.zeros(1, 1, 8, 8, requires_grad=True),
    )
    target = torch.zeros(1, 2, 8, 8)
    total, parts = color_loss(out, x, target, bins, None, ColorLossConfig())
    kl = math.log(q) - _entropy(target[..., :1, :1], bins).item()
    assert parts["ce"] == pytest.approx(kl, rel=1e-5)
    assert parts["huber"] == pytest.approx(0.0)
    assert parts["gate"] == pytest.approx(math.log(2), rel=1e-5)  # trusted everywhere, gate at 0.5
    assert total.item() == pytest.approx(kl + 0.5 * math.log(2), rel=1e-5)
    total.backward()
    assert out.logits.grad is not None and out.gate_logit.grad.abs().sum() > 0
    _, parts = color_loss(out, x, target + 10, bins, None, ColorLossConfig(huber_everywhere=0.1))
    assert "huber_rest" in parts and parts["huber"] > 0
    with pytest.raises(ConfigError, match="rebalance_lambda"):
        ColorLossConfig(rebalance_lambda=2.0)


def test_inversion_loss_known_values():
    target = torch.zeros(1, 1, 8, 8)
    shifted = target + 0.25  # a constant offset: L1 0.25, no edge error
    total, parts = inversion_loss(shifted, target, InversionLossConfig())
    assert parts["l1"] == pytest.approx(0.25) and parts["edge"] == pytest.approx(0.0)
    assert total.item() == pytest.approx(0.25)
    step = torch.zeros(1, 1, 8, 8)
    step[..., 4:] = 1.0  # one vertical edge of height 1 in 7 horizontal differences per row
    assert edge_l1(step, target).item() == pytest.approx(0.5 * (1 / 7))
    _, parts = inversion_loss(target, target, InversionLossConfig(ssim=1.0))
    assert parts["ssim"] == pytest.approx(1.0)


def test_ssim_identity_and_decrease():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 1, 32, 32, generator=g)
    assert ssim(x, x).item() == pytest.approx(1.0, abs=1e-5)
    noisy = (x + 0.3 * torch.randn(1, 1, 32, 32, generator=g)).clamp(0, 1)
    assert ssim(x, noisy).item() < 0.8


def test_gan_loss():
    zeros = torch.zeros(2, 1, 3, 3)
    assert gan_loss(zeros, real=True).item() == pytest.approx(math.log(2))
    assert gan_loss(torch.full((1, 1, 2, 2), 30.0), real=True).item() == pytest.approx(0.0, abs=1e-6)
    assert gan_loss(torch.full((1, 1, 2, 2), 30.0), real=False).item() == pytest.approx(30.0, rel=1e-3)
