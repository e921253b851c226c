"""Prompt-lookup drafts (itprobe.models.lookup): what a row's own tokens suggest it writes next."""

from __future__ import annotations

from itprobe.models.lookup import PromptLookup


def test_draft_follows_the_latest_earlier_occurrence_of_the_last_ngram() -> None:
    lookup = PromptLookup([5, 1, 2, 3, 4, 6, 1, 2, 3, 8, 9, 1, 2, 3])
    assert lookup.draft(2) == [8, 9]  # (1, 2, 3) last occurred before 8 9, earlier before 4 6
    assert lookup.draft(10) == [8, 9, 1, 2, 3]  # may run into the tail itself
    assert lookup.draft(0) == []


def test_draft_prefers_the_longest_matching_ngram() -> None:
    lookup = PromptLookup([1, 2, 9, 7, 2, 5, 1, 2])
    assert lookup.draft(3) == [9, 7, 2]  # (1, 2) is followed by 9; the latest 2 alone by 5


def test_draft_sees_new_tokens_and_never_matches_the_tail_with_itself() -> None:
    lookup = PromptLookup([4, 5, 6])
    assert lookup.draft(3) == []  # nothing occurs twice
    lookup.extend([4, 5])
    assert lookup.draft(3) == [6, 4, 5]
    lookup.extend([7])
    assert lookup.draft(3) == []
