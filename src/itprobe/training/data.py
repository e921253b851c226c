"""The training set: sample instances per task, apply the training-time arm, encode, tokenize.

Every random choice derives its seed from the run seed and a name (`derive_seed`), never from Python's
salted ``hash``, so a run is reproducible across processes and machines:

- instance sampling: ``derive_seed(seed, "instances", task)`` — the same instances for every arm, so arms
  are compared on identical data;
- the arm: ``ArmSpec.seed`` (the CLI's ``--arm-seed``, defaulting to ``--seed``);
- the reference used as target when an instance has several: ``derive_seed(seed, "reference", task, id)``
  (Tk-Instruct's collator draws one with ``random.choice``; ``reference="first"`` takes ``outputs[0]``).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from itprobe.arms import apply_arms
from itprobe.errors import UserError
from itprobe.models.loading import ModelKind
from itprobe.prompts import PromptConfig, encode
from itprobe.tasks.types import Task
from itprobe.training.config import TrainingNote

if TYPE_CHECKING:
    from itprobe.arms import ArmSpec


def derive_seed(*parts: object) -> int:
    """A 63-bit seed from the parts' text (stable across processes, unlike ``hash``)."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


@dataclass(frozen=True)
class TextExample:
    """One training pair before tokenization."""

    task: str
    id: str
    source: str
    target: str


@dataclass(frozen=True)
class TrainExample:
    """One tokenized training pair; the loss covers ``target_ids`` only."""

    task: str
    id: str
    source_ids: tuple[int, ...]
    target_ids: tuple[int, ...]

    @property
    def length(self) -> int:
        """Tokens the model processes for this example (decoder and encoder together for seq2seq)."""
        return len(self.source_ids) + len(self.target_ids)


def sample_instances(task: Task, n: int, seed: int) -> Task:
    """The task with ``n`` instances drawn without replacement (all of them when it has fewer)."""
    rng = random.Random(derive_seed(seed, "instances", task.name))
    k = min(n, len(task.instances))
    chosen = sorted(rng.sample(range(len(task.instances)), k))
    return replace(task, instances=tuple(task.instances[i] for i in chosen))


def _is_identity(spec: ArmSpec) -> bool:
    return (spec.definition, spec.examples, spec.input, spec.label) == (
        "original",
        "gold",
        "original",
        "original",
    )


def _apply_arm(task: Task, spec: ArmSpec | None, pool: Sequence[Task]) -> tuple[Task | None, tuple[str, ...]]:
    if spec is None or _is_identity(spec):
        return task, ()

    others = tuple(t for t in pool if t.name != task.name)
    result = apply_arms(task, spec, pool=others)
    return result.task, tuple(result.notes)


def build_text_examples(
    tasks: Sequence[Task],
    *,
    arms: ArmSpec | None,
    prompt: PromptConfig,
    instances_per_task: int,
    seed: int,
    reference: Literal["random", "first"] = "random",
    tokenizer: Any = None,
) -> tuple[list[TextExample], tuple[TrainingNote, ...]]:
    """Prompt/target pairs for every sampled instance, and notes on tasks the arm skipped.

    Raises:
        UserError: when no task yields a training example.
    """
    examples: list[TextExample] = []
    notes: list[TrainingNote] = []
    for task in tasks:
        sampled, arm_notes = _apply_arm(sample_instances(task, instances_per_task, seed), arms, tasks)
        notes.extend(TrainingNote(task.name, note) for note in arm_notes)
        if sampled is None:
            notes.append(TrainingNote(task.name, "skipped by the arm"))
            continue
        for instance in sampled.instances:
            if not instance.outputs:
                notes.append(TrainingNote(task.name, "no reference output, skipped", instance.id))
                continue
            encoded = encode(sampled, instance, prompt, tokenizer)
            if reference == "first":
                target = encoded.targets[0]
            else:
                target = random.Random(derive_seed(seed, "reference", task.name, instance.id)).choice(
                    encoded.targets
                )
            examples.append(TextExample(task.name, instance.id, encoded.text, target))
    if not examples:
        raise UserError("no training examples: every task was empty or skipped by the arm")
    return examples, tuple(notes)


def tokenize_examples(
    examples: Sequence[TextExample],
    tokenizer: Any,
    kind: ModelKind,
    *,
    max_source_tokens: int | None,
    max_target_tokens: int,
) -> list[TrainExample]:
    """Token ids exactly as `itprobe.models.HFLanguageModel` feeds the model at inference.

    Causal: the prompt loses its trailing whitespace (``"Output: "`` → ``"Output:"``) and the target is
    tokenized as its continuation (``" yes"``, one token in BPE vocabularies), then ``eos`` is appended so
    the model learns to stop. Seq2seq: the tokenizer's own special tokens on both sides (T5 appends
    ``</s>``). Over-long sources keep their first tokens, as Tk-Instruct truncates.
    """
    eos = tokenizer.eos_token_id
    if eos is None:
        raise UserError("the tokenizer has no end-of-sequence token; cannot mark where a target ends")
    if kind == "seq2seq":
        sources = tokenizer([ex.source for ex in examples], add_special_tokens=True)["input_ids"]
        targets = [
            ids if ids and ids[-1] == eos else [*ids, eos]
            for ids in tokenizer([ex.target for ex in examples], add_special_tokens=True)["input_ids"]
        ]
    else:
        sources, targets = _causal_ids(examples, tokenizer)
    out = []
    for ex, src, tgt in zip(examples, sources, targets, strict=True):
        if max_source_tokens is not None and len(src) > max_source_tokens:
            src = src[:max_source_tokens]
        if len(tgt) > max_target_tokens:
            tgt = [*tgt[: max_target_tokens - 1], eos]
        out.append(TrainExample(ex.task, ex.id, tuple(src), tuple(tgt)))
    return out


def _causal_ids(examples: Sequence[TextExample], tokenizer: Any) -> tuple[list[list[int]], list[list[int]]]:
    contexts = [ex.source.rstrip() for ex in examples]
    context_ids = tokenizer(contexts, add_special_tokens=True)["input_ids"]
    wholes = tokenizer([ex.source + ex.target for ex in examples], add_special_tokens=True)["input_ids"]
    fallback = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
    sources, targets = [], []
    for ex, context, ctx, whole in zip(examples, contexts, context_ids, wholes, strict=True):
        if whole[: len(ctx)] == ctx:
            tgt = whole[len(ctx) :]
        else:  # the merge crossed the boundary: tokenize the continuation on its own
            tgt = tokenizer(ex.source[len(context) :] + ex.target, add_special_tokens=False)["input_ids"]
        # an empty prompt still needs one position whose output predicts the first target token
        sources.append(list(ctx) or [fallback])
        targets.append([*tgt, tokenizer.eos_token_id])
    return sources, targets


def data_digest(examples: Sequence[TrainExample]) -> str:
    """A content hash of the tokenized training set (a checkpoint is resumed only on identical data)."""
    sha = hashlib.sha256()
    for ex in examples:
        sha.update(f"{ex.task}\x1f{ex.id}\x1f{ex.source_ids}\x1f{ex.target_ids}\n".encode())
    return sha.hexdigest()[:16]
