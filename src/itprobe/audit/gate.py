"""A release gate: thresholds on an audit's headline figures (or on the differences ``itprobe compare``
measures), checked to PASS/FAIL with the measured value and its CI (docs/audit.md, "Release gate").

A gate file (YAML)::

    rules:
      - metric: exact_match        # see AUDIT_METRICS / COMPARE_METRICS
        task: ticket_priority      # optional: without it, the overall figure
        mode: generate             # optional: generate when the audit has it, else rank
        min: 0.9                   # and/or max:
        bound: point               # optional: point (the estimate) or ci (its bounds); default per metric

``bound: ci`` checks the CI's lower bound against ``min`` and its upper bound against ``max``, strictly (so a
rule holds only when the whole interval is on its side: ``min: 0`` reads "the CI lies above 0"); instruction reliance and the margin over the best control
default to it, the other figures to the point estimate. Every figure is on the 0..1 scale (0.9 = 90%),
costs in the cost file's units. A figure the audit did not measure fails its rule ("not measured").

The file is validated before any model is loaded: unknown keys, metrics, modes or bounds are one
`UserError` line; tasks are checked against the audit's tasks with `check_tasks`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from itprobe.audit.headline import METRICS as AUDIT_METRICS

__all__ = ["AUDIT_METRICS", "COMPARE_METRICS", "Check", "Gate", "GateResult", "Rule", "load_gate"]
from itprobe.errors import UserError
from itprobe.report import Section, Table
from itprobe.schema import choices, describe

# rules on the differences B − A of ``itprobe compare`` (exact match, and its format / meaning parts)
COMPARE_METRICS: tuple[str, ...] = ("exact_match_change", "format_part_change", "meaning_part_change")
CI_BY_DEFAULT = ("instruction_reliance", "margin_over_best_control", "reliance_across_formats")
POINTS = (*CI_BY_DEFAULT, "format_spread")  # differences: shown in points
Context = Literal["audit", "compare"]


class Rule(BaseModel):
    """One rule of a gate file (see the module doc)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    metric: str
    task: str | None = None
    mode: Literal["rank", "generate"] | None = None
    probe: str | None = None  # compare rules: one probe (default: every probe)
    min: float | None = None
    max: float | None = None
    bound: Literal["point", "ci"] | None = None  # (not "on": YAML 1.1 reads the key on as True)
    alpha: float = Field(0.05, gt=0, lt=1)  # compare rules: a change fails only with p (Holm) < alpha

    @model_validator(mode="after")
    def _bounded(self) -> Rule:
        if self.min is None and self.max is None:
            raise ValueError(f"rule on {self.metric!r} has neither min nor max")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"rule on {self.metric!r} has min {self.min} above max {self.max}")
        return self

    @property
    def compared(self) -> Literal["point", "ci"]:
        """What the bounds are checked against: the estimate or its CI bounds."""
        return self.bound or ("ci" if self.metric in CI_BY_DEFAULT else "point")

    def label(self, mode: str | None = None) -> str:
        """``exact_match (ticket_priority, generate)``; ``mode``: the mode the rule was checked in."""
        where = [w for w in (self.probe, self.task or "overall", self.mode or mode) if w]
        return f"{self.metric} ({', '.join(where)})"

    def threshold(self) -> str:
        scale = _scale(self.metric)
        parts = []
        if self.min is not None:
            parts.append(f"≥ {_fmt(self.min, scale)}")
        if self.max is not None:
            parts.append(f"≤ {_fmt(self.max, scale)}")
        if self.compared == "ci":  # strict: the whole interval on the rule's side
            parts = [p.replace("≥", ">").replace("≤", "<") for p in parts]
        what = "CI bound" if self.compared == "ci" else "estimate"
        return " and ".join(parts) + f" ({what})"


class GateFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    rules: list[Rule] = Field(min_length=1)


@dataclass(frozen=True)
class Gate:
    """A validated gate file and where it came from (shown in the report)."""

    rules: tuple[Rule, ...]
    source: str = ""


def _scale(metric: str) -> str:
    if metric == "expected_cost":
        return "cost"
    return "points" if "change" in metric or metric in POINTS else "pct"


def _fmt(value: float, scale: str) -> str:
    if scale == "cost":
        return f"{value:.3g}"
    if scale == "points":
        return f"{100 * value:+.1f} points"
    return f"{100 * value:.1f}%"


def load_gate(path: str | Path, context: Context = "audit") -> Gate:
    """Read and validate a gate file for an audit or a comparison; any problem is one `UserError` line."""
    p = Path(path)
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as err:
        raise UserError(f"cannot read the gate file: {err.strerror}", path=p) from None
    except yaml.YAMLError as err:
        raise UserError(f"not valid YAML: {' '.join(str(err).split())}", path=p) from None
    if not isinstance(raw, dict):
        raise UserError("a gate file is a mapping with 'rules' (a list of rules)", path=p)
    try:
        gate = GateFile.model_validate(raw)
    except ValidationError as err:
        raise UserError(describe(err.errors(), "gate key"), path=p) from None
    known = AUDIT_METRICS if context == "audit" else COMPARE_METRICS
    for i, rule in enumerate(gate.rules):
        if rule.metric not in known:
            other = "an audit" if context == "compare" else "itprobe compare"
            hint = (
                f" ({rule.metric!r} is a metric of {other})"
                if rule.metric in (*AUDIT_METRICS, *COMPARE_METRICS)
                else ""
            )
            raise UserError(
                f"rule {i + 1}: unknown metric {rule.metric!r}{hint}; choose {choices(known)}", path=p
            )
        if rule.probe is not None and context == "audit":
            raise UserError(f"rule {i + 1}: 'probe' applies to itprobe compare rules only", path=p)
    return Gate(tuple(gate.rules), str(p))


