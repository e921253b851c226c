"""The instruction arms on hand-made and generated tasks: registry, spec, definition/examples/input arms."""

from __future__ import annotations

import copy
import dataclasses
import random
from collections import Counter

import pytest
from arms_strategies import arm_specs, tasks
from hypothesis import given, settings
from hypothesis import strategies as st

from itprobe.arms import (
    DEFAULT_SIMPLIFIED_TEMPLATE,
    ArmSpec,
    apply_arms,
    apply_arms_to_tasks,
    arm_rng,
    list_arms,
    simplified_definition,
)
from itprobe.arms._text import words
from itprobe.arms.examples import value_derangement
from itprobe.arms.forms import FORM_TEXT, output_form
from itprobe.errors import UserError
from itprobe.metrics import normalize_answer
from itprobe.tasks.types import Example, Instance, OutputSpace, Task

# The words the simplified text may share with the original definition, stated here and not taken from
# the code's templates, so that the leak check below is independent of them: function words, and the
# vocabulary of an output's *form* (a definition may well say "output a sentence" too). Any other word
# the two share, labels apart, is task meaning that leaked.
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "one",
        "or",
        "more",
        "from",
        "to",
        "in",
        "and",
        "is",
        "are",
        "be",
        "by",
        "for",
        "output",
        "input",
        "text",
        "word",
        "words",
        "number",
        "numbers",
        "list",
        "span",
        "short",
        "phrase",
        "sentence",
        "sentences",
    ]
)
TEMPLATE_WORDS = words(DEFAULT_SIMPLIFIED_TEMPLATE.replace("{labels}", "")).union(
    *map(words, FORM_TEXT.values())
)

SENTIMENT = Task(
    name="task9001_review_sentiment",
    definition="Classify the movie review as 'positive' or 'negative'. Answer \"No\" for no opinion.",
    instances=(
        Instance("a", "A wonderful film.", ("positive",)),
        Instance("b", "Dreadful acting.", ("Negative.",)),
        Instance("c", "Boring but fine.", ("neutral",)),
    ),
    positive_examples=(
        Example("Loved it.", "positive", "Loved means positive."),
        Example("Hated it.", "negative", "Hated means negative."),
        Example("Liked it.", "positive", ""),
    ),
    negative_examples=(Example("Meh.", "negative", "Should be neutral."), Example("Meh!", "bad", "")),
    output_space=OutputSpace(("positive", "negative", "neutral"), "declared"),
)


def test_list_arms_names_every_contract_arm() -> None:
    assert list_arms() == {
        "definition": ["original", "simplified", "empty", "irrelevant", "negated"],
        "examples": [
            "gold",
            "delusive-negatives",
            "delusive-permuted",
            "delusive-wrong-label",
            "delusive",
            "none",
        ],
        "input": ["original", "content-free", "shuffled-input"],
        "label": ["original", "label-rename", "label-swap"],
    }


def test_unknown_arm_is_a_user_error_listing_the_known_names() -> None:
    with pytest.raises(UserError, match="unknown definition arm 'simplify'.*original, simplified, empty"):
        ArmSpec(definition="simplify")
    with pytest.raises(UserError, match="must contain exactly the field"):
        ArmSpec(simplified_template="Say {answer}")
    with pytest.raises(UserError, match="unknown arm spec key"):
        ArmSpec.from_dict({"definition": "empty", "colour": "red"})


def test_spec_names_and_round_trip() -> None:
    assert ArmSpec().name == "original"
    assert ArmSpec(definition="simplified", examples="delusive").name == "simplified+delusive"
    assert ArmSpec(examples="none").name == "no-examples"
    spec = ArmSpec(input="content-free", label="label-rename", rename_scheme="semantic", seed=3)
    assert spec.name == "content-free+label-rename[semantic]"
    assert ArmSpec(definition="simplified", simplified_template="Pick {labels}").name.startswith(
        "simplified[tpl-"
    )
    assert ArmSpec.from_dict(spec.as_dict()) == spec
    assert spec.as_dict()["seed"] == 3


def test_arm_rng_is_stable_across_processes() -> None:
    # a literal, so a change to the derivation (or a fall-back to hash()) fails here
    assert arm_rng(0, "examples", "delusive", "task1").randrange(10**6) == 552057
    assert (
        arm_rng(1, "examples", "delusive", "task1").random()
        != arm_rng(0, "examples", "delusive", "task1").random()
    )


def test_simplified_on_a_hand_made_task() -> None:
    assert simplified_definition(SENTIMENT) == 'Output one of: "positive", "negative", "neutral".'
    assert simplified_definition(SENTIMENT, "Answer with {labels} only.") == (
        'Answer with "positive", "negative", "neutral" only.'
    )


