"""One helper per option group: the CLI's options become the runtime settings types, checked by the types.

The commands declare their options; these helpers turn a group of them into `PromptConfig`, `ArmSpec` or
`TrainConfig` (and `from_options` for `AuditConfig`) through `itprobe.schema.build`, so a refused value reads as the option the user typed
(``unknown --method 'qlora'; choose full or lora``) and no command checks a value itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, TypeVar

import typer

from itprobe.arms import ArmSpec
from itprobe.decoding import DEFAULT_PROTOCOL, PROTOCOLS, Decoding, protocol
from itprobe.errors import UserError
from itprobe.prompts import PromptConfig
from itprobe.schema import build
from itprobe.training.config import LoraSettings, TrainConfig

T = TypeVar("T")

# fields whose option is not simply --field-name (``lora.r`` is ``--lora-r``)
PROMPT_OPTIONS = {
    "add_task_name": "--task-name",
    "add_definition": "--no-definition",
    "num_pos": "--pos",
    "num_neg": "--neg",
    "add_explanation": "--explanation",
}
TRAIN_OPTIONS = {"out_dir": "--out", "data": "--tasks", "lora": "--lora-r/--lora-alpha", "arms": "--*-arm"}
AUDIT_OPTIONS = {"tasks_path": "--tasks", "task_names": "--task", "served": "--api-*"}


def from_options(factory: Callable[..., T], special: Mapping[str, str], /, **fields: Any) -> T:
    """``factory(**fields)``; a refused field is named by its option: ``special[field]`` where given, else
    ``--field-name``."""
    names = {f: special.get(f, "--" + f.replace("_", "-")) for f in fields}
    return build(factory, names, **fields)


def prompt_config(
    *,
    task_name: bool,
    no_definition: bool,
    pos: int,
    neg: int,
    explanation: bool,
    max_source_tokens: int | None,
) -> PromptConfig:
    """``--task-name --no-definition --pos --neg --explanation --max-source-tokens``."""
    fields = {
        "add_task_name": task_name,
        "add_definition": not no_definition,
        "num_pos": pos,
        "num_neg": neg,
        "add_explanation": explanation,
        "max_source_tokens": max_source_tokens,
    }
    return from_options(PromptConfig, PROMPT_OPTIONS, **fields)


def arm_spec(definition: str, examples: str, input_arm: str, label: str, seed: int) -> ArmSpec | None:
    """``--definition-arm --examples-arm --input-arm --label-arm`` (None: every arm is the original)."""
    return ArmSpec.from_options(definition, examples, input_arm, label, seed)


def train_config(*, lora_r: int, lora_alpha: int, **fields: Any) -> TrainConfig:
    """The training options (fields of `TrainConfig` by name, plus ``--lora-r`` and ``--lora-alpha``)."""
    lora = build(LoraSettings, {"r": "--lora-r", "alpha": "--lora-alpha"}, r=lora_r, alpha=lora_alpha)
    return from_options(TrainConfig, TRAIN_OPTIONS, lora=lora, **fields)


# the generation protocol's options, shared by `predict` and `audit` (`decoding_rule` builds the rule)
DecodingName = Annotated[
    str,
    typer.Option(
        "--decoding",
        help=f"Generation protocol: {' | '.join(PROTOCOLS)} (tk-instruct: the paper's, 128 tokens, EOS only, "
        "whole generation; first-line: cut at the first newline). See docs/design.md.",
    ),
]
MaxNewTokens = Annotated[
    int | None, typer.Option("--max-new-tokens", min=1, help="Override the protocol's new-token cap.")
]
# the user's explicit opt-out of the gold-in-label-set check (`itprobe.tasks.load_tasks`), shared by the
# commands that read label files (`audit`, `baseline`, `data info`)
LabelsMayExcludeGold = Annotated[
    bool,
    typer.Option(
        "--labels-may-exclude-gold",
        help="Score against a label set that excludes some gold answer (refused otherwise); each such "
        "task is named in a warning.",
    ),
]
StopText = Annotated[
    list[str] | None,
    typer.Option(
        "--stop", help="Override the protocol's stop sequences (repeatable; --stop '' for EOS only)."
    ),
]


def decoding_rule(
    name: str = DEFAULT_PROTOCOL, max_new_tokens: int | None = None, stop: list[str] | None = None
) -> Decoding:
    """``--decoding --max-new-tokens --stop``: the named protocol with its overrides; a bad name is one line."""
    try:
        return protocol(
            name, max_new_tokens=max_new_tokens, stop=None if stop is None else [s for s in stop if s]
        )
    except ValueError as err:
        raise UserError(f"--decoding: {err}") from None
