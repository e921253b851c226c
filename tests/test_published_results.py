"""Published results (docs/results/) carry aggregate numbers, never NatInst instance text.

The shared NatInst copy is for tests and benchmarks only; a report committed under docs/results/ may name
tasks and labels and give scores, but must not contain an instance's input, a test reference of three or
more words, or a definition. Checked against ../shared/data/natinst when it is present.
"""

from __future__ import annotations

import gzip
import html
import json
from pathlib import Path

import pytest

RESULTS = Path(__file__).resolve().parents[1] / "docs" / "results"
PUBLISHED = (
    sorted(p for p in RESULTS.rglob("*") if p.suffix in {".md", ".html", ".json"}) if RESULTS.exists() else []
)


def _rows(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


@pytest.fixture(scope="module")
def instance_text(natinst_dir: Path) -> set[str]:
    texts = {r for row in _rows(natinst_dir / "test_references.jsonl.gz") for r in row["references"]}
    for task in _rows(natinst_dir / "test_tasks.jsonl.gz"):
        texts.add(task["definition"])
        texts.update(ex["input"] for ex in task["positive_examples"] + task["negative_examples"])
        texts.update(inst["input"] for inst in task["instances"][:100])
    # short strings are labels ("Yes", "entailment") that a report names legitimately
    return {t[:80] for t in texts if len(t.split()) >= 3}


@pytest.mark.parametrize("path", PUBLISHED, ids=[str(p.relative_to(RESULTS)) for p in PUBLISHED])
def test_a_published_result_holds_no_instance_text(path: Path, instance_text: set[str]) -> None:
    text = html.unescape(path.read_text(encoding="utf-8"))
    leaked = sorted(t for t in instance_text if t in text)
    assert not leaked, f"{path.name} contains NatInst instance text, e.g. {leaked[:2]}"