@pytest.mark.parametrize(
    ("refs", "inputs", "form"),
    [
        (["42", "-3.5", "1,200", "7%"], None, "number"),
        (["1, 4, 7", "[2, 3]", "5 6"], None, "number-list"),
        (["cat", "dog"], ["a cat sat", "the dog ran"], "word-from-input"),
        (["black cat", "dog ran"], ["a black cat sat", "the dog ran"], "span-from-input"),
        (["cat", "dog"], ["x", "y"], "word"),
        (["a small cat", "two dogs"], ["x", "y"], "short-phrase"),
        (["The cat sat on the big mat today.", "A dog ran off into the dark wood."], ["x", "y"], "sentence"),
        (
            ["The cat sat on the mat. Then it slept all day.", "Go. Now run far away from here."],
            None,
            "sentences",
        ),
        ([], None, "none"),
    ],
)
def test_output_form_rule(refs: list[str], inputs: list[str] | None, form: str) -> None:
    inputs = inputs or ["input"] * len(refs)
    shown = tuple(Example(inp, ref) for ref, inp in zip(refs, inputs, strict=True))
    # instances whose references have another form: the rule reads the demonstrations only
    instances = tuple(Instance(str(i), "x", ("99",)) for i in range(5))
    task = Task("t", "Summarise the biology article about frogs.", instances, positive_examples=shown)
    assert output_form(task) == form
    assert simplified_definition(task) == FORM_TEXT[form]


def assert_no_definition_word(before: Task, text: str, label_words: set[str]) -> None:
    """``text`` shares no word with the original definition apart from labels and `STOP_WORDS`."""
    content = words(before.definition) - STOP_WORDS - label_words
    leaked = (words(text) - label_words) & content
    assert not leaked, f"simplified text {text!r} shares {sorted(leaked)} with the definition"


def assert_simplified_ok(before: Task, after: Task) -> None:
    """Every label quoted in the text, no word beyond labels and the template vocabulary, and no content
    word of the original definition apart from the labels."""
    text = after.definition
    label_words: set[str] = set()
    if before.is_classification:
        assert before.output_space is not None
        for label in before.output_space.labels:
            assert f'"{label}"' in text
            label_words |= words(label)
    else:
        assert text in FORM_TEXT.values()
    assert words(text) - label_words <= TEMPLATE_WORDS  # built from the templates (the code's own claim)
    # checked against the definition's own words and a stated stop list, not against TEMPLATE_WORDS: a
    # template word that is a definition's content word would fail here although it passed the line above
    assert_no_definition_word(before, text, label_words)


def test_the_leak_check_can_fail() -> None:
    task = Task("t", "Name the frog in the picture.", positive_examples=(Example("x", "Kermit"),))
    assert_no_definition_word(task, "Output a word.", set())
    with pytest.raises(AssertionError, match="frog"):
        assert_no_definition_word(task, "Output a frog.", set())  # a template that named the topic
    labelled = dataclasses.replace(task, output_space=OutputSpace(("frog", "toad"), "declared"))
    assert_no_definition_word(labelled, 'Output one of: "frog", "toad".', {"frog", "toad"})  # labels: kept


@settings(max_examples=100, deadline=None)
@given(tasks())
def test_simplified_keeps_labels_and_leaks_no_definition_word(task: Task) -> None:
    result = apply_arms(task, ArmSpec(definition="simplified"))
    assert result.task is not None
    assert_simplified_ok(task, result.task)
    # only the definition changes, besides what every meaning-free arm removes: explanations, the name
    unexplained = [(e.input, e.output, "") for e in (*task.positive_examples, *task.negative_examples)]
    after = result.task
    assert [
        (e.input, e.output, e.explanation) for e in (*after.positive_examples, *after.negative_examples)
    ] == (unexplained)
    assert dict(after.meta) == {**dict(task.meta), "task_name_hidden": "true"}
    assert (after.name, after.instances, after.output_space) == (task.name, task.instances, task.output_space)


@settings(max_examples=80, deadline=None)
@given(tasks(), st.lists(tasks(), max_size=3), arm_specs())
def test_arms_are_pure_and_deterministic(task: Task, pool: list[Task], spec: ArmSpec) -> None:
    pool = [task, *pool]
    frozen_task, frozen_pool = copy.deepcopy(task), copy.deepcopy(pool)
    first = apply_arms(task, spec, pool=pool)
    assert task == frozen_task and pool == frozen_pool
    assert apply_arms(task, spec, pool=pool) == first
    if first.task is not None:
        assert first.task.name == task.name
        assert [i.id for i in first.task.instances] == [i.id for i in task.instances]


