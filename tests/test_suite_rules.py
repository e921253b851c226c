"""Gold labels of the generated suite, recomputed by checkers written independently of the generator.

Each checker parses the rendered input text and applies the rule from scratch (it uses the lexicon's word
lists as data and the standard library's calendar, never a generator function).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable

import pytest

from itprobe.suites import generate_suite, list_families
from itprobe.suites import lexicon as lx

YN = {True: "Yes", False: "No"}
TF = {True: "True", False: "False"}
MONTHS = [m for m in calendar.month_name if m]
DAYS = list(calendar.day_name)


def _ints(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", text)]


def _ab(text: str) -> tuple[str, str]:
    m = re.fullmatch(r"A: (.+), B: (.+)", text)
    assert m, text
    return m.group(1), m.group(2)


def _pick(first_wins: bool) -> str:
    return "A" if first_wins else "B"


def _prime(n: int) -> bool:
    return n > 1 and not any(n % d == 0 for d in range(2, n))


def _tokens(text: str) -> list[str]:
    return re.findall(r"[A-Za-z]+", text)


def parity(s, r):
    return YN[int(s) % 2 == (0 if r == "even" else 1)]


def divisibility(s, r):
    return YN[int(s) % (3 if r == "by3" else 5) == 0]


def magnitude(s, r):
    return YN[int(s) > 500 if r == "above" else int(s) < 500]


def primality(s, r):
    return YN[_prime(int(s)) == (r == "prime")]


def digit_order(s, r):
    first, last = int(s[0]), int(s[-1])
    return YN[first > last if r == "first_larger" else last > first]


def sum_or_difference(s, r):
    a, b, res = _ints(s)
    return TF[(a + b if r == "sum" else a - b) == res]


def sum_product_pick(s, r):
    a, b, opt_a, _ = _ints(s)
    return _pick(opt_a == (a + b if r == "sum" else a * b))


def sum_threshold(s, r):
    a, b = _ints(s)
    return YN[a + b > 100 if r == "sum" else abs(a - b) > 30]


def sum_parity_product(s, r):
    a, b = _ints(s)
    return YN[(a + b) % 2 == 0 if r == "even_sum" else a * b > 200]


def number_compare(s, r):
    a, b = _ints(s)
    return _pick(a > b if r == "larger" else a < b)


def length_compare(s, r):
    a, b = _ab(s)
    return _pick(len(a) > len(b) if r == "longer" else len(a) < len(b))


def closer_to_target(s, r):
    t, a, b = _ints(s)
    return _pick(abs(a - t) < abs(b - t) if r == "closer" else abs(a - t) > abs(b - t))


def list_size(s, r):
    m = re.fullmatch(r"A: (.+)\. B: (.+)\.", s)
    a, b = (len(g.split(", ")) for g in m.groups())
    return _pick(a > b if r == "more" else a < b)


def alphabetical_order(s, r):
    a, b = _ab(s)
    return _pick(sorted([a, b])[0 if r == "first" else 1] == a)


def sort_direction(s, r):
    nums = _ints(s)
    steps = [y - x for x, y in zip(nums, nums[1:], strict=False)]
    return YN[all(d > 0 for d in steps) if r == "increasing" else all(d < 0 for d in steps)]


def extreme_position(s, r):
    nums = _ints(s)
    target = max(nums) if r == "largest" else min(nums)
    return str(nums.index(target) + 1)


def time_order(s, r):
    (ha, ma), (hb, mb) = (map(int, t.split(":")) for t in _ab(s))
    a, b = ha * 60 + ma, hb * 60 + mb
    return _pick(a < b if r == "earlier" else a > b)


def month_order(s, r):
    a, b = (MONTHS.index(m) for m in _ab(s))
    return _pick(a < b if r == "earlier" else a > b)


def vowel_edges(s, r):
    return YN[(s[0] if r == "starts" else s[-1]) in "aeiou"]


def length_parity(s, r):
    return YN[len(s) % 2 == (0 if r == "even" else 1)]


def letter_checks(s, r):
    return YN["e" in s if r == "has_e" else re.search(r"(.)\1", s) is not None]


def capital_letters(s, r):
    return YN[(s[0] if r == "first" else s[-1]) in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"]


def animal_or_food(s, r):
    return YN[s in (lx.ANIMALS if r == "animal" else lx.FOODS)]


def country_or_city(s, r):
    return YN[s in (lx.COUNTRIES if r == "country" else lx.CITIES)]


def fruit_or_vehicle(s, r):
    a, _ = _ab(s)
    return _pick(a in (lx.FRUITS if r == "fruit" else lx.VEHICLES))


def animal_or_colour_position(s, r):
    words = re.findall(r"\d: (\w+)", s)
    wanted = lx.ANIMALS if r == "animal" else lx.COLOURS
    (pos,) = [i + 1 for i, w in enumerate(words) if w in wanted]
    return str(pos)


def list_length(s, r):
    n = len(s.split(", "))
    return YN[n > 4 if r == "long" else n <= 4]


def animal_food_majority(s, r):
    items = s.split(", ")
    animals = len([w for w in items if w in lx.ANIMALS])
    foods = len([w for w in items if w in lx.FOODS])
    assert animals + foods == len(items)
    return YN[animals > foods if r == "animals" else foods > animals]


def review_aspects(s, r):
    clauses = dict(re.findall(r"the (\w+) was (\w+)", s.lower()))
    if r == "food":
        (adj,) = [a for n, a in clauses.items() if n in lx.FOOD_SUBJECTS]
        return "positive" if adj in lx.FOOD_GOOD else "negative"
    (adj,) = [a for n, a in clauses.items() if n in lx.SERVICE_SUBJECTS]
    return "positive" if adj in lx.SERVICE_GOOD else "negative"


def two_opinions(s, r):
    m = re.fullmatch(r"(\w+) (\w+) the \w+, (?:and|but) (\w+) (\w+) it\.", s)
    verb = m.group(2) if r == "first" else m.group(4)
    return "positive" if verb in lx.LIKE_VERBS else "negative"


def word_polarity(s, r):
    return YN[s in (lx.POSITIVE if r == "positive" else lx.NEGATIVE)]


def negated_review(s, r):
    m = re.fullmatch(r"The \w+ was (not )?(\w+)\.", s)
    positive = (m.group(2) in lx.POSITIVE) != bool(m.group(1))
    return YN[positive == (r == "positive")]


def animal_colour_mention(s, r):
    words = [w.lower() for w in _tokens(s)]
    return YN[any(w in (lx.ANIMALS if r == "animal" else lx.COLOURS) for w in words)]


def name_city_mention(s, r):
    return YN[any(w in (lx.NAMES if r == "name" else lx.CITIES) for w in _tokens(s))]


def day_month_mention(s, r):
    return YN[any(w in (DAYS if r == "day" else MONTHS) for w in _tokens(s))]


CHECKERS: dict[str, Callable[[str, str], str]] = {
    f.name: globals()[f.name] for f in list_families() if f.name in globals()
}


def test_every_family_has_an_independent_checker():
    assert sorted(CHECKERS) == sorted(f.name for f in list_families())


@pytest.mark.parametrize("seed", [0, 1])
def test_gold_labels_and_examples_agree_with_independent_checkers(seed):
    suite = generate_suite(seed)
    checked = 0
    for task in suite.train + suite.test:
        meta = dict(task.meta)
        check = CHECKERS[meta["family"]]
        rule = meta["rule"]
        for inst in task.instances:
            assert inst.outputs == (check(inst.input, rule),), (task.name, inst.input)
            checked += 1
        for ex in task.positive_examples:
            assert ex.output == check(ex.input, rule), (task.name, ex)
        for ex in task.negative_examples:
            assert ex.output != check(ex.input, rule), (task.name, ex)
            assert ex.output in task.output_space.labels
    assert checked == sum(len(t.instances) for t in suite.train + suite.test) > 0
