"""The study configuration: one YAML file, validated with pydantic, unknown keys rejected.

A config is data, and its sections are the runtime types themselves where they can be (`itprobe.schema`):
``prompt`` is a `PromptConfig`; ``training`` is the part of a `TrainConfig` a study sets (same bounds and
enumerations; `TrainingConfig.train_config` adds a cell's own fields); an arm is the seedless, as-written
form of an `ArmSpec` (`ArmConfig`).

Reading a config (a file or a packaged name, overrides, one-line errors) is `itprobe.study.loading`.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    PositiveInt,
    field_validator,
    model_validator,
)

from itprobe.arms import ArmSpec
from itprobe.arms.spec import arm_name, arm_parts, template_tag
from itprobe.baselines import BASELINES
from itprobe.decoding import DEFAULT_PROTOCOL, Decoding, protocol
from itprobe.errors import UserError
from itprobe.models.loading import DEFAULT_MODEL
from itprobe.models.precision import Precision, TrainPrecision
from itprobe.prompts import PromptConfig
from itprobe.records import Mode
from itprobe.schema import FrozenModel
from itprobe.training.config import (
    Epochs,
    LearningRate,
    LoraSettings,
    Method,
    NonNegative,
    Positive,
    TrainConfig,
)

UNTUNED_BASELINE = "untuned"  # the untuned model's row; every other kind is a registered itprobe.baselines


def baseline_kinds() -> tuple[str, ...]:
    """What a config's ``baselines`` may list: the untuned model and every registered baseline."""
    return (UNTUNED_BASELINE, *BASELINES)


class DataConfig(FrozenModel):
    """Where the tasks come from.

    ``suite``: the generated instruction-sensitivity suite (offline; ``suite_seed`` and ``suite`` options are
    passed to the generator). ``compact``: ``train`` and ``test`` files in any format `load_tasks` reads.
    ``natinst``: ``path`` is an official NatInst checkout (``tasks/`` + ``splits/``) or a directory holding
    the compact copy (``train_tasks.jsonl.gz`` / ``test_tasks.jsonl.gz``).
    """

    source: Literal["suite", "compact", "natinst"] = "suite"
    suite_seed: int = 0
    suite: dict[str, Any] = Field(default_factory=dict)
    train: str | None = None
    test: str | None = None
    path: str | None = None
    split: str = "default"
    max_labels: PositiveInt = 10


class TrainTasksConfig(FrozenModel):
    """Which training tasks, and how many instances of each; one trained model per size in the list."""

    n_tasks: PositiveInt | None = None  # None: every training task
    names: list[str] | None = None
    classification_only: bool = False
    instances_per_task: list[PositiveInt] = Field(default_factory=lambda: [5], min_length=1)
    selection_seed: int = 0  # which tasks and instances are drawn; fixed across cells so curves nest


class TestTasksConfig(FrozenModel):
    """Which unseen tasks every model is evaluated on."""

    classification_only: bool = True
    n_tasks: PositiveInt | None = None
    names: list[str] | None = None
    instances_per_task: PositiveInt | None = 100