def assert_delusive_ok(before: Task, after: Task) -> None:
    """Same inputs, outputs in the output space, and every output differs from the gold one."""
    assert before.output_space is not None
    space = {normalize_answer(label) for label in before.output_space.labels}
    assert [ex.input for ex in after.positive_examples] == [ex.input for ex in before.positive_examples]
    for old, new in zip(before.positive_examples, after.positive_examples, strict=True):
        assert normalize_answer(new.output) in space
        assert normalize_answer(new.output) != normalize_answer(old.output)


@settings(max_examples=100, deadline=None)
@given(tasks(classification=True), st.integers(0, 1000))
def test_delusive_classification_uses_wrong_in_space_labels(task: Task, seed: int) -> None:
    result = apply_arms(task, ArmSpec(examples="delusive", seed=seed))
    if not task.positive_examples:
        assert result.task is None and "no positive examples" in result.notes[0]
        return
    assert result.task is not None and result.notes == ("delusive: variant wrong-label",)
    assert_delusive_ok(task, result.task)
    assert result.task.instances == task.instances and result.task.definition == task.definition


@settings(max_examples=100, deadline=None)
@given(tasks(), st.integers(0, 1000))
def test_delusive_permuted_changes_every_output_whenever_possible(task: Task, seed: int) -> None:
    result = apply_arms(task, ArmSpec(examples="delusive-permuted", seed=seed))
    outputs = [normalize_answer(ex.output) for ex in task.positive_examples]
    possible = len(outputs) >= 2 and 2 * max(Counter(outputs).values()) <= len(outputs)
    assert (result.task is not None) == possible
    if result.task is not None:
        new = [normalize_answer(ex.output) for ex in result.task.positive_examples]
        assert Counter(new) == Counter(outputs)
        assert all(a != b for a, b in zip(new, outputs, strict=True))
        assert [e.input for e in result.task.positive_examples] == [e.input for e in task.positive_examples]


@given(st.lists(st.sampled_from("abc"), max_size=9), st.randoms(use_true_random=False))
def test_value_derangement(outputs: list[str], rng: random.Random) -> None:
    perm = value_derangement(outputs, rng)
    if perm is None:
        assert len(outputs) < 2 or 2 * max(Counter(outputs).values()) > len(outputs)
    else:
        assert sorted(perm) == list(range(len(outputs)))
        assert all(outputs[perm[i]] != outputs[i] for i in range(len(outputs)))


