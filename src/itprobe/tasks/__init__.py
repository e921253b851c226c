"""Tasks: the shared data model, loaders for every task source, and output spaces.

Start with `load_tasks` (one entry point; the format is detected from the path, see
`itprobe.tasks.load`), `save_tasks` (compact JSON Lines, `itprobe.tasks.compact`) and
`detect_output_space` (`itprobe.tasks.spaces`).
"""

from itprobe.tasks.compact import save_tasks
from itprobe.tasks.load import detect_format, load_references, load_tasks
from itprobe.tasks.spaces import detect_output_space, normalize_label, read_label_file
from itprobe.tasks.types import Contrast, Example, Instance, Negation, OutputSpace, SpaceRule, Task

__all__ = [
    "Contrast",
    "Example",
    "Instance",
    "Negation",
    "OutputSpace",
    "SpaceRule",
    "Task",
    "detect_format",
    "detect_output_space",
    "load_references",
    "load_tasks",
    "normalize_label",
    "read_label_file",
    "save_tasks",
]
