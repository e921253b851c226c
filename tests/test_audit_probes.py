"""Which probes an audit runs, on which tasks and modes, and what it skips (with reasons)."""

from __future__ import annotations

import pytest

from itprobe.arms import CONTENT_FREE_INPUT
from itprobe.audit.catalogue import probe_names
from itprobe.audit.probes import parse_modes, parse_probes, plan_audit
from itprobe.errors import UserError
from itprobe.tasks.types import Example, Instance, Negation, OutputSpace, Task


def _task(
    name: str, labels: tuple[str, ...] | None, *, examples: bool = True, negation: bool = False
) -> Task:
    outs = list(labels or ("free text one", "free text two"))
    instances = tuple(Instance(f"{name}-{i}", f"input {i}", (outs[i % len(outs)],)) for i in range(4))
    return Task(
        name=name,
        definition=f"Definition of {name}.",
        instances=instances,
        positive_examples=(Example("demo", outs[0]),) if examples else (),
        output_space=OutputSpace(labels, "declared") if labels else None,
        negation=Negation("Say the opposite.", (("yes", "no"), ("no", "yes"))) if negation else None,
    )


def test_parse_modes() -> None:
    assert parse_modes("rank, generate") == ("rank", "generate")
    assert parse_modes("generate,generate") == ("generate",)
    with pytest.raises(UserError, match="unknown mode"):
        parse_modes("rank,beam")
    with pytest.raises(UserError):
        parse_modes(" , ")


def test_parse_probes() -> None:
    # "all" is every probe but the opt-in ones (format-spread), which run when named
    assert (
        parse_probes(None) == parse_probes("all") == tuple(p for p in probe_names() if p != "format-spread")
    )
    assert parse_probes("all,format-spread") == probe_names()
    # catalogue order, and original is always there
    assert parse_probes("prior,simplified") == ("original", "simplified", "prior")
    with pytest.raises(UserError, match="unknown probe.*nonsense"):
        parse_probes("simplified,nonsense")


def test_plan_lists_passes_and_skips() -> None:
    yes_no = _task("t-yesno", ("yes", "no"), negation=True)
    free = _task("t-free", None, examples=False)
    one = _task("t-one", ("only",))
    plan = plan_audit([yes_no, free, one], probe_names(), ("rank", "generate"), seed=0)
    passes = {(p.probe, p.mode): [t.name for t in p.tasks] for p in plan.passes}
    assert passes[("original", "rank")] == ["t-yesno"]
    assert passes[("original", "generate")] == ["t-yesno", "t-free", "t-one"]
    assert passes[("negated", "rank")] == ["t-yesno"]
    assert passes[("label-swap", "generate")] == ["t-yesno"]
    assert ("no-examples", "generate") in passes and "t-free" not in passes[("no-examples", "generate")]
    reasons = {(s.probe, s.task): s.reason for s in plan.skipped}
    assert "no output space" in reasons[("rank classification", "t-free")]
    assert "only one label" in reasons[("rank classification", "t-one")]
    assert "negated definition" in reasons[("negated", "t-free")]
    assert "no positive examples" in reasons[("no-examples", "t-free")]
    assert "no output space" in reasons[("label-rename", "t-free")]
    assert "no task declares a contrast pair" in reasons[("contrast", "")]
    assert ("prior", "t-free") in reasons and ("random baseline", "t-one") in reasons
    # the prior: one content-free instance per rankable task
    (prior,) = [p for p in plan.passes if p.probe == "prior"]
    assert [(t.name, len(t.instances), t.instances[0].input) for t in prior.tasks] == [
        ("t-yesno", 1, CONTENT_FREE_INPUT)
    ]
    # what the arms did is recorded per task
    assert any(p == "label-rename" and t == "t-yesno" and "→" in n for p, t, n in plan.arm_notes)


def test_plan_irrelevant_needs_another_task_and_prior_needs_rank() -> None:
    task = _task("alone", ("yes", "no"))
    plan = plan_audit([task], ("original", "irrelevant", "prior"), ("generate",))
    reasons = {(s.probe, s.task): s.reason for s in plan.skipped}
    assert "no other task" in reasons[("irrelevant", "alone")]
    assert "rank mode" in reasons[("prior", "")]
    assert [p.probe for p in plan.passes] == ["original"]
    # with a pool, irrelevant draws from it
    other = _task("other", ("A", "B"))
    sibling = _task("sibling", ("no", "yes"))  # the same label set: never drawn
    plan = plan_audit([task], ("original", "irrelevant"), ("generate",), pool=[task, sibling, other])
    (irrelevant,) = [p for p in plan.passes if p.probe == "irrelevant"]
    assert irrelevant.tasks[0].definition == other.definition
