"""Which conditions an audit runs, on which tasks and in which mode, and which probes are skipped and why.

A *probe* is a named condition. Arm probes are a test-time `ArmSpec` applied to every task (`ARM_PROBES`);
three more are computed differently: ``prior`` (the content-free label prior, rank mode), ``baselines``
(random and majority, no model) and ``contrast`` (contrast consistency of the other probes' answers).

`plan_audit` turns (tasks, probes, modes) into `Pass`es, one per (probe, mode), each holding the
transformed tasks it applies to, plus a `Skipped` entry for every (probe, task) that cannot run.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from itprobe.arms import ArmSpec, apply_arms
from itprobe.audit import format_spread
from itprobe.errors import ItprobeWarning, UserError
from itprobe.records import MODES, Mode
from itprobe.report.model import Skipped
from itprobe.tasks.types import Task

# probe name → the ArmSpec fields it changes (everything else stays "original"/"gold")
ARM_PROBES: dict[str, dict[str, str]] = {
    "original": {},
    "simplified": {"definition": "simplified"},
    "empty": {"definition": "empty"},
    "irrelevant": {"definition": "irrelevant"},
    "negated": {"definition": "negated"},
    "delusive": {"examples": "delusive"},
    "no-examples": {"examples": "none"},
    "label-rename": {"label": "label-rename"},
    "label-swap": {"label": "label-swap"},
}
OTHER_PROBES: tuple[str, ...] = ("prior", "baselines", "contrast")
PROBES: tuple[str, ...] = (*ARM_PROBES, *OTHER_PROBES)  # "all"
# probes that run only when named (--probes all,format-spread): each multiplies the audit's passes
OPT_IN_PROBES: tuple[str, ...] = (format_spread.NAME,)
KNOWN_PROBES: tuple[str, ...] = (*PROBES, *OPT_IN_PROBES)
LABEL_PROBES: tuple[str, ...] = ("label-rename", "label-swap")
PRIOR = "prior"
RANK_ALL = "rank classification"


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
    unknown = sorted(set(names) - set(KNOWN_PROBES))
    if unknown:
        raise UserError(f"--probes: unknown probe(s) {', '.join(unknown)}; known: {', '.join(KNOWN_PROBES)}")
    return names


def parse_probes(text: str | None) -> tuple[str, ...]:
    """``"original,simplified,prior"`` → probe names in catalogue order; None or "all" = every probe but the
    opt-in ones (`OPT_IN_PROBES`), which run when named (``all,format-spread``).

    ``original`` is always included: every other probe is compared with it.
    """
    if text is None or text.strip() == "all":
        return PROBES
    names = _split(text)
    wanted = set(check_probes([n for n in names if n != "all"]))
    wanted |= set(PROBES) if "all" in names else set()
    wanted.add("original")
    return tuple(p for p in KNOWN_PROBES if p in wanted)


def rank_skip_reason(task: Task) -> str | None:
    """Why rank classification (and the prior, and random) cannot apply to ``task``; None if it can."""
    if task.output_space is None:
        return "no output space (labels neither declared nor detected; a --label-file can declare them)"
    if len(task.output_space.labels) < 2:
        return f"the output space has only one label ({task.output_space.labels[0]!r})"
    return None


def spec_of(probe: str, seed: int) -> ArmSpec:
    return ArmSpec(seed=seed, **ARM_PROBES[probe])  # type: ignore[arg-type]


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


def _content_free(tasks: Sequence[Task], seed: int) -> list[Task]:
    # every content-free prompt of a task is identical (same instruction, input "N/A"): score one
    spec = ArmSpec(input="content-free", seed=seed)
    out = []
    for task in tasks:
        result = apply_arms(task, spec)
        assert result.task is not None  # the content-free arm applies to every task
        out.append(dataclasses.replace(result.task, instances=result.task.instances[:1]))
    return out


def plan_audit(
    tasks: Sequence[Task],
    probes: Sequence[str],
    modes: Sequence[Mode],
    *,
    pool: Sequence[Task] = (),
    seed: int = 0,
    format_templates: int = format_spread.DEFAULT_K,
) -> Plan:
    """The passes of an audit (see the module doc). ``pool`` feeds the ``irrelevant`` arm;
    ``format_templates`` is the K of the ``format-spread`` probe.

    Rank passes hold only the tasks with an output space of two or more labels; the others are listed
    once as skipped for rank classification. Arm skips are listed once per probe (not per mode).
    """
    rankable = [t for t in tasks if rank_skip_reason(t) is None]
    unrankable = [t for t in tasks if rank_skip_reason(t) is not None]
    skipped = [Skipped(probe=RANK_ALL, task=t.name, reason=rank_skip_reason(t) or "") for t in unrankable]
    skipped = skipped if "rank" in modes else []
    passes: list[Pass] = []
    notes: list[tuple[str, str, str]] = []
    for probe in (p for p in probes if p in ARM_PROBES):
        kept, skips, arm_notes = _arm_tasks(probe, tasks, pool or tasks, seed)
        skipped += skips
        notes += arm_notes
        for mode in modes:
            mode_tasks = [t for t in kept if t.is_classification] if mode == "rank" else kept
            if mode_tasks:
                passes.append(Pass(probe, mode, tuple(mode_tasks)))
    if PRIOR in probes:
        if "rank" not in modes:
            skipped.append(Skipped(probe=PRIOR, reason="the label prior needs rank mode (--modes rank)"))
        elif rankable:
            passes.append(Pass(PRIOR, "rank", tuple(_content_free(rankable, seed))))
        skipped += [Skipped(probe=PRIOR, task=t.name, reason=rank_skip_reason(t) or "") for t in unrankable]
    if "baselines" in probes:
        skipped += [
            Skipped(probe="random baseline", task=t.name, reason=rank_skip_reason(t) or "")
            for t in unrankable
        ]
    if "contrast" in probes and not any(t.contrast is not None for t in tasks):
        skipped.append(Skipped(probe="contrast", reason="no task declares a contrast pair"))
    extra: dict[str, Any] = {}
    if format_spread.NAME in probes:
        spread = format_spread.spread_passes(probes, format_templates, seed)
        by_arm = {(p.probe, p.mode): p.tasks for p in passes}
        passes += [
            Pass(sp.probe, mode, by_arm[(sp.arm, mode)])
            for sp in spread
            for mode in modes
            if (sp.arm, mode) in by_arm
        ]
        extra[format_spread.NAME] = {
            "templates": format_spread.templates(format_templates, seed),
            "passes": {sp.probe: sp for sp in spread},
        }
    return Plan(tuple(passes), tuple(skipped), tuple(notes), tuple(probes), tuple(modes), extra)


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
