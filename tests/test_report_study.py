"""The study report end to end on constructed results: files, numbers, verdict, plots, costs, curves."""

from __future__ import annotations

import json

import numpy as np
import pytest

from itprobe.report import CostFile, InstanceResult, Provenance, compare_arms, compliance, condition_estimate
from itprobe.report.curves import gain_per_doubling, learning_curve, smallest_winning_size
from itprobe.study.views import write_study_report

LABELS = ("urgent", "not urgent")
TASKS = [f"task{i}_triage" for i in range(6)]
# probability of a correct answer per condition and size (None = not trained)
P = {
    ("original", 2): 0.55,
    ("original", 8): 0.7,
    ("original", 32): 0.9,
    ("simplified", 2): 0.55,
    ("simplified", 8): 0.6,
    ("simplified", 32): 0.62,
    ("untuned", None): 0.3,
    ("random", None): 0.5,
    ("majority", None): 0.5,
}


def make_results(seeds=(0, 1), n=30, p=P) -> list[InstanceResult]:
    rng = np.random.default_rng(0)
    out = []
    for (cond, size), prob in p.items():
        for seed in seeds if size is not None else (0,):
            for t, task in enumerate(TASKS):
                for i in range(n):
                    gold = LABELS[i % 2]
                    draw = rng.random()
                    if draw < prob:
                        pred = gold
                    elif draw < prob + 0.05 and cond == "untuned":
                        pred = "I cannot tell"
                    else:
                        pred = LABELS[1 - i % 2]
                    em = float(pred == gold)
                    out.append(
                        InstanceResult(
                            condition=cond,
                            task=task,
                            id=str(i),
                            exact_match=em,
                            rougeL=em,
                            prediction=pred,
                            references=(gold,),
                            labels=LABELS,
                            category=f"cat{t % 2}",
                            in_space_strict=pred in LABELS,
                            in_space_loose=pred in LABELS,
                            seed=seed,
                            size=size,
                        )
                    )
    return out


@pytest.fixture(scope="module")
def results() -> list[InstanceResult]:
    return make_results()


def test_condition_estimate_and_compliance(results):
    est = condition_estimate(results, "original", size=32)
    # 6 tasks < MIN_CLUSTERS; two seeds: the two-level bootstrap (issue #25)
    assert est is not None and est.n == 180 and est.method == "instance+seed (two-level)"
    assert 0.8 < est.mean < 1.0 and est.low < est.mean < est.high
    comp = compliance(results, "untuned")
    assert comp.n == 180 and comp.in_space_strict is not None and comp.in_space_strict < 1.0
    assert compliance(results, "original", size=32).in_space_strict == 1.0


def test_compare_arms_and_gain_kept(results):
    (cmp,) = compare_arms(results, "original", ["simplified"], size=32, baseline="untuned")
    assert cmp.arm == "simplified" and cmp.baseline == "untuned"
    assert cmp.test.diff.mean > 0.15 and cmp.p_adjusted < 0.05
    assert cmp.kept is not None and cmp.kept.status == "ok" and cmp.kept.value is not None
    assert 0.3 < cmp.kept.value < 0.75


def test_learning_curve_and_smallest_size(results):
    points = learning_curve(results, ["original", "simplified"])
    assert [(p.condition, p.size) for p in points] == [
        ("original", 2),
        ("original", 8),
        ("original", 32),
        ("simplified", 2),
        ("simplified", 8),
        ("simplified", 32),
    ]
    win = smallest_winning_size(results, "original", "simplified")
    assert win.smallest in (8, 32)
    assert f"from {win.smallest} instances per task" in win.statement
    slope = gain_per_doubling(results, "original")
    assert slope is not None and 0.05 < slope.mean < 0.12 and slope.low > 0  # ~+0.35 over 4 doublings
    assert gain_per_doubling(results, "untuned") is None


def test_no_winning_size_is_said_plainly():
    flat = {
        **P,
        ("original", 2): 0.6,
        ("original", 8): 0.6,
        ("original", 32): 0.6,
        ("simplified", 2): 0.6,
        ("simplified", 8): 0.6,
        ("simplified", 32): 0.6,
    }
    win = smallest_winning_size(make_results(seeds=(0,), n=10, p=flat), "original", "simplified")
    assert win.smallest is None
    assert win.statement.startswith("No tested size (2, 8, 32 instances per task)")


