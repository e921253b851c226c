"""Tk-Instruct encoding: golden strings for every option, punctuation rules, token budgets, golden file."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from itprobe.prompts import PromptConfig, encode, encode_task
from itprobe.tasks.types import Example, Instance, Task

TAIL = "Now complete the following example -\nInput: Is grass green.\nOutput: "
DEF = "Definition: Answer yes or no.\n\n"
POS1 = " Positive Example 1 -\nInput: Is the sky blue?\n Output: yes.\n\n"
POS2 = " Positive Example 2 -\nInput: Is fire cold.\n Output: no.\n\n"
POS1_EXPL = (
    " Positive Example 1 -\nInput: Is the sky blue?\n Output: yes.\n Explanation: The sky is blue.\n\n"
)
# an empty explanation means "none given" and is left out (Tk-Instruct would print " Explanation: .")
POS2_EXPL = " Positive Example 2 -\nInput: Is fire cold.\n Output: no.\n\n"
NEG1 = " Negative Example 1 -\nInput: Is water wet.\n Output: maybe.\n\n"
NEG1_EXPL = " Negative Example 1 -\nInput: Is water wet.\n Output: maybe.\n Explanation: Not a label.\n\n"

TASK = Task(
    name="task001_demo",
    definition="  Answer yes or no\n",
    instances=(Instance("d-1", "  Is grass green \n", ("yes", "Yes.")),),
    positive_examples=(
        Example("Is the sky blue?", "yes", "The sky is blue"),
        Example("Is fire cold", "no.", ""),
    ),
    negative_examples=(Example("Is water wet", " maybe ", "Not a label."),),
    categories=("Answer Verification",),
)


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (PromptConfig(num_pos=0), DEF + TAIL),
        (PromptConfig(add_definition=False, num_pos=0), TAIL),
        (PromptConfig(add_definition=False, num_pos=2), POS1 + POS2 + TAIL),
        (PromptConfig(), DEF + POS1 + POS2 + TAIL),
        (PromptConfig(num_pos=1), DEF + POS1 + TAIL),
        (PromptConfig(num_pos=5), DEF + POS1 + POS2 + TAIL),
        (PromptConfig(num_pos=2, num_neg=2), DEF + POS1 + POS2 + NEG1 + TAIL),
        (PromptConfig(num_pos=0, num_neg=1), DEF + NEG1 + TAIL),
        (PromptConfig(num_pos=2, add_explanation=True), DEF + POS1_EXPL + POS2_EXPL + TAIL),
        (
            PromptConfig(add_task_name=True, num_pos=2, num_neg=2, add_explanation=True),
            "task001_demo. " + DEF + POS1_EXPL + POS2_EXPL + NEG1_EXPL + TAIL,
        ),
        (PromptConfig(add_task_name=True, add_definition=False, num_pos=0), "task001_demo. " + TAIL),
    ],
)
def test_option_combinations(config: PromptConfig, expected: str) -> None:
    prompt = encode(TASK, TASK.instances[0], config)
    assert prompt.text == expected
    assert (prompt.task, prompt.id, prompt.targets) == ("task001_demo", "d-1", ("yes", "Yes."))


@pytest.mark.parametrize(
    ("raw", "rendered"),
    [
        ("Is it?", "Input: Is it?\n"),  # ends in punctuation: no period added
        ("Done.", "Input: Done.\n"),
        ('He said "hi"', 'Input: He said "hi"\n'),  # ASCII closing quote is punctuation
        (
            "He said \u201chi\u201d",
            "Input: He said \u201chi\u201d.\n",
        ),  # curly quote is not ASCII punctuation
        ("x)", "Input: x)\n"),
        ("word  \n\t", "Input: word.\n"),  # stripped before the check
        ("", "Input: .\n"),  # empty input: "Input: " ends in a space, so a period follows
        ("line one\nline two", "Input: line one\nline two.\n"),
        ("caf\u00e9", "Input: caf\u00e9.\n"),
    ],
)
def test_input_punctuation(raw: str, rendered: str) -> None:
    task = Task(name="t", definition="d.", instances=(Instance("i", raw, ("o",)),))
    text = encode(task, task.instances[0], PromptConfig(add_definition=False, num_pos=0)).text
    assert text == "Now complete the following example -\n" + rendered + "Output: "


@pytest.mark.parametrize(
    ("definition", "rendered"),
    [
        ("Say yes?", "Definition: Say yes?\n\n"),
        ("Say yes", "Definition: Say yes.\n\n"),
        ("Labels: 'A', 'B'", "Definition: Labels: 'A', 'B'\n\n"),
        ("", ""),  # empty = no definition line (the `empty` arm); Tk-Instruct would print "Definition: ."
        ("  padded  ", "Definition: padded.\n\n"),
    ],
)
def test_definition_punctuation(definition: str, rendered: str) -> None:
    task = Task(name="t", definition=definition, instances=(Instance("i", "x.", ("o",)),))
    text = encode(task, task.instances[0], PromptConfig(num_pos=0)).text
    assert text == rendered + "Now complete the following example -\nInput: x.\nOutput: "


def test_empty_definition_means_no_definition_line() -> None:
    """The `empty` arm sets definition "": the prompt then has no "Definition:" line at all."""
    task = Task(name="t", definition="  ", instances=TASK.instances)
    assert encode(task, task.instances[0], PromptConfig(num_pos=0)).text == TAIL


def test_example_output_and_explanation_punctuation() -> None:
    task = Task(
        name="t",
        definition="d.",
        instances=(Instance("i", "x.", ("o",)),),
        positive_examples=(Example(" in ", " out!", " because\n"),),
    )
    text = encode(
        task, task.instances[0], PromptConfig(add_definition=False, num_pos=1, add_explanation=True)
    ).text
    assert text.startswith(" Positive Example 1 -\nInput: in.\n Output: out!\n Explanation: because.\n\n")


def test_encode_task_order_and_limit() -> None:
    task = Task(
        name="t", definition="d.", instances=tuple(Instance(f"i{n}", f"x{n}", ("o",)) for n in range(4))
    )
    assert [p.id for p in encode_task(task, PromptConfig())] == ["i0", "i1", "i2", "i3"]
    assert [p.id for p in encode_task(task, PromptConfig(), max_instances=2)] == ["i0", "i1"]


class CharTokenizer:
    """One token per character: budgets become character counts, easy to check by hand."""

    def __call__(self, text: str) -> dict[str, list[int]]:
        return {"input_ids": [ord(c) for c in text]}

    def decode(self, ids: list[int], skip_special_tokens: bool = False) -> str:
        return "".join(map(chr, ids))


THREE = Task(
    name="task3",
    definition="d",
    instances=(Instance("i", "q", ("a",)),),
    positive_examples=tuple(Example(f"in{n}", f"out{n}") for n in range(3)),
)


def _pieces() -> tuple[str, list[str], str]:
    full = encode(THREE, THREE.instances[0], PromptConfig(num_pos=3)).text
    definition, tail = "Definition: d.\n\n", "Now complete the following example -\nInput: q.\nOutput: "
    examples = [f" Positive Example {n + 1} -\nInput: in{n}.\n Output: out{n}.\n\n" for n in range(3)]
    assert full == definition + "".join(examples) + tail
    return definition, examples, tail


def test_budget_adds_examples_while_they_fit() -> None:
    definition, ex, tail = _pieces()
    budget = len(definition + ex[0] + ex[1] + tail)
    text = encode(
        THREE, THREE.instances[0], PromptConfig(num_pos=3, max_source_tokens=budget), CharTokenizer()
    ).text
    assert text == definition + ex[0] + ex[1] + tail


def test_budget_check_uses_space_join_quirk() -> None:
    # the collator checks definition + " ".join(kept) + candidate + input: with two kept examples the check
    # counts one separator character more than the source it builds, so an exact fit is rejected
    definition, ex, tail = _pieces()
    exact = len(definition + "".join(ex) + tail)
    config = PromptConfig(num_pos=3, max_source_tokens=exact)
    assert (
        encode(THREE, THREE.instances[0], config, CharTokenizer()).text == definition + ex[0] + ex[1] + tail
    )
    config = PromptConfig(num_pos=3, max_source_tokens=exact + 1)
    assert encode(THREE, THREE.instances[0], config, CharTokenizer()).text == definition + "".join(ex) + tail


def test_budget_ignores_task_name_then_truncates() -> None:
    definition, ex, tail = _pieces()
    budget = len(definition + ex[0] + tail)
    config = PromptConfig(add_task_name=True, num_pos=3, max_source_tokens=budget)
    text = encode(THREE, THREE.instances[0], config, CharTokenizer()).text
    # example 1 passed the check (which leaves the name out), so the source overflows and is cut
    assert text == ("task3. " + definition + ex[0] + tail)[:budget]


def test_budget_smaller_than_input_cuts_source() -> None:
    config = PromptConfig(num_pos=3, max_source_tokens=10)
    assert encode(THREE, THREE.instances[0], config, CharTokenizer()).text == "Definition"


def test_no_truncation_without_tokenizer_or_budget() -> None:
    full = encode(THREE, THREE.instances[0], PromptConfig(num_pos=3)).text
    assert encode(THREE, THREE.instances[0], PromptConfig(num_pos=3, max_source_tokens=5)).text == full
    assert encode(THREE, THREE.instances[0], PromptConfig(num_pos=3), CharTokenizer()).text == full


def test_budget_with_real_tokenizer(tokenizer) -> None:
    full = encode(THREE, THREE.instances[0], PromptConfig(num_pos=3)).text
    n_full = len(tokenizer(full)["input_ids"])
    roomy = PromptConfig(num_pos=3, max_source_tokens=n_full + 10)
    assert encode(THREE, THREE.instances[0], roomy, tokenizer).text == full
    tight = encode(THREE, THREE.instances[0], PromptConfig(num_pos=3, max_source_tokens=8), tokenizer).text
    # no example fits in 8 tokens, so the source is definition + input, cut to 8 tokens
    bare = encode(THREE, THREE.instances[0], PromptConfig(num_pos=0)).text
    assert tight == tokenizer.decode(tokenizer(bare)["input_ids"][:8], skip_special_tokens=True)
    assert bare.startswith(tight) and len(tokenizer(tight)["input_ids"]) <= 8


def _read_compact(path: Path) -> dict[str, Task]:
    """A minimal reader of the compact format, independent of itprobe.tasks."""
    tasks = {}
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            d = json.loads(line)

            def examples(items: list[dict]) -> tuple[Example, ...]:
                return tuple(Example(e["input"], e["output"], e.get("explanation", "")) for e in items)

            tasks[d["name"]] = Task(
                name=d["name"],
                definition=d["definition"],
                instances=tuple(Instance(i["id"], i["input"], tuple(i["output"])) for i in d["instances"]),
                positive_examples=examples(d["positive_examples"]),
                negative_examples=examples(d["negative_examples"]),
            )
    return tasks


def test_all_golden_prompts(natinst_dir: Path, golden_dir: Path) -> None:
    tasks = {f: _read_compact(natinst_dir / f) for f in ("test_tasks.jsonl.gz", "train_tasks.jsonl.gz")}
    rows = [json.loads(line) for line in (golden_dir / "prompts.jsonl").open(encoding="utf-8")]
    assert len(rows) == 1770
    mismatches = []
    for row in rows:
        task = tasks[row["file"]][row["task"]]
        instance = next(i for i in task.instances if i.id == row["id"])
        config = PromptConfig(
            add_task_name=row["add_task_name"],
            add_definition=row["add_task_definition"],
            num_pos=row["num_pos_examples"],
            num_neg=row["num_neg_examples"],
            add_explanation=row["add_explanation"],
        )
        if encode(task, instance, config).text != row["prompt"]:
            mismatches.append((row["task"], row["id"], row["config"]))
    assert mismatches == []
