"""The generation stop rule (itprobe.decoding) and its use by the transformers engine."""

from __future__ import annotations

import pytest

from itprobe.decoding import Decoding, cut_answer, stop_reached


@pytest.mark.parametrize(
    ("raw", "answer", "stopped"),
    [
        (" positive\nInput: x", "positive", True),
        ("\n\n positive\n", "positive", True),  # leading blank lines: the answer starts on a later line
        ("\n", "", False),  # nothing but whitespace yet: keep decoding
        (" positive", "positive", False),  # cap or EOS cut it, no stop seen
        ("a b\tc \nd", "a b\tc", True),
    ],
)
def test_stop_rule_cuts_the_first_non_blank_line(raw: str, answer: str, stopped: bool) -> None:
    assert cut_answer(raw, ("\n",)) == answer
    assert stop_reached(raw, ("\n",)) is stopped


def test_several_stop_sequences_cut_at_the_earliest() -> None:
    assert cut_answer("yes. Explanation: no\n", ("\n", "Explanation:")) == "yes."
    assert cut_answer("yes\nno", ()) == "yes\nno"


def test_decoding_key_and_description_name_the_rule() -> None:
    rule = Decoding(16, ("\n",))
    assert rule.key()["max_new_tokens"] == 16 and rule.key()["stop"] == ["\n"]
    assert Decoding().key() != Decoding(stop=("\n\n",)).key()
    assert "16 new tokens" in rule.describe() and "'\\n'" in rule.describe()
    with pytest.raises(ValueError):
        Decoding(0)
    with pytest.raises(ValueError):
        Decoding(stop=("",))


def test_named_protocols_and_their_sources() -> None:
    from itprobe.decoding import PROTOCOLS, protocol

    tk, first = PROTOCOLS["tk-instruct"], PROTOCOLS["first-line"]
    assert (tk.max_new_tokens, tk.stop) == (128, ())  # Tk-Instruct: --generation_max_length 128, EOS only
    assert (first.max_new_tokens, first.stop) == (64, ("\n",))
    raw = " Yes.\n\nInput: the next question"
    assert cut_answer(raw, tk.stop) == "Yes.\n\nInput: the next question"  # the whole generation, stripped
    assert cut_answer(raw, first.stop) == "Yes."
    assert protocol("first-line", max_new_tokens=16).label == "first-line, cap 16"
    assert protocol("tk-instruct").describe().startswith("tk-instruct: greedy; stops at EOS or after 128")
    with pytest.raises(ValueError, match="choose tk-instruct or first-line"):
        protocol("nope")


def test_first_line_is_a_cut_of_the_tk_instruct_continuation() -> None:
    """One greedy pass serves both protocols: decoding under first-line (same cap) gives exactly the cut
    of the tk-instruct continuation, on a deterministic fake decoder that emits the text token by token."""
    from itprobe.decoding import protocol

    tokens = [" Ye", "s", ".", "\n", "\n", "Input", ":", " more", " text", "\n", "Output", ":"]

    def greedy(rule: Decoding) -> str:  # the engines' loop: stop at the cap or once the stop rule holds
        out = ""
        for n, tok in enumerate(tokens, 1):
            out += tok
            if n >= rule.max_new_tokens or (rule.stop and stop_reached(out, rule.stop)):
                break
        return out

    for cap in (2, 4, 8, 12):
        tk, first = protocol("tk-instruct", max_new_tokens=cap), protocol("first-line", max_new_tokens=cap)
        assert tk.derivable(first) and not first.derivable(tk)
        assert first.recut(greedy(tk)) == cut_answer(greedy(first), first.stop)
    assert not protocol("tk-instruct").derivable(protocol("first-line"))  # caps differ: 128 vs 64
