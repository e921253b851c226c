"""`save_tasks` then `load_tasks` gives back equal tasks (property test), and real data survives it."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from itprobe.metrics import normalize_answer
from itprobe.tasks import Contrast, Example, Instance, Negation, OutputSpace, Task, load_tasks, save_tasks

text = st.text(max_size=12)
examples = st.lists(st.builds(Example, text, text, text), max_size=2).map(tuple)
spaces = st.builds(
    OutputSpace,
    st.lists(text, min_size=1, max_size=3).map(tuple),
    st.sampled_from(["declared", "detected", "file"]),
    text,
)
negations = st.builds(Negation, text, st.dictionaries(text, text, max_size=3).map(lambda d: tuple(d.items())))


@st.composite
def tasks(draw: st.DrawFn) -> Task:
    ids = draw(st.lists(text, min_size=1, max_size=4, unique=True))
    instances = tuple(
        Instance(i, draw(text), tuple(draw(st.lists(text, min_size=1, max_size=3)))) for i in ids
    )
    space = draw(st.none() | spaces)
    if space is not None:  # a loadable space: one label per answer, every single reference among them
        wanted = list(space.labels) + [i.outputs[0] for i in instances if len(i.outputs) == 1]
        labels = {normalize_answer(label): label for label in reversed(wanted)}
        space = dataclasses.replace(space, labels=tuple(reversed(labels.values())))
    return Task(
        name=draw(st.text(min_size=1, max_size=12)),
        definition=draw(text),
        instances=instances,
        positive_examples=draw(examples),
        negative_examples=draw(examples),
        categories=tuple(draw(st.lists(text, max_size=2))),
        output_space=space,
        negation=draw(st.none() | negations),
        contrast=draw(st.none() | st.builds(Contrast, text, text)),
        meta=tuple(draw(st.dictionaries(text, text, max_size=3)).items()),
    )


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(tasks(), min_size=1, max_size=3, unique_by=lambda t: t.name), st.booleans())
def test_save_load_round_trip(original: list[Task], gz: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("t.jsonl.gz" if gz else "t.jsonl")
        save_tasks(original, path)
        # detection off: the round trip must not add spaces the tasks did not have
        assert load_tasks(path, max_labels=0) == original


def test_save_is_deterministic_and_gzip(tmp_path: Path) -> None:
    task = Task("t", "d", (Instance("1", "x", ("y",)),))
    a, b = save_tasks([task], tmp_path / "a.jsonl.gz"), save_tasks([task], tmp_path / "b.jsonl.gz")
    assert a.read_bytes() == b.read_bytes() and a.read_bytes()[:2] == b"\x1f\x8b"
    assert (tmp_path / "c.jsonl").exists() is False
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jsonl.gz", "b.jsonl.gz"]  # no temp files left


def test_save_refuses_unloadable_tasks(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no instances"):
        save_tasks([Task("t", "d")], tmp_path / "x.jsonl")
    assert not (tmp_path / "x.jsonl").exists()


def test_natinst_test_file_round_trip(natinst_dir: Path, tmp_path: Path) -> None:
    tasks = load_tasks(natinst_dir / "test_tasks.jsonl.gz")
    save_tasks(tasks, tmp_path / "copy.jsonl.gz")
    assert load_tasks(tmp_path / "copy.jsonl.gz") == tasks  # detected spaces are saved with their rule
