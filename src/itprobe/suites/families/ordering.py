"""Comparisons and ordering: larger/smaller, longer/shorter, closer/farther, first/last, earlier/later."""

from __future__ import annotations

import random

from itprobe.suites import lexicon as lx
from itprobe.suites.family import COMPLEMENT, SWAP_AB, Family, Picker, Rule, binary_rule, positions3

AB = ("A", "B")


def _pair(rng: random.Random, pool: tuple, key=None) -> tuple:
    """Two items of ``pool`` that differ (and differ in ``key`` when given)."""
    while True:
        a, b = rng.sample(pool, 2)
        if key is None or key(a) != key(b):
            return a, b


def _ab_rules(key, high: tuple[str, str, str], low: tuple[str, str, str]) -> tuple[Rule, Rule]:
    """Two A/B rules picking the item with the higher / the lower ``key``; (id, question, negated) each."""

    def pick(high_wins: bool):
        return lambda x: "A" if (key(x[0]) > key(x[1])) == high_wins else "B"

    return (Rule(high[0], high[1], pick(True), high[2]), Rule(low[0], low[1], pick(False), low[2]))


def _ab_render(fmt=str):
    return lambda x: f"A: {fmt(x[0])}, B: {fmt(x[1])}"


def _num_compare() -> Family:
    return Family(
        "number_compare",
        "comparison",
        "choice",
        "two numbers, A and B",
        AB,
        _ab_rules(
            lambda n: n,
            ("larger", "Which number is larger?", "Which number is not the larger one?"),
            ("smaller", "Which number is smaller?", "Which number is not the smaller one?"),
        ),
        SWAP_AB,
        lambda rng, cell: _pair(rng, tuple(range(1, 1000))),
        _ab_render(),
        lambda x: f"A is {x[0]} and B is {x[1]}",
    )


def _length_compare() -> Family:
    return Family(
        "length_compare",
        "comparison",
        "choice",
        "two words, A and B",
        AB,
        _ab_rules(
            len,
            ("longer", "Which word has more letters?", "Which word does not have more letters?"),
            ("shorter", "Which word has fewer letters?", "Which word does not have fewer letters?"),
        ),
        SWAP_AB,
        lambda rng, cell: _pair(rng, lx.WORD_POOL, len),
        _ab_render(),
        lambda x: f'"{x[0]}" has {len(x[0])} letters and "{x[1]}" has {len(x[1])}',
    )


def _closer() -> Family:
    def draw(rng: random.Random, cell: tuple[str, ...]) -> tuple[int, int, int]:
        while True:
            t, a, b = rng.randint(20, 80), rng.randint(1, 99), rng.randint(1, 99)
            if len({t, a, b}) == 3 and abs(a - t) != abs(b - t):
                return (t, a, b)

    def dist(x: tuple[int, int, int]) -> tuple[int, int]:
        return abs(x[1] - x[0]), abs(x[2] - x[0])

    def fact(x: tuple[int, int, int]) -> str:
        da, db = dist(x)
        return f"A ({x[1]}) is {da} away from {x[0]} and B ({x[2]}) is {db} away"

    return Family(
        "closer_to_target",
        "comparison",
        "choice",
        "a target number and two numbers, A and B",
        AB,
        (
            Rule(
                "closer",
                "Which number, A or B, is closer to the target?",
                lambda x: "A" if dist(x)[0] < dist(x)[1] else "B",
                "Which number, A or B, is not the closer one to the target?",
            ),
            Rule(
                "farther",
                "Which number, A or B, is farther from the target?",
                lambda x: "A" if dist(x)[0] > dist(x)[1] else "B",
                "Which number, A or B, is not the farther one from the target?",
            ),
        ),
        SWAP_AB,
        draw,
        lambda x: f"Target: {x[0]}. A: {x[1]}. B: {x[2]}.",
        fact,
    )


