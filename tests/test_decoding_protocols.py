"""The decoding protocols where answers are generated: `predict_tasks`, `itprobe predict`, `itprobe audit`.

A model that has not learned where an answer ends continues with the demonstrations' separator and the
next "Input:" line. Under ``tk-instruct`` (the paper's protocol) that whole text is the answer and the
official metric scores it; under ``first-line`` the evaluator cuts it for the model.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from audit_fakes import FakeModel, write_user_jsonl
from cli_runner import run_cli

from itprobe.audit import AuditConfig, run_audit
from itprobe.cli.options import decoding_rule
from itprobe.decoding import PROTOCOLS, Decoding
from itprobe.errors import UserError
from itprobe.predict import predict_tasks
from itprobe.prompts import PromptConfig
from itprobe.tasks.types import Instance, OutputSpace, Task

RAMBLE = " Yes.\n\nInput: Is the sky green?\nOutput: No."


class Rambler(FakeModel):
    """Answers like a base model: the label, then the next demonstration (whatever the stop rule)."""

    def generate(self, prompts: Sequence[str], decoding: Decoding) -> list[str]:
        self.calls += len(prompts)
        return [RAMBLE] * len(prompts)


TASK = Task(
    name="t",
    definition="Answer Yes or No.",
    instances=(Instance("1", "Is water wet?", ("Yes",)), Instance("2", "Is fire cold?", ("No",))),
    output_space=OutputSpace(("Yes", "No"), "declared"),
)


def test_tk_instruct_keeps_the_whole_generation_and_first_line_cuts_it() -> None:
    tk = predict_tasks(Rambler(), [TASK], PromptConfig(), progress=False, decoding=PROTOCOLS["tk-instruct"])
    first = predict_tasks(Rambler(), [TASK], PromptConfig(), progress=False, decoding=PROTOCOLS["first-line"])
    assert [p.prediction for p in tk] == [RAMBLE.strip()] * 2  # scored as the official metric scores it
    assert [p.prediction for p in first] == ["Yes."] * 2
    assert [p.raw for p in tk] == [p.raw for p in first] == [RAMBLE] * 2


def test_decoding_options_build_the_named_rule_and_refuse_unknown_names() -> None:
    assert decoding_rule("tk-instruct") == PROTOCOLS["tk-instruct"]
    rule = decoding_rule("first-line", 16, ["\n\n", ""])
    assert (rule.max_new_tokens, rule.stop, rule.label) == (
        16,
        ("\n\n",),
        "first-line, cap 16, stop '\\n\\n'",
    )
    assert decoding_rule("first-line", stop=[""]).stop == ()  # --stop '' : EOS only
    with pytest.raises(UserError, match="--decoding: unknown decoding protocol 'greedy'"):
        decoding_rule("greedy")


def test_predict_refuses_an_unknown_protocol_before_any_model_time(tmp_path: Path, capsys) -> None:
    code, _, err = run_cli(
        capsys, "predict", "--tasks", str(tmp_path / "none.jsonl"), "--out", str(tmp_path / "p.jsonl"),
        "--model", "nowhere", "--decoding", "greedy",
    )  # fmt: skip
    assert code == 2 and "--decoding: unknown decoding protocol 'greedy'" in err
    assert "decoding" in run_cli(capsys, "predict", "--help")[1]
    assert "tk-instruct" in run_cli(capsys, "audit", "--help")[1]


@pytest.mark.parametrize("name", ["tk-instruct", "first-line"])
def test_audit_names_the_protocol_and_measures_the_format_help_under_tk_instruct(
    tmp_path: Path, name: str
) -> None:
    config = AuditConfig(
        tasks_path=write_user_jsonl(tmp_path / "tasks.jsonl"), n_boot=50, probes=("original", "simplified"),
        modes=("generate",), decoding=PROTOCOLS[name],
    )  # fmt: skip
    run_audit(config, tmp_path / "out", model=Rambler(), progress=False)
    report = json.loads((tmp_path / "out" / "audit.json").read_text())
    # the first screen: the recommendation, then the protocol its generated answers were read under
    assert report["summary"][1].startswith(f"Answers in generation mode: the decoding protocol {name}:")
    if name == "first-line":
        assert "format_help" not in report["data"]  # a cut cannot be uncut: nothing to compare with
        return
    rows = {r["condition"]: r for r in report["data"]["format_help"]["rows"]}
    assert set(rows) == {"original", "simplified"}
    # every answer rambles: 0 under tk-instruct; cut at the newline, "Yes." is right on the "yes" golds
    assert rows["original"]["tk-instruct"] == 0.0
    assert rows["original"]["first-line"] == rows["original"]["help"] > 0


def test_the_cache_misses_when_the_protocol_changes(tmp_path: Path) -> None:
    model = Rambler()
    for name in ("tk-instruct", "first-line", "tk-instruct"):
        predict_tasks(
            model, [TASK], PromptConfig(), progress=False, cache_dir=tmp_path, decoding=PROTOCOLS[name]
        )
    assert (
        model.calls == 4
    )  # two instances under each protocol; the second tk-instruct pass is served by the cache


def test_the_format_help_table_reads_in_the_configs_order_not_the_stores() -> None:
    """Stored cells come back in cell-id (hash) order; the format-help rows follow the config: the
    untuned model, each trained arm as trained then under its test arms, each by size."""
    from itprobe.records import Condition, InstanceResult
    from itprobe.report import format_help_section
    from itprobe.study import validate_config
    from itprobe.study.conditions import condition_order

    config = validate_config({"name": "o", "model": "m", "arms": {
        "train": [{}, {"definition": "simplified"}], "test": ["same", {"input": "shuffled-input"}]}})  # fmt: skip
    conditions = [Condition("simplified", "shuffled-input"), Condition("random", baseline="control"),
                  Condition("original"), Condition("simplified"), Condition("untuned"),
                  Condition("original", "shuffled-input")]  # fmt: skip
    order = condition_order(config, conditions)
    assert order == ["untuned", "original", "original@shuffled-input", "simplified",
                     "simplified@shuffled-input", "random"]  # fmt: skip
    stored = [("simplified", 4), ("original", 16), ("original", 1), ("untuned", None), ("original", 4)]
    rows = [
        InstanceResult(condition=c, task="t", id=str(i), exact_match=1.0, rougeL=1.0, prediction="a",
                       references=("a",), labels=("a", "b"), in_space_strict=True, size=n)
        for c, n in stored for i in range(3)
    ]  # fmt: skip
    found = format_help_section(rows, rows, headline_name="tk-instruct", cut_name="first-line", order=order)
    assert found is not None
    assert [(r["condition"], r["size"]) for r in found[1]["rows"]] == [
        ("untuned", None),
        ("original", 1),
        ("original", 4),
        ("original", 16),
        ("simplified", 4),
    ]
