"""The decision screen: one recommendation from the headline figures (each rule on crafted audit data),
the "so what" findings, the one definition of "random", and a first screen of at most 15 lines on a real
(fake-model) audit."""

from __future__ import annotations

import pytest
from audit_fakes import FakeModel, write_user_jsonl

from itprobe.audit import AuditConfig, parse_probes, run_audit
from itprobe.audit.decision import decide


def _est(mean: float, low: float, high: float, n: int = 48, **extra) -> dict:  # noqa: ANN003
    return {"mean": mean, "low": low, "high": high, "n": n, **extra}


def _data(**overall) -> dict:  # noqa: ANN003
    return {"modes": {"generate": {"headline": {"overall": overall}}}}


EM = _est(0.8, 0.77, 0.83)
MARGIN = _est(0.2, 0.1, 0.3, control="first-demo-label")


@pytest.mark.parametrize(
    ("overall", "start"),
    [
        (
            {
                "exact_match": EM,
                "margin_over_best_control": _est(-0.1, -0.2, 0.0, control="first-demo-label"),
            },
            "Do not deploy: the model does not use the input",
        ),
        (
            {"exact_match": EM, "margin_over_best_control": MARGIN, "format_compliance": _est(0.7, 0.6, 0.8)},
            "Fix the output format first: only 70.0%",
        ),
        (
            {
                "exact_match": EM,
                "margin_over_best_control": MARGIN,
                "instruction_reliance": _est(-0.1, -0.2, -0.01),
            },
            "The model does not use the instruction",
        ),
        (
            {"exact_match": _est(0.6, 0.45, 0.75, n=48), "margin_over_best_control": MARGIN},
            "Collect more data before deciding: exact match is 60.0% [45.0, 75.0], ±15 points (generation, n=48); about 432 instances",
        ),
        (
            {
                "exact_match": EM,
                "margin_over_best_control": _est(0.02, -0.01, 0.05, control="random (expected)"),
            },
            "Collect more data before deciding: the margin over the best input-blind answer (random (expected))",
        ),
        (
            {
                "exact_match": EM,
                "margin_over_best_control": MARGIN,
                "format_compliance": _est(0.99, 0.97, 1.0),
            },
            "The evidence supports deploying for the PoC (generation): it beats the best answer that ignores the input (first-demo-label) by +20.0 [+10.0, +30.0] points",
        ),
    ],
)
def test_one_recommendation_the_first_that_applies(overall: dict, start: str) -> None:
    assert decide(_data(**overall))[0].startswith(start)


def test_not_beating_guessing_comes_before_any_claim_about_reliance() -> None:
    data = _data(exact_match=EM, margin_over_best_control=MARGIN, instruction_reliance=_est(0.0, 0.0, 0.0))
    gen = data["modes"]["generate"]
    guess = {"diff": _est(-0.014, -0.146, 0.118), "p_value": 0.88, "n": 48}
    control = {"diff": _est(0.1, 0.05, 0.15), "p_value": 0.01, "n": 48}
    gen["gate_vs_guessing"] = {
        "reference": "original",
        "control": "random",
        "tests": [["random", guess], ["first-demo-label", control]],
        "alpha": 0.05,
    }
    gen["verdict"] = {"assessable": False}
    lines = decide(data)
    assert lines[0] == (
        "Do not deploy on this evidence: the model does not beat the expected score of a uniform guess over the "
        "label set (original − guessing = -1.4 [-14.6, +11.8] points, p = 0.88, n=48, generation); what it "
        "relies on is not assessable."
    )
    assert lines[1] == (
        "generation: instruction reliance +0.0 [+0.0, +0.0] points: not assessable, since the model does not "
        "beat guessing."
    )


