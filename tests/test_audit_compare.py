"""``itprobe compare``: two saved audits of the fake model of `audit_fakes`, paired per probe and task.

B is the fake with one regression: in generation it answers "maybe" (outside the label set) on every
alpha-task instance that it would answer right. So in generation, original: A 14/14, B 6/14, a change of
−8/14 that is all format (McNemar: 8 discordant pairs, p = 2 · 2^-8 = 1/128; Holm over 3 probes: 3/128);
simplified and empty answer "maybe" in both (no change); rank mode is identical.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from audit_fakes import FakeModel, _parts, user_rows, write_user_jsonl
from cli_runner import run_cli

from itprobe.audit import AuditConfig, run_audit
from itprobe.audit.catalogue import report_references
from itprobe.audit.compare import compare_audits
from itprobe.audit.saved import read_audit
from itprobe.decoding import protocol
from itprobe.prompts import PromptConfig

PROBES = ("original", "simplified", "empty", "baselines")


class _Regressed(FakeModel):
    def generate(self, prompts, decoding):  # noqa: ANN001, ANN201
        out = super().generate(prompts, decoding)
        # alpha-task inputs read "item i token: ..." (its key first)
        return [
            "maybe" if _parts(p)[1].split()[2:3] == ["token:"] else o
            for p, o in zip(prompts, out, strict=True)
        ]


def _audit(tmp: Path, name: str, model: FakeModel, tasks: Path, **kw) -> Path:  # noqa: ANN003
    config = AuditConfig(tasks_path=tasks, n_boot=200, probes=PROBES, **kw)
    run_audit(config, tmp / name, model=model, progress=False)
    return tmp / name


@pytest.fixture(scope="module")
def audits(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    tmp = tmp_path_factory.mktemp("compare")
    tasks = write_user_jsonl(tmp / "tasks.jsonl")
    return tmp, _audit(tmp, "a", FakeModel(), tasks), _audit(tmp, "b", _Regressed(), tasks)


def test_paired_changes_hand_computed(audits) -> None:
    _, a, b = audits
    changes = compare_audits(read_audit(a), read_audit(b), n_boot=200)
    first = changes[0]  # regressions first
    assert (first.mode, first.probe, first.scope, first.regression) == (
        "generate",
        "original",
        "overall",
        True,
    )
    test = first.comparison.test
    assert (test.mean_a, test.mean_b, test.n) == (pytest.approx(6 / 14), 1.0, 14)
    assert test.diff.mean == pytest.approx(-8 / 14) and test.p_value == pytest.approx(1 / 128)
    assert first.comparison.p_adjusted == pytest.approx(3 / 128)
    assert first.split is not None and first.split.format.estimate.mean == pytest.approx(-8 / 14)
    assert first.split.meaning.estimate.mean == 0.0
    by = {(c.mode, c.probe, c.scope): c for c in changes}
    assert by[("generate", "original", "alpha-task")].comparison.test.diff.mean == -1.0
    # per-task family of a mode: 2 tasks x 3 probes
    assert by[("generate", "original", "alpha-task")].comparison.p_adjusted == pytest.approx(6 / 128)
    assert by[("generate", "original", "beta-task")].comparison.test.diff.mean == 0.0
    assert by[("rank", "original", "overall")].comparison.test.diff.mean == 0.0
    assert not any(c.probe in report_references() for c in changes)  # the model-free baselines never change
    assert sum(c.regression for c in changes) == 2


def test_compare_command_and_its_gate(audits, capsys) -> None:
    tmp, a, b = audits
    gate = tmp / "gate.yaml"
    gate.write_text(
        "rules:\n"
        "  - {metric: exact_match_change, min: -0.02}\n"  # no probe worse by > 2 points with p (Holm) < 0.05
        "  - {metric: meaning_part_change, mode: generate, min: -0.02}\n"
    )
    code, out, err = run_cli(
        capsys, "compare", str(a), str(b), "--gate", str(gate), "--n-boot", "200", "--out", str(tmp / "cmp")
    )
    assert code == 1, err
    lines = out.splitlines()
    assert lines[1].startswith("B vs A: 2 regression(s) and 0 improvement(s)")
    assert lines[3].split()[:7] == ["generate", "original", "overall", "14", "100.0", "42.9", "-57.1"]
    assert lines[3].endswith("REGRESSION")
    assert (
        "FAIL  exact_match_change (overall, generate)" in out and "worst: original, p (Holm) = 0.023" in out
    )
    assert "PASS  meaning_part_change (overall, generate)" in out
    saved = json.loads((tmp / "cmp" / "compare.json").read_text())
    assert saved["data"]["gate"]["passed"] is False and saved["data"]["changes"][0]["probe"] == "original"
    rank_only = tmp / "rank.yaml"
    rank_only.write_text("rules:\n  - {metric: exact_match_change, mode: rank, min: -0.02}\n")
    code, out, _ = run_cli(capsys, "compare", str(a), str(b), "--gate", str(rank_only), "--n-boot", "200")
    assert code == 0 and "Release gate: PASS" in out


def test_compare_refuses_audits_that_do_not_match(audits, tmp_path: Path, capsys) -> None:
    _, a, _ = audits
    rows = user_rows()
    for row in rows:
        if row["task"] == "alpha-task":
            row["definition"] += " Be brief."
    changed = _audit(tmp_path, "changed", FakeModel(), write_user_jsonl(tmp_path / "changed.jsonl", rows))
    other = _audit(
        tmp_path,
        "other",
        FakeModel(),
        write_user_jsonl(
            tmp_path / "o.jsonl",
            user_rows({"gamma-task": ("token", ["yes", "no"]), "delta-task": ("mark", ["no", "yes"])}),
        ),
    )
    prompt = _audit(
        tmp_path,
        "prompt",
        FakeModel(),
        write_user_jsonl(tmp_path / "p.jsonl"),
        prompt=PromptConfig(num_pos=1),
    )
    decoding = _audit(
        tmp_path,
        "decoding",
        FakeModel(),
        write_user_jsonl(tmp_path / "d.jsonl"),
        decoding=protocol("tk-instruct"),
    )
    for folder, message in [
        (changed, "task definitions differ between the audits for alpha-task"),
        (decoding, "the audits differ in their decoding protocol (A: first-line {"),
        (other, "the audits share no task"),
        (prompt, "the audits differ in their prompt protocol"),
        (tmp_path, "not an audit folder"),
    ]:
        code, _, err = run_cli(capsys, "compare", str(a), str(folder))
        assert code == 2 and message in err and err.count("\n") == 1, err
    # the comparison's report never goes over what it reads (docs/refusals.md)
    code, _, err = run_cli(capsys, "compare", str(a), str(a), "--out", str(a))
    assert code == 2 and "is also an input" in err and err.count("\n") == 1, err
    assert not (a / "compare.md").exists()
    bad_gate = tmp_path / "g.yaml"
    bad_gate.write_text("rules:\n  - {metric: exact_match, min: 0.5}\n")
    code, _, err = run_cli(capsys, "compare", str(a), str(a), "--gate", str(bad_gate))
    assert code == 2 and "'exact_match' is a metric of an audit" in err
