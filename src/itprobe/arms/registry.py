"""The arm registry: every arm is one decorated pure function, registered by kind and name.

An arm has the signature ``arm(task, rng, pool, **options) -> Task | Noted | Skip``:

- ``task`` is the (already partly transformed) task; the arm must not mutate it (the types are frozen)
  and returns a new one built with ``dataclasses.replace``;
- ``rng`` is a `random.Random` private to (seed, kind, arm name, task name), see `arm_rng`;
- ``pool`` holds other tasks (for ``irrelevant``);
- keyword-only ``options`` are filled from the `ArmSpec` field of the same name, so the registry records
  which arguments an arm takes and a stored spec rebuilds the exact transform.

An arm that cannot apply to a task returns `Skip` with the reason; one that wants to tell the reader
what it did (which variant, which source task) returns `Noted`.

What an arm *is* for the reports is declared once, as arguments of its decorator, and every list the
study, the audit and the verdicts use is derived from the registry (`meaning_free_arms`, `follow_probes`,
`probe_arms`): ``meaning_free`` (removes what the definition says the task is, keeping the format; the
reliance figure compares the original against these), ``follows`` (the gold follows the changed
instruction, so a drop reads as "does not follow"), ``relabels`` (changes the label scheme; its rows
keep the original scheme for old-label leakage) and ``probe`` (the audit probe that applies this arm
alone at test time).
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeAlias, TypeVar, get_args

from itprobe.errors import UserError
from itprobe.tasks.types import Task

ArmKind = Literal["definition", "examples", "input", "label"]
ARM_KINDS: tuple[ArmKind, ...] = get_args(ArmKind)


@dataclass(frozen=True)
class Skip:
    """The arm does not apply to this task; ``reason`` says why (shown in reports)."""

    reason: str


@dataclass(frozen=True)
class Noted:
    """The arm applied and has something to say about how (e.g. which delusive variant it used)."""

    task: Task
    note: str


ArmOutcome: TypeAlias = "Task | Noted | Skip"
ArmFn = Callable[..., ArmOutcome]
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class RegisteredArm:
    """A registry entry: the function plus the keyword-only options it reads from the spec."""

    kind: ArmKind
    name: str
    fn: ArmFn
    options: tuple[str, ...]
    meaning_free: bool = False
    follows: bool = False
    relabels: bool = False
    probe: str | None = None


_REGISTRY: dict[ArmKind, dict[str, RegisteredArm]] = {kind: {} for kind in ARM_KINDS}
# the modules whose import registers the built-in arms (imported lazily to avoid import cycles)
_BUILTIN_MODULES = ("definition", "examples", "inputs", "labels")


def _register(
    kind: ArmKind,
    name: str,
    *,
    meaning_free: bool = False,
    follows: bool = False,
    relabels: bool = False,
    probe: str | None = None,
) -> Callable[[F], F]:
    def decorate(fn: F) -> F:
        if name in _REGISTRY[kind]:
            raise ValueError(f"{kind} arm {name!r} is already registered")
        params = inspect.signature(fn).parameters.values()
        options = tuple(p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY)
        _REGISTRY[kind][name] = RegisteredArm(
            kind,
            name,
            fn,
            options,
            meaning_free=meaning_free,
            follows=follows,
            relabels=relabels,
            probe=probe,
        )
        return fn

    return decorate


def definition_arm(
    name: str, *, meaning_free: bool = False, follows: bool = False, probe: str | None = None
) -> Callable[[F], F]:
    """Register a definition arm (rewrites ``Task.definition``); see the module doc for the properties."""
    return _register("definition", name, meaning_free=meaning_free, follows=follows, probe=probe)


def examples_arm(name: str, *, probe: str | None = None) -> Callable[[F], F]:
    """Register an examples arm (rewrites the demonstrations)."""
    return _register("examples", name, probe=probe)


def input_arm(name: str, *, probe: str | None = None) -> Callable[[F], F]:
    """Register an input arm (rewrites instance inputs)."""
    return _register("input", name, probe=probe)


def label_arm(
    name: str, *, relabels: bool = False, follows: bool = False, probe: str | None = None
) -> Callable[[F], F]:
    """Register a label arm (rewrites the label scheme, gold outputs and the instruction)."""
    return _register("label", name, relabels=relabels, follows=follows, probe=probe)


def _load_builtin() -> None:
    for module in _BUILTIN_MODULES:
        importlib.import_module(f"itprobe.arms.{module}")


def list_arms() -> dict[ArmKind, list[str]]:
    """All registered arm names by kind, in registration order."""
    _load_builtin()
    return {kind: list(_REGISTRY[kind]) for kind in ARM_KINDS}


def registered_arms() -> tuple[RegisteredArm, ...]:
    """Every registered arm, by kind (`ARM_KINDS` order), then in registration order."""
    _load_builtin()
    return tuple(arm for kind in ARM_KINDS for arm in _REGISTRY[kind].values())


def meaning_free_arms() -> tuple[str, ...]:
    """The definition arms declared ``meaning_free`` (``simplified``, ``empty``, ``irrelevant``)."""
    return tuple(a.name for a in registered_arms() if a.kind == "definition" and a.meaning_free)


def probe_arms() -> tuple[RegisteredArm, ...]:
    """The arms that are audit probes (declared with ``probe=``), in registry order."""
    return tuple(a for a in registered_arms() if a.probe is not None)


def follow_probes() -> tuple[str, ...]:
    """The probe names of arms whose gold follows the changed instruction (negated, the label probes)."""
    return tuple(a.probe for a in probe_arms() if a.follows and a.probe is not None)


class ArmChoice(Protocol):
    """Anything naming one arm per kind (`ArmSpec`, the study's `ArmConfig`)."""

    @property
    def definition(self) -> str: ...
    @property
    def examples(self) -> str: ...
    @property
    def input(self) -> str: ...
    @property
    def label(self) -> str: ...


def arms_follow(choice: ArmChoice) -> bool:
    """Whether any arm of ``choice`` makes the gold follow a changed instruction (declared ``follows``)."""
    return any(get_arm(kind, getattr(choice, kind)).follows for kind in ARM_KINDS)


def arms_relabel(choice: ArmChoice) -> bool:
    """Whether any arm of ``choice`` changes the label scheme (declared ``relabels``)."""
    return any(get_arm(kind, getattr(choice, kind)).relabels for kind in ARM_KINDS)


def get_arm(kind: ArmKind, name: str) -> RegisteredArm:
    """The registered arm ``name`` of ``kind``; `UserError` listing the known names otherwise."""
    _load_builtin()
    try:
        return _REGISTRY[kind][name]
    except KeyError:
        known = ", ".join(_REGISTRY[kind])
        raise UserError(f"unknown {kind} arm {name!r}; known {kind} arms: {known}") from None


def arm_rng(seed: int, kind: ArmKind, name: str, task_name: str) -> random.Random:
    """A generator private to one arm on one task.

    Derived with SHA-256 rather than ``hash()`` (randomised per process), so a seed reproduces the same
    transform in every run, and arms stay independent: adding an arm never shifts another's draws.
    """
    key = f"{seed}\x00{kind}\x00{name}\x00{task_name}".encode()
    return random.Random(int.from_bytes(hashlib.sha256(key).digest()[:8], "big"))


def run_arm(
    arm: RegisteredArm, task: Task, seed: int, pool: Sequence[Task], options: Mapping[str, object]
) -> ArmOutcome:
    """Call one arm with its private generator and the options it declares."""
    rng = arm_rng(seed, arm.kind, arm.name, task.name)
    return arm.fn(task, rng, pool, **{k: options[k] for k in arm.options})
