"""Reports: statistics, cost of errors, learning curves, verdicts, plots, and Markdown/HTML/JSON rendering.

Input contract (study runner and audit code against this): a sequence of `InstanceResult`, one per
(condition, seed, size, task, instance) (`itprobe.records.InstanceResult`, the one scored-row type); build
them with `itprobe.metrics.instance_scores` (the one scoring function; `results_from_predictions` adds a
seed, size and train arm) or directly:

    InstanceResult(condition, task, id, exact_match, rougeL, prediction="", references=(), labels=(),
                   category="", in_space_strict=None, in_space_loose=None, seed=0, size=None,
                   train_arm="", test_arm="", mode="generate", original_labels=(), original_references=(),
                   contrast=(), rouge1=None, label_logprobs=(), track="default")

- ``condition`` is the unit of comparison and its display name: an arm ("original", "simplified",
  "delusive", "label-rename", ...), "untuned", or a baseline ("random", "majority"). Encode anything
  else that must be compared (e.g. a rank-mode run) in the name ("original/rank").
- scores are 0..1; ``references[0]`` (or the first reference in ``labels``: `metrics.gold_label`) is the
  gold label.
- ``size`` = training instances per task (None for untuned, baselines, audits); rows of one condition
  that differ only in ``seed`` are averaged per (task, id) before any statistic, and conditions are
  paired on (task, id).
- ``original_labels`` / ``original_references``: set only by label-scheme probes (the labels and gold
  before the change) for the leakage and old-meaning rates.

The reports themselves live with their producers: `itprobe.study.views.build_study_report` (the study) and
`itprobe.audit.report.build_audit_report` (the audit; its `.report`). This package holds what they share:
- Building blocks: `views.scores_section`, `views.comparison_section`,
  `views.compliance_section`, `views.per_task_section`, `views_risk.cost_section`,
  `views_risk.curve_section`, `analysis.compare_arms`, `analysis.condition_estimate`,
  `verdict.make_verdict`, then `ReportData(...)` and `write_report(report, out_dir, stem="audit")`.
- Statistics: `stats.bootstrap_ci`, `stats.paired_test`, `stats.ratio_ci`, `stats.holm`.
- Contrast consistency of rows: `consistency_by_seed` (study and audit).
- Costs: `costs.load_costs`, `costs.validate_costs`, `costs.confusion_matrix`, `costs.expected_cost`.
"""

from itprobe.report.consistency import consistency_by_seed
from itprobe.report.family import primary_family
from itprobe.report.model import Figure, Provenance, ReportData, Section, SectionResult, Skipped, Table
from itprobe.report.render import write_report
from itprobe.report.results import InstanceResult, results_from_predictions, to_frame

__all__ = [
    "Figure",
    "InstanceResult",
    "Provenance",
    "ReportData",
    "Section",
    "SectionResult",
    "Skipped",
    "Table",
    "consistency_by_seed",
    "primary_family",
    "results_from_predictions",
    "to_frame",
    "write_report",
]
