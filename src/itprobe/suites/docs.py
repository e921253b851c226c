"""The families table of docs/suite.md, generated from the suite itself (a test keeps the doc in sync).

Regenerate with ``python -m itprobe.suites.docs`` and paste the output between the markers in
docs/suite.md.
"""

from __future__ import annotations

from itprobe.suites.generator import generate_suite, list_families


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def families_markdown(seed: int = 0) -> str:
    """A Markdown table: one row per family with its first generated test-or-train instance."""
    suite = generate_suite(seed)
    tasks = {t.name: t for t in suite.train + suite.test}
    rows = [
        "| family | skill | rules | labels | negation | split (seed "
        f"{seed}) | example input | gold per rule |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for family in list_families():
        sides = [tasks[f"suite-{family.name}-{r.id}"] for r in family.rules]
        example = sides[0].instances[0].input
        gold = " · ".join(
            f"{r.id}: {t.instances[0].outputs[0]}" for r, t in zip(family.rules, sides, strict=True)
        )
        split = "test" if family.name in suite.test_families else "train"
        rows.append(
            f"| `{family.name}` | {family.skill} | {', '.join(r.id for r in family.rules)} | "
            f"{', '.join(family.labels)} | {'yes' if family.has_negation else 'no'} | {split} | "
            f"{_cell(example)} | {gold} |"
        )
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(families_markdown(), end="")
