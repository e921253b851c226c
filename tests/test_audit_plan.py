"""Know the cost before paying it: ``itprobe audit --plan`` (counts and a rough time, no weights loaded), an
unknown model alias answered with the aliases, and skipped probes said on the terminal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from audit_fakes import FakeModel, write_user_jsonl
from cli_runner import run_cli

from itprobe.audit import AuditConfig, parse_probes, run_audit
from itprobe.audit.estimate import AuditEstimate, PassCost, check_model_spec, model_parameters, plan_lines
from itprobe.audit.probes import AuditSkipped
from itprobe.errors import UserError


def test_plan_counts_passes_without_loading_weights(tmp_path: Path, capsys) -> None:
    model = tmp_path / "model"  # a config and no weights: loading it would fail
    model.mkdir()
    (model / "config.json").write_text(
        json.dumps({"hidden_size": 64, "num_hidden_layers": 2, "vocab_size": 1000})
    )
    tasks = write_user_jsonl(tmp_path / "tasks.jsonl")
    args = [
        "audit",
        "--model",
        str(model),
        "--tasks",
        str(tasks),
        "--probes",
        "original,simplified,prior",
        "--plan",
    ]
    code, out, err = run_cli(capsys, *args, "--out", str(tmp_path / "o"))
    assert code == 0, err
    lines = out.splitlines()
    # 2 tasks, 14 instances: original and simplified in both modes, the prior once per task
    assert lines[0] == "itprobe audit --plan: 5 passes, 58 model calls (no weights loaded)"
    assert lines[1] == "  rank: 30 calls: original (14), simplified (14), prior (2)"
    assert lines[2] == "  generate: 28 calls: original (14), simplified (14)"
    assert "estimated time on this CPU: about" in lines[3] and "(rough, ±2×; 0M parameters" in lines[3]
    assert not (tmp_path / "o").exists()


def test_model_parameters_without_weights(tmp_path: Path) -> None:
    assert model_parameters("smollm2-135m-instruct") == 135e6 and model_parameters("gemma-3-270m") == 270e6
    (tmp_path / "config.json").write_text(
        json.dumps({"hidden_size": 64, "num_hidden_layers": 2, "vocab_size": 1000})
    )
    assert model_parameters(str(tmp_path)) == 12 * 2 * 64 * 64 + 1000 * 64
    assert model_parameters("org/some-model") is None


def test_plan_lines_suggest_a_faster_preset() -> None:
    full = AuditEstimate(
        (PassCost("original", "generate", 100, 1e5), PassCost("simplified", "rank", 100, 1e5)), 1e8, 10.0
    )
    fast = AuditEstimate((PassCost("original", "rank", 20, 2e3),), 1e8, 10.0)
    lines = plan_lines(full, fast, "--modes rank --max-instances 20")
    # 2 × 1e8 parameters × 2e5 tokens / (10 GFLOP/s × 0.8) = 5000 s
    assert "about 83 min (rough, ±2×; 100M parameters, 10 GFLOP/s measured)" in lines[3]
    assert lines[4].startswith("  faster: --modes rank --max-instances 20: 20 calls, about 50 s")


def test_unknown_alias_lists_the_aliases(tmp_path: Path, capsys) -> None:
    with pytest.raises(
        UserError, match="unknown model alias 'smollm2'; packaged aliases: smollm2-135m-instruct"
    ):
        check_model_spec("smollm2")
    for fine in (
        "smollm2-135m-instruct",
        "HuggingFaceTB/SmolLM2-135M",
        "openai:http://x/v1#m",
        str(tmp_path),
    ):
        check_model_spec(fine)
    tasks = write_user_jsonl(tmp_path / "tasks.jsonl")
    code, _, err = run_cli(
        capsys, "audit", "--model", "smolm2-135m", "--tasks", str(tasks), "--out", str(tmp_path / "o")
    )
    assert (
        code == 2 and "unknown model alias 'smolm2-135m'; packaged aliases:" in err and err.count("\n") == 1
    )


def test_skipped_probes_are_said_when_they_are_known(tmp_path: Path) -> None:
    config = AuditConfig(
        tasks_path=write_user_jsonl(tmp_path / "tasks.jsonl"),
        probes=parse_probes("original,negated,contrast"),
        n_boot=100,
    )
    with pytest.warns(AuditSkipped) as caught:
        run_audit(config, tmp_path / "out", model=FakeModel(), progress=False)
    said = [str(w.message) for w in caught]
    assert "skipped contrast: no task declares a contrast pair" in said
    assert any(s.startswith("skipped negated on 2 task(s) (alpha-task, beta-task): ") for s in said)
