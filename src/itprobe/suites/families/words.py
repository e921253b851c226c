"""String properties, word categories and counting over words."""

from __future__ import annotations

import random

from itprobe.suites import lexicon as lx
from itprobe.suites.family import COMPLEMENT, INDEPENDENT, SWAP_AB, Family, Rule, binary_rule, positions3

VOWELS = "aeiou"
WORD = "a word"


def _has_double(word: str) -> bool:
    return any(a == b for a, b in zip(word, word[1:], strict=False))


def _word(rng: random.Random, cell: tuple[str, ...]) -> str:
    return rng.choice(lx.WORD_POOL)


def _word_edges() -> Family:
    def fact(w: str) -> str:
        return f'"{w}" starts with "{w[0]}" and ends with "{w[-1]}"'

    return Family(
        "vowel_edges",
        "string_properties",
        "binary",
        WORD,
        ("Yes", "No"),
        (
            binary_rule(
                "starts",
                "the word starts with a vowel (a, e, i, o or u)",
                lambda w: w[0] in VOWELS,
                "the word does not start with a vowel (a, e, i, o or u)",
            ),
            binary_rule(
                "ends",
                "the word ends with a vowel (a, e, i, o or u)",
                lambda w: w[-1] in VOWELS,
                "the word does not end with a vowel (a, e, i, o or u)",
            ),
        ),
        INDEPENDENT,
        _word,
        str,
        fact,
    )


def _length_parity() -> Family:
    return Family(
        "length_parity",
        "string_properties",
        "binary",
        WORD,
        ("Yes", "No"),
        (
            binary_rule(
                "even",
                "the word has an even number of letters",
                lambda w: len(w) % 2 == 0,
                "the word does not have an even number of letters",
            ),
            binary_rule(
                "odd",
                "the word has an odd number of letters",
                lambda w: len(w) % 2 == 1,
                "the word does not have an odd number of letters",
            ),
        ),
        COMPLEMENT,
        _word,
        str,
        lambda w: f'"{w}" has {len(w)} letters',
    )


def _letters() -> Family:
    def fact(w: str) -> str:
        e = "contains" if "e" in w else "does not contain"
        double = "contains" if _has_double(w) else "does not contain"
        return f'"{w}" {e} the letter "e" and {double} the same letter twice in a row'

    return Family(
        "letter_checks",
        "string_properties",
        "binary",
        WORD,
        ("Yes", "No"),
        (
            binary_rule(
                "has_e",
                'the word contains the letter "e"',
                lambda w: "e" in w,
                'the word does not contain the letter "e"',
            ),
            binary_rule(
                "double",
                "the word contains the same letter twice in a row",
                _has_double,
                "the word does not contain the same letter twice in a row",
            ),
        ),
        INDEPENDENT,
        _word,
        str,
        fact,
    )


def _capitals() -> Family:
    def draw(rng: random.Random, cell: tuple[str, ...]) -> str:
        w = rng.choice([w for w in lx.WORD_POOL if len(w) >= 4])
        first = w[0].upper() if cell[0] == "Yes" else w[0]
        last = w[-1].upper() if cell[1] == "Yes" else w[-1]
        return first + w[1:-1] + last

    def fact(w: str) -> str:
        return (
            f'in "{w}" the first letter is {"upper" if w[0].isupper() else "lower"}-case and the last '
            f"letter is {'upper' if w[-1].isupper() else 'lower'}-case"
        )

    return Family(
        "capital_letters",
        "string_properties",
        "binary",
        "a word with some capital letters",
        ("Yes", "No"),
        (
            binary_rule(
                "first",
                "the first letter of the word is a capital letter",
                lambda w: w[0].isupper(),
                "the first letter of the word is not a capital letter",
            ),
            binary_rule(
                "last",
                "the last letter of the word is a capital letter",
                lambda w: w[-1].isupper(),
                "the last letter of the word is not a capital letter",
            ),
        ),
        INDEPENDENT,
        draw,
        str,
        fact,
    )


def _two_categories(
    name: str, first: tuple[str, tuple[str, ...]], second: tuple[str, tuple[str, ...]], thing: str = WORD
) -> Family:
    """Words from exactly one of two categories; "is it a <first>?" against "is it a <second>?"."""
    (a_name, a_words), (b_name, b_words) = first, second

    def draw(rng: random.Random, cell: tuple[str, ...]) -> str:
        return rng.choice(a_words if cell[0] == "Yes" else b_words)

    return Family(
        name,
        "word_categories",
        "binary",
        thing,
        ("Yes", "No"),
        (
            binary_rule(
                a_name,
                f"the word names {_article(a_name)} {a_name}",
                lambda w: w in a_words,
                f"the word does not name {_article(a_name)} {a_name}",
            ),
            binary_rule(
                b_name,
                f"the word names {_article(b_name)} {b_name}",
                lambda w: w in b_words,
                f"the word does not name {_article(b_name)} {b_name}",
            ),
        ),
        COMPLEMENT,
        draw,
        str,
        lambda w: (
            f'"{w}" is {_article(a_name if w in a_words else b_name)} {a_name if w in a_words else b_name}'
        ),
    )


