"""itprobe: did the model learn to follow the instructions, or only the output format?

Reproduces and generalises Kung & Peng (ACL 2023): instruction-tune with original vs altered instructions
(simplified definitions that keep only the output space, delusive examples with a wrong mapping, ...),
evaluate zero-shot on unseen tasks, compare with trivial baselines; or audit any model at inference time.

Reading order (the pipeline runs one way; each stage is a package or module named after it):

    tasks/      Task, Instance, Example, OutputSpace; loaders (official NatInst, compact, user JSONL/CSV)
    arms/       instruction transforms: simplified, empty, irrelevant, negated, delusive, label-rename, ...
    prompts.py  Tk-Instruct encoding, byte-identical to DataCollatorForNI
    models/     load_model (packaged alias, local dir, HF id), HFLanguageModel (generate, score_choices)
    training/   instruction tuning (full or LoRA, resumable, Accelerate); public names in train.py
    predict.py  batched generation and rank classification -> Prediction
    metrics.py  official NatInst normalisation, exact match, ROUGE; format diagnostics
    baselines.py, contrast.py   random/majority/copy baselines; contrast consistency on the suite
    report/     statistics (bootstrap, paired tests), costs, curves, verdicts, plots, md/html/json
    study/      `itprobe run`: config, grid, sqlite results store, runner
    audit/      `itprobe audit`: inference-only probes of one model
    suites/     the generated instruction-sensitivity suite (the offline default data)
    cli/        the typer app, one module per command group

Nothing here imports torch; the heavy stages import it when they run.
"""

__version__ = "0.1.0"
