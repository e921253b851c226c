"""Reading a study config: a YAML file or a packaged name, ``key.sub=value`` overrides, one-line errors.

`load_config` reads the YAML (a path or a packaged name such as ``default``), applies ``key.sub=value``
overrides to the raw mapping *before* validation (so an override is checked exactly like the file), and
returns a frozen `StudyConfig` (`itprobe.study.config`). Every validation problem becomes one `UserError`
naming the key and the file.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from itprobe.errors import UserError
from itprobe.schema import UNKNOWN_KEY
from itprobe.study.config import StudyConfig
from itprobe.yamlio import load_yaml

PACKAGED_CONFIGS = ("default", "natinst-lowres", "natinst-curve", "natinst-small", "natinst-paper")


def config_text(name_or_path: str | Path | None) -> tuple[str, str]:
    """The YAML text and a display name for a packaged config name (None = ``default``) or a file path."""
    name = str(name_or_path) if name_or_path is not None else "default"
    stem = name.removesuffix(".yaml")
    if stem in PACKAGED_CONFIGS and not Path(name).exists():
        packaged = resources.files("itprobe") / "configs" / f"{stem}.yaml"
        return packaged.read_text(encoding="utf-8"), f"<packaged {stem}>"
    path = Path(name)
    if not path.is_file():
        raise UserError(f"no such config (a YAML file or one of: {', '.join(PACKAGED_CONFIGS)})", path=path)
    try:
        return path.read_text(encoding="utf-8"), str(path)
    except UnicodeDecodeError as err:
        raise UserError(
            f"not valid UTF-8 (byte 0x{err.object[err.start]:02x}); save it as UTF-8", path=path
        ) from None


def parse_override(text: str) -> tuple[list[str], Any]:
    """``a.b=value`` → (["a", "b"], value); the value is parsed as YAML so ``[2, 5]`` and ``true`` work."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip() or any(not part for part in key.strip().split(".")):
        raise UserError(f"override '{text}' is not of the form key.sub=value")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as err:
        raise UserError(f"override '{text}': value is not valid YAML ({err})") from None
    return key.strip().split("."), value


def apply_overrides(raw: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Return a copy of ``raw`` with each ``key.sub=value`` set (intermediate mappings are created)."""
    result: dict[str, Any] = copy.deepcopy(raw)  # (not a JSON round trip: YAML dates are not JSON)
    for text in overrides:
        keys, value = parse_override(text)
        node = result
        for depth, key in enumerate(keys[:-1]):
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                raise UserError(f"override '{text}': '{'.'.join(keys[: depth + 1])}' is not a mapping")
            node = child
        node[keys[-1]] = value
    return result


def _format_errors(err: ValidationError) -> str:
    lines = []
    for item in err.errors():
        key = ".".join(str(part) for part in item["loc"] if not str(part).startswith("function-"))
        if item["type"] in UNKNOWN_KEY:
            lines.append(f"unknown key '{key}'")
        else:
            lines.append(f"'{key}': {item['msg']}")
    return "; ".join(lines)


def validate_config(raw: Mapping[str, Any], *, source: str = "<config>") -> StudyConfig:
    """Validate a plain mapping into a `StudyConfig`; problems become one `UserError` naming keys and file."""
    if not isinstance(raw, Mapping):
        raise UserError("a study config must be a YAML mapping", path=source)
    try:
        return StudyConfig.model_validate(dict(raw))
    except ValidationError as err:
        raise UserError(_format_errors(err), path=source) from None


def load_config(
    name_or_path: str | Path | None = None,
    overrides: Sequence[str] = (),
    *,
    natinst: str | Path | None = None,
    model: str | None = None,
) -> StudyConfig:
    """Read, override and validate a study config.

    Args:
        name_or_path: a YAML file, or a packaged config name (``default``, ``natinst-small``,
            ``natinst-paper``); None is ``default``.
        overrides: ``key.sub=value`` strings applied before validation.
        natinst: ``--natinst PATH``: use this NatInst checkout or compact copy as the data source.
        model: ``--model SPEC``: replace the config's model.
    """
    text, source = config_text(name_or_path)
    try:
        raw = load_yaml(text)  # duplicate keys refused
    except yaml.YAMLError as err:
        raise UserError(f"not valid YAML ({err})", path=source) from None
    if raw is None:  # an empty file would otherwise run the default study under this file's name
        raise UserError("the study config is empty (write at least `name:` and `model:`)", path=source)
    if not isinstance(raw, dict):
        raise UserError("a study config must be a YAML mapping", path=source)
    extra = list(overrides)
    if natinst is not None:
        extra += ["data.source=natinst", f"data.path={json.dumps(str(Path(natinst).resolve()))}"]
    if model is not None:
        extra.append(f"model={json.dumps(model)}")
    raw = _resolve_relative_paths(apply_overrides(raw, extra), source, given=extra)
    return validate_config(raw, source=source)


def _resolve_relative_paths(raw: dict[str, Any], source: str, *, given: Sequence[str]) -> dict[str, Any]:
    """Paths in a config file are relative to that file (paths given on the command line stay as given)."""
    if source.startswith("<"):
        return raw
    from_cli = {".".join(parse_override(text)[0]) for text in given}
    base = Path(source).resolve().parent
    for section, key in (("data", "train"), ("data", "test"), ("data", "path"), ("report", "costs")):
        node = raw.get(section)
        value = node.get(key) if isinstance(node, dict) else None
        if (
            isinstance(value, str)
            and f"{section}.{key}" not in from_cli
            and not Path(value).expanduser().is_absolute()
        ):
            node[key] = str(base / value)  # type: ignore[index]
    return raw
