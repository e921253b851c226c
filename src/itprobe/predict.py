"""The evaluation engine: batched greedy generation and rank classification over a task's output space.

`predict_tasks` encodes every instance with the Tk-Instruct prompt (`itprobe.prompts.encode_task`), then

- ``mode="generate"``: greedy decoding under one `itprobe.decoding.Decoding` rule (a fixed new-token cap
  and stop sequences, never derived from the references); `Prediction.raw` keeps the continuation and
  `Prediction.prediction` is the answer cut from it, for exact match and ROUGE;
- ``mode="rank"``: every label of the task's output space is scored by log-likelihood and the best one is
  the prediction (sum of log-probs by default, or per-token mean with ``length_normalized``). Tasks without
  an output space fall back to generation; each `Prediction.mode` records what was done.

Results are cached on disk (`itprobe.cache`) when ``cache_dir`` is given, keyed by the model's fingerprint
and the decoding rule, so a cache is never shared across models, precisions or stop rules.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from itprobe.cache import PredictionCache, cache_key
from itprobe.decoding import Decoding, cut_answer
from itprobe.errors import UserError
from itprobe.fsio import read_jsonl, write_jsonl
from itprobe.metrics import in_space_loose, in_space_strict
from itprobe.models.base import LanguageModel, NonFiniteOutput, tokenizer_of
from itprobe.progress import counting_bar
from itprobe.prompts import Prompt, PromptConfig, encode_task, fit_to_context
from itprobe.records import MODES, Mode, Prediction
from itprobe.tasks.types import Task

__all__ = [
    "Mode",
    "Prediction",
    "model_fingerprint",
    "predict_tasks",
    "read_predictions",
    "write_predictions",
]

DEFAULT_DECODING = Decoding()  # frozen: one shared default is safe
RANK_SCORING = "sum-logprob/v1"  # recorded in cache keys; bump when the scoring rule changes


@dataclass(frozen=True)
class _Item:
    """One unit of work: an encoded instance and how to answer it."""

    task: Task
    index: int  # instance index within the task
    prompt: str
    mode: Mode
    labels: tuple[str, ...]
    decoding: Decoding

    @property
    def key(self) -> dict[str, Any]:
        """How the answer is produced, for the cache key."""
        if self.mode == "rank":
            return {"scoring": RANK_SCORING}
        return {"greedy": True, **self.decoding.key()}


def model_fingerprint(model: LanguageModel) -> str:
    """What the cache keys name the model by: its ``fingerprint`` when it has one (identity + dtype + kind),
    else its ``identity``."""
    return str(getattr(model, "fingerprint", None) or model.identity)


def _plan(
    tasks: Sequence[Task],
    config: PromptConfig,
    mode: Mode,
    tokenizer: Any,
    max_instances: int | None,
    decoding: Decoding,
    on_prompts: Callable[[Task, Sequence[Prompt]], None] | None = None,
) -> list[_Item]:
    items = []
    for task in tasks:
        labels = task.output_space.labels if task.output_space is not None else ()
        task_mode: Mode = "rank" if mode == "rank" and task.is_classification else "generate"
        prompts = encode_task(task, config, tokenizer, max_instances=max_instances)
        if on_prompts is not None:
            on_prompts(task, prompts)
        items += [_Item(task, i, p.text, task_mode, labels, decoding) for i, p in enumerate(prompts)]
    return items


def _chunks(todo: Sequence[int], items: Sequence[_Item], size: int) -> Iterator[list[int]]:
    """Work in groups sharing mode, in pieces of ``size`` so progress moves."""
    groups: dict[str, list[int]] = {}
    for i in todo:
        groups.setdefault(items[i].mode, []).append(i)
    for group in groups.values():
        for start in range(0, len(group), size):
            yield group[start : start + size]


def _where(model: LanguageModel, item: _Item) -> str:
    return f"model {model.identity}, task {item.task.name}, instance {item.task.instances[item.index].id}"


def _bad_value(item: _Item, value: Any) -> str:
    """Why a model's answer (fresh or cached) cannot be used, or "" when it can (docs/refusals.md)."""
    if item.mode == "generate":
        return "" if isinstance(value.get("text"), str) else "the answer is not text"
    logprobs = value.get("logprobs")
    if not isinstance(logprobs, list) or len(logprobs) != len(item.labels):
        return "the label log-probs are missing"
    for label, lp in zip(item.labels, logprobs, strict=True):
        if isinstance(lp, bool) or not isinstance(lp, int | float) or not math.isfinite(lp):
            return f"the log-prob of label '{label}' is {lp!r}, not finite"
    return ""


def _check(model: LanguageModel, items: Sequence[_Item], values: Sequence[Any]) -> None:
    """Refuse the model's answers for the whole run at the first unusable one, before it is cached.

    Raises:
        UserError: one line naming the model, task and instance.
    """
    for item, value in zip(items, values, strict=True):
        why = _bad_value(item, value) if isinstance(value, dict) else "the answer is malformed"
        if why:
            raise UserError(f"{_where(model, item)}: {why}; refusing this model's answers")


def _run(model: LanguageModel, work: Sequence[_Item]) -> list[dict[str, Any]]:
    try:
        values = _answer(model, work)
    except NonFiniteOutput as err:
        raise UserError(f"{_where(model, work[err.row])}: {err}; refusing this model's answers") from None
    _check(model, work, values)
    return values