def _list_size() -> Family:
    pool = lx.COLOURS + lx.ANIMALS[:20] + lx.FRUITS

    def draw(rng: random.Random, cell: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        na, nb = rng.sample(range(1, 7), 2)
        items = rng.sample(pool, na + nb)
        return tuple(items[:na]), tuple(items[na:])

    return Family(
        "list_size",
        "comparison",
        "choice",
        "two lists, A and B",
        AB,
        _ab_rules(
            len,
            ("more", "Which list has more items?", "Which list does not have more items?"),
            ("fewer", "Which list has fewer items?", "Which list does not have fewer items?"),
        ),
        SWAP_AB,
        draw,
        lambda x: f"A: {', '.join(x[0])}. B: {', '.join(x[1])}.",
        lambda x: f"list A has {len(x[0])} items and list B has {len(x[1])}",
    )


def _alpha_order() -> Family:
    return Family(
        "alphabetical_order",
        "ordering",
        "choice",
        "two words, A and B",
        AB,
        (
            Rule(
                "first",
                "Which word comes first in alphabetical order?",
                lambda x: "A" if x[0] < x[1] else "B",
                "Which word does not come first in alphabetical order?",
            ),
            Rule(
                "last",
                "Which word comes last in alphabetical order?",
                lambda x: "A" if x[0] > x[1] else "B",
                "Which word does not come last in alphabetical order?",
            ),
        ),
        SWAP_AB,
        lambda rng, cell: _pair(rng, lx.WORD_POOL),
        _ab_render(),
        lambda x: f'in alphabetical order, "{min(x)}" comes before "{max(x)}"',
    )


def _sorted_direction() -> Family:
    def draw(rng: random.Random, cell: tuple[str, ...]) -> tuple[int, ...]:
        nums = sorted(rng.sample(range(1, 100), rng.randint(4, 6)))
        return tuple(nums) if cell[0] == "Yes" else tuple(reversed(nums))

    return Family(
        "sort_direction",
        "ordering",
        "binary",
        "a list of numbers",
        ("Yes", "No"),
        (
            binary_rule(
                "increasing",
                "the numbers are in increasing order",
                lambda x: list(x) == sorted(x),
                "the numbers are not in increasing order",
            ),
            binary_rule(
                "decreasing",
                "the numbers are in decreasing order",
                lambda x: list(x) == sorted(x, reverse=True),
                "the numbers are not in decreasing order",
            ),
        ),
        COMPLEMENT,
        draw,
        lambda x: ", ".join(map(str, x)),
        lambda x: f"the list goes from {x[0]} {'up' if x[0] < x[-1] else 'down'} to {x[-1]}",
    )


def _extreme_position() -> Family:
    def position(best) -> Picker:
        return lambda x: str(x.index(best(x)) + 1)

    return Family(
        "extreme_position",
        "ordering",
        "choice",
        "a list of three numbers",
        ("1", "2", "3"),
        (
            Rule("largest", "In which position (1, 2 or 3) is the largest number?", position(max)),
            Rule("smallest", "In which position (1, 2 or 3) is the smallest number?", position(min)),
        ),
        positions3(),
        lambda rng, cell: tuple(rng.sample(range(1, 100), 3)),
        lambda x: ", ".join(map(str, x)),
        lambda x: (
            f"the largest number, {max(x)}, is in position {x.index(max(x)) + 1} and the smallest, "
            f"{min(x)}, is in position {x.index(min(x)) + 1}"
        ),
    )


def _time_order() -> Family:
    times = tuple(f"{h:02d}:{m:02d}" for h in range(6, 23) for m in range(0, 60, 5))
    return Family(
        "time_order",
        "ordering",
        "choice",
        "two times of day, A and B (24-hour clock)",
        AB,
        (
            Rule(
                "earlier",
                "Which time is earlier in the day?",
                lambda x: "A" if x[0] < x[1] else "B",
                "Which time is not the earlier one?",
            ),
            Rule(
                "later",
                "Which time is later in the day?",
                lambda x: "A" if x[0] > x[1] else "B",
                "Which time is not the later one?",
            ),
        ),
        SWAP_AB,
        lambda rng, cell: _pair(rng, times),
        _ab_render(),
        lambda x: f"{min(x)} comes before {max(x)}",
    )


def _month_order() -> Family:
    def month(m: str) -> int:
        return lx.MONTHS.index(m)

    return Family(
        "month_order",
        "ordering",
        "choice",
        "two months, A and B",
        AB,
        _ab_rules(
            lambda m: -month(m),
            (
                "earlier",
                "Which month comes earlier in the calendar year?",
                "Which month does not come earlier in the calendar year?",
            ),
            (
                "later",
                "Which month comes later in the calendar year?",
                "Which month does not come later in the calendar year?",
            ),
        ),
        SWAP_AB,
        lambda rng, cell: _pair(rng, lx.MONTHS),
        _ab_render(),
        lambda x: f"{x[0]} is month {month(x[0]) + 1} and {x[1]} is month {month(x[1]) + 1}",
    )


FAMILIES: tuple[Family, ...] = (
    _num_compare(),
    _length_compare(),
    _closer(),
    _list_size(),
    _alpha_order(),
    _sorted_direction(),
    _extreme_position(),
    _time_order(),
    _month_order(),
)
