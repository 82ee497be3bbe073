"""The standing check on real test suites fails a codemod that failed a file or changed
another number of files than expected, not only one that changed the test counts."""

from __future__ import annotations

from codemod_suites import PROJECTS, Case, Counts, verdict

from shim_lsp.codemods.runner import FileResult, Summary

SUITE = Counts(passed=500, failed=0, errors=0, skipped=0)


def summary(*statuses: str) -> Summary:
    return Summary([FileResult(f"f{i}.py", status) for i, status in enumerate(statuses)])  # type: ignore[arg-type]


def test_equal_counts_and_the_expected_changes_pass() -> None:
    case = Case("rename_symbol", changed=2)
    assert verdict(case, SUITE, SUITE, summary("changed", "changed", "unchanged")) == []


def test_a_file_that_failed_fails_the_row_though_the_tests_still_pass() -> None:
    case = Case("modernize_typing", changed=2)
    result = summary("changed", "changed", "failed")
    assert verdict(case, SUITE, SUITE, result) == ["1 file failed"]


def test_another_number_of_changed_files_fails_the_row() -> None:
    case = Case("rename_symbol", changed=3)
    result = summary("skipped", "unchanged")
    assert verdict(case, SUITE, SUITE, result) == ["changed 0 files, expected 3"]


def test_different_test_counts_fail_the_row() -> None:
    case = Case("to_fstring", changed=1)
    after = Counts(passed=499, failed=1, errors=0, skipped=0)
    assert verdict(case, SUITE, after, summary("changed")) == [
        "tests: 500 passed, 0 failed, 0 errors, 0 skipped before, "
        "499 passed, 1 failed, 0 errors, 0 skipped after"
    ]


def test_every_case_names_the_files_it_is_expected_to_change() -> None:
    assert all(isinstance(case.changed, int) for p in PROJECTS for case in p.cases)
