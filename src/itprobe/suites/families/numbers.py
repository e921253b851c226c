"""Number properties and arithmetic: parity, divisibility, magnitude, primality, digits, sums, products."""

from __future__ import annotations

import random

from itprobe.suites.family import COMPLEMENT, INDEPENDENT, SWAP_AB, Family, Rule, binary_rule, complement

NUMBER = "a number"
PAIR = "two numbers"


def is_prime(n: int) -> bool:
    return n >= 2 and all(n % d for d in range(2, int(n**0.5) + 1))


def _int(lo: int, hi: int):
    return lambda rng, cell: rng.randint(lo, hi)


def _parity() -> Family:
    return Family(
        "parity",
        "number_properties",
        "binary",
        NUMBER,
        ("Yes", "No"),
        (
            binary_rule("even", "the number is even", lambda n: n % 2 == 0, "the number is not even"),
            binary_rule("odd", "the number is odd", lambda n: n % 2 == 1, "the number is not odd"),
        ),
        COMPLEMENT,
        _int(10, 999),
        str,
        lambda n: f"{n} is {'even' if n % 2 == 0 else 'odd'}",
    )


def _divisibility() -> Family:
    def fact(n: int) -> str:
        by = [f"{'' if n % d == 0 else 'not '}divisible by {d}" for d in (3, 5)]
        return f"{n} is {by[0]} and {by[1]}"

    return Family(
        "divisibility",
        "number_properties",
        "binary",
        NUMBER,
        ("Yes", "No"),
        (
            binary_rule(
                "by3",
                "the number is divisible by 3",
                lambda n: n % 3 == 0,
                "the number is not divisible by 3",
            ),
            binary_rule(
                "by5",
                "the number is divisible by 5",
                lambda n: n % 5 == 0,
                "the number is not divisible by 5",
            ),
        ),
        INDEPENDENT,
        _int(10, 999),
        str,
        fact,
    )


def _magnitude() -> Family:
    def draw(rng: random.Random, cell: tuple[str, ...]) -> int:
        return rng.randint(501, 900) if cell[0] == "Yes" else rng.randint(100, 499)

    return Family(
        "magnitude",
        "number_properties",
        "binary",
        NUMBER,
        ("Yes", "No"),
        (
            binary_rule(
                "above",
                "the number is greater than 500",
                lambda n: n > 500,
                "the number is not greater than 500",
            ),
            binary_rule(
                "below", "the number is less than 500", lambda n: n < 500, "the number is not less than 500"
            ),
        ),
        COMPLEMENT,
        draw,
        str,
        lambda n: f"{n} is {'greater' if n > 500 else 'less'} than 500",
    )


def _primality() -> Family:
    def draw(rng: random.Random, cell: tuple[str, ...]) -> int:
        return rng.choice([n for n in range(4, 301) if is_prime(n) == (cell[0] == "Yes")])

    return Family(
        "primality",
        "number_properties",
        "binary",
        NUMBER,
        ("Yes", "No"),
        (
            binary_rule(
                "prime", "the number is a prime number", is_prime, "the number is not a prime number"
            ),
            binary_rule(
                "composite",
                "the number is a composite number (it has a divisor other than 1 and itself)",
                lambda n: not is_prime(n),
                "the number is not a composite number",
            ),
        ),
        COMPLEMENT,
        draw,
        str,
        lambda n: f"{n} is {'a prime' if is_prime(n) else 'a composite'} number",
    )


