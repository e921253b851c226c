"""What an audit's probes produced (`AuditData`): the record between the audit runner and its report."""

from __future__ import annotations

from dataclasses import dataclass, field

from itprobe.audit.prior import LabelPrior
from itprobe.audit.probes import Plan
from itprobe.decoding import PROTOCOLS, Decoding
from itprobe.records import Prediction
from itprobe.report import InstanceResult
from itprobe.tasks.types import Task


@dataclass(frozen=True)
class AuditData:
    """What the probes produced: predictions per (probe, mode), scored rows, and the label priors."""

    tasks: tuple[Task, ...]
    plan: Plan
    predictions: dict[tuple[str, str], list[Prediction]]
    results: tuple[InstanceResult, ...]
    priors: dict[str, LabelPrior] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    decoding: Decoding = PROTOCOLS["first-line"]  # the generation protocol of the generate passes
    # (probe, task, note): what the prompt token budget did to a task's prompts (`itprobe.prompts.budget_notes`)
    prompt_notes: tuple[tuple[str, str, str], ...] = ()
