"""Plain-language verdicts: pure functions of statistics records, never stronger than they allow.

One vocabulary for the study and the audit. What each sentence requires (docs/design.md, "What each
verdict sentence requires"); ``alpha`` = 0.05, differences are reference − arm on the same instances:

- **Gate.** The reference must beat random guessing over the label set (CI of the paired difference above
  0 and p < alpha). Otherwise the first line says the model does not solve the tasks beyond guessing and
  every line about what it relies on is marked "not assessable" (still shown).
- **A loss / a gain** ("removing X costs N points", "scores higher without X"): the Holm-adjusted p of the
  paired test is below alpha. Its size is always given, also when most of a gain survives.
- **No difference**: never "the same". "Equivalent within ±5 points" only when the whole 95% CI of the
  difference lies inside ±`EQUIVALENCE_MARGIN`; otherwise "no difference detected at this size", with the
  range of differences the data allow.
- **Format / meaning** (`itprobe.report.decompose`): a part is named as a finding only when it is
  *claimed* (Holm-adjusted p < alpha and CI excluding 0). The word "meaning" appears only in a claimed
  meaning part; a format part is reliance on the instruction *for the output format*. Rank mode has no
  format part by construction, and the sentence says so.
- **Gain kept** (study): "most of the gain survives" needs the whole CI >= `FORMAT_SHARE`; "most of the
  gain is lost" the whole CI < `LOST_SHARE`.
- **Follow probes** (negated, label-rename, label-swap: the gold follows the changed instruction): a drop
  means the model does *not* follow the change; they never read as removing something.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from itprobe.arms import follow_probes, meaning_free_arms
from itprobe.report.analysis import ArmComparison
from itprobe.report.decompose import Split
from itprobe.report.stats import Estimate, PairedResult, RatioEstimate

ALPHA = 0.05
EQUIVALENCE_MARGIN = 0.05  # 5 EM points: the stated margin of "equivalent"
FORMAT_SHARE = 0.8  # gain kept (whole CI) above which "most of the gain survives" is said
LOST_SHARE = 0.5  # gain kept (whole CI) below which "most of the gain is lost" is said
NOT_ASSESSABLE = "Not assessable (original does not beat guessing): "

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


@dataclass(frozen=True)
class Verdict:
    """The ``headline`` (the first line) and every line; ``assessable`` is False when the gate failed."""

    headline: str
    lines: tuple[str, ...]
    assessable: bool = True


Parts = Mapping[str, Sequence[str]]  # condition → what its arm changes (`study.config.ArmConfig.parts`)


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


def _pts(x: float) -> str:
    return f"{100 * x:+.1f}"


def _ci(e: Estimate) -> str:
    return f"{_pts(e.mean)} [{_pts(e.low)}, {_pts(e.high)}]"


def _stats(reference: str, arm: str, test: PairedResult, p_adj: float, holm: bool = True) -> str:
    label = "p (Holm)" if holm else "p"
    return f"{reference} − {arm} = {_ci(test.diff)} points, {label} = {p_adj:.2g}, n={test.n}"


def no_difference(d: Estimate, margin: float = EQUIVALENCE_MARGIN) -> str:
    """The words for a non-significant difference: equivalence only inside the stated margin."""
    if -margin <= d.low and d.high <= margin:
        return (
            f"equivalent within ±{100 * margin:.0f} points (the whole 95% CI, "
            f"[{_pts(d.low)}, {_pts(d.high)}], lies inside it)"
        )
    return (
        f"no difference detected at this size; the data allow differences from {_pts(d.low)} to "
        f"{_pts(d.high)} points"
    )


def _not_significant(d: Estimate) -> str:
    if d.low > 0 or d.high < 0:
        # the exact (or permutation) test decides; the percentile interval is approximate and unadjusted
        return (
            "not significant after the Holm adjustment across the comparisons, although the unadjusted "
            "95% CI excludes 0"
        )
    return no_difference(d)


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
    text = f" Split: {_ci(f)} from {f_words} (format), {_ci(m)} from {m_words}."
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


def _kept_text(kept: RatioEstimate, baseline: str) -> str:
    if kept.status != "ok" or kept.value is None or kept.low is None or kept.high is None:
        return f"Gain kept over {baseline}: {kept.status} ({kept.reason})"
    return f"It keeps {100 * kept.value:.0f}% [{100 * kept.low:.0f}%, {100 * kept.high:.0f}%] of the gain over {baseline}"


def _kept_clause(c: ArmComparison, what: str, loss: bool) -> str:
    if c.kept is None:
        return ""
    kept, text = c.kept, " " + _kept_text(c.kept, c.baseline)
    if kept.status == "ok" and kept.low is not None and kept.high is not None:
        if kept.low >= FORMAT_SHARE and loss:
            cost = 100 * c.test.diff.mean
            return (
                text
                + f": most of the gain survives, but {what} still matters (removing it costs {cost:.1f} points)."
            )
        if kept.low >= FORMAT_SHARE:
            return text + f": most of the gain survives without {what}."
        if kept.high < LOST_SHARE:
            return text + ": most of the gain is lost without it."
    return text + "."


def arm_line(
    c: ArmComparison, *, alpha: float = ALPHA, assessable: bool = True, parts: Sequence[str] | None = None
) -> str:
    """The verdict sentence for one arm that removes or corrupts part of the prompt (``parts``: what the
    arm changes, see `removes`)."""
    what = removes(c.arm, parts)
    d = c.test.diff
    stats = _stats(c.reference, c.arm, c.test, c.p_adjusted)
    loss = c.p_adjusted < alpha and d.mean > 0
    if loss:
        head = f"{c.arm}: removing {what} costs {100 * d.mean:.1f} points ({stats})."
    elif c.p_adjusted < alpha:
        head = (
            f"{c.arm}: scores higher than {c.reference} without {what}; removing it did not hurt ({stats})."
        )
    else:
        head = f"{c.arm} vs {c.reference}: {_not_significant(d)} ({stats})."
    line = head + split_text(c.split, c.arm, alpha=alpha, parts=parts) + _kept_clause(c, what, loss)
    return line if assessable else NOT_ASSESSABLE + line


def follow_line(c: ArmComparison, *, alpha: float = ALPHA, assessable: bool = True) -> str:
    """Verdict for probes whose gold follows the altered instruction (negated, label-rename, label-swap)."""
    d = c.test.diff
    stats = _stats(c.reference, c.arm, c.test, c.p_adjusted)
    if c.p_adjusted < alpha and d.mean > 0:
        head = (
            f"{c.arm}: the model does not follow the changed instruction: it scores "
            f"{100 * d.mean:.1f} points lower ({stats})."
        )
    elif c.p_adjusted < alpha:
        head = f"{c.arm}: scores higher than {c.reference} ({stats})."
    else:
        head = f"{c.arm}: when the instruction changes the task, {_not_significant(d)} ({stats})."
    line = head + split_text(c.split, c.arm, follow=True, alpha=alpha)
    return line if assessable else NOT_ASSESSABLE + line


def beats(test: PairedResult, alpha: float = ALPHA) -> bool:
    """The reference clearly beats the other side: CI above 0 and p below alpha."""
    return test.diff.low > 0 and test.p_value < alpha


def gate_line(reference: str, gate: PairedResult, *, alpha: float = ALPHA) -> str | None:
    """The first line when ``reference`` does not beat random guessing over the label set; else None."""
    if beats(gate, alpha):
        return None
    stats = f"{reference} − guessing = {_ci(gate.diff)} points, p = {gate.p_value:.2g}, n={gate.n}"
    return (
        f"{reference} does not solve these tasks beyond guessing: it does not beat the expected score of "
        f"a random guess over each task's label set ({stats}). What the model relies on is not assessable; "
        "the lines below are shown for completeness."
    )


def gain_line(
    reference: str,
    baseline: str,
    gain: PairedResult,
    p_value: float | None = None,
    *,
    alpha: float = ALPHA,
    split: Split | None = None,
) -> str | None:
    """A warning when ``reference`` does not clearly beat ``baseline``; None when it does."""
    p = gain.p_value if p_value is None else p_value
    diff = f"{reference} − {baseline} = {_ci(gain.diff)} points, p = {p:.2g}, n={gain.n}"
    if gain.diff.mean > 0 and p < alpha:
        return None
    if gain.diff.mean < 0 and p < alpha:
        return (
            f"{reference} scores below {baseline} ({diff}): there is no gain whose source could be "
            "attributed, so nothing is concluded about what the model learned."
        )
    return (
        f"{reference} is not distinguishable from {baseline} ({diff}): without a clear gain, the "
        "comparisons below cannot say what the model learned."
    )


def tuning_line(
    reference: str, baseline: str, gain: PairedResult, split: Split | None, *, alpha: float = ALPHA
) -> str:
    """What tuning changed: ``reference`` − ``baseline`` (the untuned model), split into format and meaning."""
    warning = gain_line(reference, baseline, gain, alpha=alpha)
    head = (
        warning
        or f"Tuning: {reference} − {baseline} = {_ci(gain.diff)} points, p = {gain.p_value:.2g}, n={gain.n}."
    )
    if split is None:
        return head
    f, m = split.format.estimate, split.meaning.estimate
    if not split.has_format:
        return head + split_text(split, reference, alpha=alpha)
    f_words = "answers entering the label set" if f.mean >= 0 else "answers leaving the label set"
    m_words = "better label choices" if m.mean >= 0 else "worse label choices"
    text = (
        f" Split: {_ci(f)} from {f_words} (format), {_ci(m)} from {m_words} among answers in the label set "
        "under both."
    )
    f_up = split.format.claimed(alpha) and f.mean > 0
    m_up = split.meaning.claimed(alpha) and m.mean > 0
    if f_up and m_up:
        text += " Tuning taught the output format and better label choices."
    elif f_up:
        text += " Tuning taught the output format; better label choices are not detected."
    elif m_up:
        text += " Tuning taught better label choices; a format gain is not detected."
    else:
        text += " Neither part alone is distinguishable from 0 at this size."
    return head + text


def make_verdict(
    comparisons: Sequence[ArmComparison],
    *,
    gate: PairedResult | None = None,
    gain: PairedResult | None = None,
    gain_split: Split | None = None,
    baseline: str = "untuned",
    primary: str = "simplified",
    follow: Collection[str] = (),
    parts: Parts | None = None,
    alpha: float = ALPHA,
) -> Verdict:
    """The verdict for a study or an audit.

    Args:
        comparisons: reference vs each arm (from `analysis.compare_arms`).
        gate: reference vs random guessing over the label set (`analysis.guessing_gate`), if known.
        gain: reference vs ``baseline`` (the untuned model in a study), if known.
        gain_split: that gain split into format and meaning (a tuning line is written when given).
        baseline: the baseline's name in the text.
        primary: the arm the headline is about when present (else the first comparison).
        follow: arms whose gold follows the changed instruction, besides the follow probes by their own
            name (declared ``follows`` on their arm: `itprobe.arms.follow_probes`); a study gives every
            one from its arms' records.
        parts: what each arm changes (its components, e.g. ``("simplified", "content-free")``, or the
            training arm's for a condition tested with another); an arm without an entry is one arm of
            its name. Condition names are never split.
        alpha: significance level for the (Holm-adjusted) p-values.

    Lines: the gate (when it fails), a warning when the reference does not beat ``baseline``, the primary
    arm, the tuning line, the other arms, then the follow probes.
    """
    assessable = gate is None or beats(gate, alpha)
    reference = comparisons[0].reference if comparisons else "original"
    lines: list[str] = []
    if gate is not None and not assessable:
        lines.append(gate_line(reference, gate, alpha=alpha) or "")
    warning = gain_line(reference, baseline, gain, alpha=alpha) if gain is not None else None
    tuning = tuning_line(reference, baseline, gain, gain_split, alpha=alpha) if gain is not None else None
    if tuning is not None and warning is not None:
        lines.append(tuning)
    followed = [c for c in comparisons if c.arm in follow or c.arm in follow_probes()]
    removal = [c for c in comparisons if c not in followed]
    ordered = sorted(removal, key=lambda c: c.arm != primary)
    arm_lines = [
        arm_line(c, alpha=alpha, assessable=assessable, parts=(parts or {}).get(c.arm)) for c in ordered
    ]
    lines += arm_lines[:1]
    if tuning is not None and warning is None:
        lines.append(tuning)
    lines += arm_lines[1:]
    lines += [follow_line(c, alpha=alpha, assessable=assessable) for c in followed]
    if not lines:
        return Verdict("No comparison between arms was possible (no shared instances).", (), assessable)
    return Verdict(lines[0], tuple(lines), assessable)
