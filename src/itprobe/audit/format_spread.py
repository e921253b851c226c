"""The ``format-spread`` probe, declared in this one module (so that it can move into a condition registry
whole): K seeded, harmless rewrites of the prompt's *format* that keep every word of meaning, and how far
the score moves across them (Sclar et al. 2023, "Quantifying Language Models' Sensitivity to Spurious
Features in Prompt Design"; docs/audit.md, "Format spread").

A `Template` changes only the layout of the Tk-Instruct prompt:

- ``answer``: the answer field's name, ``Output`` or ``Answer``;
- ``casing``: the field names as written, in Title, UPPER or lower case;
- ``separator``: what follows a field name (``": "``, ``" : "``, ``":: "``);
- ``gap``: the break between blocks (definition, each demonstration, the instance);
- ``trailing_space``: a space at the end of every line;
- ``label_order``: the labels quoted in the definition in the given or the reversed order (only when each
  label of the output space is quoted exactly once there, as in the simplified definition; else unchanged).

Template 0 is the original format (the ``original`` probe's rows). The others are drawn without replacement
from the grid with a SHA-256-seeded RNG, so a seed names the same K templates everywhere. A template is
applied by wrapping the model (`TemplatedModel`): the prompt is built as usual, rewritten, and sent; the
wrapper's identity names the template, so cached answers of different templates never mix.

What is measured (exact match, per mode): the score under each template on the same instances; the
spread (min, max, and max − min with a paired bootstrap CI that re-takes both in every resample, via
`itprobe.report.stats.statistic_ci`); a per-instance sensitivity 1 − |2p − 1| (p: the share of templates
under which the instance is answered right; 0 when every template agrees, 1 when they split evenly); and
instruction reliance recomputed under every template (original − the best meaning-free arm, both in that
template), with the *worst* template's reliance as the figure that must stay above 0 for "relies on the
instruction" to hold across formats.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any, Literal

import numpy as np

from itprobe.records import InstanceResult
from itprobe.report.model import Cell, Section, Table
from itprobe.report.results import align
from itprobe.report.stats import Estimate, statistic_ci
from itprobe.report.views import jsonable

NAME = "format-spread"
# the probe's properties, in one place (a registry can take them over as they are)
PROPERTIES = {
    "meaning_free": False,  # it keeps the instruction's meaning: only the format changes
    "changes": "format",
    "relabels": False,
    "needs_model": True,
    "opt_in": True,  # K x (1 + meaning-free arms) extra passes: not part of --probes all
    "modes": ("rank", "generate"),
}
DEFAULT_K = 4
MEANING_FREE = ("simplified", "empty", "irrelevant")
FIELDS = ("Definition", "Input", "Output")


@dataclass(frozen=True)
class Template:
    """One format (see the module doc); the default values are the original Tk-Instruct format."""

    answer: Literal["Output", "Answer"] = "Output"
    casing: Literal["title", "upper", "lower"] = "title"
    separator: Literal[": ", " : ", ":: "] = ": "
    gap: Literal["\n\n", "\n", "\n\n\n"] = "\n\n"
    trailing_space: bool = False
    label_order: Literal["given", "reversed"] = "given"

    @property
    def is_original(self) -> bool:
        return self == Template()

    def label(self) -> str:
        """A short readable name: the fields that differ from the original (``original`` when none do)."""
        parts = [
            f"{f.name}={getattr(self, f.name)!r}"
            for f in fields(self)
            if getattr(self, f.name) != getattr(Template(), f.name)
        ]
        return ", ".join(parts) or "original"


GRID: tuple[Template, ...] = tuple(
    Template(*values)  # type: ignore[arg-type]
    for values in itertools.product(
        ("Output", "Answer"),
        ("title", "upper", "lower"),
        (": ", " : ", ":: "),
        ("\n\n", "\n", "\n\n\n"),
        (False, True),
        ("given", "reversed"),
    )
)


def templates(k: int = DEFAULT_K, seed: int = 0) -> tuple[Template, ...]:
    """The original template and ``k`` distinct others drawn with a SHA-256-seeded RNG."""
    digest = hashlib.sha256(f"{NAME}:{seed}".encode()).digest()
    rng = random.Random(int.from_bytes(digest[:8], "big"))
    others = [t for t in GRID if not t.is_original]
    return (Template(), *rng.sample(others, k))


def condition(arm: str, index: int) -> str:
    """The report condition of ``arm`` under template ``index`` (template 0 is the arm itself)."""
    return arm if index == 0 else f"{arm} [format {index}]"


_FIELD = re.compile(r"^( ?)(Definition|Input|Output): ?", re.MULTILINE)


def _name(field: str, t: Template) -> str:
    name = t.answer if field == "Output" else field
    return name.upper() if t.casing == "upper" else name.lower() if t.casing == "lower" else name


def _reorder_labels(definition: str, labels: Sequence[str]) -> str:
    """The labels quoted in ``definition`` in reversed order, when each is quoted exactly once."""
    if len(labels) < 2:
        return definition
    spans = []
    for label in labels:
        found = [m.span() for q in ('"', "'") for m in re.finditer(re.escape(f"{q}{label}{q}"), definition)]
        if len(found) != 1:
            return definition
        spans.append(found[0])
    order = sorted(range(len(labels)), key=lambda i: spans[i][0])
    out, last = [], 0
    for slot, i in zip(order, reversed(order), strict=True):
        start, end = spans[slot]
        quote = definition[start]
        out += [definition[last:start], f"{quote}{labels[i]}{quote}"]
        last = end
    return "".join(out) + definition[last:]


def rewrite(prompt: str, template: Template, labels: Sequence[str] = ()) -> str:
    """``prompt`` (a Tk-Instruct prompt) in ``template``'s format; every word of meaning is kept."""
    if template.is_original:
        return prompt
    if template.label_order == "reversed" and prompt.startswith("Definition:"):
        head, sep, rest = prompt.partition("\n\n")
        prompt = _reorder_labels(head, labels) + sep + rest
    text = _FIELD.sub(lambda m: f"{m.group(1)}{_name(m.group(2), template)}{template.separator}", prompt)
    text = text.replace("\n\n", template.gap)
    return text.replace("\n", " \n") if template.trailing_space else text


