"""The audit pipeline end to end on a deterministic fake model, numbers checked against hand computation.

Expected values follow from `audit_fakes`: the fake answers the word after the key its definition names
(alpha-task: token, beta-task: mark); without a rule it answers the first label, "yes" (rank), or
"maybe" (generation); under another task's definition it answers the other key's word, always wrong.
Golds: alpha 3 yes / 5 no, beta 4 yes / 2 no.
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
import json
import math
from pathlib import Path

import pytest
from audit_fakes import FakeModel, user_rows, write_user_jsonl

from itprobe.audit import AuditConfig, run_audit
from itprobe.errors import UserError
from itprobe.tasks import save_tasks
from itprobe.tasks.types import Contrast, Example, Instance, OutputSpace, Task

COSTS = """
tasks:
  alpha-task:
    cost:
      yes: {no: 20}   # a missed "yes" costs 20x a false alarm
      no: {yes: 1}
    out_of_space: 5
"""


@pytest.fixture(scope="module")
def audit(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, FakeModel]:
    tmp = tmp_path_factory.mktemp("audit")
    (tmp / "costs.yaml").write_text(COSTS, encoding="utf-8")
    config = AuditConfig(
        tasks_path=write_user_jsonl(tmp / "tasks.jsonl"),
        costs=tmp / "costs.yaml",
        cache_dir=tmp / "cache",
        n_boot=200,
    )
    fake = FakeModel()
    outcome = run_audit(config, tmp / "out", model=fake, progress=False)
    assert outcome.out_dir == tmp / "out"
    report = json.loads((tmp / "out" / "audit.json").read_text())
    # the typed rows `itprobe audit` prints are the ones the report's reliance data is made of
    for mode, rows in outcome.reliance.items():
        rel = report["data"]["modes"][mode]["reliance"]
        expected = [*rel["per_task"], *([rel["overall"]] if rel["overall"] else [])]
        assert [(r.reliance.scope, r.reliance.estimate.mean) for r in rows] == [
            (e["scope"], e["estimate"]["mean"]) for e in expected
        ]
    assert set(outcome.reliance) == set(report["data"]["modes"]) == {"rank", "generate"}
    return tmp, report, fake


def test_files_are_written(audit) -> None:
    tmp, _, _ = audit
    out = tmp / "out"
    for name in ("audit.md", "audit.html", "audit.json", "results.jsonl.gz"):
        assert (out / name).is_file()
    for mode in ("rank", "generate"):
        assert (out / mode / "plots" / "reliance.png").is_file()
    html = (out / "audit.html").read_text()
    assert "data:image/png;base64," in html and "<script" not in html
    assert not list(tmp.glob(".out.*"))  # the temporary build folder is gone
    with gzip.open(out / "results.jsonl.gz", "rt") as fh:
        conditions = {json.loads(line)["condition"] for line in fh}
    assert {"original", "simplified", "calibrated", "random draw", "majority", "label-swap"} <= conditions


def test_reliance_numbers(audit) -> None:
    _, report, _ = audit
    rank = report["data"]["modes"]["rank"]["reliance"]
    per_task = {r["scope"]: r for r in rank["per_task"]}
    # alpha: 1 − max(simplified 3/8, empty 3/8); beta: 1 − 4/6 (irrelevant: skipped, see below)
    assert per_task["alpha-task"]["estimate"]["mean"] == pytest.approx(5 / 8)
    assert per_task["beta-task"]["estimate"]["mean"] == pytest.approx(1 / 3)
    assert dict(per_task["alpha-task"]["arms"]) == pytest.approx({"simplified": 3 / 8, "empty": 3 / 8})
    overall = rank["overall"]
    assert overall["best_arm"] == "simplified" and overall["n"] == 14
    assert overall["estimate"]["mean"] == pytest.approx(0.5)
    # margin kept by simplified: (7/14 − 0.5) / (1 − 0.5) = 0
    assert rank["margin_kept"]["overall"]["value"] == pytest.approx(0.0)
    assert rank["margin_kept"]["alpha-task"]["value"] == pytest.approx((3 / 8 - 0.5) / 0.5)
    generate = report["data"]["modes"]["generate"]["reliance"]
    assert generate["overall"]["estimate"]["mean"] == pytest.approx(1.0)
    assert generate["margin_kept"]["overall"]["value"] == pytest.approx(-1.0)  # "maybe" scores 0


def test_summary_is_plain_and_honest(audit) -> None:
    _, report, _ = audit
    summary = report["data"]["statements"]  # the per-mode sentences (the summary is the decision screen)
    rank = next(line for line in summary if line.startswith("rank classification: the original"))
    assert rank.startswith(
        "rank classification: the original instruction beats the best arm without the task's own definition "
        "(simplified) by +50.0 EM points"
    )
    # rank mode: no format part by construction; 7 discordant of 14 is not significant after Holm
    assert "Split: none in rank classification (no format part by construction" in rank
    assert "not claimed (p (Holm) = 0.078)" in rank
    # generation: without a rule the fake answers "maybe": the whole loss is format, never "meaning"
    gen = next(line for line in summary if line.startswith("generation: the original"))
    assert "+100.0 [+100.0, +100.0] from answers leaving the label set (format)" in gen
    assert "The model relies on the instruction for the output format" in gen
    assert "meaning" not in gen
    assert any("2 task(s)" in line and "these tasks" in line for line in report["notes"])


class _GuessingModel(FakeModel):
    """Answers the first label whatever the prompt says: exactly the guessing rate on these tasks."""

    def generate(self, prompts, decoding):  # noqa: ANN001, ANN201
        self.calls += len(prompts)
        return ["yes"] * len(prompts)

    def score_choices(self, prompts, choices):  # noqa: ANN001, ANN201
        return super().score_choices(["no rule"] * len(prompts), choices)


def test_gate_comes_first_when_original_does_not_beat_guessing(tmp_path: Path) -> None:
    config = AuditConfig(tasks_path=write_user_jsonl(tmp_path / "tasks.jsonl"), n_boot=200, modes=("rank",))
    outcome = run_audit(config, tmp_path / "out", model=_GuessingModel(), progress=False)
    summary = outcome.report.data["statements"]
    assert summary[0].startswith(
        "rank classification: original does not solve these tasks beyond input-blind guessing"
    )
    assert summary[1].startswith("Not assessable (original does not beat guessing): rank classification:")
    verdict = outcome.report.data["modes"]["rank"]["verdict"]
    assert verdict["assessable"] is False and verdict["headline"].startswith("original does not solve")


def test_label_probes_prior_and_costs(audit) -> None:
    _, report, _ = audit
    labels = report["data"]["label_probes"]
    # generation: the fake keeps answering yes/no: every answer is an old label and follows the old meaning
    assert labels["generate/label-rename"]["compliance"]["leakage"] == 1.0
    assert labels["generate/label-swap"]["compliance"]["old_meaning"] == 1.0
    assert labels["rank/label-swap"]["compliance"]["old_meaning"] == 1.0
    assert labels["rank/label-swap"]["paired"]["mean_b"] == 0.0
    # prior: content-free scores (-1, -1.5) -> softmax
    prior = report["data"]["prior"]["alpha-task"]
    p_yes = 1 / (1 + math.exp(-0.5))
    assert prior["favoured"] == "yes" and prior["probs"] == pytest.approx([p_yes, 1 - p_yes])
    assert prior["calibrated_minus_rank"]["mean"] == 0.0
    costs = report["data"]["modes"]["rank"]["costs"]["expected_cost"]
    assert "irrelevant" not in costs
    assert costs["simplified"]["mean"] == pytest.approx((5 + 2) / 14)
    assert report["data"]["modes"]["generate"]["costs"]["expected_cost"]["simplified"]["mean"] == (
        pytest.approx((8 * 5 + 6 * 1) / 14)  # "maybe" is out of space: 5 on alpha, the default 1 on beta
    )
    skipped = {(s["probe"], s["task"]) for s in report["skipped"]}
    assert ("negated", "alpha-task") in skipped and ("contrast", "") in skipped
    # the two tasks share their label set (yes/no), so neither may lend the other its definition
    assert {("irrelevant", "alpha-task"), ("irrelevant", "beta-task")} <= skipped


def test_cache_makes_a_rerun_model_free(audit) -> None:
    tmp, report, fake = audit
    assert fake.calls > 0
    again = FakeModel()
    config = AuditConfig(tasks_path=tmp / "tasks.jsonl", cache_dir=tmp / "cache", n_boot=200)
    run_audit(config, tmp / "out2", model=again, progress=False)
    assert again.calls == 0
    rerun = json.loads((tmp / "out2" / "audit.json").read_text())
    assert rerun["data"]["modes"]["rank"]["reliance"] == report["data"]["modes"]["rank"]["reliance"]


def test_csv_with_free_text_task_and_escaping(tmp_path: Path) -> None:
    rows = [r for r in user_rows() if r["task"] == "alpha-task"]
    for r in rows:
        r["task"] = "<b>alpha</b>"
    rows += [
        {"task": "free", "definition": "Copy the input.", "input": f"text {i}", "output": f"text {i}"}
        for i in range(3)
    ]
    path = tmp_path / "tasks.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["task", "definition", "input", "output", "labels", "role"])
        writer.writeheader()
        writer.writerows(rows)
    config = AuditConfig(tasks_path=path, probes=("original", "simplified", "empty", "baselines"), n_boot=200)
    run_audit(config, tmp_path / "out", model=FakeModel(), progress=False)
    report = json.loads((tmp_path / "out" / "audit.json").read_text())
    skipped = {(s["probe"], s["task"]): s["reason"] for s in report["skipped"]}
    assert "no output space" in skipped[("rank classification", "free")]
    assert "no output space" in skipped[("random baseline", "free")]
    assert report["data"]["tasks"] == {"<b>alpha</b>": 8, "free": 3}
    html = (tmp_path / "out" / "audit.html").read_text()
    assert "<b>alpha</b>" not in html and "&lt;b&gt;alpha&lt;/b&gt;" in html
    assert "<b>alpha</b>" not in (tmp_path / "out" / "audit.md").read_text()
    # the free-text task is in generation only
    generate = {r["scope"] for r in report["data"]["modes"]["generate"]["reliance"]["per_task"]}
    rank = {r["scope"] for r in report["data"]["modes"]["rank"]["reliance"]["per_task"]}
    assert generate == {"<b>alpha</b>", "free"} and rank == {"<b>alpha</b>"}


def _contrast_side(key: str, other: str, flip: bool) -> Task:
    golds = ["yes", "no", "yes", "no", "no"]
    instances = []
    for i, g in enumerate(golds):
        h = "no" if g == "yes" else "yes"
        gold = h if flip else g
        instances.append(Instance(f"c-{i}-{key}", f"token: {g} mark: {h}", (gold,)))
    return Task(
        name=f"contrast-{key}",
        definition=f"Answer with the word after '{key}:' in the input.",
        instances=tuple(instances),
        positive_examples=(Example("token: yes mark: no", "yes" if key == "token" else "no"),),
        output_space=OutputSpace(("yes", "no"), "declared"),
        contrast=Contrast("c", key),
    )


def test_compact_tasks_with_contrast_pairs(tmp_path: Path) -> None:
    path = save_tasks(
        [_contrast_side("token", "mark", False), _contrast_side("mark", "token", True)],
        tmp_path / "c.jsonl.gz",
    )
    config = AuditConfig(
        tasks_path=path, probes=("original", "simplified", "contrast"), modes=("rank",), n_boot=200
    )
    run_audit(config, tmp_path / "out", model=FakeModel(), progress=False)
    contrast = json.loads((tmp_path / "out" / "audit.json").read_text())["data"]["contrast"]
    assert contrast["rank/original"]["overall"]["consistency"] == 1.0
    # simplified: "yes" on both sides, but the sides never agree: consistency 0 = the rule-blind ceiling
    assert contrast["rank/simplified"]["overall"]["consistency"] == 0.0
    assert contrast["rank/simplified"]["overall"]["agreement"] == 0.0
    assert contrast["rank/original"]["overall"]["chance"] == 0.25


def test_errors_leave_no_output(tmp_path: Path) -> None:
    free = tmp_path / "free.jsonl"
    free.write_text(
        "".join(
            json.dumps({"task": "f", "definition": "d", "input": str(i), "output": str(i)}) + "\n"
            for i in range(3)
        )
    )
    out = tmp_path / "out"
    with pytest.raises(UserError, match="rank mode needs tasks with an output space"):
        run_audit(AuditConfig(tasks_path=free, modes=("rank",)), out, model=FakeModel(), progress=False)
    tasks = write_user_jsonl(tmp_path / "tasks.jsonl")
    bad = tmp_path / "bad.yaml"
    bad.write_text("tasks:\n  alpha-task:\n    cost: {urgent: {no: 20}}\n")
    with pytest.raises(UserError, match="urgent"):
        run_audit(AuditConfig(tasks_path=tasks, costs=bad), out, model=FakeModel(), progress=False)
    with pytest.raises(UserError):
        run_audit(AuditConfig(tasks_path=tasks, task_names=("nope",)), out, model=FakeModel(), progress=False)
    assert not out.exists()


def test_the_report_names_the_tasks_whose_prompts_the_token_budget_cut(tmp_path: Path) -> None:
    """A user's long tickets can exceed `prompt.max_source_tokens`: the audit then says, per probe and task,
    that demonstrations were left out or prompts were cut (losing 'Output:'), in the arms' notes table."""
    from itprobe.prompts import BUDGET_CUT, PromptConfig

    class Chars:  # one token per character
        def __call__(self, text: str) -> dict[str, list[int]]:
            return {"input_ids": [ord(c) for c in text]}

        def decode(self, ids: list[int], skip_special_tokens: bool = True) -> str:
            return "".join(map(chr, ids))

    model = FakeModel()
    model.tokenizer = Chars()  # type: ignore[attr-defined]
    config = AuditConfig(tasks_path=write_user_jsonl(tmp_path / "tasks.jsonl"), probes=("original",),
                         modes=("rank",), n_boot=50, prompt=PromptConfig(max_source_tokens=60))  # fmt: skip
    run_audit(config, tmp_path / "cut", model=model, progress=False)
    text = (tmp_path / "cut" / "audit.md").read_text()
    assert "What the arms did and the prompt budget" in text
    assert f"| original | alpha-task | {BUDGET_CUT} |" in text
    run_audit(
        dataclasses.replace(config, prompt=PromptConfig()), tmp_path / "whole", model=model, progress=False
    )
    assert "prompt budget" not in (tmp_path / "whole" / "audit.md").read_text()
