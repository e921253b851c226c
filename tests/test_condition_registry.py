"""The condition registry: every property of an arm or probe is declared once, and every list is derived.

The first tests enumerate the registries and check each derived list against the declarations, and the
declarations against what the arms do. The last ones add a probe by one decorated function and find it
in ``itprobe audit --help``, in the plan, in the scores and in audit.json.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from audit_fakes import FakeModel, write_user_jsonl
from cli_runner import run_cli

from itprobe.arms import (
    ArmSpec,
    apply_arms,
    follow_probes,
    label_map_of,
    label_swap_of,
    meaning_free_arms,
    probe_arms,
    registered_arms,
)
from itprobe.audit import AuditConfig, run_audit
from itprobe.audit.catalogue import (
    ProbeContext,
    ProbeResult,
    audit_probe,
    default_probes,
    label_probes,
    meaning_free_probes,
    probe_names,
    registered_probes,
    report_conditions,
    report_references,
    unregister_probe,
)
from itprobe.audit.probes import parse_probes, plan_audit
from itprobe.metrics import instance_scores
from itprobe.prompts import TASK_NAME_HIDDEN
from itprobe.records import Prediction
from itprobe.report.verdict import removes
from itprobe.tasks.types import Example, Instance, Negation, OutputSpace, Task

TASK = Task(
    name="task1_demo_yes_no",
    definition="Answer yes if the sentence is positive, no otherwise.",
    instances=tuple(Instance(f"i{i}", f"Sentence {i}", ("yes" if i % 2 else "no",)) for i in range(4)),
    positive_examples=(Example("Great", "yes", "It is positive."), Example("Bad", "no", "Negative.")),
    negative_examples=(Example("Great", "no", "The wrong label."),),
    output_space=OutputSpace(("yes", "no"), "declared"),
    negation=Negation(
        "Answer no if the sentence is positive, yes otherwise.", (("yes", "no"), ("no", "yes"))
    ),
)
OTHER = dataclasses.replace(TASK, name="task2_other_title", definition="Write a title.", output_space=None)


def test_every_derived_list_follows_the_declarations() -> None:
    arms = registered_arms()
    assert meaning_free_arms() == tuple(a.name for a in arms if a.kind == "definition" and a.meaning_free)
    assert follow_probes() == tuple(a.probe for a in arms if a.follows and a.probe)
    probes = registered_probes()
    assert probe_names() == tuple(p.name for p in probes)
    assert probe_names()[: len(probe_arms())] == tuple(a.probe for a in probe_arms())
    assert len(set(probe_names())) == len(probe_names())
    assert label_probes() == tuple(p.name for p in probes if p.arm is not None and p.arm.relabels)
    assert meaning_free_probes() == tuple(p.name for p in probes if p.arm is not None and p.arm.meaning_free)
    assert report_conditions() == tuple(dict.fromkeys(c for p in probes for c in p.conditions))
    assert report_references() == tuple(dict.fromkeys(r for p in probes for r in p.references))
    assert parse_probes("all") == default_probes() == tuple(p.name for p in probes if not p.opt_in)
    # an arm probe is its own condition; every other probe runs something
    assert all(p.conditions == (p.name,) for p in probes if p.arm is not None)
    assert all(p.run is not None for p in probes if p.arm is None)


def test_the_builtin_declarations() -> None:
    # what the paper's and the audit's vocabulary say; the lists above are derived from these
    assert meaning_free_arms() == ("simplified", "empty", "irrelevant")
    assert follow_probes() == ("negated", "label-rename", "label-swap")
    assert label_probes() == ("label-rename", "label-swap")
    # the seeded random baseline's rows are "random draw" ("random" is the expectation of a uniform guess)
    assert report_references() == (
        "random draw",
        "majority",
        "first-demo-label",
        "demo-majority",
        "copy-demo",
    )
    assert "calibrated" in report_conditions()
    assert probe_names()[-4:] == ("prior", "baselines", "contrast", "format-spread")
    assert [p.name for p in registered_probes() if p.opt_in] == ["format-spread"]


@pytest.mark.parametrize("arm", registered_arms(), ids=lambda a: f"{a.kind}:{a.name}")
def test_each_declaration_matches_what_the_arm_does(arm) -> None:
    result = apply_arms(TASK, ArmSpec(**{arm.kind: arm.name}), pool=[TASK, OTHER])
    assert result.task is not None, result.notes
    after = result.task
    # meaning-free: the task's name is withheld and every explanation dropped (`without_meaning`)
    hidden = dict(after.meta).get(TASK_NAME_HIDDEN) == "true"
    assert hidden == arm.meaning_free
    # relabels: the labels are renamed or their meanings exchanged; follows: the gold changes with it
    assert (label_map_of(after) is not None or label_swap_of(after) is not None) == arm.relabels
    changed_gold = [i.outputs for i in after.instances] != [i.outputs for i in TASK.instances]
    assert changed_gold == arm.follows
    if arm.probe is not None:  # a probe's words in the verdicts exist (or it is a follow probe)
        assert arm.follows or arm.probe == "original" or "arm changes" not in removes(arm.probe)


def _first_label(ctx: ProbeContext) -> ProbeResult:
    """Answer every classification instance with its first label (no model)."""
    preds = [
        Prediction(t.name, i.id, t.output_space.labels[0], i.outputs, mode, labels=t.output_space.labels)
        for t in ctx.tasks
        if t.output_space is not None
        for i in t.instances
        for mode in ctx.modes
    ]
    rows = [r for m in ctx.modes for r in instance_scores([p for p in preds if p.mode == m], condition="first-label", test_arm="first-label", mode=m)]  # fmt: skip
    return ProbeResult(tuple(rows))


@pytest.fixture()
def first_label_probe() -> Iterator[str]:
    audit_probe("first-label", conditions=("first-label",))(_first_label)  # one decorated function
    yield "first-label"
    unregister_probe("first-label")


def test_a_registered_probe_is_in_the_help_the_plan_and_audit_json(
    first_label_probe: str, tmp_path: Path, capsys, monkeypatch
) -> None:
    monkeypatch.setenv("COLUMNS", "400")
    code, out, _ = run_cli(capsys, "audit", "--help")
    assert code == 0 and first_label_probe in out
    assert first_label_probe in parse_probes("all")
    tasks = write_user_jsonl(tmp_path / "tasks.jsonl")
    code, _, err = run_cli(
        capsys, "audit", "--model", "fake:first", "--tasks", str(tasks), "--out", str(tmp_path / "out"),
        "--probes", f"original,{first_label_probe}", "--n-boot", "100", "--no-progress", "--no-cache",
    )  # fmt: skip
    assert code == 0, err
    report = json.loads((tmp_path / "out" / "audit.json").read_text(encoding="utf-8"))
    assert first_label_probe in report["provenance"]["extra"]["probes"]
    for mode in ("rank", "generate"):
        assert first_label_probe in report["data"]["modes"][mode]["scores"]
        comparisons = report["data"]["modes"][mode]["comparisons"]["exact_match"]
        assert [c["arm"] for c in comparisons] == [first_label_probe]


def test_the_opt_in_format_spread_probe_is_declared_once_through_the_catalogue(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    monkeypatch.setenv("COLUMNS", "400")
    code, out, _ = run_cli(capsys, "audit", "--help")
    assert code == 0 and "opt-in, add by name: format-spread" in out
    assert "format-spread" not in parse_probes("all")
    assert parse_probes("all,format-spread")[-1] == "format-spread"
    tasks = write_user_jsonl(tmp_path / "tasks.jsonl")
    code, _, err = run_cli(
        capsys, "audit", "--model", "fake:first", "--tasks", str(tasks), "--out", str(tmp_path / "out"),
        "--probes", "original,simplified,format-spread", "--format-templates", "1", "--modes", "rank",
        "--n-boot", "100", "--no-progress", "--no-cache",
    )  # fmt: skip
    assert code == 0, err
    report = json.loads((tmp_path / "out" / "audit.json").read_text(encoding="utf-8"))
    assert "format-spread" in report["provenance"]["extra"]["probes"]
    spread = report["data"]["format_spread"]
    assert [t["index"] for t in spread["templates"]] == [0, 1] and "rank" in spread["modes"]


def test_a_registered_probe_runs_through_the_library_too(first_label_probe: str, tmp_path: Path) -> None:
    config = AuditConfig(tasks_path=write_user_jsonl(tmp_path / "tasks.jsonl"), n_boot=100)
    assert first_label_probe in config.probes  # the default is every registered probe
    outcome = run_audit(config, tmp_path / "out", model=FakeModel(), progress=False)
    assert {r.condition for r in outcome.data.results} >= {first_label_probe, "calibrated", "random draw"}


def test_a_probe_name_is_declared_once(first_label_probe: str) -> None:
    with pytest.raises(ValueError, match="already registered"):
        audit_probe(first_label_probe)(_first_label)
    with pytest.raises(ValueError, match="already registered"):
        audit_probe("simplified")(_first_label)


def test_an_unknown_probe_names_the_known_ones() -> None:
    from itprobe.errors import UserError

    with pytest.raises(UserError, match="known: original, simplified"):
        parse_probes("original,nope")
    assert plan_audit([TASK], ("original",), ("rank",)).probes == ("original",)