class TemplatedModel:
    """A model that sees every prompt of one task in ``template``'s format (``labels``: the task's output
    space, for the label-order rewrite)."""

    def __init__(self, inner: Any, template: Template, labels: Sequence[str] = ()) -> None:
        self.inner = inner
        self.template = template
        self.labels = tuple(labels)

    @property
    def identity(self) -> str:
        return f"{self.inner.identity}#{NAME}:{self.template.label()}"

    @property
    def fingerprint(self) -> str:
        base = getattr(self.inner, "fingerprint", None) or self.inner.identity
        return f"{base}#{NAME}:{self.template.label()}"

    def __getattr__(self, name: str) -> Any:  # batch size, tokenizer, context length: the inner model's
        return getattr(self.inner, name)

    def generate(self, prompts: Sequence[str], max_new_tokens: int, stop: Sequence[str] = ()) -> list[str]:
        texts = [rewrite(p, self.template, self.labels) for p in prompts]
        return list(self.inner.generate(texts, max_new_tokens, stop))

    def score_choices(self, prompts: Sequence[str], choices: Sequence[Sequence[str]]) -> list[Any]:
        texts = [rewrite(p, self.template, self.labels) for p in prompts]
        return list(self.inner.score_choices(texts, choices))


@dataclass(frozen=True)
class SpreadPass:
    """An extra pass of the probe: ``arm``'s tasks under template ``index``, reported as ``probe``."""

    probe: str
    arm: str
    index: int
    template: Template


def spread_passes(arms: Sequence[str], k: int = DEFAULT_K, seed: int = 0) -> list[SpreadPass]:
    """The passes the probe adds: original and each meaning-free arm of ``arms`` under templates 1..k."""
    tmpl = templates(k, seed)
    wanted = [a for a in ("original", *MEANING_FREE) if a in arms]
    return [SpreadPass(condition(a, i), a, i, tmpl[i]) for i in range(1, k + 1) for a in wanted]


@dataclass(frozen=True)
class Spread:
    """Exact match of one mode under each template (aligned instances), and what follows from it."""

    mode: str
    n: int
    scores: tuple[tuple[str, float], ...]  # (template label, mean EM)
    low: float  # min over templates
    high: float  # max over templates
    width: Estimate  # max − min, paired bootstrap CI (both re-taken per resample)
    sensitive_share: float  # share of instances whose correctness changes with the template
    mean_sensitivity: float  # mean of 1 − |2p − 1|
    reliance: tuple[tuple[str, float], ...] = ()  # per template: original − best meaning-free arm
    worst_reliance: Estimate | None = None  # min over templates, paired bootstrap CI


def _width(m: np.ndarray) -> np.ndarray:
    return m.max(axis=1) - m.min(axis=1)


