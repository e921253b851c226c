"""Lexicon-based sentiment and entity presence over short generated sentences."""

from __future__ import annotations

import random

from itprobe.suites import lexicon as lx
from itprobe.suites.family import COMPLEMENT, Family, Rule, binary_rule, independent, sentence

POLARITY = ("positive", "negative")


def _aspects() -> Family:
    def draw(rng: random.Random, cell: tuple[str, ...]) -> tuple[str, str, str, str, bool]:
        food = rng.choice(lx.FOOD_GOOD if cell[0] == "positive" else lx.FOOD_BAD)
        service = rng.choice(lx.SERVICE_GOOD if cell[1] == "positive" else lx.SERVICE_BAD)
        return (
            rng.choice(lx.FOOD_SUBJECTS),
            food,
            rng.choice(lx.SERVICE_SUBJECTS),
            service,
            rng.random() < 0.5,
        )

    def render(x: tuple[str, str, str, str, bool]) -> str:
        food, service = f"the {x[0]} was {x[1]}", f"the {x[2]} was {x[3]}"
        first, second = (food, service) if x[4] else (service, food)
        same = (x[1] in lx.FOOD_GOOD) == (x[3] in lx.SERVICE_GOOD)
        return f"{sentence(first)}, {'and' if same else 'but'} {second}."

    def food(x) -> str:
        return "positive" if x[1] in lx.FOOD_GOOD else "negative"

    def service(x) -> str:
        return "positive" if x[3] in lx.SERVICE_GOOD else "negative"

    return Family(
        "review_aspects",
        "sentiment",
        "choice",
        "a short restaurant review",
        POLARITY,
        (
            Rule("food", "Is the opinion about the food positive or negative?", food),
            Rule("service", "Is the opinion about the service (the staff) positive or negative?", service),
        ),
        independent(*POLARITY),
        draw,
        render,
        lambda x: f'"{x[1]}" says the food was {food(x)} and "{x[3]}" says the service was {service(x)}',
    )


def _two_people() -> Family:
    def draw(rng: random.Random, cell: tuple[str, ...]) -> tuple[str, str, str, str, str]:
        n1, n2 = rng.sample(lx.NAMES, 2)
        v1, v2 = (rng.choice(lx.LIKE_VERBS if c == "positive" else lx.DISLIKE_VERBS) for c in cell)
        return (n1, v1, n2, v2, rng.choice(lx.EVENTS))

    def opinion(verb: str) -> str:
        return "positive" if verb in lx.LIKE_VERBS else "negative"

    def render(x: tuple[str, str, str, str, str]) -> str:
        joint = "and" if opinion(x[1]) == opinion(x[3]) else "but"
        return f"{x[0]} {x[1]} the {x[4]}, {joint} {x[2]} {x[3]} it."

    return Family(
        "two_opinions",
        "sentiment",
        "choice",
        "a sentence about two people's opinions",
        POLARITY,
        (
            Rule(
                "first",
                "Was the opinion of the first person mentioned positive or negative?",
                lambda x: opinion(x[1]),
            ),
            Rule(
                "second",
                "Was the opinion of the second person mentioned positive or negative?",
                lambda x: opinion(x[3]),
            ),
        ),
        independent(*POLARITY),
        draw,
        render,
        lambda x: f"{x[0]} {x[1]} it ({opinion(x[1])}) and {x[2]} {x[3]} it ({opinion(x[3])})",
    )


def _word_polarity() -> Family:
    def draw(rng: random.Random, cell: tuple[str, ...]) -> str:
        return rng.choice(lx.POSITIVE if cell[0] == "Yes" else lx.NEGATIVE)

    return Family(
        "word_polarity",
        "sentiment",
        "binary",
        "an adjective",
        ("Yes", "No"),
        (
            binary_rule(
                "positive",
                "the adjective expresses a positive feeling",
                lambda w: w in lx.POSITIVE,
                "the adjective does not express a positive feeling",
            ),
            binary_rule(
                "negative",
                "the adjective expresses a negative feeling",
                lambda w: w in lx.NEGATIVE,
                "the adjective does not express a negative feeling",
            ),
        ),
        COMPLEMENT,
        draw,
        str,
        lambda w: f'"{w}" is a {"positive" if w in lx.POSITIVE else "negative"} word',
    )


def _negated_review() -> Family:
    def draw(rng: random.Random, cell: tuple[str, ...]) -> tuple[str, bool, str]:
        negated = rng.random() < 0.5
        good = (cell[0] == "Yes") != negated
        return (rng.choice(lx.REVIEWED), negated, rng.choice(lx.POSITIVE if good else lx.NEGATIVE))

    def positive(x: tuple[str, bool, str]) -> bool:
        return (x[2] in lx.POSITIVE) != x[1]

    def phrase(x: tuple[str, bool, str]) -> str:
        return f"{'not ' if x[1] else ''}{x[2]}"

    return Family(
        "negated_review",
        "sentiment",
        "binary",
        "a one-sentence review",
        ("Yes", "No"),
        (
            binary_rule(
                "positive",
                "the review expresses a positive opinion",
                positive,
                "the review does not express a positive opinion",
            ),
            binary_rule(
                "negative",
                "the review expresses a negative opinion",
                lambda x: not positive(x),
                "the review does not express a negative opinion",
            ),
        ),
        COMPLEMENT,
        draw,
        lambda x: f"The {x[0]} was {phrase(x)}.",
        lambda x: f'"{phrase(x)}" expresses a {"positive" if positive(x) else "negative"} opinion',
    )