def check_tasks(gate: Gate, tasks: Sequence[str], path: str | Path | None = None) -> None:
    """A `UserError` naming the first rule whose task is not among ``tasks``."""
    for i, rule in enumerate(gate.rules):
        if rule.task is not None and rule.task not in tasks:
            raise UserError(
                f"rule {i + 1}: unknown task {rule.task!r}; the audit's tasks: {', '.join(tasks)}", path=path
            )


@dataclass(frozen=True)
class Check:
    """One rule checked: the measured estimate (None: not measured) and whether it holds."""

    rule: Rule
    mean: float | None
    low: float | None
    high: float | None
    passed: bool
    note: str = ""
    mode: str | None = None  # the mode it was checked in

    def measured(self) -> str:
        if self.mean is None:
            return "not measured" + (f" ({self.note})" if self.note else "")
        scale = _scale(self.rule.metric)
        text = _fmt(self.mean, scale)
        if self.low is not None and self.high is not None:
            # the unit once, after the estimate (%), or after the interval (points)
            low, high = (
                _fmt(v, scale).removesuffix("%").removesuffix(" points") for v in (self.low, self.high)
            )
            text = (
                text.removesuffix(" points") + f" [{low}, {high}]" + (" points" if scale == "points" else "")
            )
        return text + (f"; {self.note}" if self.note else "")

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule.model_dump(exclude_none=True),
            "mean": self.mean,
            "low": self.low,
            "high": self.high,
            "passed": self.passed,
            "note": self.note,
            "mode": self.mode,
        }


def holds(rule: Rule, mean: float, low: float, high: float) -> bool:
    """``rule``'s bounds against the point or the CI bounds (see the module doc)."""
    if rule.compared == "ci":  # the whole interval strictly on the rule's side: [0, 0] is not "above 0"
        return (rule.min is None or low > rule.min) and (rule.max is None or high < rule.max)
    return (rule.min is None or mean >= rule.min) and (rule.max is None or mean <= rule.max)


def _default_mode(modes: Mapping[str, Any]) -> str | None:
    return "generate" if "generate" in modes else next(iter(modes), None)


def check_audit(gate: Gate, data: Mapping[str, Any]) -> GateResult:
    """Every rule of ``gate`` on an audit's ``data`` (audit.json's ``data``: ``modes.<mode>.headline``)."""
    modes = data.get("modes", {})
    checks = []
    for rule in gate.rules:
        mode = rule.mode or _default_mode(modes)
        figure = modes.get(mode, {}).get("headline", {}).get(rule.task or "overall", {}).get(rule.metric)
        if figure is None:
            why = f"no {mode} mode in the audit" if mode not in modes else f"not in the {mode} figures"
            checks.append(Check(rule, None, None, None, False, why, mode))
            continue
        note = f"vs {figure['control']}" if "control" in figure else ""
        ok = holds(rule, figure["mean"], figure["low"], figure["high"])
        checks.append(Check(rule, figure["mean"], figure["low"], figure["high"], ok, note, mode))
    return GateResult(tuple(checks), gate.source)


@dataclass(frozen=True)
class GateResult:
    checks: tuple[Check, ...]
    source: str = ""

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else 1

    def headline(self) -> str:
        failed = sum(not c.passed for c in self.checks)
        n = len(self.checks)
        return (
            f"Release gate: PASS (all {n} rules hold)"
            if not failed
            else f"Release gate: FAIL ({failed} of {n} rules fail)"
        )

    def lines(self) -> list[str]:
        """The one screen a manager reads: a line per rule, then the verdict."""
        rows = [
            (c.rule.label(c.mode), c.rule.threshold(), c.measured(), "PASS" if c.passed else "FAIL")
            for c in self.checks
        ]
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        out = [self.headline()]
        out += [f"  {r[3]}  {r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  measured {r[2]}" for r in rows]
        return out

    def section(self) -> Section:
        rows: list[list[Any]] = [
            [c.rule.label(c.mode), c.rule.threshold(), c.measured(), "PASS" if c.passed else "FAIL"]
            for c in self.checks
        ]
        text = (
            f"{self.headline()}" + (f" (gate file: {self.source})" if self.source else "") + ". Figures: "
            "estimate [95% CI]; a rule 'on the CI bound' holds only when the whole interval is strictly on its side."
        )
        return Section(
            title="Release gate",
            paragraphs=[text],
            tables=[Table(columns=["rule", "threshold", "measured [95% CI]", "result"], rows=rows)],
        )

    def to_json(self) -> dict[str, Any]:
        return {"passed": self.passed, "source": self.source, "checks": [c.to_json() for c in self.checks]}