def test_write_study_report(tmp_path, results):
    costs = CostFile.model_validate({"default": {"cost": {"urgent": {"not urgent": 20}}, "out_of_space": 5}})
    prov = Provenance(
        model="tiny", config_hash="abc123", versions={"itprobe": "0.1.0"}, timings={"total": 12.5}
    )
    paths = write_study_report(results, tmp_path, costs=costs, provenance=prov, n_boot=500)
    assert set(paths) == {"md", "html", "json"}
    data = json.loads(paths["json"].read_text())
    assert data["data"]["main_size"] == 32 and data["data"]["sizes"] == [2, 8, 32]
    assert data["provenance"]["config_hash"] == "abc123"
    assert data["summary"][0].startswith("simplified: removing the definition beyond its output space costs")
    assert data["summary"][1].startswith("Tuning with original: original − untuned")
    plots = sorted(p.name for p in (tmp_path / "plots").glob("*.png"))
    assert {"scores.png", "learning-curve.png", "per-task.png", "cost.png", "gain-split.png"} <= set(plots)
    assert len(plots) == 5 + len(TASKS)  # one confusion matrix per task
    assert any(p.startswith("confusion-original-task0_triage") for p in plots)
    md = paths["md"].read_text()
    for heading in (
        "## Scores per arm at 32",
        "## original vs each altered arm",
        "## What tuning taught: format or meaning",
        "## Format compliance",
        "## How much data a PoC needs",
        "## Per task and per category",
        "## Cost of errors",
    ):
        assert heading in md
    html = paths["html"].read_text()
    assert html.count("data:image/png;base64,") == len(plots)
    costs_data = data["data"]["costs"]["expected_cost"]
    # a missed urgent costs 20: simplified misses more than original at size 32, so it costs more
    assert costs_data["simplified"]["mean"] > costs_data["original"]["mean"]
    # the untuned model's out-of-space answers cost 5 each
    assert costs_data["untuned"]["mean"] > costs_data["original"]["mean"]


def test_study_report_is_deterministic(tmp_path, results):
    a = write_study_report(results, tmp_path / "a", n_boot=200)
    b = write_study_report(results, tmp_path / "b", n_boot=200)
    assert a["json"].read_text() == b["json"].read_text()
    assert a["md"].read_text() == b["md"].read_text()


def test_missing_reference_is_an_error(tmp_path, results):
    with pytest.raises(ValueError, match="reference condition 'orig'"):
        write_study_report(results, tmp_path, reference="orig")


def test_instruction_reliance_takes_the_best_meaning_free_arm(results):
    from itprobe.report.analysis import instruction_reliance

    out = instruction_reliance(results, "original", ["simplified", "majority", "random"], size=32)
    assert out is not None
    est, best = out
    assert best == "simplified"
    orig = condition_estimate(results, "original", size=32)
    simp = condition_estimate(results, "simplified", size=32)
    assert orig is not None and simp is not None
    assert est.mean == pytest.approx(orig.mean - simp.mean)
    assert 0 < est.low < est.mean < est.high
    assert instruction_reliance(results, "original", ["nothing"]) is None


def test_label_scheme_leakage_and_old_meaning():
    def row(cond, i, pred, gold, labels, old_labels, old_gold):
        return InstanceResult(
            cond,
            "t",
            str(i),
            float(pred == gold),
            0.0,
            prediction=pred,
            references=(gold,),
            labels=labels,
            in_space_strict=pred in labels,
            in_space_loose=pred in labels,
            original_labels=old_labels,
            original_references=(old_gold,),
        )

    new, old = ("approve", "reject"), ("yes", "no")
    rename = [
        row("label-rename", 0, "yes", "approve", new, old, "yes"),
        row("label-rename", 1, "approve", "approve", new, old, "yes"),
        row("label-rename", 2, "no", "reject", new, old, "no"),
        row("label-rename", 3, "maybe", "reject", new, old, "no"),
    ]
    comp = compliance(rename, "label-rename")
    assert comp.leakage == pytest.approx(0.5)  # "yes" and "no" are labels of the old scheme only
    # a rename changes the words, not what they mean: "yes" for "approve" is leakage, not an old meaning
    assert comp.old_meaning is None
    assert comp.in_space_strict == pytest.approx(0.25)  # raw membership as given by the producer
    swap = [
        row("label-swap", 0, "yes", "no", old, old, "yes"),
        row("label-swap", 1, "no", "no", old, old, "yes"),
        row("label-swap", 2, "no.", "yes", old, old, "no"),
    ]
    comp = compliance(swap, "label-swap")
    assert comp.old_meaning == pytest.approx(2 / 3)
    assert comp.leakage is None  # every old label is still a label: nothing can leak
    assert compliance(make_results(seeds=(0,), n=2), "original", size=2).leakage is None


