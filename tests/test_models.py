"""Tests for sketchcolor.models: registry, configs, shapes, value ranges, decoding, gradients, size/FLOPs."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import pytest
import torch

from sketchcolor import color as C
from sketchcolor.errors import ConfigError
from sketchcolor.models import (
    ARCHITECTURES,
    ROLES,
    ColorConfig,
    ColorNet,
    DiscriminatorConfig,
    InversionConfig,
    InversionNet,
    PatchDiscriminator,
    base_ab,
    build_model,
    color_input,
    count_flops,
    count_parameters,
    model_arch,
    net_spec,
)
from sketchcolor.models.configs import apply_overrides, from_dict, parse_value, to_dict

TINY_INV = {"width": 8, "stem_width": 4, "levels": 2, "bottleneck_blocks": 1, "max_width": 16}
TINY_COLOR = {"width": 8, "levels": 2, "bottleneck_blocks": 1, "max_width": 16, "head_width": 16}


def _random_input(b: int = 2, size: int = 32, seed: int = 0, hints: bool = True) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    l_norm = torch.rand(b, 1, size, size, generator=g) * 2 - 1
    if not hints:
        return color_input(l_norm)
    hint_mask = (torch.rand(b, 1, size, size, generator=g) > 0.95).float()
    fill_mask = (torch.rand(b, 1, size, size, generator=g) > 0.5).float()
    hint_ab = (torch.rand(b, 2, size, size, generator=g) - 0.5) * 0.8
    fill_ab = (torch.rand(b, 2, size, size, generator=g) - 0.5) * 0.8
    return color_input(l_norm, hint_ab, hint_mask, fill_ab, fill_mask)


def _decoded(net: ColorNet, x: torch.Tensor, temperature: float = C.DEFAULT_TEMPERATURE) -> torch.Tensor:
    return net.decode(net(x), x, temperature)


def test_registry_names_and_classes():
    assert set(ROLES) == {"inversion", "color"}
    assert ARCHITECTURES["inversion-unet"] == ("inversion", InversionConfig, InversionNet)
    assert ARCHITECTURES["color-unet"] == ("color", ColorConfig, ColorNet)
    assert ROLES["inversion"].default_arch == "inversion-unet" and ROLES["color"].default_arch == "color-unet"
    net = build_model("color", TINY_COLOR)
    assert isinstance(net, ColorNet) and isinstance(net.config, ColorConfig)
    assert net.config.width == 8 and net.size_multiple == 4
    assert build_model("inversion", InversionConfig(**TINY_INV)).size_multiple == 4
    assert build_model("inversion").size_multiple == 16


def test_registry_errors_name_the_allowed_values():
    with pytest.raises(ConfigError, match=r"unknown model 'colour'.*\['color', 'inversion'\]"):
        build_model("colour")
    with pytest.raises(ConfigError, match="unknown config key color.widht; allowed: .*'width'"):
        build_model("color", {"widht": 8})
    with pytest.raises(ConfigError, match="color.width: expected an integer, got '8'"):
        build_model("color", {"width": "8"})
    with pytest.raises(ConfigError, match=r"norm 'layer' is unknown; allowed: \['batch', 'group', 'none'\]"):
        build_model("inversion", {"norm": "layer"})
    with pytest.raises(ConfigError, match="logits_stride must be one of"):
        build_model("color", {"levels": 2, "logits_stride": 8})
    with pytest.raises(ConfigError, match="regression_stride .* must be <= logits_stride"):
        build_model("color", {"logits_stride": 2, "regression_stride": 4})
    with pytest.raises(ConfigError, match="must be >= 1"):
        build_model("inversion", {"width": 0})
    with pytest.raises(ConfigError, match=r"unknown color.arch 'inversion-unet'; allowed: \['color-unet'\]"):
        build_model("color", {"arch": "inversion-unet"})
    with pytest.raises(ConfigError, match="a ColorConfig is no config of a 'inversion' net"):
        build_model("inversion", ColorConfig())


def test_specs_name_the_architecture_and_default_to_the_roles_own():
    net = build_model("color", TINY_COLOR)
    spec = net_spec("color", net)
    assert spec["arch"] == "color-unet" and spec["width"] == 8
    assert build_model("color", spec).config == net.config  # the checkpoint form rebuilds the same net
    assert model_arch("color", TINY_COLOR) == "color-unet"  # no "arch": the role's default
    assert model_arch("inversion", InversionConfig()) == "inversion-unet"
    assert isinstance(net, ROLES["color"].interface) and isinstance(build_model("inversion"), ROLES["inversion"].interface)
    assert not isinstance(build_model("inversion"), ROLES["color"].interface)


def test_a_new_architecture_plugs_in_at_the_registry(monkeypatch, tmp_path):
    from sketchcolor import Colorizer
    from sketchcolor.checkpoint import load_checkpoint, save_checkpoint
    from sketchcolor.models import Architecture

    @dataclass
    class WideConfig(ColorConfig):
        extra_width: int = 4

    class WideNet(ColorNet):
        def __init__(self, config: WideConfig | None = None) -> None:
            super().__init__(config or WideConfig())
            self.extra = torch.nn.Conv2d(1, self.config.extra_width, 1)

    monkeypatch.setitem(ARCHITECTURES, "color-wide", Architecture("color", WideConfig, WideNet))
    torch.manual_seed(0)
    nets = {"inversion": build_model("inversion", TINY_INV),
            "color": build_model("color", dict(TINY_COLOR, arch="color-wide", extra_width=3))}
    assert isinstance(nets["color"], WideNet) and nets["color"].extra.out_channels == 3
    folder = save_checkpoint(tmp_path / "ck", nets)
    config = json.loads((folder / "config.json").read_text())
    assert config["models"]["color"]["arch"] == "color-wide" and config["models"]["color"]["extra_width"] == 3
    assert isinstance(load_checkpoint(folder).models["color"], WideNet)
    result = Colorizer.from_pretrained(folder, device="cpu").colorize(torch.full((40, 40), 255).byte().numpy())
    assert result.image.size == (40, 40)


def test_config_json_round_trip_rebuilds_the_same_net():
    net = build_model("color", TINY_COLOR)
    data = json.loads(json.dumps(asdict(net.config)))
    again = build_model("color", data)
    assert again.config == net.config
    assert {k: v.shape for k, v in again.state_dict().items()} == {k: v.shape for k, v in net.state_dict().items()}
    assert "bins" not in net.state_dict()  # derived from the config, never stored


def test_inversion_shapes_and_range():
    torch.manual_seed(0)
    net = build_model("inversion", TINY_INV)
    line = torch.rand(3, 1, 32, 48)
    l_norm = net(line)
    assert l_norm.shape == (3, 1, 32, 48)
    assert l_norm.min() >= -1 and l_norm.max() <= 1
    with pytest.raises(ValueError, match=r"\(B, 1, H, W\)"):
        net(torch.rand(1, 3, 32, 32))


@pytest.mark.parametrize(("logits_stride", "regression_stride"), [(4, 2), (2, 1), (4, 4), (1, 1)])
def test_color_shapes(logits_stride, regression_stride):
    torch.manual_seed(0)
    cfg = dict(TINY_COLOR, logits_stride=logits_stride, regression_stride=regression_stride)
    net = build_model("color", cfg)
    x = _random_input(2, 32)
    out = net(x)
    q = C.ab_bins().shape[0]
    assert net.num_bins == q
    assert out.logits.shape == (2, q, 32 // logits_stride, 32 // logits_stride)
    assert out.ab_norm.shape == (2, 2, 32, 32)
    assert out.gate_logit.shape == (2, 1, 32, 32)
    assert net.decode(out, x).shape == (2, 2, 32, 32)
    assert net.logits_stride == logits_stride


def test_color_input_defaults_and_masking():
    l_norm = torch.zeros(1, 1, 8, 8)
    x = color_input(l_norm)
    assert x.shape == (1, 7, 8, 8) and x[:, 1:].abs().sum() == 0
    ab = torch.full((1, 2, 8, 8), 0.5)
    mask = torch.zeros(1, 1, 8, 8)
    mask[..., 2, 3] = 1
    x = color_input(l_norm, ab, mask, ab, mask)
    # ab planes are zeroed where the mask is 0
    assert x[:, 1:3].sum() == pytest.approx(1.0) and x[:, 4:6].sum() == pytest.approx(1.0)
    base, base_mask = base_ab(x)
    assert base[0, :, 2, 3].tolist() == [0.5, 0.5] and base_mask.sum() == 1
    with pytest.raises(ValueError, match=r"\(B, 1, H, W\)"):
        color_input(torch.zeros(8, 8))


def test_base_prefers_hint_over_fill():
    l_norm = torch.zeros(1, 1, 4, 4)
    hint_ab = torch.full((1, 2, 4, 4), 0.3)
    fill_ab = torch.full((1, 2, 4, 4), -0.2)
    hint_mask = torch.zeros(1, 1, 4, 4)
    hint_mask[..., 0, 0] = 1
    x = color_input(l_norm, hint_ab, hint_mask, fill_ab, torch.ones(1, 1, 4, 4))
    base, base_mask = base_ab(x)
    assert base[0, 0, 0, 0] == pytest.approx(0.3) and base[0, 0, 1, 1] == pytest.approx(-0.2)
    assert base_mask.min() == 1


def test_decode_range_and_pure_classification_without_hints():
    torch.manual_seed(0)
    net = build_model("color", TINY_COLOR).eval()
    x = _random_input(2, 32, hints=False)
    with torch.no_grad():
        out = net(x)
        ab = _decoded(net, x)
        cls_ab = net.classification_ab(out.logits, (32, 32))
    assert ab.min() >= -1 and ab.max() <= 1
    # no hints and no fill: the decoded color is the annealed mean of the logits alone
    torch.testing.assert_close(ab, cls_ab.clamp(-1, 1))


def test_decode_reproduces_trusted_fill():
    torch.manual_seed(0)
    # A fresh net starts with delta = 0 and the gate at sigmoid(gate_prior): a strong prior reproduces the fill.
    net = build_model("color", dict(TINY_COLOR, gate_prior=30.0)).eval()
    fill_ab = torch.zeros(1, 2, 32, 32)
    fill_ab[:, 0] = 0.4
    fill_ab[:, 1] = -0.3
    fill_mask = torch.zeros(1, 1, 32, 32)
    fill_mask[..., :16] = 1
    x = color_input(torch.zeros(1, 1, 32, 32), fill_ab_norm=fill_ab, fill_mask=fill_mask)
    with torch.no_grad():
        ab = _decoded(net, x)
        cls_ab = net.classification_ab(net(x).logits, (32, 32))
    torch.testing.assert_close(ab[..., :16], fill_ab[..., :16], atol=1e-5, rtol=0)
    torch.testing.assert_close(ab[..., 16:], cls_ab[..., 16:].clamp(-1, 1))


def test_temperature_controls_vividness_and_is_checked():
    torch.manual_seed(0)
    net = build_model("color", TINY_COLOR).eval()
    x = _random_input(1, 32, hints=False)
    with torch.no_grad():
        net.cls_head[-1].weight.mul_(20)  # peaked logits make the mean/mode difference visible
        cold = _decoded(net, x, temperature=0.1).norm(dim=1).mean()
        warm = _decoded(net, x, temperature=1.0).norm(dim=1).mean()
    assert cold > warm
    with pytest.raises(ValueError, match="temperature must be > 0"):
        _decoded(net, x, temperature=0.0)


def test_gradients_reach_every_parameter():
    torch.manual_seed(0)
    inv = build_model("inversion", TINY_INV)
    col = build_model("color", TINY_COLOR)
    line = torch.rand(2, 1, 32, 32)
    x = _random_input(2, 32)
    x = torch.cat((inv(line), x[:, 1:]), dim=1)  # end to end: L estimate feeds the color net
    out = col(x)
    loss = out.logits.logsumexp(1).mean() + out.ab_norm.square().mean() + out.gate_logit.mean()
    loss = loss + col.decode(out, x).square().mean()
    loss.backward()
    for name, module in (("inversion", inv), ("color", col)):
        for pname, p in module.named_parameters():
            assert p.grad is not None, f"{name}.{pname} got no gradient"
            assert torch.isfinite(p.grad).all(), f"{name}.{pname} has a non-finite gradient"
    assert any(p.grad.abs().sum() > 0 for p in inv.parameters())


def test_default_sizes_params_and_flops():
    for role in ROLES:
        net = build_model(role).eval()
        assert 1_000_000 < count_parameters(net) < 6_000_000
        gflops = count_flops(net, net.example_input(256)) / 1e9
        assert 0.5 < gflops < 4.0  # "a few GFLOPs at most" at working size 256
    frozen = build_model("color").requires_grad_(False)
    assert count_parameters(frozen) == count_parameters(build_model("color"))  # what a checkpoint stores


def test_norm_variants_build_and_run():
    for norm in ("group", "none"):
        net = build_model("inversion", dict(TINY_INV, norm=norm))
        assert net(torch.rand(1, 1, 16, 16)).shape == (1, 1, 16, 16)


def test_discriminator_patch_logits():
    disc = PatchDiscriminator(DiscriminatorConfig(in_channels=3, width=8, layers=2))
    out = disc(torch.rand(2, 3, 64, 64))
    assert out.dim() == 4 and out.shape[:2] == (2, 1) and out.shape[-1] < 64
    with pytest.raises(ConfigError):
        DiscriminatorConfig(width=0)


@dataclass
class _Inner:
    a: int = 1
    b: float = 0.5
    names: tuple[str, ...] = ("x",)


@dataclass
class _Outer:
    inner: _Inner = field(default_factory=_Inner)
    mode: str = "fast"
    limit: int | None = None


def test_config_dicts_overrides_and_errors():
    cfg = from_dict(_Outer, {"inner": {"a": 3, "b": 2, "names": ["p", "q"]}, "limit": None})
    assert cfg.inner == _Inner(a=3, b=2.0, names=("p", "q")) and isinstance(cfg.inner.b, float)
    assert to_dict(cfg)["inner"]["names"] == ["p", "q"]
    data = apply_overrides(to_dict(cfg), {"inner.a": 7, "limit": 4}, _Outer)
    assert from_dict(_Outer, data).inner.a == 7 and from_dict(_Outer, data).limit == 4
    with pytest.raises(ConfigError, match=r"unknown config key 'inner.c'.*allowed: \['a', 'b', 'names'\]"):
        apply_overrides({}, {"inner.c": 1}, _Outer)
    with pytest.raises(ConfigError, match="is a value, not a section"):
        apply_overrides({}, {"mode.x": 1}, _Outer)
    with pytest.raises(ConfigError, match="inner.a: expected an integer, got True"):
        from_dict(_Outer, {"inner": {"a": True}})
    with pytest.raises(ConfigError, match="limit: 'many' is not"):
        from_dict(_Outer, {"limit": "many"})
    assert parse_value("32") == 32 and parse_value("color") == "color" and parse_value("[1, 2]") == [1, 2]
    assert parse_value("true") is True and parse_value("3e-4") == pytest.approx(3e-4)