class ArmConfig(FrozenModel):
    """An instruction arm: the fields of `itprobe.arms.ArmSpec` except the seed (the cell's seed is used).

    ``name`` optionally labels the arm in reports; by default it is built from the parts that are not
    original (``simplified``, ``delusive``, ``simplified+content-free``) and is ``original`` for none.

    Not `ArmSpec` itself, for three reasons that are part of the stored data: a study arm has no seed (each
    cell seeds it); an option left unset stays unset (None), so it is left out of the cell id and adding
    an option later keeps old ids; and a study arm may carry a report name. Every value is checked by
    building the `ArmSpec` (`to_spec`), so the two cannot disagree on what an arm is.
    """

    definition: str = "original"
    examples: str = "gold"
    input: str = "original"
    label: str = "original"
    simplified_template: str | None = None  # None: the arms package's default template
    rename_scheme: str | None = None  # None: the arms package's default scheme
    name_: str | None = Field(default=None, alias="name")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _check_with_arms(self) -> ArmConfig:
        try:
            ArmSpec(**self.spec_fields())
        except UserError as err:
            raise ValueError(str(err)) from None
        return self

    def spec_fields(self) -> dict[str, Any]:
        return self.model_dump(exclude={"name_"}, exclude_none=True)

    def to_spec(self, seed: int) -> ArmSpec:
        """The `itprobe.arms.ArmSpec` of this arm with ``seed``."""
        return ArmSpec(**self.spec_fields(), seed=seed)

    @property
    def parts(self) -> tuple[str, ...]:
        """What the arm changes: its arms that are not original, in name order (reports read this)."""
        return arm_parts(self.definition, self.examples, self.input, self.label)

    @property
    def name(self) -> str:
        if self.name_:
            return self.name_
        # the options set in the config are named (`ArmSpec.name` names those that differ from the default)
        options = []
        if self.simplified_template is not None:
            options.append(template_tag(self.simplified_template))
        if self.rename_scheme is not None:
            options.append(self.rename_scheme)
        return arm_name(self.parts, options)


def _default_test_arms() -> list[Literal["same"] | ArmConfig]:
    return ["same", ArmConfig()]


class ArmsConfig(FrozenModel):
    """Arms at training time, and the arms every trained model is evaluated under.

    ``same`` in ``test`` means "the arm the model was trained with" (the paper's protocol: a model tuned on
    simplified definitions is tested on simplified definitions); the default adds the original prompts so the
    report also shows how each model does on full instructions.
    """

    train: list[ArmConfig] = Field(default_factory=lambda: [ArmConfig()], min_length=1)
    test: list[Literal["same"] | ArmConfig] = Field(
        default_factory=lambda: _default_test_arms(), min_length=1
    )
    # the training sizes at which trained models are also tested under the arms of ``test`` other than
    # ``same`` (None: every size); the untuned model is tested under all of them. A budget cut, stated in
    # the report's coverage: e.g. the original instruction and the shuffled-input probe at one size only.
    test_sizes: list[PositiveInt] | None = None


class TrainingConfig(FrozenModel):
    """Instruction-tuning settings shared by every trained cell: `TrainConfig` fields of the same name, type
    and bounds (a test holds them to it), with the study's defaults (LoRA, one epoch), and ``lora_r`` for
    `LoraSettings` (alpha = 2 r). Its dump is part of every trained cell's id."""

    method: Method = "lora"
    lr: LearningRate | None = None  # None: the method's default (see itprobe.training)
    epochs: Epochs = 1.0
    max_steps: Positive | None = None
    batch_size: Positive = 8
    grad_accum: Positive = 1
    precision: TrainPrecision = "auto"
    lora_r: Positive = 16
    max_target_tokens: Positive = 128
    checkpoint_every: NonNegative = 100

    def train_config(self, **cell: Any) -> TrainConfig:
        """The `TrainConfig` of one cell: these settings plus the cell's own fields (``out_dir``, ``arms``, ...)."""
        lora = LoraSettings(r=self.lora_r, alpha=2 * self.lora_r)
        return TrainConfig(**self.model_dump(exclude={"lora_r"}), lora=lora, **cell)


