"""The verdict's lines about the reference itself: the gate against input-blind guessing, the warning when
it does not clearly beat a baseline, and what tuning changed (reference − the untuned model, split into
format and meaning).

Split from `itprobe.report.verdict`, which composes them with the arm lines and re-exports these names;
the rules each sentence follows are in its docstring and docs/design.md ("What each verdict sentence
requires").
"""

from __future__ import annotations

from itprobe.baselines import REGISTRY
from itprobe.report.analysis import GUESS, Gate
from itprobe.report.decompose import Split
from itprobe.report.stats import PairedResult
from itprobe.report.wording import ALPHA
from itprobe.report.wording import ci as _ci


def beats(test: PairedResult, alpha: float = ALPHA) -> bool:
    """The reference clearly beats the other side: CI above 0 and p below alpha."""
    return test.diff.low > 0 and test.p_value < alpha


def control_words(name: str) -> str:
    """A control as the gate names it: its name and what it answers (`itprobe.baselines` declarations)."""
    if name == GUESS:
        return "random guessing (the expected score of a uniform guess over each instance's label set)"
    return f"{name} ({REGISTRY[name].summary})" if name in REGISTRY else name


def gate_line(reference: str, gate: Gate) -> str:
    """The gate's sentence, naming the control it is decided by (`analysis.Gate.control`)."""
    t = gate.test
    stats = f"{reference} − {gate.control} = {_ci(t.diff)} points, p = {t.p_value:.2g}, n={t.n}"
    others = len(gate.tests) - 1
    among = f"; {others} other control{'s' if others != 1 else ''} checked" if others else ""
    if gate.passed:
        return (
            f"{reference} beats every input-blind control that does not read the test labels; the strongest "
            f"is {control_words(gate.control)} ({stats}{among})."
        )
    return (
        f"{reference} does not solve these tasks beyond input-blind guessing: it does not beat "
        f"{control_words(gate.control)} ({stats}{among}). What the model relies on is not assessable; "
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
    reference: str,
    baseline: str,
    gain: PairedResult,
    split: Split | None,
    *,
    alpha: float = ALPHA,
    arm: str | None = None,
    seeds: int | None = None,
) -> str:
    """What tuning changed: ``reference`` − ``baseline`` (the untuned model), split into format and meaning.

    ``arm``: the arm the reference was tuned with (named in the line; default: the reference's name);
    ``seeds``: training seeds behind the reference (one: the numbers are shown, what tuning taught is not
    claimed, as for any training-arm effect).
    """
    arm = arm or reference
    warning = gain_line(reference, baseline, gain, alpha=alpha)
    head = warning or (
        f"Tuning with {arm}: {reference} − {baseline} = {_ci(gain.diff)} points, p = {gain.p_value:.2g}, "
        f"n={gain.n}."
    )
    if split is None:
        return head
    f, m = split.format.estimate, split.meaning.estimate
    one_seed = f" What tuning with {arm} taught cannot be established with one seed: the variance of one training run is not in these intervals."
    if not split.has_format:
        text = (
            " Split: none in rank classification (no format part by construction: every answer is a label)."
            if split.mode == "rank"
            else " Split: no format part (every answer is in the label set under both)."
        )
        if seeds is not None and seeds < 2:
            return head + text + one_seed
        if split.meaning.claimed(alpha) and m.mean > 0:
            return head + text + f" Tuning with {arm} taught better label choices."
        return (
            head
            + text
            + f" Better label choices are not claimed (p (Holm) = {split.meaning.p_adjusted:.2g})."
        )
    f_words = "answers entering the label set" if f.mean >= 0 else "answers leaving the label set"
    m_words = "better label choices" if m.mean >= 0 else "worse label choices"
    text = (
        f" Split: {_ci(f)} from {f_words} (format), {_ci(m)} from {m_words} among answers in the label set "
        "under both."
    )
    f_up = split.format.claimed(alpha) and f.mean > 0
    m_up = split.meaning.claimed(alpha) and m.mean > 0
    if seeds is not None and seeds < 2:
        text += one_seed
    elif f_up and m_up:
        text += f" Tuning with {arm} taught the output format and better label choices."
    elif f_up:
        text += f" Tuning with {arm} taught the output format; better label choices are not detected."
    elif m_up:
        text += f" Tuning with {arm} taught better label choices; a format gain is not detected."
    else:
        text += " Neither part alone is distinguishable from 0 at this size."
    return head + text
