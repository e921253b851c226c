"""The grid: a study config expanded into cells, the units of work the runner executes and stores.

- ``trained`` cells, one per (train arm, instances per task, seed): one model is instruction-tuned and then
  evaluated under its test arms (``same`` resolved to the train arm) in every evaluation mode;
- one ``untuned`` cell: the base model, no training, evaluated under every test arm any trained cell uses;
- one ``baseline`` cell per baseline the config lists (any registered in `itprobe.baselines`: ``random``,
  ``majority``, the input-blind controls): no model, same test arms.

A cell's id is a hash of everything that decides its result (model identity, data digests, arm, size, seed,
training and evaluation settings, prompt encoding), so a rerun recognises finished cells, a changed setting
never reuses a stale result, and adding an arm to a config leaves the other cells' ids unchanged.

Report conditions (`condition_name`, rendered from an `itprobe.records.Condition`): a trained cell tested under its own arm is named after the arm
(``simplified``); under another test arm ``<train>@<test>`` (``simplified@original``); the untuned model
and baselines are ``untuned`` / ``random`` / ``majority`` on original prompts and ``untuned@<test>`` etc.
under an altered test arm.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from itprobe.arms import arms_relabel
from itprobe.baselines import BASELINES, REGISTRY
from itprobe.errors import UserError
from itprobe.records import Condition
from itprobe.study.config import ArmConfig, Mode, StudyConfig
from itprobe.study.store import CellRecord

CellKind = Literal["trained", "untuned", "baseline"]
GRID_SCHEMA = 3  # bump when the meaning of a stored cell changes, so old cells are not reused
ORIGINAL = ArmConfig()


@dataclass(frozen=True)
class Cell:
    """One unit of work. ``resolved`` is the JSON-ready description hashed into ``id``."""

    id: str
    kind: CellKind
    seed: int
    test_arms: tuple[ArmConfig, ...]
    modes: tuple[Mode, ...]
    resolved: dict[str, Any]
    train_arm: ArmConfig | None = None
    size: int | None = None
    baseline: str = ""

    @property
    def name(self) -> str:
        """How progress and logs show the cell."""
        if self.kind == "trained":
            assert self.train_arm is not None
            return f"{self.train_arm.name} n={self.size} seed={self.seed}"
        return self.baseline or "untuned"

    def condition(self, test_arm: ArmConfig) -> str:
        """The report condition for this cell's answers under ``test_arm`` (see the module docstring)."""
        return condition_name(self.kind, test_arm, train_arm=self.train_arm, baseline=self.baseline)


def condition_name(
    kind: CellKind, test_arm: ArmConfig, *, train_arm: ArmConfig | None = None, baseline: str = ""
) -> str:
    if kind == "trained":
        assert train_arm is not None
        return Condition(train_arm.name, "" if test_arm == train_arm else test_arm.name).label
    return Condition(baseline or "untuned", "" if test_arm == ORIGINAL else test_arm.name).label