def _answer(model: LanguageModel, work: Sequence[_Item]) -> list[dict[str, Any]]:
    if work[0].mode == "rank":
        scores = model.score_choices([w.prompt for w in work], [w.labels for w in work])
        return [
            {"logprobs": [s.logprob for s in row], "ntokens": [s.n_tokens for s in row]} for row in scores
        ]
    texts = model.generate([w.prompt for w in work], work[0].decoding)
    return [{"text": text} for text in texts]


def _prediction(item: _Item, value: dict[str, Any], length_normalized: bool) -> Prediction:
    instance = item.task.instances[item.index]
    common = Prediction(
        task=item.task.name,
        id=instance.id,
        prediction="",
        references=tuple(instance.outputs),
        mode=item.mode,
        labels=item.labels,
        category=item.task.category,
        input=instance.input,
    )
    if item.mode == "generate":
        raw = value["text"]
        return replace(common, prediction=cut_answer(raw, item.decoding.stop), raw=raw)
    logprobs, ntokens = tuple(value["logprobs"]), tuple(value["ntokens"])
    ranking = (
        [lp / max(n, 1) for lp, n in zip(logprobs, ntokens, strict=True)] if length_normalized else logprobs
    )
    best = max(range(len(ranking)), key=lambda j: (ranking[j], -j))  # ties: the first label
    return replace(common, prediction=item.labels[best], label_logprobs=logprobs, label_ntokens=ntokens)


def predict_tasks(
    model: LanguageModel,
    tasks: Sequence[Task],
    prompt_config: PromptConfig,
    *,
    mode: Mode = "generate",
    cache_dir: str | Path | None = None,
    progress: bool = True,
    tokenizer: Any = None,
    max_instances: int | None = None,
    length_normalized: bool = False,
    decoding: Decoding = DEFAULT_DECODING,
    on_prompts: Callable[[Task, Sequence[Prompt]], None] | None = None,
) -> list[Prediction]:
    """Predict every instance of ``tasks`` (in task, then instance order).

    Args:
        model: any `LanguageModel` (e.g. `itprobe.models.HFLanguageModel`).
        tasks: the tasks, arms already applied.
        prompt_config: Tk-Instruct prompt options.
        mode: ``generate`` or ``rank`` (rank applies to tasks with an output space of >= 2 labels).
        cache_dir: folder of the prediction cache; None disables caching.
        progress: show a progress bar with instances/s on stderr.
        tokenizer: for the prompt token budget; defaults to `itprobe.models.tokenizer_of` the model.
        max_instances: only the first N instances of each task.
        length_normalized: rank by mean log-prob per token instead of the sum.
        decoding: the generation protocol (cap and stop sequences); see `itprobe.decoding`.
        on_prompts: called with each task and its encoded prompts (what the token budget did to them:
            `Prompt.cut`, `Prompt.examples_left_out`), before any model time.
    """
    if mode not in MODES:
        raise UserError(f"unknown mode '{mode}' (generate or rank)")
    tokenizer = tokenizer if tokenizer is not None else tokenizer_of(model)
    prompt_config = fit_to_context(prompt_config, model, decoding.max_new_tokens)  # input-length guard
    items = _plan(tasks, prompt_config, mode, tokenizer, max_instances, decoding, on_prompts)
    fingerprint = model_fingerprint(model)
    keys = [cache_key(fingerprint, it.prompt, it.mode, it.key, it.labels) for it in items]
    cache = PredictionCache(cache_dir) if cache_dir is not None else None
    values: dict[str, Any] = cache.get_many(keys) if cache is not None else {}
    hits = [i for i, key in enumerate(keys) if key in values]
    _check(model, [items[i] for i in hits], [values[keys[i]] for i in hits])  # a cache written before checks
    todo = [i for i, key in enumerate(keys) if key not in values]
    size = 4 * int(getattr(model, "batch_size", 8))
    with counting_bar("predict", len(items), enabled=progress, rate="inst/s") as advance:
        advance(len(items) - len(todo))
        for chunk in _chunks(todo, items, size):
            fresh = dict(zip((keys[i] for i in chunk), _run(model, [items[i] for i in chunk]), strict=True))
            values.update(fresh)
            if cache is not None:
                cache.put_many(fresh)
            advance(len(chunk))
    return [_prediction(it, values[key], length_normalized) for it, key in zip(items, keys, strict=True)]


# ---- files ------------------------------------------------------------------------------------------


def _diagnostics(pred: Prediction) -> dict[str, bool | None]:
    if not pred.labels:
        return {"in_space_strict": None, "in_space_loose": None}
    return {
        "in_space_strict": in_space_strict(pred.prediction, pred.labels),
        "in_space_loose": in_space_loose(pred.prediction, pred.labels),
    }


def write_predictions(preds: Sequence[Prediction], path: str | Path) -> Path:
    """Write JSON Lines (gzip when the name ends in .gz) of every `Prediction` field plus the format
    diagnostics ``in_space_strict`` / ``in_space_loose`` (null without an output space). Atomic: the file
    appears complete or not at all."""
    return write_jsonl(path, ({**asdict(pred), **_diagnostics(pred)} for pred in preds))


def read_predictions(path: str | Path) -> list[Prediction]:
    """Read a file written by `write_predictions` (diagnostic fields are recomputed, not read)."""
    fields = set(Prediction.__dataclass_fields__)
    preds = []
    for lineno, obj in read_jsonl(Path(path)):
        try:
            kept: dict[str, Any] = {
                k: tuple(v) if isinstance(v, list) else v for k, v in obj.items() if k in fields
            }
            preds.append(Prediction(**kept))
        except TypeError as err:
            raise UserError(f"not a prediction line: {err}", path=path, line=lineno) from None
    return preds
