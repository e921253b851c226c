"""The audit's headline sentences, one per mode: how far the original instruction beats the best arm without
the task's own definition (instruction reliance), and the share of the margin over random the simplified
instruction keeps. Never stronger than the interval allows: the rules are the study's verdict rules
(`itprobe.report.verdict`, docs/design.md "What each verdict sentence requires").
"""

from __future__ import annotations

from itprobe.audit.reliance import Reliance, Survival
from itprobe.audit.sections import MODE_LABEL, survival_text
from itprobe.report import EQUIVALENCE_SHARE, NOT_ASSESSABLE, Split, split_text


def _pts(x: float) -> str:
    return f"{100 * x:+.1f}"


def reliance_sentence(
    rel: Reliance | None,
    mode: str,
    split: Split | None = None,
    *,
    assessable: bool = True,
    margin: float | None = None,
) -> str:
    """The headline of one mode, never stronger than the interval allows; ``split`` is original − the best
    arm as format + meaning (the word "meaning" only for a claimed meaning part); ``margin``: the
    equivalence margin (`verdict.equivalence_margin` of original's lead over the strongest control; None:
    no "no reliance beyond ±M" sentence)."""
    label = MODE_LABEL.get(mode, mode)
    if rel is None:
        return f"{label}: no instruction-reliance figure (no probe without the definition shared instances with original)."
    e = rel.estimate
    best = f"the best arm without the task's own definition ({rel.best_arm})"
    figure = f"{_pts(e.mean)} EM points [{_pts(e.low)}, {_pts(e.high)}] vs {best}"
    size = f"n={rel.n} instances, {rel.n_tasks} task(s)"
    if e.low == e.high == 0:
        text = f"{label}: no reliance measured: {best} scores exactly as the original on every instance ({size})."
    elif e.low > 0:
        text = (
            f"{label}: the original instruction beats {best} by {_pts(e.mean)} EM points "
            f"[{_pts(e.low)}, {_pts(e.high)}]; {size}." + split_text(split, rel.best_arm)
        )
    elif e.high < 0:
        picked = len(rel.arms)
        text = (
            f"{label}: the original instruction scores below {best} by {_pts(-e.mean).lstrip('+')} EM points "
            f"(original − best = {_pts(e.mean)} [{_pts(e.low)}, {_pts(e.high)}]; {size}): no sign that the model "
            "benefits from what the instruction says"
            + (
                f" (the best of {picked} arms is favoured by the choice; see the paired test per probe)."
                if picked > 1
                else "."
            )
        )
    elif margin is not None and e.low >= -margin and e.high <= margin:
        text = (
            f"{label}: no reliance on the instruction beyond ±{round(100 * margin, 1):g} points (the margin: "
            f"{round(100 * EQUIVALENCE_SHARE):g}% of original's lead over the strongest input-blind control): "
            f"the whole 95% CI lies inside it ({figure}; {size})."
        )
    else:
        text = (
            f"{label}: no reliance on the instruction detected at this sample size ({figure}; {size}); "
            f"the data allow up to {_pts(e.high).lstrip('+')} points."
        )
    return text if assessable else NOT_ASSESSABLE + text


def survival_sentence(s: Survival | None, mode: str) -> str | None:
    if s is None:
        return None
    label = MODE_LABEL.get(mode, mode)
    m = s.margin
    margin = f"original − random = {_pts(m.mean)} points [{_pts(m.low)}, {_pts(m.high)}]"
    if s.status != "ok":
        return (
            f"{label}: share of the margin over random kept by the simplified instruction: undefined: "
            f"{s.reason.replace('baseline', 'random')} ({margin})."
        )
    return (
        f"{label}: the simplified instruction keeps {survival_text(s)} of the margin over random "
        f"({margin}; n={s.n})."
    )