def _digit_order() -> Family:
    def first_last(n: int) -> tuple[int, int]:
        return n // 100, n % 10

    def fact(n: int) -> str:
        a, b = first_last(n)
        return f"the first digit of {n} is {a} and its last digit is {b}"

    return Family(
        "digit_order",
        "number_properties",
        "binary",
        "a three-digit number",
        ("Yes", "No"),
        (
            binary_rule(
                "first_larger",
                "the first digit is larger than the last digit",
                lambda n: first_last(n)[0] > first_last(n)[1],
                "the first digit is not larger than the last digit",
            ),
            binary_rule(
                "last_larger",
                "the last digit is larger than the first digit",
                lambda n: first_last(n)[1] > first_last(n)[0],
                "the last digit is not larger than the first digit",
            ),
        ),
        COMPLEMENT,
        lambda rng, cell: rng.choice([n for n in range(100, 1000) if n // 100 != n % 10]),
        str,
        fact,
    )


def _sum_or_difference() -> Family:
    def render(x: tuple[int, int, int]) -> str:
        return f"Numbers: {x[0]} and {x[1]}. Result: {x[2]}."

    def draw(rng: random.Random, cell: tuple[str, ...]) -> tuple[int, int, int]:
        a = rng.randint(10, 99)
        b = rng.randint(1, a - 1)
        return (a, b, a + b if cell[0] == "True" else a - b)

    def fact(x: tuple[int, int, int]) -> str:
        a, b, _ = x
        return f"{a} + {b} = {a + b} and {a} - {b} = {a - b}"

    return Family(
        "sum_or_difference",
        "arithmetic",
        "binary",
        "two numbers and a result",
        ("True", "False"),
        (
            binary_rule(
                "sum",
                "the result is the sum of the two numbers",
                lambda x: x[0] + x[1] == x[2],
                "the result is not the sum of the two numbers",
                ("True", "False"),
            ),
            binary_rule(
                "difference",
                "the result is the first number minus the second number",
                lambda x: x[0] - x[1] == x[2],
                "the result is not the first number minus the second number",
                ("True", "False"),
            ),
        ),
        complement("True", "False"),
        draw,
        render,
        fact,
    )


def _sum_product_pick() -> Family:
    def draw(rng: random.Random, cell: tuple[str, ...]) -> tuple[int, int, int, int]:
        a, b = rng.randint(2, 12), rng.randint(3, 12)
        s, p = a + b, a * b
        return (a, b, s, p) if cell[0] == "A" else (a, b, p, s)

    def pick(x: tuple[int, int, int, int], value: int) -> str:
        return "A" if x[2] == value else "B"

    return Family(
        "sum_product_pick",
        "arithmetic",
        "choice",
        "two numbers and two options, A and B",
        ("A", "B"),
        (
            Rule(
                "sum",
                "Which option is the sum of the two numbers?",
                lambda x: pick(x, x[0] + x[1]),
                "Which option is not the sum of the two numbers?",
            ),
            Rule(
                "product",
                "Which option is the product of the two numbers?",
                lambda x: pick(x, x[0] * x[1]),
                "Which option is not the product of the two numbers?",
            ),
        ),
        SWAP_AB,
        draw,
        lambda x: f"Numbers: {x[0]} and {x[1]}. A: {x[2]}. B: {x[3]}.",
        lambda x: f"{x[0]} + {x[1]} = {x[0] + x[1]} and {x[0]} × {x[1]} = {x[0] * x[1]}",
    )


def _sum_threshold() -> Family:
    def fact(x: tuple[int, int]) -> str:
        a, b = x
        return f"the sum of {a} and {b} is {a + b} and their difference is {abs(a - b)}"

    return Family(
        "sum_threshold",
        "arithmetic",
        "binary",
        PAIR,
        ("Yes", "No"),
        (
            binary_rule(
                "sum",
                "the sum of the two numbers is greater than 100",
                lambda x: x[0] + x[1] > 100,
                "the sum of the two numbers is not greater than 100",
            ),
            binary_rule(
                "difference",
                "the difference between the two numbers is greater than 30",
                lambda x: abs(x[0] - x[1]) > 30,
                "the difference between the two numbers is not greater than 30",
            ),
        ),
        INDEPENDENT,
        lambda rng, cell: (rng.randint(1, 99), rng.randint(1, 99)),
        lambda x: f"{x[0]} and {x[1]}",
        fact,
    )


def _even_sum_large_product() -> Family:
    def fact(x: tuple[int, int]) -> str:
        a, b = x
        return f"{a} + {b} = {a + b} and {a} × {b} = {a * b}"

    return Family(
        "sum_parity_product",
        "arithmetic",
        "binary",
        PAIR,
        ("Yes", "No"),
        (
            binary_rule(
                "even_sum",
                "the sum of the two numbers is even",
                lambda x: (x[0] + x[1]) % 2 == 0,
                "the sum of the two numbers is not even",
            ),
            binary_rule(
                "big_product",
                "the product of the two numbers is greater than 200",
                lambda x: x[0] * x[1] > 200,
                "the product of the two numbers is not greater than 200",
            ),
        ),
        INDEPENDENT,
        lambda rng, cell: (rng.randint(2, 40), rng.randint(2, 40)),
        lambda x: f"First number: {x[0]}. Second number: {x[1]}.",
        fact,
    )


FAMILIES: tuple[Family, ...] = (
    _parity(),
    _divisibility(),
    _magnitude(),
    _primality(),
    _digit_order(),
    _sum_or_difference(),
    _sum_product_pick(),
    _sum_threshold(),
    _even_sum_large_product(),
)