def test_oracle_and_interval_labels_in_the_report(tmp_path, results):
    # issues 13.8 (majority is an oracle), 13.13 (unadjusted CIs beside Holm p), 13.15 (seed variance)
    paths = write_study_report(results, tmp_path, n_boot=200)
    md = paths["md"].read_text()
    assert "| majority (oracle) | 180 |" in md  # scores table
    assert "| majority (oracle) | 180 | 100.0 |" in md  # compliance table
    assert "| task | original | simplified | random | majority (oracle) | untuned |" in md  # per task
    assert "lines: random, majority (oracle), untuned" in md
    assert "| majority |" not in md
    assert "original − arm, EM points [95% CI, unadjusted] | test | p | p (Holm)" in md
    assert "include the variance between training runs" in md  # issue 25: seeds as a unit
    assert "2 seeds, seed variance in the CI" in md


def test_reference_lines_have_distinct_styles_and_the_legend_leaves_the_bars_free():
    from itprobe.report.plots import bar_figure, reference_style
    from itprobe.report.stats import Estimate

    styles = [reference_style(i) for i in range(12)]
    assert len(set(map(str, styles))) == 12
    refs = {"random": 0.5, "majority (oracle)": 0.55, "untuned": 0.3, "untuned@simplified": 0.2}
    fig = bar_figure(
        ["original", "simplified", "empty"],
        [Estimate(0.9, 0.85, 0.95, 10)] * 3,
        title="t",
        ylabel="y",
        references=refs,
    )
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    (ax,) = fig.axes
    legend = ax.get_legend()
    box, axes_box = legend.get_window_extent(renderer), ax.get_window_extent(renderer)
    assert box.x0 >= axes_box.x1  # beside the axes, not over the bars
    lines = [line for line in ax.get_lines() if line.get_label() in refs]
    assert len(lines) == len(refs)
    assert len({(str(line.get_linestyle()), line.get_color()) for line in lines}) == len(refs)


def test_gate_first_when_original_does_not_beat_guessing(tmp_path):
    guessing = {**P, ("original", 32): 0.5, ("simplified", 32): 0.45}
    paths = write_study_report(make_results(seeds=(0,), p=guessing), tmp_path, n_boot=200)
    data = json.loads(paths["json"].read_text())
    summary = data["summary"]
    assert summary[0].startswith("original does not solve these tasks beyond input-blind guessing")
    assert data["data"]["verdict"]["assessable"] is False
    assert all(
        line.startswith("Not assessable") for line in summary[1:] if line.startswith(("simplified", "Not"))
    )
    assert any(
        line.startswith("Not assessable (original does not beat guessing): simplified") for line in summary
    )


def test_reference_lines_are_chosen_by_the_caller_not_read_from_the_names(tmp_path, results):
    """Which references are drawn as lines comes from the caller's condition records (a study: those
    tested with the original instruction), never from parsing a name for "@"."""
    from itprobe.study.views import build_study_report

    def caption(**kw) -> str:
        report = build_study_report(results, out_dir=tmp_path, n_boot=100, **kw)
        return next(f.caption for s in report.sections for f in s.figures if "Scores per arm" in f.caption)

    assert caption().endswith("lines: random, majority (oracle), untuned")
    assert caption(lines=["random"]).endswith("lines: random")


def test_condition_names_come_from_the_records_not_from_splitting_the_label(tmp_path, results):
    import dataclasses

    from itprobe.records import Condition
    from itprobe.study.views import build_study_report

    other = [
        dataclasses.replace(r, condition="majority@simplified") for r in results if r.condition == "majority"
    ]
    rows = [*results, *other]
    baselines = ("random", "majority", "majority@simplified")

    def arms_shown(**kw) -> list[str]:
        report = build_study_report(rows, out_dir=tmp_path, n_boot=100, baselines=baselines, **kw)
        return [row[0] for row in report.sections[0].tables[0].rows]

    oracle = (
        Condition("majority", "simplified", baseline="oracle"),
        Condition("majority", baseline="oracle"),
    )
    names = {c.label: c.display for c in oracle}
    assert "majority@simplified (oracle)" in arms_shown(names=names)
    assert "majority (oracle)" in arms_shown(names=names)
    # without records a label is shown as it is: only an oracle by its own name is marked
    assert "majority@simplified" in arms_shown() and "majority (oracle)" in arms_shown()
