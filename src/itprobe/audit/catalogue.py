"""The audit's probe catalogue: every probe declared once, with what it is; every probe list is derived.

Two kinds of probe, one catalogue:

- an **arm probe** is an arm declared with ``probe="NAME"`` (`itprobe.arms.definition_arm` and the other
  arm decorators): the arm alone, at test time, on every task. Its properties (meaning-free, follows the
  changed instruction, relabels) are the arm's.
- any other probe is **one function decorated with `audit_probe`**: ``run(ctx) -> ProbeResult`` is called
  once every planned pass is predicted and adds scored rows (and derived predictions); an optional
  ``plan(ctx) -> ProbePlan`` adds passes for the model to predict and the (probe, task) pairs it skips.
  ``conditions`` names the report conditions its rows carry (they join the score tables and audit.json),
  ``references`` the rows it adds as references (baselines).

`probe_names` (the ``--probes`` choices and their order), `report_conditions`, `report_references`,
`label_probes` and `meaning_free_probes` are all read from here. This module stays light (no numpy): the
CLI lists the probes in its help from it. The built-in probes that are not arms live in
`itprobe.audit.builtin` and are loaded on first use.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from itprobe.arms import RegisteredArm, probe_arms
from itprobe.errors import UserError
from itprobe.records import InstanceResult, Mode, Prediction
from itprobe.tasks.types import Task


@dataclass(frozen=True)
class Pass:
    """One (probe, mode) unit of work: the tasks, arms applied, that the probe runs on."""

    probe: str
    mode: Mode
    tasks: tuple[Task, ...]

    @property
    def n_instances(self) -> int:
        return sum(len(t.instances) for t in self.tasks)


@dataclass(frozen=True)
class ProbeContext:
    """What a probe's hooks see: the audited tasks, the modes, the seed, the probes asked for, (for
    ``plan``) the passes planned before it (the arm probes' first) and the audit's probe options (e.g.
    ``format_templates``), and (for ``run``) every pass's predictions by (probe, mode)."""

    tasks: tuple[Task, ...]
    modes: tuple[Mode, ...]
    seed: int
    probes: tuple[str, ...] = ()
    predictions: Mapping[tuple[str, str], Sequence[Prediction]] = field(default_factory=dict)
    passes: tuple[Pass, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProbeSkip:
    """A (probe, task) that cannot run and why (``task`` empty: the whole probe); the plan reports it."""

    probe: str
    reason: str
    task: str = ""


@dataclass(frozen=True)
class ProbePlan:
    """What a probe adds to the plan: passes for the model, what it skips with the reason, and data the
    runner and the report read by the probe's name (``Plan.extra``: format-spread's templates)."""

    passes: tuple[Pass, ...] = ()
    skipped: tuple[ProbeSkip, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProbeResult:
    """What a probe adds once the passes are predicted: scored rows, predictions derived from the passes'
    (e.g. calibrated), and label priors by task."""

    rows: tuple[InstanceResult, ...] = ()
    predictions: Mapping[tuple[str, str], list[Prediction]] = field(default_factory=dict)
    priors: Mapping[str, Any] = field(default_factory=dict)


PlanFn = Callable[[ProbeContext], ProbePlan]
RunFn = Callable[[ProbeContext], ProbeResult]
R = TypeVar("R", bound=RunFn)


@dataclass(frozen=True)
class RegisteredProbe:
    """A catalogue entry (see the module doc); ``arm`` is set for an arm probe, ``run`` for the others.
    ``opt_in``: not part of ``--probes all`` (it runs only when named, e.g. ``all,format-spread``)."""

    name: str
    arm: RegisteredArm | None = None
    run: RunFn | None = None
    plan: PlanFn | None = None
    conditions: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    opt_in: bool = False

    @property
    def meaning_free(self) -> bool:
        return self.arm is not None and self.arm.meaning_free

    @property
    def follows(self) -> bool:
        return self.arm is not None and self.arm.follows

    @property
    def relabels(self) -> bool:
        return self.arm is not None and self.arm.relabels


_OTHER: dict[str, RegisteredProbe] = {}
# the modules whose import registers the built-in probes that are not arms (they import this one); light:
# the CLI's --probes help reads them
_BUILTIN = ("itprobe.audit.builtin", "itprobe.audit.format_spread")


def audit_probe(
    name: str,
    *,
    plan: PlanFn | None = None,
    conditions: Sequence[str] = (),
    references: Sequence[str] = (),
    opt_in: bool = False,
) -> Callable[[R], R]:
    """Register a probe that is not an arm: the decorated function is its ``run`` hook (module doc);
    ``opt_in=True`` keeps it out of ``--probes all`` (one that multiplies the audit's passes)."""

    def decorate(fn: R) -> R:
        if name in _OTHER or any(a.probe == name for a in probe_arms()):
            raise ValueError(f"probe {name!r} is already registered")
        _OTHER[name] = RegisteredProbe(
            name,
            run=fn,
            plan=plan,
            conditions=tuple(conditions),
            references=tuple(references),
            opt_in=opt_in,
        )
        return fn

    return decorate


def unregister_probe(name: str) -> None:
    """Remove a probe registered with `audit_probe` (tests and plugins that add one for a while)."""
    _OTHER.pop(name, None)


def registered_probes() -> tuple[RegisteredProbe, ...]:
    """Every probe in catalogue order: the arm probes (arm registry order), then the others."""
    for module in _BUILTIN:
        importlib.import_module(module)
    arms = tuple(RegisteredProbe(a.probe, arm=a, conditions=(a.probe,)) for a in probe_arms() if a.probe)
    return (*arms, *_OTHER.values())


def get_probe(name: str) -> RegisteredProbe:
    """The probe ``name``; a `UserError` listing the known ones otherwise."""
    found = {p.name: p for p in registered_probes()}
    if name not in found:
        raise UserError(f"unknown probe {name!r}; known: {', '.join(found)}")
    return found[name]


def probe_names() -> tuple[str, ...]:
    """Every probe's name, in catalogue order (the ``--probes`` choices, opt-in ones included)."""
    return tuple(p.name for p in registered_probes())


def default_probes() -> tuple[str, ...]:
    """The probes "all" runs: every one but the opt-in ones, in catalogue order."""
    return tuple(p.name for p in registered_probes() if not p.opt_in)


def report_conditions() -> tuple[str, ...]:
    """The conditions of the audit's score tables, in catalogue order: each arm probe and whatever rows
    the other probes add (``calibrated``)."""
    return tuple(dict.fromkeys(c for p in registered_probes() for c in p.conditions))


def report_references() -> tuple[str, ...]:
    """The reference rows the probes add (``random``, ``majority``): shown beside, never compared as probes."""
    return tuple(dict.fromkeys(r for p in registered_probes() for r in p.references))


def label_probes() -> tuple[str, ...]:
    """Probes that change the label scheme (their rows keep the original scheme for leakage)."""
    return tuple(p.name for p in registered_probes() if p.relabels)


def meaning_free_probes() -> tuple[str, ...]:
    """Probes whose arm is meaning-free (the instruction-reliance figure compares the original with these)."""
    return tuple(p.name for p in registered_probes() if p.meaning_free)


def follow_probes() -> tuple[str, ...]:
    """Probes whose gold follows the changed instruction."""
    return tuple(p.name for p in registered_probes() if p.follows)


def rank_skip_reason(task: Task) -> str | None:
    """Why rank classification (and the prior, and random) cannot apply to ``task``; None if it can."""
    if task.output_space is None:
        return "no output space (labels neither declared nor detected; a --label-file can declare them)"
    if len(task.output_space.labels) < 2:
        return f"the output space has only one label ({task.output_space.labels[0]!r})"
    return None
