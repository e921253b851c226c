"""``itprobe audit`` through the real entry point: a tiny random model, user errors, and (slow) the
packaged model on three NatInst classification tasks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from audit_fakes import write_user_jsonl
from cli_runner import run_cli as _run
from tiny_models import save_tiny_llama


@pytest.fixture(scope="module")
def tiny_llama(tokenizer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_llama(tokenizer, tmp_path_factory.mktemp("tiny-llama"))


def test_audit_on_a_tiny_random_model(tiny_llama: Path, tmp_path: Path, capsys) -> None:
    tasks = write_user_jsonl(tmp_path / "tasks.jsonl")
    out = tmp_path / "out"
    gate = tmp_path / "gate.yaml"  # rules that hold whatever a random model answers
    gate.write_text(
        "rules:\n  - {metric: exact_match, min: 0}\n  - {metric: exact_match, task: beta-task, mode: rank, max: 1}\n"
    )
    common = [
        "audit", "--model", str(tiny_llama), "--tasks", str(tasks), "--max-instances", "2",
        "--probes", "original,simplified,empty,prior,baselines", "--precision", "fp32", "--n-boot", "200",
        "--no-progress", "--cache-dir", str(tmp_path / "cache"),
    ]  # fmt: skip
    code, stdout, stderr = _run(capsys, *common, "--out", str(out), "--gate", str(gate))
    assert code == 0, stderr
    assert "itprobe audit: rank classification" in stdout and "overall" in stdout
    assert (
        "Release gate: PASS (all 2 rules hold)" in stdout and "PASS  exact_match (beta-task, rank)" in stdout
    )
    assert f"json: {out / 'audit.json'}" in stderr
    report = json.loads((out / "audit.json").read_text())
    assert report["provenance"]["model"].startswith(str(tiny_llama))
    assert report["data"]["tasks"] == {"alpha-task": 2, "beta-task": 2}
    for mode in ("rank", "generate"):
        overall = report["data"]["modes"][mode]["reliance"]["overall"]
        assert overall["n"] == 4 and overall["best_arm"] in ("simplified", "empty")
    priors = report["data"]["prior"]
    assert set(priors) == {"alpha-task", "beta-task"}
    assert all(sum(p["probs"]) == pytest.approx(1.0) for p in priors.values())
    # the same audit (answers from the cache) with a rule no model can meet: exit status 1
    failing = tmp_path / "failing.yaml"
    failing.write_text("rules:\n  - {metric: exact_match, min: 1.01}\n")
    code, stdout, _ = _run(capsys, *common, "--out", str(tmp_path / "out2"), "--gate", str(failing))
    assert code == 1 and "Release gate: FAIL (1 of 1 rules fail)" in stdout
    assert "FAIL  exact_match (overall, generate)  ≥ 101.0% (estimate)" in stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--modes", "rank,beam"], "unknown mode"),
        (["--probes", "simplified,bogus"], "unknown probe"),
        (["--precision", "fp8"], "unknown --precision 'fp8'; choose auto, fp32, bf16 or fp16"),
        (["--costs", "missing.yaml"], "no such cost file"),
    ],
)
def test_user_errors_are_one_line(tmp_path: Path, capsys, args: list[str], message: str) -> None:
    tasks = write_user_jsonl(tmp_path / "tasks.jsonl")
    code, _, stderr = _run(capsys, "audit", "--tasks", str(tasks), "--out", str(tmp_path / "o"), *args)
    assert code == 2
    assert stderr.startswith("itprobe: error:") and message in stderr and "Traceback" not in stderr
    assert not (tmp_path / "o").exists()


def test_missing_task_file(tmp_path: Path, capsys) -> None:
    code, _, stderr = _run(capsys, "audit", "--tasks", str(tmp_path / "none.jsonl"))
    assert code == 2 and "no such file" in stderr


@pytest.mark.slow
def test_packaged_model_on_three_natinst_tasks(natinst_dir: Path, smollm2_dir: Path, tmp_path: Path, capsys):
    names = [
        "task879_schema_guided_dstc8_classification",
        "task391_causal_relationship",
        "task828_copa_commonsense_cause_effect",
    ]
    argv = [
        "audit",
        "--model",
        "smollm2-135m-instruct",
        "--tasks",
        str(natinst_dir / "test_tasks.jsonl.gz"),
        "--max-instances",
        "4",
        "--modes",
        "rank",
        "--probes",
        "original,simplified,empty,prior,baselines",
        "--out",
        str(tmp_path / "out"),
        "--no-progress",
    ]
    for name in names:
        argv += ["--task", name]
    code, stdout, stderr = _run(capsys, *argv)
    assert code == 0, stderr
    report = json.loads((tmp_path / "out" / "audit.json").read_text())
    rank = report["data"]["modes"]["rank"]
    assert {r["scope"] for r in rank["reliance"]["per_task"]} == set(names)
    overall = rank["reliance"]["overall"]
    assert overall["n"] == 12 and -1.0 <= overall["estimate"]["mean"] <= 1.0
    assert set(report["data"]["prior"]) == set(names)
    for prior in report["data"]["prior"].values():
        assert sum(prior["probs"]) == pytest.approx(1.0) and 0.0 <= prior["entropy_bits"] <= 1.0
    assert report["data"]["statements"][0].startswith("rank classification:")
