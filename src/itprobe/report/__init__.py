"""Reports: statistics, cost of errors, learning curves, verdicts, plots, and Markdown/HTML/JSON rendering.

This package's one public API is the names below (``__all__``): code outside ``itprobe/report/`` imports
them from ``itprobe.report``, never from its modules (`tests/test_layering.py` checks it). Modules inside
the package import each other by module, never through this ``__init__``, which imports them all. Importing
it costs numpy, not matplotlib: `plots` loads matplotlib when it draws its first figure.

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
- Rows: `InstanceResult`, `results_from_predictions`, `to_frame` (pandas, loaded on call); pairing rows
  of two conditions on (task, id): `align` → `Aligned`, `units_of`, `resampling_of`, `Metric`.
- Statistics: `bootstrap_ci`, `statistic_ci` → `Estimate`; `paired_test` → `PairedResult`; `ratio_ci` →
  `RatioEstimate`; `holm`; `ClusterArg`, `MIN_CLUSTERS`; seeds as a unit: `seeded_difference`.
- Analyses: `compare_arms` → `ArmComparison`, `condition_estimate`, `compliance` → `Compliance`,
  `control_gate` → `Gate` (against `GUESS`), `reliance_estimate` (instruction reliance, the one
  implementation); the format/meaning split `Split` (its `Part`s), `holm_splits`; `sizes_of`; the
  headline's `Family` (`primary_family`); contrast consistency of rows: `consistency_by_seed`.
- Costs: `CostFile`, `load_costs`, `validate_costs`, `instance_costs`.
- Verdicts: `make_verdict` (its `Design`, `Manipulation`), `equivalence_margin`, `EQUIVALENCE_SHARE`,
  `gate_line`, `split_text`, `NOT_ASSESSABLE`.
- Section builders shared by study and audit, each returning a `SectionResult` (the section and its
  JSON data): `scores_section`, `comparison_section`, `compliance_section`, `per_task_section`,
  `cost_section`, `curve_section`, `seed_section`, `gain_split_section` (on `gain_splits`),
  `format_help_section`, `published_section` (a reproduction's published figures beside the run's),
  `other_arm_section` (each model under another test arm, paired with itself under its usual one);
  their text and JSON helpers `ci_text`, `display`, `seeds_note`, `jsonable`;
  figures: `plot_path`, `bar_chart`.
- The report itself: `ReportData` of `Section`s (`Table`, `Cell`, `Figure`), `Skipped`, `Provenance`
  (`stamped_provenance`), written by `write_report(report, out_dir, stem="audit")` (Markdown, HTML, JSON)
  and read back by `read_report`.
"""

from itprobe.report.analysis import (
    GUESS,
    ArmComparison,
    Compliance,
    Gate,
    compare_arms,
    compliance,
    condition_estimate,
    control_gate,
    reliance_estimate,
)
from itprobe.report.consistency import consistency_by_seed
from itprobe.report.costs import CostFile, instance_costs, load_costs, validate_costs
from itprobe.report.curves import sizes_of
from itprobe.report.decompose import Part, Split, holm_splits
from itprobe.report.family import Family, primary_family
from itprobe.report.model import (
    Cell,
    Figure,
    Provenance,
    ReportData,
    Section,
    SectionResult,
    Skipped,
    Table,
    stamped_provenance,
)
from itprobe.report.plots import bar_chart, plot_path
from itprobe.report.render import read_report, write_report
from itprobe.report.results import (
    Aligned,
    InstanceResult,
    Metric,
    align,
    resampling_of,
    results_from_predictions,
    to_frame,
    units_of,
)
from itprobe.report.seeds import seeded_difference
from itprobe.report.stats import (
    MIN_CLUSTERS,
    ClusterArg,
    Estimate,
    PairedResult,
    RatioEstimate,
    bootstrap_ci,
    holm,
    paired_test,
    ratio_ci,
    statistic_ci,
)
from itprobe.report.verdict import (
    EQUIVALENCE_SHARE,
    NOT_ASSESSABLE,
    Design,
    Manipulation,
    equivalence_margin,
    gate_line,
    make_verdict,
    split_text,
)
from itprobe.report.views import (
    ci_text,
    comparison_section,
    compliance_section,
    display,
    jsonable,
    per_task_section,
    scores_section,
    seeds_note,
)
from itprobe.report.views_other_arm import other_arm_section
from itprobe.report.views_protocol import format_help_section
from itprobe.report.views_published import published_section
from itprobe.report.views_risk import cost_section, curve_section
from itprobe.report.views_seeds import seed_section
from itprobe.report.views_split import gain_split_section, gain_splits

__all__ = [
    "EQUIVALENCE_SHARE",
    "GUESS",
    "MIN_CLUSTERS",
    "NOT_ASSESSABLE",
    "Aligned",
    "ArmComparison",
    "Cell",
    "ClusterArg",
    "Compliance",
    "CostFile",
    "Design",
    "Estimate",
    "Family",
    "Figure",
    "Gate",
    "InstanceResult",
    "Manipulation",
    "Metric",
    "PairedResult",
    "Part",
    "Provenance",
    "RatioEstimate",
    "ReportData",
    "Section",
    "SectionResult",
    "Skipped",
    "Split",
    "Table",
    "align",
    "bar_chart",
    "bootstrap_ci",
    "ci_text",
    "compare_arms",
    "comparison_section",
    "compliance",
    "compliance_section",
    "condition_estimate",
    "consistency_by_seed",
    "control_gate",
    "cost_section",
    "curve_section",
    "display",
    "equivalence_margin",
    "format_help_section",
    "published_section",
    "other_arm_section",
    "gain_split_section",
    "gain_splits",
    "gate_line",
    "holm",
    "holm_splits",
    "instance_costs",
    "jsonable",
    "load_costs",
    "make_verdict",
    "paired_test",
    "per_task_section",
    "plot_path",
    "primary_family",
    "ratio_ci",
    "read_report",
    "reliance_estimate",
    "resampling_of",
    "results_from_predictions",
    "scores_section",
    "seed_section",
    "seeded_difference",
    "seeds_note",
    "sizes_of",
    "split_text",
    "stamped_provenance",
    "statistic_ci",
    "to_frame",
    "units_of",
    "validate_costs",
    "write_report",
]
