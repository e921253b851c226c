"""The release gate: the gate file's schema, the headline figures it reads (hand-computed on the fake
model of `audit_fakes`), PASS/FAIL per rule, ``itprobe gate`` on a saved audit and ``itprobe audit --gate``'s
early errors. Fake-audit numbers: original answers every instance right in both modes; majority (an oracle)
scores alpha 5/8, beta 4/6; the input-blind controls built on the one demonstration (answer "yes") score
alpha 3/8, beta 4/6; the analytic random expectation is 1/2; the cost file prices alpha-task only."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from audit_fakes import FakeModel, write_user_jsonl
from cli_runner import run_cli

from itprobe.audit import AuditConfig, run_audit
from itprobe.audit.gate import AUDIT_METRICS, check_audit, holds, load_gate
from itprobe.errors import UserError

COSTS = "tasks:\n  alpha-task:\n    cost:\n      yes: {no: 20}\n      no: {yes: 1}\n    out_of_space: 5\n"


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("gate")
    (tmp / "costs.yaml").write_text(COSTS, encoding="utf-8")
    config = AuditConfig(
        tasks_path=write_user_jsonl(tmp / "tasks.jsonl"), costs=tmp / "costs.yaml", n_boot=200
    )
    run_audit(config, tmp / "audit", model=FakeModel(), progress=False)
    return tmp / "audit"


def _gate(tmp: Path, text: str) -> Path:
    path = tmp / "gate.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_smallest_gate_file_of_the_issue(tmp_path: Path) -> None:
    gate = load_gate(_gate(tmp_path, "rules:\n  - metric: exact_match\n    task: alpha-task\n    min: 0.9\n"))
    (rule,) = gate.rules
    assert (rule.metric, rule.task, rule.min, rule.max, rule.compared) == (
        "exact_match",
        "alpha-task",
        0.9,
        None,
        "point",
    )
    assert (
        load_gate(_gate(tmp_path, "rules:\n  - {metric: instruction_reliance, min: 0}\n")).rules[0].compared
        == "ci"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules:\n  - {metric: exact_mach, min: 0.9}\n", "unknown metric 'exact_mach'"),
        ("rules:\n  - {metric: exact_match, minimum: 0.9}\n", "unknown gate key 'rules.0.minimum'"),
        ("rules:\n  - {metric: exact_match}\n", "neither min nor max"),
        ("rules:\n  - {metric: exact_match, min: 0.9, mode: beam}\n", "unknown rules.0.mode 'beam'"),
        ("rules: []\n", "rules"),
        ("- metric: exact_match\n", "a gate file is a mapping"),
        ("rules:\n  - {metric: exact_match_change, min: -0.02}\n", "is a metric of itprobe compare"),
    ],
)
def test_bad_gate_files_are_one_line_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(UserError) as err:
        load_gate(_gate(tmp_path, text))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_headline_figures_are_the_hand_computed_ones(saved: Path) -> None:
    data = json.loads((saved / "audit.json").read_text())["data"]
    rank = data["modes"]["rank"]["headline"]
    assert set(AUDIT_METRICS) - {"format_compliance", "format_spread", "reliance_across_formats"} <= set(
        rank["overall"]
    )
    assert rank["overall"]["exact_match"]["mean"] == 1.0
    margin = rank["overall"]["margin_over_best_control"]
    # the strongest NON-ORACLE input-blind control (the one demonstration answers "yes": the demo
    # controls answer "yes" everywhere, 3/8 + 4/6 = 7/14); the majority oracle (9/14) is never one
    assert margin["control"] == "first-demo-label" and margin["mean"] == pytest.approx(1 - 7 / 14)
    assert margin["controls"] == pytest.approx(
        {"first-demo-label": 7 / 14, "demo-majority": 7 / 14, "copy-demo": 7 / 14, "random (expected)": 0.5}
    )
    assert rank["alpha-task"]["instruction_reliance"]["mean"] == pytest.approx(5 / 8)
    assert rank["overall"]["expected_cost"]["mean"] == 0.0
    assert "format_compliance" not in rank["overall"]  # rank answers are labels by construction
    generate = data["modes"]["generate"]["headline"]
    assert generate["overall"]["format_compliance"]["mean"] == 1.0


def test_rules_pass_and_fail_on_the_point_or_the_ci_bound(saved: Path, tmp_path: Path) -> None:
    data = json.loads((saved / "audit.json").read_text())["data"]
    text = (
        "rules:\n"
        "  - {metric: exact_match, task: alpha-task, min: 0.9}\n"
        "  - {metric: margin_over_best_control, mode: rank, min: 0.3, bound: point}\n"
        "  - {metric: margin_over_best_control, mode: rank, min: 0.3}\n"  # its CI reaches below 0.3
        "  - {metric: format_compliance, mode: rank, min: 0.5}\n"  # not measured in rank mode
    )
    result = check_audit(load_gate(_gate(tmp_path, text)), data)
    assert [c.passed for c in result.checks] == [True, True, False, False]
    assert result.checks[3].measured().startswith("not measured")
    assert result.exit_code == 1 and result.headline() == "Release gate: FAIL (2 of 4 rules fail)"
    assert result.checks[0].mode == "generate"  # the default mode when the audit has generation


def test_gate_command_on_a_saved_audit(saved: Path, tmp_path: Path, capsys) -> None:
    passing = _gate(tmp_path, "rules:\n  - {metric: exact_match, task: beta-task, min: 0.9}\n")
    code, out, err = run_cli(capsys, "gate", str(saved), str(passing))
    assert code == 0, err
    assert out.splitlines()[0] == "Release gate: PASS (all 1 rules hold)"
    assert (
        "PASS  exact_match (beta-task, generate)  ≥ 90.0% (estimate)  measured 100.0% [100.0, 100.0]" in out
    )
    failing = _gate(tmp_path, "rules:\n  - {metric: expected_cost, mode: rank, max: -1}\n")
    code, out, _ = run_cli(capsys, "gate", str(saved), str(failing))
    assert code == 1 and "FAIL  expected_cost (overall, rank)" in out
    md = (saved / "audit.md").read_text()
    assert md.count("## Release gate") == 1 and "- Release gate: FAIL (1 of 1 rules fail)." in md
    assert json.loads((saved / "audit.json").read_text())["data"]["gate"]["passed"] is False
    assert "Release gate" in (saved / "audit.html").read_text()


def test_gate_command_never_writes_over_its_gate_file(saved: Path, tmp_path: Path, capsys) -> None:
    folder = tmp_path / "audit"
    shutil.copytree(saved, folder)
    rules = "rules:\n  - {metric: exact_match, task: beta-task, min: 0.9}\n"
    gate_file = folder / "audit.html"  # a gate file where the rewritten report would go
    gate_file.write_text(rules)
    code, _, err = run_cli(capsys, "gate", str(folder), str(gate_file))
    assert code == 2 and "is also an input" in err and err.count("\n") == 1, err
    assert gate_file.read_text() == rules


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules:\n  - {metric: exact_match, task: gamma-task, min: 0.5}\n", "unknown task 'gamma-task'"),
        ("rules:\n  - {metric: format_complience, min: 0.5}\n", "unknown metric 'format_complience'"),
    ],
)
def test_gate_errors_are_one_line_exit_2(
    saved: Path, tmp_path: Path, capsys, text: str, message: str
) -> None:
    code, _, err = run_cli(capsys, "gate", str(saved), str(_gate(tmp_path, text)))
    assert code == 2 and err.startswith("itprobe: error:") and message in err and err.count("\n") == 1


def test_audit_gate_errors_come_before_any_model_time(tmp_path: Path, capsys) -> None:
    tasks = write_user_jsonl(tmp_path / "tasks.jsonl")
    missing_model = str(tmp_path / "no-such-model")  # loading it would be another error
    for text, message in [
        ("rules:\n  - {metric: exact_mach, min: 0.5}\n", "unknown metric 'exact_mach'"),
        ("rules:\n  - {metric: exact_match, task: gamma-task, min: 0.5}\n", "unknown task 'gamma-task'"),
    ]:
        code, _, err = run_cli(
            capsys, "audit", "--model", missing_model, "--tasks", str(tasks), "--out", str(tmp_path / "o"),
            "--gate", str(_gate(tmp_path, text)),
        )  # fmt: skip
        assert code == 2 and message in err and err.count("\n") == 1
        assert not (tmp_path / "o").exists()


def test_a_ci_rule_needs_the_whole_interval_strictly_on_its_side(tmp_path: Path) -> None:
    (rule,) = load_gate(_gate(tmp_path, "rules:\n  - {metric: instruction_reliance, min: 0}\n")).rules
    assert not holds(rule, 0.0, 0.0, 0.0) and not holds(rule, 0.1, 0.0, 0.2) and holds(rule, 0.1, 0.01, 0.2)
    assert rule.threshold() == "> +0.0 points (CI bound)"
    (point,) = load_gate(_gate(tmp_path, "rules:\n  - {metric: exact_match, min: 0.5}\n")).rules
    assert holds(point, 0.5, 0.1, 0.9) and point.threshold() == "≥ 50.0% (estimate)"