def _bare(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


@settings(max_examples=150, deadline=None)
@given(tasks())
def test_delusive_negatives_keep_only_negatives_wrong_in_their_answer(task: Task) -> None:
    result = apply_arms(task, ArmSpec(examples="delusive-negatives"))
    gold = {}
    for ex in task.positive_examples:
        gold.setdefault(ex.input.strip(), set()).add(_bare(ex.output))
    spelled = set()
    if task.output_space is not None:
        labels = {_bare(label) for label in task.output_space.labels}
        outputs = [*task.output_space.labels, *(e.output for e in task.positive_examples)]
        outputs += [o for i in task.instances for o in i.outputs]
        spelled = {o.strip() for o in outputs if _bare(o) in labels}
    usable = [
        ex
        for ex in task.negative_examples
        if (ex.input.strip() in gold or task.is_classification)
        and _bare(ex.output) not in gold.get(ex.input.strip(), set())
        and (not task.is_classification or ex.output.strip() in spelled)
    ]
    if not usable:
        assert result.task is None
        return
    assert result.task is not None
    assert [(e.input, e.output) for e in result.task.positive_examples] == [
        (e.input, e.output) for e in usable
    ]
    assert result.task.negative_examples == ()


def test_delusive_on_hand_made_task_and_generation_default() -> None:
    result = apply_arms(SENTIMENT, ArmSpec(examples="delusive-negatives"))
    assert result.task is not None
    assert result.task.positive_examples == (Example("Meh.", "negative", ""),)
    generation = Task(
        "gen",
        "Write a title.",
        positive_examples=(Example("x", "Title one"), Example("y", "Title two"), Example("z", "Title three")),
    )
    result = apply_arms(generation, ArmSpec(examples="delusive", seed=5))
    assert result.task is not None and result.notes == ("delusive: variant permuted",)
    assert all(e.explanation == "" for e in result.task.positive_examples)
    assert apply_arms(generation, ArmSpec(examples="delusive-wrong-label")).task is None


@settings(max_examples=60, deadline=None)
@given(tasks(), st.lists(tasks(), max_size=3), st.integers(0, 1000))
def test_irrelevant_never_picks_the_task_itself(task: Task, others: list[Task], seed: int) -> None:
    pool = [task, dataclasses.replace(task, definition="another text of the same task"), *others]
    result = apply_arms(task, ArmSpec(definition="irrelevant", seed=seed), pool=pool)

    def labels(t: Task) -> set[str] | None:
        return {normalize_answer(x) for x in t.output_space.labels} if t.output_space else None

    # these tasks carry no source and no NatInst-style name: a sibling is a task with the same label set
    candidates = {
        (o.name, o.definition)
        for o in others
        if o.name != task.name
        and o.definition.strip() != task.definition.strip()
        and (labels(task) is None or labels(o) != labels(task))
    }
    if not candidates:
        assert result.task is None and "no other task" in result.notes[0]
        return
    assert result.task is not None
    source = dict(result.task.meta)["irrelevant_source"]
    assert source != task.name and (source, result.task.definition) in candidates
    # the draw depends on the pool's content, not its order
    assert apply_arms(task, ArmSpec(definition="irrelevant", seed=seed), pool=pool[::-1]) == result


def test_empty_none_and_content_free() -> None:
    result = apply_arms(SENTIMENT, ArmSpec(definition="empty", examples="none", input="content-free"))
    task = result.task
    assert task is not None and task.definition == ""
    assert task.positive_examples == () and task.negative_examples == ()
    assert [i.input for i in task.instances] == ["N/A"] * 3
    assert [i.outputs for i in task.instances] == [i.outputs for i in SENTIMENT.instances]


@settings(max_examples=100, deadline=None)
@given(tasks())
def test_negated_maps_gold_through_the_label_map(task: Task) -> None:
    result = apply_arms(task, ArmSpec(definition="negated"))
    if task.negation is None:
        assert result.task is None and "no negated definition" in result.notes[0]
        return
    assert result.task is not None and task.output_space is not None
    mapping = {normalize_answer(k): v for k, v in task.negation.label_map}
    assert result.task.definition == task.negation.definition and result.task.negation is None
    for old, new in zip(task.instances, result.task.instances, strict=True):
        assert new.input == old.input and new.outputs == (mapping[normalize_answer(old.outputs[0])],)
    assert set(result.task.output_space.labels) == set(task.output_space.labels)  # type: ignore[union-attr]


def test_apply_arms_to_tasks_reports_skips() -> None:
    generation = Task("gen", "Write a title.", (Instance("1", "x", ("Title",)),))
    kept, notes = apply_arms_to_tasks([SENTIMENT, generation], ArmSpec(examples="delusive-wrong-label"))
    assert [t.name for t in kept] == [SENTIMENT.name]
    assert notes["gen"] == ("delusive-wrong-label: the task has no output space with 2 or more labels",)


def test_every_arm_on_the_generated_suite() -> None:
    """The suite supplies what NatInst lacks: negated definitions with their label maps."""
    from itprobe.suites import generate_suite

    suite = generate_suite(seed=0)
    pool = [*suite.train, *suite.test]
    negatable = [t for t in pool if t.negation is not None]
    assert negatable
    for task in negatable:
        result = apply_arms(task, ArmSpec(definition="negated"))
        assert result.task is not None and task.negation is not None
        flip = dict(task.negation.label_map)
        assert [i.outputs[0] for i in result.task.instances] == [flip[i.outputs[0]] for i in task.instances]
    for task in pool:
        for spec in (ArmSpec(definition="simplified"), ArmSpec(label="label-rename", examples="delusive")):
            result = apply_arms(task, spec, pool=pool)
            assert result.task is not None, result.notes
        assert_simplified_ok(task, apply_arms(task, ArmSpec(definition="simplified")).task)  # type: ignore[arg-type]


def test_shuffled_input_moves_every_input_and_keeps_ids_and_golds_in_place() -> None:
    task = Task(
        name="t",
        definition="Say whether the number is even.",
        instances=tuple(
            Instance(f"i{k}", f"number {k}", ("even" if k % 2 == 0 else "odd",)) for k in range(7)
        ),
        positive_examples=(Example("number 2", "even", ""),),
        output_space=OutputSpace(("even", "odd"), "declared"),
    )
    out = apply_arms(task, ArmSpec(input="shuffled-input", seed=3)).task
    assert out is not None
    assert [i.id for i in out.instances] == [i.id for i in task.instances]
    assert [i.outputs for i in out.instances] == [i.outputs for i in task.instances]
    assert all(
        a.input != b.input for a, b in zip(out.instances, task.instances, strict=True)
    )  # a derangement
    assert sorted(i.input for i in out.instances) == sorted(i.input for i in task.instances)
    assert (out.definition, out.positive_examples) == (task.definition, task.positive_examples)
    again = apply_arms(task, ArmSpec(input="shuffled-input", seed=3)).task
    assert again == out  # seeded
