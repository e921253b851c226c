"""Tk-Instruct prompt encoding, byte-identical to ``DataCollatorForNI(text_only=True)``.

Reference: yizhongw/Tk-Instruct ``src/ni_collator.py``. The source text is

    task_name + definition + "".join(positive examples) + "".join(negative examples) + task_input

where every piece ends with a period unless its last character is already ASCII punctuation. With a token
budget the collator adds examples only while ``definition + " ".join(examples so far) + candidate +
task_input`` fits (note the ``" ".join`` and the missing task name in that check: quirks of the original,
kept so that budgets cut at the same example), then cuts an over-long source to its first ``budget``
tokens.

Departures, none of which occurs with NatInst's own instructions: an empty definition (the ``empty`` arm)
drops the definition line (the collator would print ``"Definition: ."``); an empty explanation is left out
(it stands for "none given"; the meaning-free arms empty them all); a task whose name an arm withheld
(`TASK_NAME_HIDDEN`) gets no name even with ``add_task_name``.

Input-length guard (`fit_to_context`): before a model sees any prompt, the budget is capped to the model's
context less room for the answer, so an input beyond the context is cut by the rule above (and a
`PromptTruncated` warning says so) instead of running for minutes or failing; a context too small for
any prompt is a `UserError`.
"""

from __future__ import annotations

import string
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Annotated, Any, Literal, TypeVar

from pydantic import Field
from pydantic.dataclasses import dataclass as settings

from itprobe.errors import ItprobeWarning, UserError
from itprobe.schema import STRICT, user_errors
from itprobe.tasks.types import Example, Instance, Task

# `Task.meta` key set by the meaning-free definition arms (`itprobe.arms.definition`): the task's name
# describes the task (task1155_bard_analogical_reasoning_trash_or_treasure), so it is not shown even
# when ``add_task_name`` asks for it.
TASK_NAME_HIDDEN = "task_name_hidden"


def shows_task_name(task: Task) -> bool:
    """False when an arm has withheld the task's name from its prompts (`TASK_NAME_HIDDEN`)."""
    return dict(task.meta).get(TASK_NAME_HIDDEN) != "true"


CONTEXT_MARGIN = 8  # special tokens, and the drift when a cut prompt is tokenised again


class PromptTruncated(ItprobeWarning):
    """A prompt longer than its token budget was cut to its first ``budget`` tokens (the Tk-Instruct rule)."""


@user_errors("prompt setting")
@settings(frozen=True, config=STRICT)
class PromptConfig:
    """The options of Tk-Instruct's `DataCollatorForNI`, plus an optional source-token budget.

    Also the ``prompt`` section of a study config (`itprobe.schema`: validated, unknown keys rejected).
    """

    add_task_name: bool = False
    add_definition: bool = True
    num_pos: Annotated[int, Field(ge=0)] = 2
    num_neg: Annotated[int, Field(ge=0)] = 0
    add_explanation: bool = False
    max_source_tokens: Annotated[int, Field(ge=1)] | None = None


@dataclass(frozen=True)
class Prompt:
    """One encoded instance: the text a model sees and the references it is scored against."""

    task: str
    id: str
    text: str
    targets: tuple[str, ...]
    # the token budget's effects (`PromptConfig.max_source_tokens`): demonstrations left out to fit it, and
    # whether the text was still over it and cut (its end, the input's end and "Output:", lost)
    examples_left_out: int = 0
    cut: bool = False


_PUNCTUATION = frozenset(string.punctuation)


def _end_sentence(text: str) -> str:
    """Append "." unless the text already ends with ASCII punctuation (the collator's rule)."""
    return text if text and text[-1] in _PUNCTUATION else text + "."


def task_input_block(instance_input: str) -> str:
    """The closing block: ``Now complete the following example -\\nInput: ….\\nOutput: ``."""
    return (
        _end_sentence(f"Now complete the following example -\nInput: {instance_input.strip()}") + "\nOutput: "
    )


def definition_block(definition: str) -> str:
    """``Definition: ….\\n\\n`` (only used when the definition is added)."""
    return _end_sentence("Definition: " + definition.strip()) + "\n\n"


def example_block(
    example: Example, index: int, kind: Literal["Positive", "Negative"], add_explanation: bool
) -> str:
    """One demonstration, numbered from 1, ending with a blank line."""
    text = _end_sentence(f" {kind} Example {index} -\nInput: {example.input.strip()}") + "\n"
    text = _end_sentence(text + f" Output: {example.output.strip()}") + "\n"
    # Tk-Instruct adds the line whenever the field exists; our Example always has the field, so an empty
    # explanation stands for "none given" (user data) and is left out rather than printed as "Explanation: .".
    if add_explanation and example.explanation.strip():
        text = _end_sentence(text + f" Explanation: {example.explanation.strip()}") + "\n"
    return text + "\n"


def _token_count(tokenizer: Any) -> Callable[[str], int]:
    return lambda text: len(tokenizer(text)["input_ids"])


def _select_examples(
    candidates: Sequence[str], prefix: str, suffix: str, fits: Callable[[str], bool] | None
) -> list[str]:
    """Keep candidates in order while ``prefix + " ".join(kept) + candidate + suffix`` fits the budget."""
    kept: list[str] = []
    for candidate in candidates:
        if fits is not None and not fits(prefix + " ".join(kept) + candidate + suffix):
            break
        kept.append(candidate)
    return kept


