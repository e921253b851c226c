"""The generation protocol: how greedy answers are stopped and cut, shared by every engine.

One rule, statable in one line (`Decoding.describe`): greedy decoding of at most ``max_new_tokens`` new
tokens that stops at EOS or as soon as the continuation, leading whitespace aside, contains a stop sequence;
the answer is the text before the first stop sequence, stripped. The default stop is a newline: NatInst
answers are one line, and a model that has not learned where an answer ends (a base model) goes on with a
new "Input:" line that would otherwise fail exact match for reasons unrelated to the answer — the same rule
as lm-evaluation-harness's ``generate_until`` with ``until=["\\n"]``. Leading whitespace is exempt because
Tk-Instruct prompts end in ``"Output:"`` and a model may start its answer on the next line.

The cap is fixed, never derived from the test references (gold length must not reach the decoder). This
module imports nothing from itprobe: every layer (models, predict, study, audit) may use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

DEFAULT_STOP: tuple[str, ...] = ("\n",)
DEFAULT_MAX_NEW_TOKENS = 64  # one-line answers; NatInst classification labels are < 20 tokens
DECODING_VERSION = "stop-after-content/v1"  # recorded in cache keys and cell ids; bump when the rule changes


def stop_reached(text: str, stop: Sequence[str]) -> bool:
    """Whether decoding of a row whose continuation so far is ``text`` should end (EOS and cap aside)."""
    body = text.lstrip()
    return any(s and s in body for s in stop)


def cut_answer(text: str, stop: Sequence[str]) -> str:
    """The answer in a raw continuation: leading whitespace dropped, cut before the first stop, stripped."""
    body = text.lstrip()
    cuts = [body.find(s) for s in stop if s and s in body]
    return body[: min(cuts)].strip() if cuts else body.strip()


@dataclass(frozen=True)
class Decoding:
    """Greedy decoding settings; part of every cache key, cell id and report provenance."""

    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS
    stop: tuple[str, ...] = DEFAULT_STOP

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ValueError("max_new_tokens must be >= 1")
        if any(not s for s in self.stop):
            raise ValueError("stop sequences must be non-empty strings")

    def key(self) -> dict[str, object]:
        """What decides the answers (for cache keys and cell ids)."""
        return {"rule": DECODING_VERSION, "max_new_tokens": self.max_new_tokens, "stop": list(self.stop)}

    def describe(self) -> str:
        """The protocol in one line, as reports print it."""
        stops = ", ".join(repr(s) for s in self.stop)
        where = f"at the first {stops} after the answer starts, " if self.stop else ""
        return (
            f"greedy; stops at EOS, {where}or after {self.max_new_tokens} new tokens; "
            "the answer is the text before the stop, stripped (raw text kept)"
        )
