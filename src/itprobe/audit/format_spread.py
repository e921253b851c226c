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

from itprobe.audit.builtin import score_pass
from itprobe.audit.catalogue import (
    Pass,
    ProbeContext,
    ProbePlan,
    ProbeResult,
    audit_probe,
    meaning_free_probes,
)
from itprobe.decoding import Decoding
from itprobe.records import InstanceResult

NAME = "format-spread"  # declared in the catalogue at the end of this module (opt-in)
DEFAULT_K = 4
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


_CONDITION = re.compile(r" \[format \d+\]$")


def is_condition(name: str) -> bool:
    """Whether ``name`` is a condition of a template pass (template 1..K, see `condition`)."""
    return _CONDITION.search(name) is not None


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

    def generate(self, prompts: Sequence[str], decoding: Decoding) -> list[str]:
        texts = [rewrite(p, self.template, self.labels) for p in prompts]
        return list(self.inner.generate(texts, decoding))

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
    wanted = [a for a in ("original", *meaning_free_probes()) if a in arms]
    return [SpreadPass(condition(a, i), a, i, tmpl[i]) for i in range(1, k + 1) for a in wanted]


def _plan(ctx: ProbeContext) -> ProbePlan:
    """The template passes of the arms planned before (``ctx.passes``), and the templates for the runner
    (`TemplatedModel`) and the report (`Plan.extra`)."""
    k = int(ctx.options.get("format_templates", DEFAULT_K))
    spread = spread_passes(ctx.probes, k, ctx.seed)
    by_arm = {(p.probe, p.mode): p.tasks for p in ctx.passes}
    passes = tuple(
        Pass(sp.probe, mode, by_arm[(sp.arm, mode)])
        for sp in spread
        for mode in ctx.modes
        if (sp.arm, mode) in by_arm
    )
    return ProbePlan(
        passes, extra={NAME: {"templates": templates(k, ctx.seed), "passes": {sp.probe: sp for sp in spread}}}
    )


# K x (1 + meaning-free arms) extra passes: opt-in, not part of --probes all
@audit_probe(NAME, plan=_plan, opt_in=True)
def format_spread_rows(ctx: ProbeContext) -> ProbeResult:
    """Rows of the template passes (``original [format 1]``, ...); the report computes the spread
    (`itprobe.audit.format_spread_stats`)."""
    rows: list[InstanceResult] = []
    for (probe, mode), preds in ctx.predictions.items():
        if is_condition(probe):
            rows += score_pass(probe, mode, preds, ctx.tasks)
    return ProbeResult(tuple(rows))
