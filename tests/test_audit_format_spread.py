"""The ``format-spread`` probe: its pinned template set, rewrites that keep every word of meaning, and the
spread of an audit on a fake model that reads every format but fails when the answer field is called
"Answer" (templates 1 and 2 of seed 0), so every number below is computed by hand."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from audit_fakes import _RULE, FALLBACK, FakeModel, write_user_jsonl

from itprobe.audit import AuditConfig, parse_probes, run_audit
from itprobe.audit.catalogue import default_probes
from itprobe.audit.format_spread import GRID, Template, rewrite, templates
from itprobe.audit.gate import check_audit, load_gate
from itprobe.models.base import ChoiceScore
from itprobe.prompts import PromptConfig, encode
from itprobe.tasks.types import Example, Instance, OutputSpace, Task

FIELD_WORDS = {"definition", "input", "output", "answer"}


def test_the_template_set_is_pinned() -> None:
    assert [t.label() for t in templates(4, seed=0)] == [
        "original",
        "answer='Answer', separator=':: ', label_order='reversed'",
        "answer='Answer', trailing_space=True",
        "casing='lower', gap='\\n\\n\\n', label_order='reversed'",
        "casing='upper', separator=' : ', trailing_space=True, label_order='reversed'",
    ]
    assert templates(4, seed=0) == templates(4, seed=0) != templates(4, seed=1)
    assert len(set(templates(12, seed=3))) == 13 and len(GRID) == 216


def _meaning_words(text: str) -> Counter[str]:
    return Counter(w for w in re.findall(r"\w+", text.lower()) if w not in FIELD_WORDS)


def test_rewrites_keep_every_word_of_meaning() -> None:
    task = Task(
        name="t",
        definition='Is the ticket urgent? Answer "yes" or "no".',
        instances=(Instance("1", "Pump 3 leaks: output pressure low", ("yes",)),),
        positive_examples=(Example("Light bulb out", "no"), Example("Fire alarm", "yes")),
        output_space=OutputSpace(("yes", "no"), "declared"),
    )
    prompt = encode(task, task.instances[0], PromptConfig()).text
    assert rewrite(prompt, Template(), ("yes", "no")) == prompt
    for template in GRID:
        text = rewrite(prompt, template, ("yes", "no"))
        assert _meaning_words(text) == _meaning_words(prompt), template
        # the instance's own words, "output" included, are never touched
        assert "Pump 3 leaks: output pressure low" in text
    swapped = rewrite(prompt, Template(label_order="reversed"), ("yes", "no"))
    assert swapped.startswith('Definition: Is the ticket urgent? Answer "no" or "yes".\n\n')
    upper = rewrite(prompt, Template(answer="Answer", casing="upper", separator=" : "), ("yes", "no"))
    assert upper.endswith("\nANSWER : ") and "\nINPUT : Pump 3" in upper and "DEFINITION : Is" in upper


def _pick(prompt: str) -> str:
    """The rule-following answer in any format, "" where the answer field is called Answer."""
    if re.search(r"^ ?answer ?:", prompt, re.IGNORECASE | re.MULTILINE):
        return ""
    rule = _RULE.search(prompt.split("\n")[0])  # the definition line
    last = re.split(r"^input ?::? ?", prompt, flags=re.IGNORECASE | re.MULTILINE)[-1]
    found = re.search(rf"\b{rule.group(1)}: (\w+)", last) if rule else None
    return found.group(1) if found else ""


class _FormatAware(FakeModel):
    def generate(self, prompts, decoding):  # noqa: ANN001, ANN201
        return [(_pick(p) + ".") if _pick(p) else FALLBACK for p in prompts]

    def score_choices(self, prompts, choices):  # noqa: ANN001, ANN201
        return [
            [ChoiceScore(-1.0 - i / 2 + (3.0 if lab == _pick(p) else 0.0), 1) for i, lab in enumerate(labels)]
            for p, labels in zip(prompts, choices, strict=True)
        ]


@pytest.fixture(scope="module")
def spread_audit(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    tmp = tmp_path_factory.mktemp("spread")
    probes = parse_probes("original,simplified,empty,format-spread")
    config = AuditConfig(tasks_path=write_user_jsonl(tmp / "tasks.jsonl"), probes=probes, n_boot=200)
    run_audit(config, tmp / "out", model=_FormatAware(), progress=False)
    return tmp / "out", json.loads((tmp / "out" / "audit.json").read_text())


def test_format_spread_is_opt_in() -> None:
    assert "format-spread" not in parse_probes("all") and parse_probes("all") == default_probes()
    assert parse_probes("all,format-spread") == (*default_probes(), "format-spread")


def test_spread_numbers_by_hand(spread_audit) -> None:
    out, report = spread_audit
    spread = report["data"]["format_spread"]
    assert [t["label"] for t in spread["templates"]] == [t.label() for t in templates(4, 0)]
    gen = spread["modes"]["generate"]
    # templates 1 and 2 call the field Answer: the fake then answers "maybe" (0); elsewhere it is right
    assert [s for _, s in gen["scores"]] == [1.0, 0.0, 0.0, 1.0, 1.0]
    assert (gen["low"], gen["high"], gen["width"]["mean"], gen["sensitive_share"]) == (0.0, 1.0, 1.0, 1.0)
    assert gen["mean_sensitivity"] == pytest.approx(1 - abs(2 * 3 / 5 - 1))
    # simplified and empty have no rule: 0 under every template, so reliance = the original's score
    assert [r for _, r in gen["reliance"]] == [1.0, 0.0, 0.0, 1.0, 1.0]
    assert gen["worst_reliance"]["mean"] == 0.0
    rank = spread["modes"]["rank"]  # rank without a rule picks "yes": alpha 3/8, beta 4/6 right
    assert [s for _, s in rank["scores"]] == pytest.approx([1.0, 7 / 14, 7 / 14, 1.0, 1.0])
    headline = report["data"]["modes"]["generate"]["headline"]["overall"]
    assert headline["format_spread"]["mean"] == 1.0 and headline["reliance_across_formats"]["mean"] == 0.0
    assert "## Format spread" in (out / "audit.md").read_text()
    assert "Format spread" in (out / "audit.html").read_text()


def test_gate_on_the_spread(spread_audit, tmp_path: Path) -> None:
    _, report = spread_audit
    gate = tmp_path / "g.yaml"
    gate.write_text(
        "rules:\n  - {metric: format_spread, max: 0.1}\n  - {metric: reliance_across_formats, min: 0}\n"
    )
    result = check_audit(load_gate(gate), report["data"])
    # the worst format's reliance is exactly 0: "min: 0" on the CI bound asks for a CI strictly above 0
    assert [c.passed for c in result.checks] == [False, False]
    assert result.checks[0].measured() == "+100.0 [+100.0, +100.0] points"
