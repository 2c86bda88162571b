"""Typed dataclass configs from and to plain dicts (JSON), with type checking and dotted-key overrides.

Used by the model registry (checkpoint ``config.json`` -> net config) and by the trainer (``--config FILE``,
``--set model.color.width=32``). Unknown keys and values of the wrong type raise :class:`ConfigError` naming
the key and what was expected.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from typing import Any, Literal, TypeVar, Union

from sketchcolor.errors import ConfigError

T = TypeVar("T")


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _convert(value: Any, tp: Any, where: str) -> Any:
    """Check ``value`` against the annotation ``tp`` and convert JSON forms (lists -> tuples, dicts ->
    dataclasses, ints -> floats)."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(value, arg, where)
            except ConfigError:
                continue
        raise ConfigError(f"{where}: {value!r} is not a {_type_name(tp)}")
    if origin is Literal:
        allowed = typing.get_args(tp)
        if value not in allowed:
            raise ConfigError(f"{where}: {value!r} is not allowed; allowed: {list(allowed)}")
        return value
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping for {tp.__name__}, got {value!r}")
        return from_dict(tp, value, where=where)
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(v, args[0], f"{where}[{i}]") for i, v in enumerate(value))
        if len(args) != len(value):
            raise ConfigError(f"{where}: expected {len(args)} items, got {len(value)}")
        return tuple(_convert(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    raise ConfigError(f"{where}: unsupported config type {_type_name(tp)}")


def from_dict(cls: type[T], data: dict[str, Any] | None, *, where: str = "") -> T:
    """Build the dataclass ``cls`` from ``data`` (missing keys keep their defaults); nested dataclasses are
    built recursively. Unknown keys or wrong types raise :class:`ConfigError`."""
    data = dict(data or {})
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    unknown = sorted(set(data) - set(names))
    if unknown:
        prefix = f"{where}." if where else ""
        raise ConfigError(f"unknown config key {prefix}{unknown[0]}; allowed: {names}")
    kwargs = {}
    for name, value in data.items():
        key = f"{where}.{name}" if where else name
        kwargs[name] = _convert(value, hints[name], key)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"{where or cls.__name__}: {exc}") from None


def to_dict(config: Any) -> dict[str, Any]:
    """The dataclass ``config`` as JSON-ready nested dicts (tuples become lists)."""
    return json.loads(json.dumps(dataclasses.asdict(config)))


def parse_value(text: str) -> Any:
    """Parse the right-hand side of ``--set key=value``: JSON when it parses (numbers, true/false, null,
    lists), the bare text otherwise (so ``--set stage=color`` needs no quotes)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_overrides(items: list[str], example: str = "gap_closing=0.02") -> dict[str, Any]:
    """``["a.b=1", "c=x"]`` (repeated ``--set KEY=VALUE`` flags) -> ``{"a.b": 1, "c": "x"}`` (values parsed by
    :func:`parse_value`); a malformed item raises :class:`ConfigError` showing ``example``."""
    overrides: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. --set {example}")
        overrides[key.strip()] = parse_value(value.strip())
    return overrides


def apply_overrides(data: dict[str, Any], overrides: dict[str, Any], cls: type) -> dict[str, Any]:
    """Return a copy of the plain config dict ``data`` with dotted keys (``"model.color.width"``) set; keys are
    checked against ``cls`` (ConfigError naming the allowed keys at the level that failed). Below a field typed
    as a mapping (``dict[str, Any]``, e.g. a net's spec, whose keys depend on its architecture) keys are set as
    given and checked when the config is built."""
    out = json.loads(json.dumps(data))
    for dotted, value in overrides.items():
        parts = dotted.split(".")
        node, node_cls = out, cls
        for depth, part in enumerate(parts):
            fields = {f.name: f for f in dataclasses.fields(node_cls)}
            if part not in fields:
                where = ".".join(parts[:depth]) or "top level"
                raise ConfigError(
                    f"unknown config key {dotted!r} ({part!r} is not in {where}); allowed: {list(fields)}"
                )
            if depth == len(parts) - 1:
                node[part] = value
                break
            sub_type = typing.get_type_hints(node_cls)[part]
            if typing.get_origin(sub_type) is dict:
                node = node.setdefault(part, {})
                for key in parts[depth + 1:-1]:
                    node = node.setdefault(key, {})
                node[parts[-1]] = value
                break
            if not dataclasses.is_dataclass(sub_type):
                raise ConfigError(f"config key {'.'.join(parts[:depth + 1])!r} is a value, not a section")
            node = node.setdefault(part, {})
            node_cls = sub_type
    return out
