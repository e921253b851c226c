"""Published results (docs/results/) carry aggregate numbers, never NatInst instance text, and a report
published beside its per-instance predictions is what `itprobe report` recomputes from them.

The shared NatInst copy is for tests and benchmarks only; a report committed under docs/results/ may name
tasks and labels and give scores, but must not contain an instance's input, a test reference of three or
more words, or a definition; a committed prediction cache must not hold an answer of three or more words
that copies such text (a model continuing its input does). Checked against ../shared/data/natinst when it
is present.
"""

from __future__ import annotations

import gzip
import html
import json
import sqlite3
from pathlib import Path

import pytest

RESULTS = Path(__file__).resolve().parents[1] / "docs" / "results"
CACHES = sorted(RESULTS.rglob("*.sqlite")) if RESULTS.exists() else []
PUBLISHED = (
    sorted(
        p for p in RESULTS.rglob("*") if p.suffix in {".md", ".html", ".json"} or p.name.endswith(".jsonl.gz")
    )
    if RESULTS.exists()
    else []
)


# a published study folder (study.json, predictions.jsonl.gz) beside the reports built from its store
REBUILT = sorted(
    p.parent for p in RESULTS.glob("*/published/study.json") if (p.parent.parent / "report.json").exists()
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
    raw = (
        gzip.decompress(path.read_bytes()).decode("utf-8")
        if path.suffix == ".gz"
        else path.read_text("utf-8")
    )
    text = html.unescape(raw)
    leaked = sorted(t for t in instance_text if t in text)
    assert not leaked, f"{path.name} contains NatInst instance text, e.g. {leaked[:2]}"


@pytest.fixture(scope="module")
def all_instance_text(natinst_dir: Path) -> str:
    texts = [r for row in _rows(natinst_dir / "test_references.jsonl.gz") for r in row["references"]]
    for task in _rows(natinst_dir / "test_tasks.jsonl.gz"):
        texts.append(task["definition"])
        texts += [inst["input"] for inst in task["instances"][:100]]
        texts += [ex["input"] for ex in task["positive_examples"] + task["negative_examples"]]
    return "\n".join(texts)


@pytest.mark.parametrize("path", CACHES, ids=[str(p.relative_to(RESULTS)) for p in CACHES])
def test_a_published_cache_holds_no_answer_copying_instance_text(path: Path, all_instance_text: str) -> None:
    """Whole (an answer of three or more words found in the text) or in part (eight words in a row, in
    lower case: a base model that continues its prompt copies an example, then goes on)."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        values = [json.loads(v) for (v,) in conn.execute("SELECT value FROM predictions")]
    answers = {v["text"].strip() for v in values if isinstance(v, dict) and isinstance(v.get("text"), str)}
    copied = sorted(a for a in answers if len(a.split()) >= 3 and a in all_instance_text)
    assert not copied, f"{len(copied)} cached answers copy NatInst instance text, e.g. {copied[:2]}"
    words = all_instance_text.lower().split()
    runs = {" ".join(words[i : i + 8]) for i in range(len(words) - 7)}
    partly = sorted(
        a
        for a in answers
        if any(" ".join(w[i : i + 8]) in runs for w in [a.lower().split()] for i in range(len(w) - 7))
    )
    assert not partly, (
        f"{len(partly)} cached answers copy 8 words of NatInst text in a row, e.g. {partly[:2]}"
    )


def _report(path: Path) -> dict:
    report = json.loads(path.read_text("utf-8"))
    report["provenance"].pop("created")  # when it was written: the one value a rebuild cannot repeat
    return report


@pytest.mark.parametrize("folder", REBUILT, ids=[str(p.relative_to(RESULTS)) for p in REBUILT])
def test_a_published_report_is_recomputed_from_its_published_predictions(
    folder: Path, tmp_path: Path
) -> None:
    """Every figure of the committed reports (the headline, mode-rank/, decoding-first-line/) comes back,
    to the last digit, from `itprobe report RUN --from-published FOLDER`: the per-instance predictions and
    the cells' records are all a published figure rests on (no dataset, no model)."""
    from itprobe.cli import main

    run = tmp_path / "run"
    main(["report", str(run), "--from-published", str(folder)])
    published = sorted(p.relative_to(folder.parent) for p in folder.parent.rglob("report.json"))
    assert published and all((run / p).exists() for p in published), published
    for path in published:
        assert _report(run / path) == _report(folder.parent / path), path