def test_constant_answers_on_every_task_mean_the_input_is_not_used() -> None:
    data = _data(exact_match=EM, margin_over_best_control=MARGIN)
    gen = data["modes"]["generate"]
    gen["headline"]["t1"] = gen["headline"]["t2"] = {}
    gen["constant_answers"] = {"t1": {"answer": "OK", "count": 8, "n": 8, "gold_count": 3}}
    assert not decide(data)[0].startswith("Do not deploy")
    gen["constant_answers"]["t2"] = {"answer": "no", "count": 8, "n": 8, "gold_count": 5}
    assert decide(data)[0] == (
        "Do not deploy: the model does not use the input. It gives one answer per task whatever the input "
        "(2 of 2 tasks, generation)."
    )


def test_findings_constant_answers_calibration_cost_and_format_only() -> None:
    data = _data(exact_match=EM, margin_over_best_control=MARGIN)
    gen = data["modes"]["generate"]
    gen["constant_answers"] = {"tolerance": {"answer": "OK.", "count": 16, "n": 16, "gold_count": 7}}
    gen["costs"] = {"expected_cost": {"original": _est(8.71, 6.0, 11.0), "random draw": _est(2.63, 2, 3)}}
    split = {
        "has_format": True,
        "format": {"estimate": _est(0.25, 0.15, 0.35), "p_adjusted": 0.001},
        "meaning": {"estimate": _est(0.0, -0.05, 0.05), "p_adjusted": 1.0},
    }
    gen["comparisons"] = {
        "exact_match": [
            {"arm": "no-examples", "test": {"diff": _est(0.25, 0.15, 0.35)}, "split": split},
            {"arm": "label-swap", "test": {"diff": _est(0.5, 0.4, 0.6)}, "split": split},
        ]
    }
    data["modes"]["rank"] = {
        "headline": {},
        "calibration_gain": {
            "mean_a": 0.646,
            "mean_b": 0.458,
            "diff": _est(0.188, 0.08, 0.29),
            "p_value": 0.003,
        },
    }
    lines = decide(data)
    assert (
        "generation: task tolerance answers 'OK.' on 16 of 16 items (the gold is 'OK.' on 7): a constant answer, whatever the input."
        in lines
    )
    assert (
        "generation: errors cost 8.71 [6, 11] per decision, against 2.63 for a seeded random draw." in lines
    )
    assert any(
        line.startswith(
            "rank classification: calibration (Zhao et al. 2021) lifts accuracy from 45.8% to 64.6%"
        )
        for line in lines
    )
    fmt = [line for line in lines if "is format (answers leaving the label set)" in line]
    assert len(fmt) == 1 and fmt[0].startswith(
        "no-examples (generation)"
    )  # label-swap changes the gold: not a format finding
    assert not any(
        " random " in f" {line} ".replace("random draw", "") and "expected" not in line for line in lines
    )


@pytest.fixture(scope="module")
def report_md(tmp_path_factory: pytest.TempPathFactory) -> str:
    tmp = tmp_path_factory.mktemp("decision")
    config = AuditConfig(
        tasks_path=write_user_jsonl(tmp / "tasks.jsonl"), n_boot=200, probes=parse_probes("all")
    )
    run_audit(config, tmp / "out", model=FakeModel(), progress=False)
    return (tmp / "out" / "audit.md").read_text()


def test_first_screen_fits_and_random_has_one_meaning(report_md: str) -> None:
    first = report_md.split("\n## ", 1)[0].rstrip("\n").splitlines()
    assert len(first) <= 15 and first[2].startswith(
        "- The evidence supports deploying for the PoC (generation)"
    )
    # the seeded baseline is "random draw" everywhere; a bare "random" row never appears in a table
    assert "| random draw |" in report_md and "| random |" not in report_md
    assert "'random' is always the expected exact match of a uniform guess" in report_md
    # the per-mode sentences are one table, and each explanatory paragraph appears once
    assert "## What the statistics say, per mode" in report_md
    assert (
        report_md.count("Format part: points won or lost on instances where one side answered outside") == 1
    )
