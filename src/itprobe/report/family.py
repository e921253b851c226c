"""The headline's family of comparisons: the declared primary comparisons at every size and in every mode
the report quotes, Holm-adjusted together (docs/design.md, "Statistics").

A study's report quotes the primary arm at each training size (learning curve) and in each evaluation mode
(one report per mode). Holm within one table controls the error of that table only; the headline draws
from all of them, so its family is every (primary comparison, size, mode). Every other verdict line is
exploratory: its p-value is Holm-adjusted within its table and it is marked as such.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from itprobe.report.curves import sizes_of
from itprobe.report.results import InstanceResult, align
from itprobe.report.stats import holm, paired_test

Member = tuple[str, int | None, str]  # (condition, training size or None, mode)


@dataclass(frozen=True)
class Family:
    """The primary comparisons and the Holm-adjusted p of each member (reference − condition)."""

    reference: str
    primaries: tuple[str, ...]
    p_adjusted: Mapping[Member, float]

    def at(self, size: int | None, mode: str) -> dict[str, float]:
        """The adjusted p of each primary comparison at ``size`` in ``mode``."""
        return {c: p for (c, s, m), p in self.p_adjusted.items() if s == size and m == mode}

    def note(self) -> str:
        sizes = sorted({s for _, s, _ in self.p_adjusted if s is not None})
        modes = sorted({m for _, _, m in self.p_adjusted})
        return (
            f"Primary comparison(s): {', '.join(f'{self.reference} vs {c}' for c in self.primaries)}; their "
            f"p-values in the verdict are Holm-adjusted across all {len(self.p_adjusted)} comparisons the "
            f"headline draws from ({len(self.primaries)} comparison(s) × {max(len(sizes), 1)} size(s) × "
            f"{len(modes)} mode(s)). Every other verdict line is exploratory (Holm within its table only) and "
            "says so."
        )


def primary_family(
    results_by_mode: Mapping[str, Sequence[InstanceResult]],
    reference: str,
    primaries: Sequence[str],
    *,
    n_boot: int = 2000,
    seed: int = 0,
) -> Family:
    """Paired tests of ``reference`` − each primary comparison at every size and mode, Holm-adjusted
    together (members without shared instances are left out)."""
    raw: dict[Member, float] = {}
    for mode, results in results_by_mode.items():
        sizes: list[int | None] = list(sizes_of(results, reference)) or [None]
        for size in sizes:
            rows = [r for r in results if r.size is None or r.size == size]
            for condition in primaries:
                aligned = align(rows, [reference, condition])
                if aligned.n:
                    s = aligned.scores
                    test = paired_test(
                        s[reference], s[condition], n_boot=n_boot, seed=seed, cluster=aligned.resampling()
                    )
                    raw[(condition, size, mode)] = test.p_value
    adjusted = holm(list(raw.values()))
    return Family(reference, tuple(primaries), dict(zip(raw, adjusted, strict=True)))