def _mentions(thing: str, word: str | None) -> str:
    return f'the {thing} "{word}"' if word else f"no {thing}"


def _animal_colour() -> Family:
    verbs = ("noticed", "photographed", "painted", "found", "drew", "watched")

    def draw(rng: random.Random, cell: tuple[str, ...]) -> tuple[str, str, str | None, str, str]:
        noun = rng.choice(lx.ANIMALS if cell[0] == "Yes" else lx.OBJECTS)
        colour = rng.choice(lx.COLOURS) if cell[1] == "Yes" else None
        return (rng.choice(lx.NAMES), rng.choice(verbs), colour, noun, rng.choice(lx.PLACES))

    def render(x) -> str:
        colour = f"{x[2]} " if x[2] else ""
        return f"{x[0]} {x[1]} the {colour}{x[3]} near the {x[4]}."

    return Family(
        "animal_colour_mention",
        "entity_presence",
        "binary",
        "a sentence",
        ("Yes", "No"),
        (
            binary_rule(
                "animal",
                "the sentence mentions an animal",
                lambda x: x[3] in lx.ANIMALS,
                "the sentence does not mention an animal",
            ),
            binary_rule(
                "colour",
                "the sentence mentions a colour",
                lambda x: x[2] is not None,
                "the sentence does not mention a colour",
            ),
        ),
        independent("Yes", "No"),
        draw,
        render,
        lambda x: (
            f"the sentence mentions {_mentions('animal', x[3] if x[3] in lx.ANIMALS else None)} and "
            f"{_mentions('colour', x[2])}"
        ),
    )


def _person_city() -> Family:
    people = ("My cousin", "Our neighbour", "The teacher", "Someone", "A friend of mine")
    places = ("a small village", "the coast", "the mountains", "the countryside", "a nearby town")
    verbs = ("travelled to", "moved to", "visited", "flew to")
    times = ("last summer", "in the spring", "two years ago", "yesterday", "last week")

    def draw(rng: random.Random, cell: tuple[str, ...]) -> tuple[str | None, str, str | None, str, str, str]:
        name = rng.choice(lx.NAMES) if cell[0] == "Yes" else None
        city = rng.choice(lx.CITIES) if cell[1] == "Yes" else None
        return (name, rng.choice(people), city, rng.choice(places), rng.choice(verbs), rng.choice(times))

    def render(x) -> str:
        return f"{x[0] or x[1]} {x[4]} {x[2] or x[3]} {x[5]}."

    return Family(
        "name_city_mention",
        "entity_presence",
        "binary",
        "a sentence",
        ("Yes", "No"),
        (
            binary_rule(
                "name",
                "the sentence mentions a person by their first name",
                lambda x: x[0] is not None,
                "the sentence does not mention a person by their first name",
            ),
            binary_rule(
                "city",
                "the sentence mentions a city",
                lambda x: x[2] is not None,
                "the sentence does not mention a city",
            ),
        ),
        independent("Yes", "No"),
        draw,
        render,
        lambda x: f"the sentence mentions {_mentions('name', x[0])} and {_mentions('city', x[2])}",
    )


def _day_month() -> Family:
    events = (
        "The concert takes place",
        "Our team meeting is",
        "The market opens",
        "The school trip is",
        "The final match is",
        "The book sale starts",
    )

    whens = ("one evening", "in the morning", "at noon", "after lunch", "next weekend", "soon")
    years = ("this year", "next year", "in the summer", "in the winter", "every year")

    def draw(rng: random.Random, cell: tuple[str, ...]) -> tuple[str, str, str]:
        when = f"on {rng.choice(lx.DAYS)}" if cell[0] == "Yes" else rng.choice(whens)
        which = f"in {rng.choice(lx.MONTHS)}" if cell[1] == "Yes" else rng.choice(years)
        return (rng.choice(events), when, which)

    def render(x) -> str:
        return f"{x[0]} {x[1]} {x[2]}."

    def day(x) -> str | None:
        return x[1][3:] if x[1].startswith("on ") else None

    def month(x) -> str | None:
        return x[2][3:] if x[2][3:] in lx.MONTHS else None

    return Family(
        "day_month_mention",
        "entity_presence",
        "binary",
        "a sentence",
        ("Yes", "No"),
        (
            binary_rule(
                "day",
                "the sentence mentions a day of the week",
                lambda x: day(x) is not None,
                "the sentence does not mention a day of the week",
            ),
            binary_rule(
                "month",
                "the sentence mentions a month",
                lambda x: month(x) is not None,
                "the sentence does not mention a month",
            ),
        ),
        independent("Yes", "No"),
        draw,
        render,
        lambda x: f"the sentence mentions {_mentions('day', day(x))} and {_mentions('month', month(x))}",
    )


FAMILIES: tuple[Family, ...] = (
    _aspects(),
    _two_people(),
    _word_polarity(),
    _negated_review(),
    _animal_colour(),
    _person_city(),
    _day_month(),
)