class EvalConfig(FrozenModel):
    """How test predictions are made: greedy generation and/or rank classification over the label set."""

    modes: list[Mode] = Field(default_factory=lambda: list[Mode](["rank"]), min_length=1)
    length_normalized: bool = False  # rank by mean log-prob per label token instead of the sum
    batch_size: PositiveInt = 8
    precision: Precision = "auto"
    # the generation protocol (itprobe.decoding.PROTOCOLS) by name; ``max_new_tokens`` / ``stop`` override
    # its settings (a fixed cap, never derived from the test references)
    decoding: str = DEFAULT_PROTOCOL
    max_new_tokens: PositiveInt | None = None
    stop: list[str] | None = None
    # further protocols reported beside the headline, each a cut of the same greedy continuations (same
    # cap; `Decoding.derivable`): e.g. first-line beside tk-instruct, to measure the evaluator's format help
    also_decoding: list[str] = Field(default_factory=list)
    # the untuned row's model when it is not `model` itself, e.g. the deployed base model behind a server
    # (openai:BASE_URL#NAME); trained cells still tune `model` locally
    untuned_model: str | None = None
    cache: bool = True  # the run's prediction cache (off for a server that may change weights behind a name)

    @model_validator(mode="after")
    def _check_decoding(self) -> EvalConfig:
        if any(not s for s in self.stop or ()):
            raise ValueError("stop sequences must be non-empty strings")
        headline = self.protocol()  # an unknown name is a ValueError naming the protocols
        for derived in self.derived_protocols():
            if not headline.derivable(derived):
                raise ValueError(
                    f"also_decoding '{derived.protocol}' is not a cut of '{headline.label}' (it needs the same "
                    "cap and every stop sequence of the headline protocol)"
                )
        return self

    def protocol(self) -> Decoding:
        """The headline generation protocol."""
        return protocol(self.decoding, max_new_tokens=self.max_new_tokens, stop=self.stop)

    def derived_protocols(self) -> list[Decoding]:
        """The protocols reported beside the headline, at the headline's cap (cut from its continuations)."""
        cap = self.protocol().max_new_tokens
        return [protocol(name, max_new_tokens=cap) for name in dict.fromkeys(self.also_decoding)]


class PublishedFigure(FrozenModel):
    """A published figure the run is set beside (`itprobe.report.views_published`), e.g. the paper's.

    A score of ``condition``, or, with ``reference``, the difference reference − condition on the same
    instances (a paper's "beats X by 30 points"). Published as a number (``value``, points) or, where the
    publication gives none, as a claim in words (``claim``: "comparable"), set beside this run's figure
    without a difference."""

    label: str = Field(min_length=1)  # what the publication calls it
    condition: str = Field(min_length=1)  # the label here: original, simplified@original, untuned...
    reference: str | None = Field(default=None, min_length=1)  # set: the figure is reference − condition
    sizes: list[PositiveInt] | None = None  # training sizes to compare at, one row each (trained arms)
    mode: Literal["generate", "rank"] = "generate"  # its report (generation: under the headline protocol)
    metric: Literal["exact_match", "rougeL"] = "exact_match"
    value: float | None = Field(default=None, ge=-100, le=100)  # points, as published
    claim: str | None = Field(default=None, min_length=1)  # the publication's words, where it has no number
    source: str = Field(min_length=1)  # where it is printed ("second-hand" when quoted from elsewhere)

    @model_validator(mode="after")
    def _one_figure(self) -> PublishedFigure:
        if (self.value is None) == (self.claim is None):
            raise ValueError(f"published figure {self.label!r}: give either value (points) or claim (words)")
        if self.reference is None and self.value is not None and self.value < 0:
            raise ValueError(
                f"published figure {self.label!r}: a score is 0-100 points (a difference needs reference)"
            )
        if self.reference == self.condition:
            raise ValueError(f"published figure {self.label!r}: reference and condition are the same")
        return self


class ReportSettings(FrozenModel):
    """What the report adds beyond the paper's views."""

    costs: str | None = None  # a cost-of-errors YAML (docs/operational-risk.md); copied into the run dir
    primary: str | None = None  # the meaning-free arm the headline is about (default: simplified, if run)
    n_boot: PositiveInt = 2000
    # the confirmatory comparisons (condition labels, e.g. simplified, simplified@original): Holm-adjusted
    # together across every size and mode the headline quotes; every other line is exploratory.
    # None: the primary arm alone
    primary_comparisons: list[str] | None = None
    # "equivalent" needs the whole CI of a difference inside ±margin: declared in EM points, or (None) a
    # share of the tuning gain original − untuned (`equivalence_share`, default 0.25); no gain: no margin
    equivalence_margin: float | None = Field(default=None, gt=0, le=100)
    equivalence_share: float | None = Field(default=None, gt=0, le=1)
    # published figures set beside the run's own (a reproduction's comparison table)
    published: list[PublishedFigure] = Field(default_factory=list)


