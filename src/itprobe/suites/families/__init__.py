"""All rule families of the generated suite, grouped by module (numbers, ordering, words, sentences)."""

from __future__ import annotations

from itprobe.suites.families import numbers, ordering, sentences, words
from itprobe.suites.family import Family

ALL_FAMILIES: tuple[Family, ...] = numbers.FAMILIES + ordering.FAMILIES + words.FAMILIES + sentences.FAMILIES

__all__ = ["ALL_FAMILIES"]
