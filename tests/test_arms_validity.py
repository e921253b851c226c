"""Regression tests: arms that must not leak meaning or keep a correct pair (issue #13, items 4-7)."""

from __future__ import annotations

import pytest

from itprobe.arms import ArmSpec, apply_arms
from itprobe.tasks.types import Example, Instance, OutputSpace, Task

# task1391 (winogrande): the second negative "(A)" is wrong only in its brackets; its label is right
WINOGRANDE = Task(
    name="task1391_winogrande_easy_answer_generation",
    definition='You are given a question with a blank and two options. Please answer with "A" or "B".',
    instances=(Instance("1", "Q1 (A) x (B) y", ("A",)), Instance("2", "Q2 (A) x (B) y", ("B",))),
    positive_examples=(
        Example("Katrina gave Christine ... (A) Katrina (B) Christine", "B", "Christine received it."),
        Example("Jessy decided ... (A) floor (B) furniture", "A", "The floor was dirty."),
    ),
    negative_examples=(
        Example("Ian punched Lawrence ... (A) Ian (B) Lawrence", "C", "Not an option."),
        Example("Kevin used less sunscreen ... (A) Kevin (B) Justin", "(A)", "Brackets were added."),
    ),
    output_space=OutputSpace(("A", "B"), "detected"),
)


def _shown(task: Task, spec: ArmSpec) -> list[tuple[str, str]] | None:
    result = apply_arms(task, spec)
    return None if result.task is None else [(e.input, e.output) for e in result.task.positive_examples]


def test_delusive_negatives_drop_a_negative_that_is_wrong_only_in_format() -> None:
    # "(A)" normalises to the label "a", but its error is the brackets: the pair may well be correct
    assert _shown(WINOGRANDE, ArmSpec(examples="delusive-negatives")) is None


def test_delusive_negatives_drop_a_negative_whose_gold_it_matches() -> None:
    # the negative repeats a positive example's input; its output is that example's gold (once with a
    # final period, once exactly): a correct pair either way
    for output in ("B", "b."):
        task = Task(
            "t",
            "Pick A or B.",
            positive_examples=(Example("q1", "B"), Example("q2", "A")),
            negative_examples=(Example("q1", output, "says it is wrong"), Example("q2", "B")),
            output_space=OutputSpace(("A", "B"), "declared"),
        )
        assert _shown(task, ArmSpec(examples="delusive-negatives")) == [("q2", "B")]


def test_delusive_negatives_on_generation_tasks_need_a_known_different_gold() -> None:
    task = Task(
        "gen",
        "Write the capital of the country.",
        positive_examples=(Example("France", "Paris"), Example("Spain", "Madrid")),
        negative_examples=(
            Example("France", "paris!", "lower case and an exclamation mark"),  # right content
            Example("Spain", "Lisbon", "wrong city"),  # known gold, different: usable
            Example("Italy", "Rome.", "no full stop wanted"),  # gold unknown: format-only error possible
        ),
    )
    assert _shown(task, ArmSpec(examples="delusive-negatives")) == [("Spain", "Lisbon")]


def test_delusive_negatives_keep_exactly_spelled_wrong_labels() -> None:
    task = Task(
        "t",
        "Is the review positive?",
        instances=(Instance("1", "x", ("Yes",)), Instance("2", "y", ("No",))),
        positive_examples=(Example("Great.", "Yes"),),
        negative_examples=(Example("Awful.", "Yes", "should be No"), Example("Fine.", "YES", "case")),
        output_space=OutputSpace(("Yes", "No"), "detected"),
    )
    # "Yes" is spelled as the task spells its label: the error can only be the label. "YES" is not.
    assert _shown(task, ArmSpec(examples="delusive-negatives")) == [("Awful.", "Yes")]


@pytest.mark.parametrize("variant", ["delusive-permuted", "delusive"])
def test_permuted_outputs_differ_beyond_punctuation_and_case(variant: str) -> None:
    task = Task(
        "gen",
        "Name the city.",
        positive_examples=(Example("a", "New York"), Example("b", "new-york"), Example("c", "Boston")),
    )
    # "New York" and "new-york" are one answer (they normalise apart only by the hyphen): no derangement
    # can change all three outputs, so the arm skips
    assert _shown(task, ArmSpec(examples=variant)) is None