def _article(noun: str) -> str:
    return "an" if noun[0] in VOWELS else "a"


def _fruit_vehicle() -> Family:
    def draw(rng: random.Random, cell: tuple[str, ...]) -> tuple[str, str]:
        fruit, vehicle = rng.choice(lx.FRUITS), rng.choice(lx.VEHICLES)
        return (fruit, vehicle) if cell[0] == "A" else (vehicle, fruit)

    def pick(words: tuple[str, ...]):
        return lambda x: "A" if x[0] in words else "B"

    return Family(
        "fruit_or_vehicle",
        "word_categories",
        "choice",
        "two words, A and B",
        ("A", "B"),
        (
            Rule("fruit", "Which word names a fruit?", pick(lx.FRUITS), "Which word does not name a fruit?"),
            Rule(
                "vehicle",
                "Which word names a vehicle?",
                pick(lx.VEHICLES),
                "Which word does not name a vehicle?",
            ),
        ),
        SWAP_AB,
        draw,
        lambda x: f"A: {x[0]}, B: {x[1]}",
        lambda x: (
            f'"{x[0]}" is a {"fruit" if x[0] in lx.FRUITS else "vehicle"} and "{x[1]}" is a '
            f"{'fruit' if x[1] in lx.FRUITS else 'vehicle'}"
        ),
    )


def _category_pick3() -> Family:
    def draw(rng: random.Random, cell: tuple[str, ...]) -> tuple[str, str, str]:
        slots = [rng.choice(lx.TOOLS)] * 3
        slots[int(cell[0]) - 1] = rng.choice(lx.ANIMALS)
        slots[int(cell[1]) - 1] = rng.choice(lx.COLOURS)
        return (slots[0], slots[1], slots[2])

    def position(words: tuple[str, ...]):
        return lambda x: str(next(i + 1 for i, w in enumerate(x) if w in words))

    def fact(x: tuple[str, str, str]) -> str:
        a, c = position(lx.ANIMALS)(x), position(lx.COLOURS)(x)
        return f'word {a} ("{x[int(a) - 1]}") is an animal and word {c} ("{x[int(c) - 1]}") is a colour'

    return Family(
        "animal_or_colour_position",
        "word_categories",
        "choice",
        "a list of three words",
        ("1", "2", "3"),
        (
            Rule("animal", "Which word (1, 2 or 3) names an animal?", position(lx.ANIMALS)),
            Rule("colour", "Which word (1, 2 or 3) names a colour?", position(lx.COLOURS)),
        ),
        positions3(),
        draw,
        lambda x: f"1: {x[0]}, 2: {x[1]}, 3: {x[2]}",
        fact,
    )


def _list_length() -> Family:
    pool = lx.FRUITS + lx.COLOURS

    def draw(rng: random.Random, cell: tuple[str, ...]) -> tuple[str, ...]:
        n = rng.randint(5, 8) if cell[0] == "Yes" else rng.randint(2, 4)
        return tuple(rng.sample(pool, n))

    return Family(
        "list_length",
        "counting",
        "binary",
        "a comma-separated list of words",
        ("Yes", "No"),
        (
            binary_rule(
                "long",
                "the list has more than four items",
                lambda x: len(x) > 4,
                "the list does not have more than four items",
            ),
            binary_rule(
                "short",
                "the list has four items or fewer",
                lambda x: len(x) <= 4,
                "the list does not have four items or fewer",
            ),
        ),
        COMPLEMENT,
        draw,
        ", ".join,
        lambda x: f"the list has {len(x)} items",
    )


def _majority() -> Family:
    def draw(rng: random.Random, cell: tuple[str, ...]) -> tuple[str, ...]:
        n = rng.choice((3, 5, 7))
        k = rng.randint(n // 2 + 1, n)  # size of the majority
        animals = k if cell[0] == "Yes" else n - k
        items = rng.sample(lx.ANIMALS, animals) + rng.sample(lx.FOODS, n - animals)
        rng.shuffle(items)
        return tuple(items)

    def count(x: tuple[str, ...]) -> int:
        return sum(w in lx.ANIMALS for w in x)

    return Family(
        "animal_food_majority",
        "counting",
        "binary",
        "a list of animals and foods",
        ("Yes", "No"),
        (
            binary_rule(
                "animals",
                "the list has more animals than foods",
                lambda x: 2 * count(x) > len(x),
                "the list does not have more animals than foods",
            ),
            binary_rule(
                "foods",
                "the list has more foods than animals",
                lambda x: 2 * count(x) < len(x),
                "the list does not have more foods than animals",
            ),
        ),
        COMPLEMENT,
        draw,
        ", ".join,
        lambda x: f"the list has {count(x)} animals and {len(x) - count(x)} foods",
    )


FAMILIES: tuple[Family, ...] = (
    _word_edges(),
    _length_parity(),
    _letters(),
    _capitals(),
    _two_categories("animal_or_food", ("animal", lx.ANIMALS), ("food", lx.FOODS)),
    _two_categories("country_or_city", ("country", lx.COUNTRIES), ("city", lx.CITIES)),
    _fruit_vehicle(),
    _category_pick3(),
    _list_length(),
    _majority(),
)
