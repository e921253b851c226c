"""Plain-language verdicts from the statistics, never stronger than they allow.

Rules (``alpha`` = 0.05, differences are reference − arm on the same instances, Holm-adjusted p):
- the reference does not beat the baseline (CI of the gain includes 0, or it is worse): say so first; the
  gain-kept ratios are then undefined and nothing is concluded about what was learned;
- an arm not significantly different from the reference: "no evidence that the model uses <what the arm
  removes> at this sample size (n=…)", unless the gain kept is at least 0.8 over its whole CI, which
  supports the stronger "the model mostly learned the output format";
- an arm significantly worse: the model uses what the arm removes; if the arm still keeps >= 0.8 of the
  gain over its whole CI both are said; if it keeps < 0.5 over its whole CI, "most of the gain is lost";
- an arm significantly better: removing that part did not hurt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from itprobe.report.analysis import ArmComparison
from itprobe.report.stats import PairedResult, RatioEstimate

FORMAT_SHARE = 0.8  # gain kept (whole CI) above which "mostly the output format" is claimed
LOST_SHARE = 0.5  # gain kept (whole CI) below which "most of the gain is lost" is claimed

# what each arm takes away from the prompt, to complete "the model uses ..."
REMOVES = {
    "simplified": "the instruction's meaning beyond the output space",
    "empty": "the instruction text",
    "irrelevant": "the content of its own instruction (another task's instruction)",
    "negated": "what the instruction says (the negated instruction)",
    "none": "the examples",
    "no-examples": "the examples",  # the audit's name for the examples arm "none"
    "content-free": "the input",
    "label-rename": "the label names given in the instruction",
    "label-swap": "the label meanings stated in the instruction",
}


@dataclass(frozen=True)
class Verdict:
    """A one-sentence ``headline`` and one line per comparison."""

    headline: str
    lines: tuple[str, ...]


def removes(arm: str) -> str:
    """What ``arm`` removes, in words (delusive variants share one phrase)."""
    if arm.startswith("delusive"):
        return "the correct input-output mapping shown in the examples"
    # "simplified/rank" (another mode) and "simplified@original" (trained with simplified, tested with
    # original) take the phrase of the arm they were trained with
    base = arm.split("/")[0].split("@")[0]
    if base.startswith("delusive"):
        return removes("delusive")
    return REMOVES.get(base, f"what the '{arm}' arm changes")


def _pts(x: float) -> str:
    return f"{100 * x:+.1f}"


def _diff_text(test: PairedResult, p_adj: float) -> str:
    d = test.diff
    return f"{_pts(d.mean)} points [{_pts(d.low)}, {_pts(d.high)}], p = {p_adj:.2g}"


def _kept_text(kept: RatioEstimate, baseline: str) -> str:
    if kept.status != "ok" or kept.value is None or kept.low is None or kept.high is None:
        return f"gain kept over {baseline}: {kept.status} ({kept.reason})"
    return f"it keeps {100 * kept.value:.0f}% [{100 * kept.low:.0f}%, {100 * kept.high:.0f}%] of the gain over {baseline}"


def arm_line(c: ArmComparison, *, alpha: float = 0.05) -> str:
    """The verdict sentence for one comparison."""
    what, n = removes(c.arm), c.test.n
    diff = f"{c.reference} − {c.arm} = {_diff_text(c.test, c.p_adjusted)}"
    kept = c.kept if c.kept is not None and c.kept.status == "ok" else None
    if kept is not None and kept.low is not None and kept.low >= FORMAT_SHARE:
        return (
            f"{c.arm}: most of the gain survives removing {what}: the model mostly learned the output "
            f"format ({_kept_text(kept, c.baseline)}; {diff}; n={n})."
        )
    if c.p_adjusted >= alpha:
        text = (
            f"{c.arm}: no evidence that the model uses {what} at this sample size (n={n}): {diff}. "
            "The interval is what the data allow; a real effect inside it cannot be ruled out."
        )
        if c.kept is not None:
            text += f" ({_kept_text(c.kept, c.baseline)}.)"
        return text
    if c.test.diff.mean < 0:
        return f"{c.arm}: scores higher than {c.reference}; removing {what} did not hurt ({diff}; n={n})."
    if kept is not None and kept.high is not None and kept.high < LOST_SHARE:
        return (
            f"{c.arm}: the model uses {what}: most of the gain is lost without it "
            f"({_kept_text(kept, c.baseline)}; {diff}; n={n})."
        )
    text = f"{c.arm}: the model uses {what} ({diff}; n={n})"
    return text + (f"; {_kept_text(c.kept, c.baseline)}." if c.kept is not None else ".")


def gain_line(
    reference: str, baseline: str, gain: PairedResult, p_value: float | None = None, *, alpha: float = 0.05
) -> str | None:
    """A warning when ``reference`` does not clearly beat ``baseline``; None when it does."""
    p = gain.p_value if p_value is None else p_value
    diff = f"{reference} − {baseline} = {_diff_text(gain, p)}, n={gain.n}"
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


def make_verdict(
    comparisons: Sequence[ArmComparison],
    *,
    gain: PairedResult | None = None,
    baseline: str = "untuned",
    primary: str = "simplified",
    alpha: float = 0.05,
) -> Verdict:
    """The verdict for a study or an audit.

    Args:
        comparisons: reference vs each arm (from `analysis.compare_arms`).
        gain: reference vs ``baseline`` (untuned model in a study, random in an audit), if known.
        baseline: the baseline's name in the text.
        primary: the arm the headline is about when present (else the first comparison).
        alpha: significance level for the (Holm-adjusted) p-values.
    """
    lines = [arm_line(c, alpha=alpha) for c in comparisons]
    warning = None
    if gain is not None:
        reference = comparisons[0].reference if comparisons else "original"
        warning = gain_line(reference, baseline, gain, alpha=alpha)
    if warning is not None:
        return Verdict(warning, (warning, *lines))
    if not comparisons:
        return Verdict("No comparison between arms was possible (no shared instances).", ())
    main = next((c for c in comparisons if c.arm == primary), comparisons[0])
    return Verdict(arm_line(main, alpha=alpha), tuple(lines))