# a generation task whose instance references and demonstrations disagree in form: the references are
# single numbers for some instances and sentences for others
HEADLINES = Task(
    name="task288_gigaword_summarization",
    definition="Generate a headline (title) for this article.",
    instances=tuple(
        Instance(str(i), f"article {i} about markets", ("42",) if i % 3 else (f"Markets rise on day {i}.",))
        for i in range(12)
    ),
    positive_examples=(
        Example("article a", "Stocks fall sharply as rates climb"),
        Example("article b", "Oil prices reach a new high"),
    ),
)


def test_simplified_generation_text_is_the_same_at_every_training_size() -> None:
    from itprobe.training.data import sample_instances

    texts = {
        apply_arms(sample_instances(HEADLINES, n, seed), ArmSpec(definition="simplified")).task.definition  # type: ignore[union-attr]
        for n in (1, 2, 4, 12)
        for seed in (0, 1, 2)
    }
    assert texts == {"Output a sentence."}  # the demonstrations: headlines of six words


def test_simplified_generation_text_never_reads_the_test_references() -> None:
    import dataclasses

    before = apply_arms(HEADLINES, ArmSpec(definition="simplified")).task
    changed = dataclasses.replace(
        HEADLINES, instances=tuple(Instance(i.id, i.input, ("1, 2, 3",)) for i in HEADLINES.instances)
    )
    after = apply_arms(changed, ArmSpec(definition="simplified")).task
    assert before is not None and after is not None and before.definition == after.definition


def _task(name: str, source: str, labels: tuple[str, ...] = ()) -> Task:
    space = OutputSpace(labels, "declared") if labels else None
    return Task(name, f"Definition of {name}.", output_space=space, meta=(("source", source),))


def test_irrelevant_never_draws_a_sibling_task() -> None:
    task = _task("task100_squad_answer_question", "squad", ("yes", "no"))
    pool = [
        task,
        _task("task101_squad_title_generation", "squad"),  # same dataset (source and name stem)
        _task("task102_squadv2_classification", "SQuAD; other_set", ("A", "B")),  # same source, listed
        _task("task103_squad_unanswerable", "new_name"),  # same name stem
        _task("task200_boolq_classification", "boolq", ("No", "Yes")),  # same label set
        _task("task300_gigaword_summarization", "gigaword"),  # unrelated: the only candidate
    ]
    drawn = {
        dict(apply_arms(task, ArmSpec(definition="irrelevant", seed=s), pool=pool).task.meta)[  # type: ignore[union-attr]
            "irrelevant_source"
        ]
        for s in range(40)
    }
    assert drawn == {"task300_gigaword_summarization"}
    lone = apply_arms(task, ArmSpec(definition="irrelevant"), pool=pool[:-1])
    assert lone.task is None and "source dataset" in lone.notes[0]


def test_irrelevant_on_the_suite_draws_another_family_with_other_labels() -> None:
    from itprobe.suites import generate_suite

    tests = generate_suite(seed=0).test
    for task in tests:
        result = apply_arms(task, ArmSpec(definition="irrelevant", seed=3), pool=tests)
        assert result.task is not None, result.notes
        source = {t.name: t for t in tests}[dict(result.task.meta)["irrelevant_source"]]
        assert source.contrast.group != task.contrast.group  # type: ignore[union-attr]
        assert set(source.output_space.labels) != set(task.output_space.labels)  # type: ignore[union-attr]


@pytest.mark.parametrize("arm", ["simplified", "empty", "irrelevant"])
def test_meaning_free_arms_show_neither_explanations_nor_the_task_name(arm: str) -> None:
    from itprobe.prompts import PromptConfig, encode

    task = Task(
        "task1155_bard_analogical_reasoning_trash_or_treasure",
        "Decide whether the item is trash or treasure by analogy.",
        instances=(Instance("1", "apple : treasure. banana : ?", ("treasure",)),),
        positive_examples=(Example("a : trash. b : ?", "trash", "By analogy with a, b is trash too."),),
        negative_examples=(Example("c : trash. d : ?", "treasure", "By analogy, d is trash."),),
        output_space=OutputSpace(("trash", "treasure"), "declared"),
    )
    pool = [task, _task("task300_gigaword_summarization", "gigaword")]
    config = PromptConfig(add_task_name=True, add_explanation=True, num_neg=1)
    original = encode(task, task.instances[0], config).text
    assert task.name in original and "By analogy" in original  # the options work with the original
    changed = apply_arms(task, ArmSpec(definition=arm), pool=pool).task
    assert changed is not None and changed.name == task.name  # results still pair on the name
    text = encode(changed, changed.instances[0], config).text
    assert task.name not in text and "bard" not in text and "analogy" not in text.lower()
    assert "Explanation" not in text
