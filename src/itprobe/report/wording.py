"""The words the verdict sentences are built from: what an arm removes, what a model relies on, numbers
with their intervals, the equivalence margin, and the format/meaning clause of a comparison.

Split from `itprobe.report.verdict` (which re-exports the public names); the rules each sentence follows
are listed there and in docs/design.md, "What each verdict sentence requires".
"""

from __future__ import annotations

from collections.abc import Sequence

from itprobe.arms import meaning_free_arms
from itprobe.report.decompose import Split
from itprobe.report.stats import Estimate, PairedResult

ALPHA = 0.05
EQUIVALENCE_SHARE = 0.25  # default equivalence margin: a quarter of the gain the design is about

# what each arm takes away from the prompt, to complete "removing ..." (no word "meaning" here: it is
# reserved for a claimed meaning part)
REMOVES = {
    "simplified": "the definition beyond its output space",
    "empty": "the definition",
    "irrelevant": "its own definition (replaced by another task's)",
    "none": "the examples",
    "no-examples": "the examples",  # the audit's name for the examples arm "none"
    "content-free": "the input",
    "shuffled-input": "each instance's own input (inputs shuffled among the task's instances)",
}


def _kind(parts: Sequence[str]) -> str:
    if any(p.startswith("delusive") for p in parts):
        return "delusive"
    for p in parts:
        if p in meaning_free_arms():
            return "definition"
        if p in ("none", "no-examples"):
            return "examples"
        if p in ("content-free", "shuffled-input"):
            return "input"
    return "other"


def _parts(arm: str, parts: Sequence[str] | None) -> Sequence[str]:
    # a condition without parts is taken as one arm of that name: a name is never split
    return (arm,) if parts is None else parts


def removes(arm: str, parts: Sequence[str] | None = None) -> str:
    """What ``arm`` removes, in words (delusive variants share one phrase); ``parts``: what the arm
    changes (its components; None: the arm's name is one component)."""
    parts = _parts(arm, parts)
    kind = _kind(parts)
    if kind == "delusive":
        return "the correct input-output mapping shown in the examples"
    for part in parts:
        if part in REMOVES:
            return REMOVES[part]
    return f"what the '{arm}' arm changes"


# kind of arm → (what the model relies on for the output format, what it relies on to pick the label)
_RELIES = {
    "definition": ("the instruction", "the instruction's meaning"),
    "delusive": ("the examples", "the correct mapping shown in the examples"),
    "examples": ("the examples", "the content of the examples"),
    "input": ("the input", "the input"),
}


def _relies_for_format(arm: str, parts: Sequence[str]) -> str:
    return _RELIES[kind][0] if (kind := _kind(parts)) in _RELIES else f"what '{arm}' changes"


def _relies_for_labels(arm: str, parts: Sequence[str]) -> str:
    return _RELIES[kind][1] if (kind := _kind(parts)) in _RELIES else f"what '{arm}' changes"


def pts(x: float) -> str:
    return f"{100 * x:+.1f}"


def ci(e: Estimate) -> str:
    return f"{pts(e.mean)} [{pts(e.low)}, {pts(e.high)}]"


def stats_text(reference: str, arm: str, test: PairedResult, p_adj: float, holm: bool = True) -> str:
    label = "p (Holm)" if holm else "p"
    return f"{reference} − {arm} = {ci(test.diff)} points, {label} = {p_adj:.2g}, n={test.n}"


def equivalence_margin(
    gain: Estimate | None, *, declared: float | None = None, share: float | None = None
) -> float | None:
    """The equivalence margin (0..1) a design states: ``declared`` when given, else ``share`` (default
    `EQUIVALENCE_SHARE`) of the gain being studied (original − untuned in a study, original − the strongest
    control in an audit) when that gain is clearly positive; None otherwise (equivalence is then never
    said)."""
    if declared is not None:
        return declared
    if gain is None or gain.low <= 0:
        return None
    return (EQUIVALENCE_SHARE if share is None else share) * gain.mean


def no_difference(d: Estimate, margin: float | None = None) -> str:
    """The words for a non-significant difference: equivalence only inside the stated margin (None: the
    design states none, so equivalence is never said)."""
    if margin is not None and -margin <= d.low and d.high <= margin:
        return (
            f"equivalent within ±{round(100 * margin, 1):g} points (the design's margin; the whole 95% CI, "
            f"[{pts(d.low)}, {pts(d.high)}], lies inside it)"
        )
    return (
        f"no difference detected at this size; the data allow differences from {pts(d.low)} to "
        f"{pts(d.high)} points"
    )


def not_significant(d: Estimate, margin: float | None = None) -> str:
    if d.low > 0 or d.high < 0:
        # the exact (or permutation) test decides; the percentile interval is approximate and unadjusted
        return (
            "not significant after the Holm adjustment across the comparisons, although the unadjusted "
            "95% CI excludes 0"
        )
    return no_difference(d, margin)


def split_text(
    split: Split | None,
    arm: str,
    *,
    follow: bool = False,
    alpha: float = ALPHA,
    parts: Sequence[str] | None = None,
) -> str:
    """The format/meaning clause of a comparison ("" without a split); "meaning" only when claimed.
    ``parts``: what the arm changes (see `removes`)."""
    if split is None:
        return ""
    parts = _parts(arm, parts)
    m = split.meaning.estimate
    m_claimed = split.meaning.claimed(alpha)
    if not split.has_format:
        text = (
            " Split: none in rank classification (no format part by construction: every answer is a label)."
            if split.mode == "rank"
            else " Split: no format part (every answer is in the label set under both)."
        )
        if m_claimed and m.mean > 0:
            if follow:
                return text + " Among the labels it picks the one the change asks for less often."
            return text + f" The model relies on {_relies_for_labels(arm, parts)} to pick the label."
        if not m_claimed and m.mean != 0:
            text += f" The change in which label is picked is not claimed (p (Holm) = {split.meaning.p_adjusted:.2g})."
        return text
    f = split.format.estimate
    f_words = "answers leaving the label set" if f.mean >= 0 else "answers entering the label set"
    m_words = (
        "wrong labels among answers in the label set under both"
        if m.mean >= 0
        else "better label choices among answers in the label set under both"
    )
    text = f" Split: {ci(f)} from {f_words} (format), {ci(m)} from {m_words}."
    f_claimed = split.format.claimed(alpha)
    if f_claimed and m_claimed and f.mean > 0 and m.mean > 0 and not follow:
        return text + (
            f" The model relies on {_relies_for_format(arm, parts)} for the output format and on "
            f"{_relies_for_labels(arm, parts)} to pick the label."
        )
    claims = []
    if f_claimed:
        if follow:
            claims.append("it answers outside the label set the changed instruction defines")
        elif f.mean > 0:
            claims.append(f"the model relies on {_relies_for_format(arm, parts)} for the output format")
        else:
            claims.append(f"{arm} answers in the label set more often")
    if m_claimed:
        if follow:
            claims.append("among answers in the label set it picks the label the change asks for less often")
        elif m.mean > 0:
            claims.append(f"the model relies on {_relies_for_labels(arm, parts)} to pick the label")
        else:
            claims.append(f"{arm} picks the right label more often among answers in the label set")
    if not claims:
        return text + " Neither part alone is distinguishable from 0 at this size."
    if f_claimed and not m_claimed:
        claims.append("a change in which label is picked is not detected")
    if m_claimed and not f_claimed:
        claims.append("a format effect is not detected")
    sentence = "; ".join(claims)
    return text + " " + sentence[0].upper() + sentence[1:] + "."