def _digest(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def test_arms_for(
    config: StudyConfig, train_arm: ArmConfig, size: int | None = None
) -> tuple[ArmConfig, ...]:
    """The test arms of a model trained with ``train_arm`` at ``size`` (``same`` resolved), duplicates
    removed; arms other than ``same`` only at ``arms.test_sizes`` (every size when None, or size None)."""
    sizes = config.arms.test_sizes
    others = size is None or sizes is None or size in sizes
    resolved = [
        train_arm if item == "same" else item for item in config.arms.test if others or item == "same"
    ]
    return tuple(dict.fromkeys(a for a in resolved if isinstance(a, ArmConfig)))


def _eval_settings(config: StudyConfig) -> dict[str, Any]:
    # decoding is kept in rank-only studies too: tasks without an output space are answered by generation
    settings: dict[str, Any] = {
        "length_normalized": config.eval.length_normalized,
        "precision": config.eval.precision,
        "decoding": config.eval.protocol().key(),
    }
    # In fp32 the batch size changes speed, not answers (tested to float rounding); in bf16/fp16 padding
    # and batch composition flip near-ties, so there it is part of what decides the result.
    if config.eval.precision != "fp32":
        settings["batch_size"] = config.eval.batch_size
    return settings


def arm_json(arm: ArmConfig) -> dict[str, str]:
    """The arm as stored; unset options are left out so adding an option later keeps old cell ids."""
    return arm.model_dump(by_alias=True, exclude_none=True)


def _arms_json(arms: tuple[ArmConfig, ...]) -> list[dict[str, str]]:
    return [arm_json(a) for a in arms]


def expand_grid(
    config: StudyConfig,
    *,
    model_identity: str,
    train_digest: str,
    test_digest: str,
    untuned_identity: str | None = None,
    held_out_digest: str = "",
) -> list[Cell]:
    """All cells of a study, in execution order: baselines, the untuned model, then trained cells by
    seed, size and arm (so the first complete comparison of arms arrives as early as possible).

    ``untuned_identity`` names the untuned row's model when it is not the base model (``eval.untuned_model``);
    ``held_out_digest`` the test tasks' unscored instances (`itprobe.study.data.StudyData.held_out_digest`),
    part of the id of a baseline cell that learns from them.
    """
    modes = tuple(dict.fromkeys(config.eval.modes))
    all_test = tuple(dict.fromkeys(a for arm in config.arms.train for a in test_arms_for(config, arm)))
    common = {"schema": GRID_SCHEMA, "test_data": test_digest, "prompt": dataclasses.asdict(config.prompt)}
    cells: list[Cell] = []
    first_seed = config.seeds[0]
    # only arms that relabel change what a trivial baseline answers or is scored against
    baseline_arms = tuple(dict.fromkeys((ORIGINAL, *(a for a in all_test if arms_relabel(a)))))
    for kind in BASELINES:  # registry order, so a config's order never moves a cell
        if kind in config.baselines:
            resolved = {**common, "kind": "baseline", "baseline": kind, "seed": first_seed,
                        "test_arms": _arms_json(baseline_arms)}  # fmt: skip
            if REGISTRY[kind].needs_training_data:
                # it learns from the test tasks' unscored instances, which the test digest does not cover
                resolved["held_out"] = held_out_digest
            cell = Cell(
                _digest(resolved),
                "baseline",
                first_seed,
                baseline_arms,
                ("generate",),
                resolved,
                baseline=kind,
            )
            cells.append(cell)
    if "untuned" in config.baselines:
        resolved = {
            **common,
            "kind": "untuned",
            "model": untuned_identity or model_identity,
            "seed": first_seed,
            "test_arms": _arms_json(all_test),
            "modes": list(modes),
            "eval": _eval_settings(config),
        }
        cells.append(Cell(_digest(resolved), "untuned", first_seed, all_test, modes, resolved))
    for seed in dict.fromkeys(config.seeds):
        for size in dict.fromkeys(config.train_tasks.instances_per_task):
            for arm in dict.fromkeys(config.arms.train):
                test_arms = test_arms_for(config, arm, size)
                resolved = {
                    **common,
                    "kind": "trained",
                    "model": model_identity,
                    "train_data": train_digest,
                    "train_arm": arm_json(arm),
                    "size": size,
                    "seed": seed,
                    "training": config.training.model_dump(exclude={"checkpoint_every"}),
                    "test_arms": _arms_json(test_arms),
                    "modes": list(modes),
                    "eval": _eval_settings(config),
                }
                cells.append(
                    Cell(
                        _digest(resolved),
                        "trained",
                        seed,
                        test_arms,
                        modes,
                        resolved,
                        train_arm=arm,
                        size=size,
                    )
                )
    return cells


def current_cells(
    config: StudyConfig, cells: Sequence[CellRecord]
) -> tuple[list[CellRecord], list[CellRecord]]:
    """Split a store's cells into those the config's grid has and those it does not (kept, left out).

    A run directory resumed after its config changed holds cells of both grids. A cell is matched by its
    grid coordinates (kind, baseline, trained arm, size, seed), not by id: ids also hash the data and the
    itprobe version's payload, and a store written by an older version must still rebuild its report.
    Among several cells at one coordinate (a cell recomputed under the new config) the newest is kept.
    """
    wanted = {
        (c.kind, c.baseline, c.train_arm.name if c.train_arm is not None else "", c.size, c.seed)
        for c in expand_grid(config, model_identity="", train_digest="", test_digest="")
    }
    newest: dict[tuple[Any, ...], CellRecord] = {}
    left_out: list[CellRecord] = []
    for cell in sorted(cells, key=lambda c: c.finished_at):
        coordinate = (cell.kind, cell.baseline, cell.train_arm, cell.size, cell.seed)
        if coordinate not in wanted:
            left_out.append(cell)
            continue
        if coordinate in newest:
            left_out.append(newest[coordinate])
        newest[coordinate] = cell
    kept = {id(c) for c in newest.values()}
    return [c for c in cells if id(c) in kept], left_out


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``"i/n"`` → (i, n) with 0 <= i < n; None stays None. Anything else is a `UserError`."""
    if text is None:
        return None
    index, sep, count = text.partition("/")
    try:
        i, n = int(index), int(count)
    except ValueError:
        i, n = -1, 0
    if not sep or n < 1 or not 0 <= i < n:
        raise UserError(f"--shard '{text}' must be i/n with 0 <= i < n (e.g. 0/2 and 1/2)")
    return i, n


def select_shard(cells: list[Cell], shard: tuple[int, int] | None) -> list[Cell]:
    """Every n-th cell starting at i: the shards of one grid are disjoint and together cover it."""
    if shard is None:
        return list(cells)
    i, n = shard
    return cells[i::n]
