"""Format or meaning: the split of a paired difference on constructed predictions, and the verdict words.

Three constructed cases on the same 40 instances (2 labels, original always right):
(a) all format: without the definition half the answers leave the label set, the rest stay right;
(b) all meaning: every answer stays a label, half of them wrong;
(c) both: 12 answers leave the label set, 12 are wrong labels, 16 stay right.
"""

from __future__ import annotations

import pytest

from itprobe.report import InstanceResult, compare_arms, control_gate, make_verdict
from itprobe.report.decompose import instance_parts, split_difference

LABELS = ("yes", "no")
N = 40


def row(
    cond: str, i: int, pred: str, *, seed: int = 0, mode: str = "generate", task: str = ""
) -> InstanceResult:
    gold = LABELS[i % 2]
    em = float(pred == gold)
    return InstanceResult(
        condition=cond,
        task=task or f"t{i % 4}",
        id=str(i),
        exact_match=em,
        rougeL=em,
        prediction=pred,
        references=(gold,),
        labels=LABELS,
        in_space_strict=pred in LABELS,
        in_space_loose=pred in LABELS,
        seed=seed,
        mode=mode,
    )


def wrong(i: int) -> str:
    return LABELS[1 - i % 2]


def right(i: int) -> str:
    return LABELS[i % 2]


def case(kind: str) -> list[InstanceResult]:
    rows = [row("original", i, right(i)) for i in range(N)]
    for i in range(N):
        if kind == "format":
            pred = "I think so" if i < 20 else right(i)
        elif kind == "meaning":
            pred = wrong(i) if i < 20 else right(i)
        else:
            pred = "I think so" if i < 12 else wrong(i) if i < 24 else right(i)
        rows.append(row("simplified", i, pred))
    return rows


@pytest.mark.parametrize(
    ("kind", "fmt", "meaning"), [("format", 0.5, 0.0), ("meaning", 0.0, 0.5), ("both", 0.3, 0.3)]
)
def test_split_numbers(kind: str, fmt: float, meaning: float) -> None:
    split = split_difference(case(kind), "original", "simplified", n_boot=500)
    assert split is not None and split.n == N and split.has_format == (kind != "meaning")
    assert split.format.estimate.mean == pytest.approx(fmt)
    assert split.meaning.estimate.mean == pytest.approx(meaning)
    assert split.total.mean == pytest.approx(fmt + meaning)
    for part, value in ((split.format, fmt), (split.meaning, meaning)):
        assert part.claimed() == (value > 0)
        assert part.estimate.low <= part.estimate.mean <= part.estimate.high


def verdict_lines(kind: str) -> list[str]:
    (c,) = compare_arms(case(kind), "original", ["simplified"], n_boot=500)
    return list(make_verdict([c]).lines)


def test_all_format_never_says_meaning() -> None:
    (line,) = verdict_lines("format")
    assert line.startswith("simplified: removing the definition beyond its output space costs 50.0 points")
    assert "+50.0 [" in line and "from answers leaving the label set (format)" in line
    assert "+0.0 [+0.0, +0.0] from wrong labels" in line
    assert "relies on the instruction for the output format" in line
    assert "meaning" not in line.lower()


def test_all_meaning_names_the_meaning() -> None:
    (line,) = verdict_lines("meaning")
    assert "Split: no format part (every answer is in the label set under both)." in line
    assert "costs 50.0 points" in line
    assert "the model relies on the instruction's meaning to pick the label" in line.lower()
    assert "for the output format" not in line


def test_both_parts_are_named() -> None:
    (line,) = verdict_lines("both")
    assert "costs 60.0 points" in line
    assert "+30.0 [" in line and "(format)" in line and "wrong labels" in line
    assert (
        "The model relies on the instruction for the output format and on the instruction's meaning to pick "
        "the label." in line
    )


def test_rank_mode_has_no_format_part_by_construction() -> None:
    rows = [row("original", i, right(i), mode="rank") for i in range(N)]
    rows += [row("simplified", i, wrong(i) if i < 20 else right(i), mode="rank") for i in range(N)]
    split = split_difference(rows, "original", "simplified", n_boot=300)
    assert split is not None and not split.has_format and split.mode == "rank"
    assert split.format.estimate.mean == 0 and split.format.estimate.high == 0
    (c,) = compare_arms(rows, "original", ["simplified"], n_boot=300)
    assert "Split: none in rank classification (no format part by construction" in make_verdict([c]).headline


def test_seed_averaged_split_is_the_mean_over_seed_pairs() -> None:
    # original: seed 0 right, seed 1 out of space; simplified: seed 0 wrong label, seed 1 right
    rows = [row("original", 0, "yes"), row("original", 0, "dunno", seed=1)]
    rows += [row("simplified", 0, "no"), row("simplified", 0, "yes", seed=1)]
    parts = instance_parts(rows, "original", "simplified")
    # seed pairs (o, s): (right, wrong) meaning +1; (right, right) 0; (out, wrong) 0; (out, right) format -1
    assert parts.meaning[0] == pytest.approx(0.25) and parts.format[0] == pytest.approx(-0.25)
    assert parts.difference[0] == pytest.approx(0.0)


def test_rows_without_a_label_set_are_not_split() -> None:
    rows = case("format") + [
        InstanceResult(c, "free", "f1", 1.0 if c == "original" else 0.0, 0.0, mode="generate")
        for c in ("original", "simplified")
    ]
    split = split_difference(rows, "original", "simplified", n_boot=200)
    assert split is not None and split.n == N


def test_gate_when_original_does_not_beat_guessing() -> None:
    # original right on half the instances of a 2-label task: exactly the guessing rate
    rows = [row("original", i, right(i) if i < 20 else wrong(i)) for i in range(N)]
    rows += [
        row("simplified", i, "I think so" if i < 10 else right(i) if i < 20 else wrong(i)) for i in range(N)
    ]
    gate = control_gate(rows, "original", (), n_boot=300)
    assert gate is not None and gate.test.mean_b == pytest.approx(0.5)
    comparisons = compare_arms(rows, "original", ["simplified"], n_boot=300)
    verdict = make_verdict(comparisons, gate=gate)
    assert not verdict.assessable
    assert verdict.headline.startswith("original does not solve these tasks beyond input-blind guessing")
    assert verdict.lines[1].startswith("Not assessable (original does not beat guessing): simplified:")


def test_audit_headline_names_the_format_part_never_the_meaning() -> None:
    # issue 18: the audit's first generation line for a drop that is all format
    from itprobe.audit.reliance import reliance_by_task
    from itprobe.audit.wording import reliance_sentence

    rows = case("format")
    _, rel = reliance_by_task(rows, "generate", n_boot=300)
    (c,) = compare_arms(rows, "original", ["simplified"], n_boot=300)
    line = reliance_sentence(rel, "generate", c.split)
    assert line.startswith(
        "generation: the original instruction beats the best arm without the task's own definition (simplified) "
        "by +50.0 EM points"
    )
    assert "from answers leaving the label set (format)" in line
    assert "relies on the instruction for the output format" in line
    assert "meaning" not in line
    blocked = reliance_sentence(rel, "generate", c.split, assessable=False)
    assert blocked.startswith("Not assessable (original does not beat guessing): generation:")