def encode(task: Task, instance: Instance, config: PromptConfig, tokenizer: Any = None) -> Prompt:
    """Encode one instance of ``task`` as Tk-Instruct does.

    Args:
        task: the task whose definition and examples form the instruction.
        instance: the instance to complete.
        config: which parts to include, and an optional ``max_source_tokens`` budget.
        tokenizer: a Hugging Face tokenizer; the budget applies only when both it and
            ``config.max_source_tokens`` are given (otherwise the text is never cut).

    Returns:
        The prompt text with all of the instance's references as targets.
    """
    budget = config.max_source_tokens if tokenizer is not None else None
    count = _token_count(tokenizer) if budget is not None else None
    fits = (lambda text: count(text) <= budget) if count is not None and budget is not None else None

    task_input = task_input_block(instance.input)
    task_name = task.name + ". " if config.add_task_name and shows_task_name(task) else ""
    # An empty definition (the `empty` arm) means no definition line at all; Tk-Instruct would print
    # "Definition: ." for "", which no NatInst task has, so byte-identity on real data is unaffected.
    has_definition = config.add_definition and bool(task.definition.strip())
    definition = definition_block(task.definition) if has_definition else ""
    positives = [
        example_block(ex, i + 1, "Positive", config.add_explanation)
        for i, ex in enumerate(task.positive_examples[: config.num_pos])
    ]
    negatives = [
        example_block(ex, i + 1, "Negative", config.add_explanation)
        for i, ex in enumerate(task.negative_examples[: config.num_neg])
    ]
    asked = len(positives) + len(negatives)
    positives = _select_examples(positives, definition, task_input, fits)
    negatives = _select_examples(negatives, definition + " ".join(positives), task_input, fits)
    source = task_name + definition + "".join(positives) + "".join(negatives) + task_input
    left_out, cut = asked - len(positives) - len(negatives), False
    if budget is not None:
        ids = tokenizer(source)["input_ids"]
        if len(ids) > budget:
            source, cut = tokenizer.decode(ids[:budget], skip_special_tokens=True), True
            warnings.warn(
                f"prompts longer than {budget} tokens are cut to their first {budget} tokens (the Tk-Instruct "
                "rule; the end of the input and 'Output:' are lost); --max-source-tokens sets the budget",
                PromptTruncated,
                stacklevel=2,
            )
    return Prompt(task.name, instance.id, source, tuple(instance.outputs), left_out, cut)


# the budget is `PromptConfig.max_source_tokens`, capped by the model's context (`fit_to_context`)
BUDGET_CUT = "prompt budget: prompts cut at the token budget (their end and 'Output:' lost)"
BUDGET_FEWER = "prompt budget: demonstrations left out to fit the token budget"
N = TypeVar("N")  # a record of one budget note (`noting_budget`)


def budget_notes(prompts: Sequence[Prompt]) -> list[str]:
    """What the token budget did to a task's prompts, as report notes (none when it did nothing). A cut
    prompt ends before its input does, without 'Output:', and a causal model continues the text instead of
    answering: an evaluator's choice that can decide answers, so reports name the tasks it touched."""
    return [note for note, hit in ((BUDGET_CUT, any(p.cut for p in prompts)),
                                   (BUDGET_FEWER, any(p.examples_left_out for p in prompts))) if hit]  # fmt: skip


def noting_budget(
    note: Callable[[str, str], N], into: dict[N, None]
) -> Callable[[Task, Sequence[Prompt]], None]:
    """A `predict_tasks` ``on_prompts`` hook: adds ``note(task name, budget note)`` to the ordered set
    ``into`` for every note of `budget_notes` on the prompts of each task it sees (the study's and the
    audit's records of what the budget did differ only in ``note``)."""

    def seen(task: Task, prompts: Sequence[Prompt]) -> None:
        into.update(dict.fromkeys(note(task.name, text) for text in budget_notes(prompts)))

    return seen


def encode_task(
    task: Task, config: PromptConfig, tokenizer: Any = None, max_instances: int | None = None
) -> list[Prompt]:
    """Encode the task's instances in order (the first ``max_instances`` when given)."""
    instances = task.instances if max_instances is None else task.instances[:max_instances]
    return [encode(task, instance, config, tokenizer) for instance in instances]


def fit_to_context(config: PromptConfig, model: Any, answer_tokens: int) -> PromptConfig:
    """``config`` with its token budget capped so that a prompt fits ``model``'s context.

    A causal model must hold prompt and answer (``answer_tokens``) in ``model.max_positions`` (its position
    embeddings: a hard limit). A seq2seq model's answer goes to the decoder; without a hard limit
    (T5's relative positions) the tokenizer's ``model_max_length`` applies only when no budget was given
    (Tk-Instruct ran T5 with 1024 source tokens, beyond its tokenizer's 512). A model that states neither
    (a test fake) leaves ``config`` as it is.

    Raises:
        UserError: the context leaves no room for a prompt.
    """
    hard = getattr(model, "max_positions", None)
    soft = getattr(model, "tokenizer_max_length", None)
    reserve = answer_tokens if getattr(model, "kind", "causal") == "causal" else 0
    limit = hard if hard is not None else (soft if config.max_source_tokens is None else None)
    if limit is None:
        return config
    room = limit - reserve - CONTEXT_MARGIN
    if room < 1:
        raise UserError(
            f"the model's context ({limit} tokens) leaves no room for a prompt and {reserve} answer tokens"
        )
    if config.max_source_tokens is not None and config.max_source_tokens <= room:
        return config
    return replace(config, max_source_tokens=room)
