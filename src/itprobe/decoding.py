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

**Named protocols** (`PROTOCOLS`, chosen with ``--decoding NAME`` / config ``eval.decoding``). Where answers
end is itself a format decision, so the evaluator must not make it silently for the model:

- ``tk-instruct``: the paper's protocol. Tk-Instruct evaluates with ``--max_target_length 128
  --generation_max_length 128`` (``scripts/eval_tk_instruct.sh`` of allenai/Tk-Instruct; the same in the
  authors' later ``src/run_s2s.py``): greedy, up to 128 new tokens, stopped at EOS only, and the whole
  decoded generation, stripped, is the answer the official metric scores. A model that has not learned
  where an answer ends is scored on everything it writes.
- ``first-line``: itprobe's earlier default and lm-evaluation-harness's ``generate_until`` with
  ``until=["\\n"]``: the answer is cut at the first newline after it starts, which hands the model the answer
  boundary (the "format" Kung & Peng say tuning teaches).

**One pass serves both** (`derivable`, `recut`): greedy decoding is deterministic, so a protocol B whose
cap equals protocol A's and whose stop sequences include all of A's is a cut of A's continuation: B's
answer is ``cut_answer(A's raw continuation, B.stop)``. A row decoded under A runs past B's first stop and
stops only at A's own stop, EOS or the cap, and B would have stopped at that first stop; the text before it
is the same. The study decodes once under its headline protocol and reports the others by cutting.
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
    """Greedy decoding settings; part of every cache key, cell id and report provenance.

    ``protocol`` is the name the settings were chosen by (`PROTOCOLS`), for reports only: the settings
    themselves decide the answers, so only they enter `key`, and an explicit ``max_new_tokens`` or ``stop``
    override keeps the name with the override said in `describe`.
    """

    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS
    stop: tuple[str, ...] = DEFAULT_STOP
    protocol: str = "first-line"

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ValueError("max_new_tokens must be >= 1")
        if any(not s for s in self.stop):
            raise ValueError("stop sequences must be non-empty strings")

    def key(self) -> dict[str, object]:
        """What decides the answers (for cache keys and cell ids)."""
        return {"rule": DECODING_VERSION, "max_new_tokens": self.max_new_tokens, "stop": list(self.stop)}

    @property
    def label(self) -> str:
        """The protocol's name, with what differs from its named settings (``first-line, cap 16``)."""
        named = PROTOCOLS.get(self.protocol)
        if named is None:
            return self.protocol
        changes = []
        if self.max_new_tokens != named.max_new_tokens:
            changes.append(f"cap {self.max_new_tokens}")
        if self.stop != named.stop:
            changes.append("stop " + (", ".join(repr(s) for s in self.stop) or "EOS only"))
        return ", ".join([self.protocol, *changes])

    def describe(self) -> str:
        """The protocol in one line, as reports print it."""
        stops = ", ".join(repr(s) for s in self.stop)
        if not self.stop:
            return (
                f"{self.label}: greedy; stops at EOS or after {self.max_new_tokens} new tokens; the answer "
                "is the whole generation, stripped"
            )
        return (
            f"{self.label}: greedy; stops at EOS, at the first {stops} after the answer starts, or after "
            f"{self.max_new_tokens} new tokens; the answer is the text before the stop, stripped (raw text kept)"
        )

    def derivable(self, other: Decoding) -> bool:
        """Whether ``other``'s answers are cuts of this protocol's raw continuations (see the module doc)."""
        return other.max_new_tokens == self.max_new_tokens and set(self.stop) <= set(other.stop)

    def recut(self, raw: str) -> str:
        """This protocol's answer in a raw continuation decoded under a protocol it is `derivable` from."""
        return cut_answer(raw, self.stop)


TK_INSTRUCT_MAX_NEW_TOKENS = 128  # Tk-Instruct's --generation_max_length
PROTOCOLS: dict[str, Decoding] = {
    "tk-instruct": Decoding(TK_INSTRUCT_MAX_NEW_TOKENS, (), "tk-instruct"),
    "first-line": Decoding(DEFAULT_MAX_NEW_TOKENS, DEFAULT_STOP, "first-line"),
}
DEFAULT_PROTOCOL = "first-line"  # the default study and `predict`/`audit` keep their earlier answers; NatInst
# configs name tk-instruct for their headline


def protocol(name: str, *, max_new_tokens: int | None = None, stop: Sequence[str] | None = None) -> Decoding:
    """The named protocol with optional overrides; `ValueError` naming the known protocols otherwise."""
    if name not in PROTOCOLS:
        raise ValueError(f"unknown decoding protocol {name!r}; choose {' or '.join(PROTOCOLS)}")
    base = PROTOCOLS[name]
    return Decoding(
        base.max_new_tokens if max_new_tokens is None else max_new_tokens,
        base.stop if stop is None else tuple(stop),
        name,
    )