def spread_of(
    rows: Sequence[InstanceResult], mode: str, k: int, labels: Sequence[str], *, n_boot: int, seed: int
) -> Spread | None:
    """The spread of the original instruction over the templates of one mode (None without such rows)."""
    names = [condition("original", i) for i in range(k + 1)]
    aligned = align(rows, names)
    if aligned.n == 0 or not any(r.condition == names[-1] for r in rows):
        return None
    columns = np.column_stack([aligned.scores[c] for c in names])
    cluster = aligned.resampling()
    width = statistic_ci(columns, _width, n_boot=n_boot, seed=seed, cluster=cluster)
    p = columns.mean(axis=1)
    means = columns.mean(axis=0)
    reliance, worst = _reliance(rows, k, n_boot=n_boot, seed=seed)
    return Spread(
        mode=mode,
        n=aligned.n,
        scores=tuple(zip(labels, (float(m) for m in means), strict=True)),
        low=float(means.min()),
        high=float(means.max()),
        width=width,
        sensitive_share=float(np.mean((p > 0) & (p < 1))),
        mean_sensitivity=float(np.mean(1 - np.abs(2 * p - 1))),
        reliance=reliance,
        worst_reliance=worst,
    )


def _reliance(
    rows: Sequence[InstanceResult], k: int, *, n_boot: int, seed: int
) -> tuple[tuple[tuple[str, float], ...], Estimate | None]:
    present = {r.condition for r in rows}
    arms = [a for a in MEANING_FREE if all(condition(a, i) in present for i in range(k + 1))]
    if not arms:
        return (), None
    names = [condition(a, i) for i in range(k + 1) for a in ("original", *arms)]
    aligned = align(rows, names)
    if aligned.n == 0:
        return (), None
    width = 1 + len(arms)
    m = np.column_stack([aligned.scores[c] for c in names])  # [n, (k+1) * (1 + arms)]

    def worst(x: np.ndarray) -> np.ndarray:
        blocks = x.reshape(x.shape[0], k + 1, width)  # [reps, templates, original + arms]
        return (blocks[:, :, 0] - blocks[:, :, 1:].max(axis=2)).min(axis=1)

    means = m.mean(axis=0).reshape(k + 1, width)
    per_template = tuple((f"template {i}", float(means[i, 0] - means[i, 1:].max())) for i in range(k + 1))
    est = statistic_ci(m, worst, n_boot=n_boot, seed=seed, cluster=aligned.resampling())
    return per_template, est


SPREAD_TEXT = (
    "Format spread: the original instruction scored under K harmless rewrites of the prompt's format (field "
    "names Output/Answer, their casing, the separator after them, the break between blocks, a trailing space, "
    "the order of the labels quoted in the definition), every word of meaning kept; template 0 is the "
    "original format. Spread = max − min over the templates, with a paired 95% bootstrap CI (both re-taken in "
    "every resample). Sensitive instances: answered right under some templates and wrong under others. "
    "Reliance across formats: original − the best meaning-free arm in the same format, for the worst template "
    "(CI: the minimum re-taken per resample); 'relies on the instruction' holds across formats only when its "
    "CI is above 0."
)


def spread_section(spreads: Sequence[Spread], tmpl: Sequence[Template]) -> tuple[Section, dict[str, Any]]:
    """The report section (templates, spread per mode, reliance across formats) and its JSON data."""
    rows: list[list[Cell]] = []
    for s in spreads:
        worst = s.worst_reliance
        rows.append(
            [
                s.mode,
                s.n,
                100 * s.low,
                100 * s.high,
                f"{100 * s.width.mean:.1f} [{100 * s.width.low:.1f}, {100 * s.width.high:.1f}]",
                100 * s.sensitive_share,
                f"{100 * worst.mean:+.1f} [{100 * worst.low:+.1f}, {100 * worst.high:+.1f}]"
                if worst
                else None,
            ]
        )
    columns = [
        "mode",
        "instances",
        "min EM (%)",
        "max EM (%)",
        "spread, points [95% CI]",
        "sensitive instances (%)",
        "reliance, worst format [95% CI]",
    ]
    per_template = Table(
        title="Templates and exact match under each",
        columns=["template", "format", *(s.mode for s in spreads)],
        rows=[
            [str(i), t.label().replace("\n", "\\n"), *(100 * s.scores[i][1] for s in spreads)]
            for i, t in enumerate(tmpl)
        ],
    )
    section = Section(
        title="Format spread",
        paragraphs=[SPREAD_TEXT],
        tables=[Table(columns=columns, rows=rows), per_template],
    )
    data = {
        "templates": [{"index": i, "label": t.label(), **jsonable(t)} for i, t in enumerate(tmpl)],
        "modes": {s.mode: jsonable(s) for s in spreads},
    }
    return section, data
