"""The nets a stage trains and where their weights start: the config, ``--init``, ``--inversion`` or a resume."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from sketchcolor.models import ColorModel, InversionModel, build_model, net_spec
from sketchcolor.train.config import ModelConfigs, TrainConfig

log = logging.getLogger(__name__)


@dataclass
class StageNets:
    """``inversion`` / ``color``: the trained nets (None where the stage does not train one); ``frozen``: the
    color stage's frozen inversion net or None; ``model``: the configs of the nets as built, which is where an
    init checkpoint's architecture replaces the config's."""

    inversion: InversionModel | None
    color: ColorModel | None
    frozen: InversionModel | None
    model: ModelConfigs


def build_stage_nets(
    cfg: TrainConfig,
    device: torch.device,
    *,
    init: str | None = None,
    inversion_path: str | None = None,
    state: dict[str, Any] | None = None,
) -> StageNets:
    """The nets of ``cfg.stage``: trained ones from the ``init`` checkpoint where it holds them, else new from
    ``cfg.model``. The frozen inversion net (color stage) comes from the resumed ``state``'s copy, else
    ``inversion_path``, else the inversion net inside ``init``. ``cfg`` is not changed."""
    from sketchcolor.checkpoint import load_checkpoint

    loaded: dict[str, nn.Module] = {}
    if init:
        loaded = dict(load_checkpoint(init).models)
        log.info("initial weights from %s (%s)", init, ", ".join(sorted(loaded)))
    wanted = {"inversion": ("inversion", "joint"), "color": ("color", "joint")}
    nets: dict[str, nn.Module | None] = {}
    for name, stages in wanted.items():
        if cfg.stage not in stages:
            nets[name] = None
        elif name in loaded:
            nets[name] = loaded[name].train()  # the init checkpoint's architecture wins over the config's
        else:
            nets[name] = build_model(name, getattr(cfg.model, name))
    frozen = None
    if cfg.stage == "color":
        if state is not None and "frozen_inversion" in state:
            frozen = build_model("inversion", state["frozen_inversion_config"])
            frozen.load_state_dict(state["frozen_inversion"])
        elif inversion_path:
            frozen = load_checkpoint(inversion_path, names=["inversion"]).models["inversion"]
        elif "inversion" in loaded:
            frozen = loaded["inversion"]
        if frozen is not None:
            frozen = frozen.to(device).eval().requires_grad_(False)
    specs = {name: net_spec(name, net) for name, net in nets.items() if net is not None}
    model = dataclasses.replace(cfg.model, **specs)
    return StageNets(inversion=nets["inversion"], color=nets["color"], frozen=frozen, model=model)
