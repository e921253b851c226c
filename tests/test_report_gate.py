"""The "beats guessing" gate: against the strongest input-blind control that is not an oracle (issue #25)."""

from __future__ import annotations

import json

from test_report_study import P, make_results

from itprobe.report import control_gate, gate_line
from itprobe.study.views import write_study_report

CONTROLS = ("random", "majority", "first-demo-label", "demo-majority")


def test_the_gate_picks_the_strongest_control_never_the_oracle() -> None:
    # the oracle majority scores highest of all; demo-majority is the strongest fair control
    p = {**P, ("majority", None): 0.97, ("demo-majority", None): 0.8, ("first-demo-label", None): 0.6}
    gate = control_gate(make_results(seeds=(0,), p=p), "original", CONTROLS, size=32, n_boot=200)
    assert gate is not None
    assert gate.control == "demo-majority"
    assert {name for name, _ in gate.tests} == {"random", "first-demo-label", "demo-majority"}
    assert gate.passed  # 0.9 against 0.8 on 180 instances
    assert gate_line("original", gate).startswith("original beats every input-blind control")
    assert "demo-majority" in gate_line("original", gate)


def test_the_gate_fails_against_a_control_the_random_guess_would_pass(tmp_path) -> None:
    # original clearly beats a random guess (0.5) but not the demonstrations' majority label
    p = {**P, ("majority", None): 0.97, ("demo-majority", None): 0.88, ("first-demo-label", None): 0.5}
    results = make_results(seeds=(0,), p=p)
    gate = control_gate(results, "original", CONTROLS, size=32, n_boot=200)
    assert gate is not None and not gate.passed and gate.control == "demo-majority"
    assert dict(gate.tests)["random"].diff.low > 0  # the old gate (random only) would have passed
    paths = write_study_report(results, tmp_path, n_boot=200, baselines=("untuned", *CONTROLS))
    summary = json.loads(paths["json"].read_text())["summary"]
    assert summary[0].startswith(
        "original does not solve these tasks beyond input-blind guessing: it does not beat demo-majority"
    )
    assert "oracle" not in summary[0]
