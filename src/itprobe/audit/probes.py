"""Which conditions an audit runs, on which tasks and in which mode, and which probes are skipped and why.

A *probe* is a named condition, declared once in the catalogue (`itprobe.audit.catalogue`). Arm probes
are an arm applied alone at test time to every task (declared on the arm with ``probe=``); the others
(``prior``, ``baselines``, ``contrast``: `itprobe.audit.builtin`) add their own passes and skips through
their ``plan`` hook.

`plan_audit` turns (tasks, probes, modes) into `Pass`es, one per (probe, mode), each holding the
transformed tasks it applies to, plus a `Skipped` entry for every (probe, task) that cannot run.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from itprobe.arms import ArmSpec, apply_arms
from itprobe.audit.builtin import PRIOR
from itprobe.audit.catalogue import (
    Pass,
    ProbeContext,
    default_probes,
    probe_names,
    rank_skip_reason,
    registered_probes,
)
from itprobe.errors import ItprobeWarning, UserError
from itprobe.records import MODES, Mode
from itprobe.report import Skipped
from itprobe.tasks.types import Task

RANK_ALL = "rank classification"

__all__ = ["PRIOR", "RANK_ALL", "Pass", "Plan", "rank_skip_reason"]


@dataclass(frozen=True)
class Plan:
    """Every pass, every skipped (probe, task) with the reason, and what the arms said they did."""

    passes: tuple[Pass, ...]
    skipped: tuple[Skipped, ...] = ()
    arm_notes: tuple[tuple[str, str, str], ...] = ()  # (probe, task, note)
    probes: tuple[str, ...] = ()
    modes: tuple[Mode, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def parse_modes(text: str) -> tuple[Mode, ...]:
    """``"rank,generate"`` → ("rank", "generate"); unknown or no mode is a `UserError`."""
    modes = list(dict.fromkeys(_split(text)))
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise UserError(
            f"--modes: unknown mode(s) {', '.join(unknown) or '(none given)'}; known: rank, generate"
        )
    return tuple(modes)  # type: ignore[arg-type]


def check_probes(names: Sequence[str]) -> Sequence[str]:
    """``names`` if every one is a probe; a `UserError` listing the known ones otherwise."""
    known = probe_names()
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise UserError(f"--probes: unknown probe(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return names


def parse_probes(text: str | None) -> tuple[str, ...]:
    """``"original,simplified,prior"`` → probe names in catalogue order; None or "all" = every probe but the
    opt-in ones (declared ``opt_in=True``, e.g. ``format-spread``), which run when named
    (``all,format-spread``).

    ``original`` is always included: every other probe is compared with it.
    """
    if text is None or text.strip() == "all":
        return default_probes()
    names = _split(text)
    wanted = set(check_probes([n for n in names if n != "all"]))
    wanted |= set(default_probes()) if "all" in names else set()
    wanted.add("original")
    return tuple(p for p in probe_names() if p in wanted)


def spec_of(probe: str, seed: int) -> ArmSpec:
    """The test-time `ArmSpec` of an arm probe: its arm, every other kind original."""
    arm = next(p.arm for p in registered_probes() if p.name == probe and p.arm is not None)
    return ArmSpec(seed=seed, **{arm.kind: arm.name})  # type: ignore[arg-type]


def _arm_tasks(
    probe: str, tasks: Sequence[Task], pool: Sequence[Task], seed: int
) -> tuple[list[Task], list[Skipped], list[tuple[str, str, str]]]:
    """The tasks under one arm probe, the tasks it skips, and the notes of those it applies to."""
    kept, skipped, notes = [], [], []
    for task in tasks:
        if probe == "no-examples" and not task.positive_examples:
            reason = "the task has no positive examples, so no-examples is the original prompt"
            skipped.append(Skipped(probe=probe, task=task.name, reason=reason))
            continue
        result = apply_arms(task, spec_of(probe, seed), pool=pool)
        if result.task is None:
            skipped.append(Skipped(probe=probe, task=task.name, reason="; ".join(result.notes)))
            continue
        kept.append(result.task)
        notes += [(probe, task.name, note) for note in result.notes]
    return kept, skipped, notes


def plan_audit(
    tasks: Sequence[Task],
    probes: Sequence[str],
    modes: Sequence[Mode],
    *,
    pool: Sequence[Task] = (),
    seed: int = 0,
    format_templates: int = 4,  # format_spread.DEFAULT_K, not imported here (numpy)
) -> Plan:
    """The passes of an audit (see the module doc). ``pool`` feeds the ``irrelevant`` arm;
    ``format_templates`` is the K of the ``format-spread`` probe (its hooks read it from the context's
    options, with the arm passes planned before it).

    Rank passes hold only the tasks with an output space of two or more labels; the others are listed
    once as skipped for rank classification. Arm skips are listed once per probe (not per mode).
    """
    unrankable = [t for t in tasks if rank_skip_reason(t) is not None]
    skipped = [Skipped(probe=RANK_ALL, task=t.name, reason=rank_skip_reason(t) or "") for t in unrankable]
    skipped = skipped if "rank" in modes else []
    passes: list[Pass] = []
    notes: list[tuple[str, str, str]] = []
    catalogue = [p for p in registered_probes() if p.name in probes]
    for probe in (p.name for p in catalogue if p.arm is not None):
        kept, skips, arm_notes = _arm_tasks(probe, tasks, pool or tasks, seed)
        skipped += skips
        notes += arm_notes
        for mode in modes:
            mode_tasks = [t for t in kept if t.is_classification] if mode == "rank" else kept
            if mode_tasks:
                passes.append(Pass(probe, mode, tuple(mode_tasks)))
    extra: dict[str, Any] = {}
    options = {"format_templates": format_templates}
    for entry in (p for p in catalogue if p.plan is not None):
        ctx = ProbeContext(
            tuple(tasks), tuple(modes), seed, tuple(probes), passes=tuple(passes), options=options
        )
        added = entry.plan(ctx)  # type: ignore[misc]
        passes += added.passes
        skipped += [Skipped(probe=x.probe, task=x.task, reason=x.reason) for x in added.skipped]
        extra.update(added.extra)
    return Plan(tuple(passes), tuple(skipped), tuple(notes), tuple(probes), tuple(modes), extra)


def plan_of(
    config: Any, tasks: Sequence[Task], pool: Sequence[Task] = (), modes: Sequence[Mode] | None = None
) -> Plan:
    """`plan_audit` with an audit config's probes, modes (unless ``modes`` overrides them), seed and
    format-spread K: what the run, its rank-less fallback and the ``--plan`` estimate plan alike."""
    return plan_audit(
        tasks,
        config.probes,
        config.modes if modes is None else modes,
        pool=pool,
        seed=config.seed,
        format_templates=config.format_templates,
    )


class AuditSkipped(ItprobeWarning):
    """A probe or mode the audit cannot run (the report's "Skipped probes" table has every entry)."""


def warn_skipped(skipped: Sequence[Skipped]) -> None:
    """One warning per (probe, reason), naming the tasks it applies to (all of them when none is named)."""
    groups: dict[tuple[str, str], list[str]] = {}
    for entry in skipped:
        groups.setdefault((entry.probe, entry.reason), []).append(entry.task)
    for (probe, reason), names in groups.items():
        named = [n for n in names if n]
        where = (
            f" on {len(named)} task(s) ({', '.join(named[:3])}{', …' if len(named) > 3 else ''})"
            if named
            else ""
        )
        warnings.warn(f"skipped {probe}{where}: {reason}", AuditSkipped, stacklevel=2)
