"""The recovery notice's words: when the session ended, and what restoring would change."""

from __future__ import annotations

import time

from shim_lsp.recovery.notice import clock_time, line_changes, notice_message

NOON = time.mktime((2026, 3, 4, 12, 0, 0, 0, 0, -1))


def test_the_end_time_is_local_time_of_day_with_the_date_when_not_today() -> None:
    assert clock_time(NOON - 3600 * 2 + 120, now=NOON) == "10:02"
    assert clock_time(NOON - 86400, now=NOON) == "2026-03-03 12:00"


def test_line_changes_count_a_minimal_diff_as_the_extension_words_it() -> None:
    assert line_changes("a\nb\n", "a\nb\nc\n") == "+1 line"
    assert line_changes("a\nb\n", "a\nB\n") == "+1 \u22121 lines"
    assert line_changes("a\nb\nc\n", "a\n") == "\u22122 lines"
    assert line_changes("a\n", "a\n") == "no changed lines"


def test_the_message_says_what_the_work_is_compared_with() -> None:
    ended = NOON - 60
    assert (
        notice_message(ended, "a\n", "a\nb\n", open_in_editor=False, now=NOON)
        == "Unsaved work from a session that ended 11:59: +1 line against the file on disk"
    )
    assert notice_message(ended, "a\n", "b\n", True, now=NOON).endswith(
        "+1 \u22121 lines against the open editor"
    )
    assert notice_message(ended, None, "b\n", False, now=NOON).endswith(
        "+1 line against an empty file (it is not on disk)"
    )
