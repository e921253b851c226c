"""The headline's family: primary comparisons Holm-adjusted across sizes and modes, the rest exploratory,
and an equivalence margin that comes from the design (issue #25)."""

from __future__ import annotations

import dataclasses
import json

from test_report_study import P, make_results

from itprobe.report import compare_arms, primary_family
from itprobe.study.views import write_study_report

P3 = {**P, ("empty", 2): 0.5, ("empty", 8): 0.55, ("empty", 32): 0.6}


def _by_mode(results):
    return {"generate": results, "rank": [dataclasses.replace(r, mode="rank") for r in results]}


def test_the_family_spans_every_size_and_mode_and_is_stricter_than_one_table() -> None:
    results = make_results(seeds=(0,), p=P3)
    family = primary_family(_by_mode(results), "original", ["simplified"], n_boot=100)
    assert set(family.p_adjusted) == {("simplified", s, m) for s in (2, 8, 32) for m in ("generate", "rank")}
    table = compare_arms(results, "original", ["simplified", "empty"], size=32, n_boot=100)
    within = next(c.p_adjusted for c in table if c.arm == "simplified")
    assert family.at(32, "generate")["simplified"] >= within
    assert "Holm-adjusted across all 6 comparisons" in family.note()


def test_non_primary_lines_are_exploratory_and_the_margin_is_stated(tmp_path) -> None:
    results = make_results(seeds=(0, 1), p=P3)
    family = primary_family({"generate": results}, "original", ["simplified"], n_boot=100)
    paths = write_study_report(results, tmp_path, n_boot=100, family=family, mode="generate", share=0.5)
    doc = json.loads(paths["json"].read_text())
    summary, notes = doc["summary"], doc["notes"]
    simplified = next(line for line in summary if "original − simplified" in line)
    empty = next(line for line in summary if "original − empty" in line)
    assert not simplified.startswith("Exploratory") and empty.startswith("Exploratory")
    assert f"p (Holm) = {family.at(32, 'generate')['simplified']:.2g}" in simplified
    gain = doc["data"]["gain_over_baseline"]["diff"]["mean"]
    assert doc["data"]["equivalence_margin"] == 0.5 * 100 * gain
    assert any(n.startswith("Equivalence margin: ±") and "50% of the tuning gain" in n for n in notes)
    assert any(n.startswith("Primary comparison(s): original vs simplified") for n in notes)


def test_a_declared_margin_is_used_and_said(tmp_path) -> None:
    paths = write_study_report(make_results(seeds=(0,), p=P3), tmp_path, n_boot=100, margin=2.0)
    doc = json.loads(paths["json"].read_text())
    assert doc["data"]["equivalence_margin"] == 2.0
    assert any("±2 EM points, declared in the config" in n for n in doc["notes"])
