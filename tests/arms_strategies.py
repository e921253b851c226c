"""Hypothesis strategies for tasks, shared by the arm tests (tests/test_arms*.py).

Generated tasks mix the awkward cases the arms must handle: labels that are everyday words ("no"),
labels equal to a rename candidate ("alpha"), outputs spelled differently from their label ("Yes."),
repeated example outputs, negation maps, missing examples, and generation tasks with free text.
"""

from __future__ import annotations

from hypothesis import strategies as st

from itprobe.arms import ArmSpec, list_arms
from itprobe.tasks.types import Example, Instance, Negation, OutputSpace, Task

WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)
KNOWN_LABELS = ["yes", "no", "true", "false", "positive", "negative", "neutral", "entails", "alpha", "beta"]
LABEL = st.one_of(st.sampled_from(KNOWN_LABELS), WORD)
SENTENCE = st.lists(WORD, min_size=1, max_size=12).map(" ".join)


def spelled(label: str) -> st.SearchStrategy[str]:
    """``label`` as a gold output might spell it: as is, capitalised, or with a final period."""
    return st.sampled_from([label, label.capitalize(), label + "."])


@st.composite
def labels(draw: st.DrawFn) -> list[str]:
    return draw(st.lists(LABEL, min_size=2, max_size=5, unique=True))


@st.composite
def definitions(draw: st.DrawFn, space: list[str]) -> str:
    """Free words with some label mentions, quoted or not, in varied case."""
    mention = st.sampled_from(space).flatmap(
        lambda lab: st.sampled_from([lab, f'"{lab}"', f"'{lab}'", lab.capitalize()])
    )
    parts = draw(st.lists(st.one_of(WORD, mention) if space else WORD, min_size=1, max_size=25))
    return " ".join(parts) + draw(st.sampled_from(["", ".", "?"]))


@st.composite
def examples(draw: st.DrawFn, output: st.SearchStrategy[str], max_size: int = 4) -> tuple[Example, ...]:
    items = st.builds(Example, input=SENTENCE, output=output, explanation=st.one_of(st.just(""), SENTENCE))
    return tuple(draw(st.lists(items, max_size=max_size)))


@st.composite
def tasks(draw: st.DrawFn, classification: bool | None = None) -> Task:
    """A random task; ``classification`` forces (True/False) or leaves to chance (None) the kind."""
    is_cls = draw(st.booleans()) if classification is None else classification
    name = draw(st.from_regex(r"task[0-9]{1,4}_[a-z]{1,6}", fullmatch=True))
    space = draw(labels()) if is_cls else []
    output = st.sampled_from(space).flatmap(spelled) if is_cls else SENTENCE
    n = draw(st.integers(0, 6))
    instances = tuple(Instance(f"{name}-{i}", draw(SENTENCE), (draw(output),)) for i in range(n))
    negation = None
    if is_cls and draw(st.booleans()):
        rotated = space[1:] + space[:1]
        negation = Negation(draw(definitions(space)), tuple(zip(space, rotated, strict=True)))
    negative_output = st.one_of(output, WORD) if is_cls else output
    return Task(
        name=name,
        definition=draw(definitions(space)),
        instances=instances,
        positive_examples=draw(examples(output)),
        negative_examples=draw(examples(negative_output, max_size=2)),
        categories=("Test",),
        output_space=OutputSpace(tuple(space), "declared") if is_cls else None,
        negation=negation,
    )


@st.composite
def arm_specs(draw: st.DrawFn) -> ArmSpec:
    """Any combination of registered arms, with a seed."""
    arms = list_arms()
    return ArmSpec(
        definition=draw(st.sampled_from(arms["definition"])),
        examples=draw(st.sampled_from(arms["examples"])),
        input=draw(st.sampled_from(arms["input"])),
        label=draw(st.sampled_from(arms["label"])),
        seed=draw(st.integers(0, 2**31)),
        rename_scheme=draw(st.sampled_from(["neutral", "semantic"])),
    )
