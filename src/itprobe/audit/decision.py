"""The audit's first screen: what the evidence supports for a proof of concept, in plain words, each line
with the number behind it and never stronger than its interval (docs/audit.md, "The decision screen").

`decide` is a pure function of audit.json's ``data`` (so a saved audit gives the same screen); the two
findings that need the scored rows are added to ``data`` first by `constant_answers` and
`calibration_gain`. One recommendation, the first that applies:

1. **the model does not use the input**: it gives one answer per task on every task (`constant_answers`);
   **do not deploy on this evidence**: it does not beat the expected score of a uniform guess (the guessing
   gate: CI above 0 and p < 0.05); **the model does not use the input**: the margin over the strongest
   fair input-blind control (random's expectation, first-demo-label, demo-majority, copy-demo: the
   registry's non-oracle controls, never the majority oracle) has its whole CI at or below 0;
2. **fix the output format**: fewer than `FORMAT_OK` of the original answers are labels (generation);
3. **the model does not use the instruction**: instruction reliance has its whole CI at or below 0;
4. **collect more data**: the margin over the best control is not distinguishable from 0, or the exact
   match interval is wider than ±`TARGET_HALF_WIDTH`; with the instances needed for ±5 points (the
   half-width shrinks as 1/√n);
5. **deploy for the PoC**: the margin over the best control is above 0 and the format holds.

Then the "so what" findings: exact match and the margin, constant answers, the calibration gain, the cost
against the controls, format-only effects of the probes, the format spread, and modes that were skipped.
"random" is always the expectation of a uniform guess; a seeded draw is called "a seeded random draw".
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from itprobe.audit.catalogue import follow_probes
from itprobe.audit.sections import MODE_LABEL
from itprobe.metrics import gold_label, normalize_answer
from itprobe.records import InstanceResult
from itprobe.report import GUESS, align, jsonable, paired_test

FORMAT_OK = 0.9  # share of answers in the label set below which the format is the first thing to fix
TARGET_HALF_WIDTH = 0.05  # ±5 points: the precision "collect more data" aims at
CONSTANT_SHARE = 0.9  # one answer on at least this share of a task's items is called constant
MIN_ITEMS = 4
MAX_LINES = 11  # with the title, the gate's and the decoding protocol's lines: within 15 lines


def _pts(e: Mapping[str, Any]) -> str:
    return f"{100 * e['mean']:+.1f} [{100 * e['low']:+.1f}, {100 * e['high']:+.1f}] points"


def _pct(e: Mapping[str, Any]) -> str:
    return f"{100 * e['mean']:.1f}% [{100 * e['low']:.1f}, {100 * e['high']:.1f}]"


def constant_answers(rows: Sequence[InstanceResult], min_items: int = MIN_ITEMS) -> dict[str, dict[str, Any]]:
    """Per task, the original answer given on at least `CONSTANT_SHARE` of its items (rows of one mode)."""
    out: dict[str, dict[str, Any]] = {}
    for task in sorted({r.task for r in rows if r.condition == "original"}):
        mine = [r for r in rows if r.condition == "original" and r.task == task]
        answers = Counter(normalize_answer(r.prediction) for r in mine)
        answer, count = answers.most_common(1)[0]
        if len(mine) >= min_items and count >= CONSTANT_SHARE * len(mine):
            raw = next(r.prediction for r in mine if normalize_answer(r.prediction) == answer)
            gold = sum(normalize_answer(gold_label(r.references, r.labels)) == answer for r in mine)
            out[task] = {"answer": raw.strip(), "count": count, "n": len(mine), "gold_count": gold}
    return out


def calibration_gain(rows: Sequence[InstanceResult], *, n_boot: int, seed: int) -> dict[str, Any] | None:
    """Calibrated − original rank accuracy, paired (None without calibrated rows)."""
    aligned = align(rows, ["original", "calibrated"])
    if aligned.n == 0:
        return None
    s = aligned.scores
    test = paired_test(s["calibrated"], s["original"], n_boot=n_boot, seed=seed, cluster=aligned.resampling())
    return jsonable(test)


def _gate_failure(gate: Mapping[str, Any] | None) -> tuple[str, Mapping[str, Any]] | None:
    """(the control, its test) when the beats-guessing gate (`report.analysis.control_gate`, as JSON) fails:
    the strongest fair input-blind control original does not beat; None when it passes or was not run."""
    if gate is None:
        return None
    tests = {name: t for name, t in gate.get("tests", [])}
    alpha = gate.get("alpha", 0.05)
    if all(t["diff"]["low"] > 0 and t["p_value"] < alpha for t in tests.values()):
        return None
    return gate["control"], tests[gate["control"]]


def _recommendation(mode: str, part: Mapping[str, Any]) -> str:
    label = MODE_LABEL.get(mode, mode)
    fig = part.get("headline", {}).get("overall", {})
    em, margin = fig.get("exact_match"), fig.get("margin_over_best_control")
    fmt, rel = fig.get("format_compliance"), fig.get("instruction_reliance")
    constant, tasks = (
        part.get("constant_answers", {}),
        [t for t in part.get("headline", {}) if t != "overall"],
    )
    if tasks and len(constant) == len(tasks):  # an observation, not an estimate: every task, every item
        return (
            f"Do not deploy: the model does not use the input. It gives one answer per task whatever the input "
            f"({len(tasks)} of {len(tasks)} tasks, {label})."
        )
    failed = _gate_failure(part.get("gate_vs_guessing"))
    if failed is not None:
        name, t = failed
        what, short = (
            ("the expected score of a uniform guess over the label set", "guessing")
            if name == GUESS
            else (f"the input-blind control {name}", name)
        )
        return (
            f"Do not deploy on this evidence: the model does not beat {what} (original − {short} = "
            f"{_pts(t['diff'])}, p = {t['p_value']:.2g}, n={t['n']}, {label}); what it relies on is not assessable."
        )
    if margin is not None and margin["high"] <= 0:
        return (
            f"Do not deploy: the model does not use the input. It does not beat the best answer that ignores "
            f"the input ({margin['control']}): margin {_pts(margin)} ({label})."
        )
    if fmt is not None and fmt["mean"] < FORMAT_OK:
        return (
            f"Fix the output format first: only {_pct(fmt)} of the original answers are labels ({label}); "
            "constrain the answers (rank mode, a stricter prompt, or post-processing) before judging the model."
        )
    if rel is not None and rel["high"] <= 0:
        return (
            f"The model does not use the instruction: without the task's own definition it scores as well "
            f"(reliance {_pts(rel)}, {label}); its answers come from the examples and the format."
        )
    if em is not None and (
        margin is None or margin["low"] <= 0 or (em["high"] - em["low"]) / 2 > TARGET_HALF_WIDTH
    ):
        half = (em["high"] - em["low"]) / 2
        need = math.ceil(em["n"] * (half / TARGET_HALF_WIDTH) ** 2) if half > TARGET_HALF_WIDTH else em["n"]
        unclear = margin is not None and margin["low"] <= 0
        why = (
            f"the margin over the best input-blind answer ({margin['control']}) is {_pts(margin)}, not "
            "distinguishable from 0"
            if unclear and margin is not None
            else f"exact match is {_pct(em)}, ±{100 * half:.0f} points"
        )
        return (
            f"Collect more data before deciding: {why} ({label}, n={em['n']}); about {need} instances "
            f"would give ±{100 * TARGET_HALF_WIDTH:.0f} points."
        )
    if margin is not None:
        return (
            f"The evidence supports deploying for the PoC ({label}): it beats the best answer that ignores the "
            f"input ({margin['control']}) by {_pts(margin)}, with {_pct(em)} exact match."
            if em is not None
            else f"The evidence supports deploying for the PoC ({label})."
        )
    return f"No recommendation: no task has a label set, so no input-blind control can be compared ({label})."


def _format_only(mode: str, comparisons: Sequence[Mapping[str, Any]]) -> list[tuple[float, str]]:
    out = []
    for c in comparisons:
        if c["arm"] in follow_probes():  # they change the gold: a drop means "does not follow", not "format"
            continue
        split = c.get("split")
        if not split or not split.get("has_format"):
            continue
        f, m = split["format"], split["meaning"]
        claimed = f["p_adjusted"] < 0.05 and (f["estimate"]["low"] > 0 or f["estimate"]["high"] < 0)
        meaning = m["p_adjusted"] < 0.05 and (m["estimate"]["low"] > 0 or m["estimate"]["high"] < 0)
        if claimed and not meaning:
            d = c["test"]["diff"]
            text = (
                f"{c['arm']} ({MODE_LABEL.get(mode, mode)}): original − {c['arm']} = {_pts(d)}, of which "
                f"{_pts(f['estimate'])} is format (answers leaving the label set); no change in meaning detected."
            )
            out.append((abs(d["mean"]), text))
    return out


def decide(data: Mapping[str, Any], skipped: Sequence[Mapping[str, str]] = ()) -> list[str]:
    """The first screen's lines (at most `MAX_LINES`), from audit.json's ``data`` (see the module doc)."""
    modes: Mapping[str, Any] = data.get("modes", {})
    if not modes:
        return ["No recommendation: no mode has results under the original instruction."]
    main = "generate" if "generate" in modes else next(iter(modes))
    overall = modes[main].get("headline", {}).get("overall", {})
    lines = [_recommendation(main, modes[main])]
    rel = overall.get("instruction_reliance")
    if rel is not None and not modes[main].get("verdict", {}).get("assessable", True):
        lines.append(
            f"{MODE_LABEL.get(main, main)}: instruction reliance {_pts(rel)}: not assessable, since the model "
            "does not beat guessing."
        )
    elif rel is not None:
        said = (
            "the definition matters; 'What the statistics say' tells whether for the format or the labels"
            if rel["low"] > 0
            else "not distinguishable from 0 at this size"
        )
        if rel["high"] <= 0:
            said = "the definition adds nothing the format does not"
        lines.append(
            f"{MODE_LABEL.get(main, main)}: instruction reliance {_pts(rel)} against the best arm without the "
            f"task's definition ({said})."
        )
    extra: list[tuple[float, str]] = []
    for mode, part in modes.items():
        label = MODE_LABEL.get(mode, mode)
        fig = part.get("headline", {}).get("overall", {})
        em, margin = fig.get("exact_match"), fig.get("margin_over_best_control")
        if em is not None:
            text = f"{label}: exact match {_pct(em)}, n={em['n']}"
            if margin is not None:
                text += f"; over the best input-blind answer ({margin['control']}): {_pts(margin)}"
            lines.append(text + ".")
        for task, c in part.get("constant_answers", {}).items():
            lines.append(
                f"{label}: task {task} answers {c['answer']!r} on {c['count']} of {c['n']} items (the gold is "
                f"{c['answer']!r} on {c['gold_count']}): a constant answer, whatever the input."
            )
        cost = part.get("costs", {}).get("expected_cost", {})
        if "original" in cost:
            others = [
                f"{cost[k]['mean']:.3g} for {name}"
                for k, name in (("majority", "the majority answer"), ("random draw", "a seeded random draw"))
                if k in cost
            ]
            lines.append(
                f"{label}: errors cost {cost['original']['mean']:.3g} [{cost['original']['low']:.3g}, "
                f"{cost['original']['high']:.3g}] per decision"
                + (f", against {' and '.join(others)}." if others else ".")
            )
        extra += _format_only(mode, part.get("comparisons", {}).get("exact_match", []))
    gain = modes.get("rank", {}).get("calibration_gain")
    if gain is not None and (gain["diff"]["low"] > 0 or gain["diff"]["high"] < 0):
        verb = "lifts" if gain["diff"]["low"] > 0 else "lowers"
        lines.append(
            f"rank classification: calibration (Zhao et al. 2021) {verb} accuracy from {100 * gain['mean_b']:.1f}% "
            f"to {100 * gain['mean_a']:.1f}% ({_pts(gain['diff'])}, p = {gain['p_value']:.2g})."
        )
    spread = data.get("format_spread", {}).get("modes", {})
    for mode, s in spread.items():
        w = s["width"]
        lines.append(
            f"{MODE_LABEL.get(mode, mode)}: harmless format changes move exact match from {100 * s['low']:.1f}% "
            f"to {100 * s['high']:.1f}% (spread {100 * w['mean']:.1f} [{100 * w['low']:.1f}, {100 * w['high']:.1f}] points)."
        )
    lines += [text for _, text in sorted(extra, reverse=True)[:2]]
    for s in skipped:
        if not s.get("task") and s.get("probe") == "rank classification":
            lines.append(f"rank classification was skipped: {s['reason']}.")
    return lines[:MAX_LINES]
