"""The one config language: runtime settings are frozen pydantic dataclasses that validate themselves.

`PromptConfig`, `ArmSpec`, `LoraSettings`, `TrainConfig` and `AuditConfig` are declared with
``@user_errors`` over ``@dataclass(frozen=True, config=STRICT)``: every field is checked by its type (an
enumeration is a ``Literal`` defined once, a bound is a ``Field`` constraint), unknown keys are rejected,
and the study config (`itprobe.study.config.StudyConfig`) embeds the same types, so a YAML key and a
keyword argument are checked by the same rule.

Built directly (library code, the CLI) a bad value is one `ConfigError` line — a `UserError`, exit 2 in the
CLI. The CLI builds each option group with `build`, which names the offending field by its option
(``--method``) and adds no check of its own. Inside a `StudyConfig` the same problems surface as the study
config's own errors, which name the YAML key.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import ErrorDetails

from itprobe.errors import UserError

STRICT = ConfigDict(extra="forbid")


class StrictModel(BaseModel):
    """The one pydantic base of itprobe's records at the edges (reports, study configs): unknown keys
    are refused, as by `STRICT`."""

    model_config = STRICT


class FrozenModel(StrictModel):
    """A `StrictModel` whose fields cannot be reassigned (the study config: cell ids hash it)."""

    model_config = ConfigDict(frozen=True)


T = TypeVar("T")
_VALUE_ERROR = "Value error, "
UNKNOWN_KEY = ("extra_forbidden", "unexpected_keyword_argument")


def choices(values: Sequence[str]) -> str:
    """``a, b or c``."""
    return values[0] if len(values) == 1 else f"{', '.join(values[:-1])} or {values[-1]}"


def _literal_choices(item: ErrorDetails) -> list[str]:
    expected = str(item.get("ctx", {}).get("expected", ""))
    return [part.strip().strip("'") for part in expected.replace(" or ", ", ").split(",") if part.strip()]


def describe(errors: Sequence[ErrorDetails], noun: str, names: Mapping[str, str] = {}) -> str:
    """One line for a constructor's validation errors; ``names`` maps a field to how the user wrote it."""
    lines = []
    for item in errors:
        field = ".".join(str(part) for part in item["loc"])
        label = names.get(field, field)
        if item["type"] in UNKNOWN_KEY:
            lines.append(f"unknown {noun} '{label}'")
        elif item["type"] == "literal_error":
            lines.append(f"unknown {label} {item['input']!r}; choose {choices(_literal_choices(item))}")
        elif item["type"] == "value_error":  # a validator's own message, which names what it checks
            lines.append(item["msg"].removeprefix(_VALUE_ERROR))
        else:
            lines.append(f"invalid {noun} {label}={item['input']!r} ({item['msg'].lower()})")
    return "; ".join(lines)


class ConfigError(UserError):
    """A settings type refused its values; `named` says it again with the fields named as options."""

    def __init__(self, errors: Sequence[ErrorDetails], noun: str, names: Mapping[str, str] = {}) -> None:
        self.errors = tuple(errors)
        self.noun = noun
        super().__init__(describe(self.errors, noun, names))

    def named(self, names: Mapping[str, str]) -> ConfigError:
        return ConfigError(self.errors, self.noun, names)


def user_errors(noun: str) -> Callable[[type[T]], type[T]]:
    """Class decorator: building the (pydantic) dataclass directly raises `ConfigError`, not
    `ValidationError` (as a field of another pydantic type it validates as usual, naming the key)."""

    def wrap(cls: type[T]) -> type[T]:
        init = cls.__init__

        @functools.wraps(init)
        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            try:
                init(self, *args, **kwargs)
            except ValidationError as err:
                raise ConfigError(err.errors(), noun) from None

        cls.__init__ = __init__  # type: ignore[method-assign]
        return cls

    return wrap


def build(factory: Callable[..., T], names: Mapping[str, str], /, **fields: Any) -> T:
    """``factory(**fields)`` for the CLI: a refusal names each field by its option in ``names``."""
    try:
        return factory(**fields)
    except ConfigError as err:
        raise err.named(names) from None
