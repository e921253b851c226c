"""Plain-language verdicts: pure functions of statistics records, never stronger than they allow.

One vocabulary for the study and the audit. What each sentence requires (docs/design.md, "What each
verdict sentence requires"); ``alpha`` = 0.05, differences are reference − arm on the same instances:

- **Gate.** The reference must beat every fair input-blind control (`analysis.control_gate`: the expected
  uniform guess and the declared controls of `itprobe.baselines`, never an oracle), each with the CI of
  the paired difference above 0 and p < alpha. Otherwise the first line names the strongest control it
  does not beat and every line about what it relies on is marked "not assessable" (still shown).
- **A loss / a gain** ("removing X costs N points", "scores higher without X"): the Holm-adjusted p of the
  paired test is below alpha. Its size is always given, also when most of a gain survives.
- **No difference**: never "the same". "Equivalent within ±M points" only when the whole 95% CI of the
  difference lies inside ±M, the margin the design states (`equivalence_margin`: declared, or a share of
  the gain being studied); without one, always "no difference detected at this size", with the range of
  differences the data allow.
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
from typing import Literal

from itprobe.arms import follow_probes
from itprobe.report.analysis import ArmComparison, Gate
from itprobe.report.decompose import Split
from itprobe.report.stats import PairedResult, RatioEstimate
from itprobe.report.verdict_gate import beats, control_words, gain_line, gate_line, tuning_line
from itprobe.report.wording import (
    ALPHA,
    EQUIVALENCE_SHARE,
    REMOVES,
    equivalence_margin,
    no_difference,
    removes,
    split_text,
)
from itprobe.report.wording import not_significant as _not_significant
from itprobe.report.wording import pts as _pts
from itprobe.report.wording import stats_text as _stats

FORMAT_SHARE = 0.8  # gain kept (whole CI) above which "most of the gain survives" is said
LOST_SHARE = 0.5  # gain kept (whole CI) below which "most of the gain is lost" is said
NOT_ASSESSABLE = "Not assessable (original does not beat guessing): "

# the words are in itprobe.report.wording; these names are part of this module's surface
__all__ = [
    "ALPHA",
    "EQUIVALENCE_SHARE",
    "NOT_ASSESSABLE",
    "REMOVES",
    "Design",
    "Manipulation",
    "Verdict",
    "arm_line",
    "beats",
    "control_words",
    "equivalence_margin",
    "follow_line",
    "gain_line",
    "gate_line",
    "make_verdict",
    "no_difference",
    "removes",
    "split_text",
    "tuning_line",
]


@dataclass(frozen=True)
class Verdict:
    """The ``headline`` (the first line) and every line; ``assessable`` is False when the gate failed."""

    headline: str
    lines: tuple[str, ...]
    assessable: bool = True


Parts = Mapping[str, Sequence[str]]  # condition → what its arm changes (`study.config.ArmConfig.parts`)
# when a compared condition's arm was applied, relative to the reference: at training and test time (the
# paper's protocol, "simplified"), at training time only (trained with it, tested with the reference's
# instruction, "simplified@original"), at test time only (the reference's model, "original@simplified", and
# every audit probe)
Manipulation = Literal["train+test", "train", "test"]


@dataclass(frozen=True)
class Design:
    """What the producer knows about one comparison's design (docs/design.md, "What each verdict
    sentence requires"): ``when`` the arm was applied (None: not said; the words of a removal), how many
    training ``seeds`` stand behind it, and whether it is ``exploratory`` (not a declared primary
    comparison)."""

    when: Manipulation | None = None
    seeds: int | None = None
    exploratory: bool = False

    @property
    def training(self) -> bool:
        """The comparison is about an arm the model was trained with."""
        return self.when in ("train", "train+test")

    @property
    def one_seed(self) -> bool:
        """A training comparison resting on one training run: not a finding (docs/design.md)."""
        return self.training and self.seeds is not None and self.seeds < 2


ONE_SEED = (
    "a training-arm effect cannot be established with one seed: the difference mixes the arm with the "
    "variance of one training run, which these intervals do not include (run the study with seeds: "
    "[0, 1, ...])"
)
EXPLORATORY = "Exploratory (not a declared primary comparison): "


def _kept_text(kept: RatioEstimate, baseline: str) -> str:
    if kept.status != "ok" or kept.value is None or kept.low is None or kept.high is None:
        return f"Gain kept over {baseline}: withheld ({kept.status}), because {kept.reason}"
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


def _loss_head(c: ArmComparison, what: str, when: Manipulation | None, stats: str) -> str:
    cost = f"{100 * c.test.diff.mean:.1f} points"
    if when == "train+test":
        return f"{c.arm}: training and testing without {what} costs {cost} ({stats})."
    if when == "train":
        return (
            f"{c.arm}: training without {what} costs {cost} when tested with the {c.reference} instruction: "
            f"an effect of training, not of removing anything at test time ({stats})."
        )
    at = " at test time" if when == "test" else ""
    return f"{c.arm}: removing {what}{at} costs {cost} ({stats})."


def _gain_head(c: ArmComparison, what: str, when: Manipulation | None, stats: str) -> str:
    if when == "train+test":
        return f"{c.arm}: training and testing without {what} scores higher than {c.reference} ({stats})."
    if when == "train":
        return (
            f"{c.arm}: training without {what} scores higher than {c.reference} when tested with the "
            f"{c.reference} instruction: an effect of training ({stats})."
        )
    at = " at test time" if when == "test" else ""
    return (
        f"{c.arm}: scores higher than {c.reference} without {what}{at}; removing it did not hurt ({stats})."
    )


def arm_line(
    c: ArmComparison,
    *,
    alpha: float = ALPHA,
    assessable: bool = True,
    parts: Sequence[str] | None = None,
    design: Design | None = None,
    margin: float | None = None,
) -> str:
    """The verdict sentence for one arm that removes or corrupts part of the prompt (``parts``: what the
    arm changes, see `removes`; ``design``: when it was applied and on how many seeds, see `Design`;
    ``margin``: the equivalence margin, None when the design gives none)."""
    design = design or Design()
    what = removes(c.arm, parts)
    d = c.test.diff
    stats = _stats(c.reference, c.arm, c.test, c.p_adjusted)
    prefix = ("" if assessable else NOT_ASSESSABLE) + (EXPLORATORY if design.exploratory else "")
    if design.one_seed:
        # the numbers are shown, no finding is drawn from them (no loss, no split claim, no gain kept)
        return prefix + f"{c.arm} vs {c.reference} ({stats}): {ONE_SEED}."
    # a training comparison with seeds: its interval is the two-level one (tasks and seeds), which must
    # exclude 0 too (the test's p treats the trained models as fixed)
    seeded = design.training and not (d.low > 0 or d.high < 0)
    loss = c.p_adjusted < alpha and d.mean > 0 and not seeded
    if loss:
        head = _loss_head(c, what, design.when, stats)
    elif c.p_adjusted < alpha and not seeded:
        head = _gain_head(c, what, design.when, stats)
    elif c.p_adjusted < alpha:
        head = (
            f"{c.arm} vs {c.reference}: significant while the trained models are held fixed, but not once the "
            f"variance between training seeds is included (the two-level 95% CI, [{_pts(d.low)}, "
            f"{_pts(d.high)}], includes 0) ({stats})."
        )
    else:
        head = f"{c.arm} vs {c.reference}: {_not_significant(d, margin)} ({stats})."
    line = head + split_text(c.split, c.arm, alpha=alpha, parts=parts) + _kept_clause(c, what, loss)
    return prefix + line


def follow_line(
    c: ArmComparison,
    *,
    alpha: float = ALPHA,
    assessable: bool = True,
    design: Design | None = None,
    margin: float | None = None,
) -> str:
    """Verdict for probes whose gold follows the altered instruction (negated, label-rename, label-swap)."""
    design = design or Design()
    d = c.test.diff
    stats = _stats(c.reference, c.arm, c.test, c.p_adjusted)
    prefix = ("" if assessable else NOT_ASSESSABLE) + (EXPLORATORY if design.exploratory else "")
    if design.one_seed:
        return prefix + f"{c.arm} vs {c.reference} ({stats}): {ONE_SEED}."
    if c.p_adjusted < alpha and d.mean > 0:
        head = (
            f"{c.arm}: the model does not follow the changed instruction: it scores "
            f"{100 * d.mean:.1f} points lower ({stats})."
        )
    elif c.p_adjusted < alpha:
        head = f"{c.arm}: scores higher than {c.reference} ({stats})."
    else:
        head = f"{c.arm}: when the instruction changes the task, {_not_significant(d, margin)} ({stats})."
    return prefix + head + split_text(c.split, c.arm, follow=True, alpha=alpha)


def make_verdict(
    comparisons: Sequence[ArmComparison],
    *,
    gate: Gate | None = None,
    gain: PairedResult | None = None,
    gain_split: Split | None = None,
    baseline: str = "untuned",
    primary: str = "simplified",
    follow: Collection[str] = (),
    parts: Parts | None = None,
    alpha: float = ALPHA,
    designs: Mapping[str, Design] | None = None,
    margin: float | None = None,
    tuned_with: str | None = None,
    tuning_seeds: int | None = None,
) -> Verdict:
    """The verdict for a study or an audit.

    Args:
        comparisons: reference vs each arm (from `analysis.compare_arms`).
        gate: reference vs every fair input-blind control (`analysis.control_gate`), if known.
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
        designs: per compared condition, when its arm was applied, on how many seeds, and whether it is
            exploratory (`Design`); a condition without an entry reads as a removal.
        margin: the equivalence margin (0..1); None: the design states none and equivalence is never said.
        tuned_with, tuning_seeds: the arm the reference was tuned with and its seeds (the tuning line).

    Lines: the gate (when it fails), a warning when the reference does not beat ``baseline``, the primary
    arm, the tuning line, the other arms, then the follow probes.
    """
    assessable = gate is None or gate.passed
    reference = comparisons[0].reference if comparisons else "original"
    lines: list[str] = []
    if gate is not None and not assessable:
        lines.append(gate_line(reference, gate))
    warning = gain_line(reference, baseline, gain, alpha=alpha) if gain is not None else None
    tuning = (
        tuning_line(reference, baseline, gain, gain_split, alpha=alpha, arm=tuned_with, seeds=tuning_seeds)
        if gain is not None
        else None
    )
    design = designs or {}
    if tuning is not None and warning is not None:
        lines.append(tuning)
    followed = [c for c in comparisons if c.arm in follow or c.arm in follow_probes()]
    removal = [c for c in comparisons if c not in followed]
    ordered = sorted(removal, key=lambda c: c.arm != primary)
    arm_lines = [
        arm_line(
            c,
            alpha=alpha,
            assessable=assessable,
            parts=(parts or {}).get(c.arm),
            design=design.get(c.arm),
            margin=margin,
        )  # fmt: skip
        for c in ordered
    ]
    lines += arm_lines[:1]
    if tuning is not None and warning is None:
        lines.append(tuning)
    if gate is not None and assessable:
        lines.append(gate_line(reference, gate))
    lines += arm_lines[1:]
    lines += [
        follow_line(c, alpha=alpha, assessable=assessable, design=design.get(c.arm), margin=margin)
        for c in followed
    ]
    if not lines:
        return Verdict("No comparison between arms was possible (no shared instances).", (), assessable)
    return Verdict(lines[0], tuple(lines), assessable)
