"""The generated instruction-sensitivity suite: rule families with contrast pairs (see docs/suite.md).

Public surface: `generate_suite`, `write_suite`, `SuiteConfig`, `Suite`, `list_families`.
"""

from __future__ import annotations

from itprobe.suites.family import Family, Rule
from itprobe.suites.generator import (
    Suite,
    SuiteConfig,
    generate_suite,
    list_families,
    suite_manifest,
    write_suite,
)

__all__ = [
    "Family",
    "Rule",
    "Suite",
    "SuiteConfig",
    "generate_suite",
    "list_families",
    "suite_manifest",
    "write_suite",
]