# keys added after config hashes were first stored: left out of the hashed JSON at their defaults
_LATER_KEYS: tuple[tuple[str, str, Any], ...] = (
    ("eval", "decoding", DEFAULT_PROTOCOL),
    ("eval", "also_decoding", []),
    ("arms", "test_sizes", None),
    ("report", "primary_comparisons", None),
    ("report", "equivalence_margin", None),
    ("report", "equivalence_share", None),
    ("report", "published", []),
)
_LATER_FIGURE_KEYS = ("reference", "claim")  # `PublishedFigure` keys added later (None: left out)

SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


class StudyConfig(FrozenModel):
    """A whole study: model, data, grid (arms × sizes × seeds), training, evaluation, baselines."""

    name: str = "study"  # also the default run folder runs/<name>: a safe slug, never a path
    description: str = ""
    model: str = DEFAULT_MODEL
    data: DataConfig = Field(default_factory=DataConfig)
    train_tasks: TrainTasksConfig = Field(default_factory=TrainTasksConfig)
    test_tasks: TestTasksConfig = Field(default_factory=TestTasksConfig)
    arms: ArmsConfig = Field(default_factory=ArmsConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    eval: EvalConfig = Field(default_factory=EvalConfig)
    prompt: PromptConfig = Field(default_factory=PromptConfig)
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    # the input-blind controls are cheap (no model) and the "beats guessing" gate needs them: on by default
    baselines: list[str] = Field(
        default_factory=lambda: [
            "random",
            "majority",
            "untuned",
            "first-demo-label",
            "demo-majority",
            "train-constant",
        ]
    )
    report: ReportSettings = Field(default_factory=ReportSettings)
    keep_models: bool = False  # trained weights are deleted once a cell's results are stored

    @model_validator(mode="after")
    def _check_model_is_local(self) -> StudyConfig:
        if self.model.startswith("openai:"):
            raise ValueError(
                "model: training needs local weights; a served model can be the untuned row "
                "(eval.untuned_model)"
            )
        return self

    @field_validator("baselines")
    @classmethod
    def _known_baselines(cls, value: list[str]) -> list[str]:
        unknown = [kind for kind in value if kind not in baseline_kinds()]
        if unknown:
            raise ValueError(
                f"unknown baseline(s) {', '.join(unknown)} (choose from {', '.join(baseline_kinds())})"
            )
        return value

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        if not SAFE_NAME.fullmatch(value):
            raise ValueError(
                "must be a simple name of at most 100 letters, digits, '.', '_' or '-' starting with a letter "
                "or digit (it names the run folder runs/<name>; use --out for another place)"
            )
        return value

    def to_json(self) -> str:
        dumped = self.model_dump(mode="json", by_alias=True)
        # The protocol is stored as the settings it resolves to, and the protocol-name keys added later are
        # left out while at their defaults, so configs written before named protocols keep their hash.
        rule = self.eval.protocol()
        dumped["eval"].update(max_new_tokens=rule.max_new_tokens, stop=list(rule.stop))
        for section, key, default in _LATER_KEYS:
            if dumped[section][key] == default:
                del dumped[section][key]
        for figure in dumped["report"].get("published", []):  # a figure's later keys, likewise
            for key in _LATER_FIGURE_KEYS:
                if figure[key] is None:
                    del figure[key]
        return json.dumps(dumped, sort_keys=True)

    @property
    def hash(self) -> str:
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]
