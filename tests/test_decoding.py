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
