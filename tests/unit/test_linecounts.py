"""Lines added and removed per version of a file, as Browse Checkpoints shows them."""

from __future__ import annotations

import random
from pathlib import Path

from helpers import engine_for

from shim_lsp.store import linecounts as lc
from shim_lsp.store.checkpoints import CheckpointRow, FileVersion
from shim_lsp.store.db import connect


def _lcs(a: list[str], b: list[str]) -> int:
    previous = [0] * (len(b) + 1)
    for x in a:
        row = [0] * (len(b) + 1)
        for j, y in enumerate(b, 1):
            row[j] = previous[j - 1] + 1 if x == y else max(previous[j], row[j - 1])
        previous = row
    return previous[-1]


def test_counts_are_those_of_a_minimal_line_diff() -> None:
    rng = random.Random(16)
    for _ in range(2000):
        before = "".join(rng.choice(["a\n", "b\n", "\n", "c"]) for _ in range(rng.randint(0, 14)))
        after = "".join(rng.choice(["a\n", "b\n", "\n", "c"]) for _ in range(rng.randint(0, 14)))
        a, b = before.splitlines(keepends=True), after.splitlines(keepends=True)
        common = _lcs(a, b)
        assert lc.count_changes(before, after) == (len(b) - common, len(a) - common)


def test_a_changed_line_is_one_added_and_one_removed() -> None:
    assert lc.count_changes("a = 1\nb = 2\n", "a = 1\nb = 3\nc = 4\n") == (2, 1)
    assert lc.count_changes("same\n", "same\n") == (0, 0)
    assert lc.count_changes("", "x\ny\n") == (2, 0)
    # The last line's newline, or its ending, is part of the line, as Git counts it.
    assert lc.count_changes("x", "x\n") == (1, 1)
    assert lc.count_changes("x\r\n", "x\n") == (1, 1)


def test_a_file_of_repeated_lines_is_counted_exactly_and_quickly() -> None:
    # difflib without its junk heuristic takes minutes on this; with it, counts thousands.
    lines = ["\n" if i % 5 == 0 else f"    x{i % 50} = {i % 7}\n" for i in range(20000)]
    edited = [f"changed {i}\n" if i % 97 == 0 else line for i, line in enumerate(lines)]
    assert lc.count_changes("".join(lines), "".join(edited)) == (207, 207)


def test_a_rewrite_past_the_limit_is_not_counted() -> None:
    old = "".join(f"a{i}\n" for i in range(600))
    new = "".join(f"b{i}\n" for i in range(600))
    assert lc.count_changes(old, new, max_changed=1200) == (600, 600)
    assert lc.count_changes(old, new, max_changed=1199) is None


def _version(cid: int, blob: str | None, size: int | None = 10) -> FileVersion:
    row = CheckpointRow(cid, "s", "w", float(cid), None, "interval", None, 0, 1, 10)
    return FileVersion(row, "disk", blob, size if blob is not None else None)


def test_each_version_is_compared_with_the_next_older_other_content() -> None:
    texts = {"v1": "a\n", "v2": "a\nb\n", "v3": "a\nc\nd\n"}
    # Newest first: v3, v3 again (unchanged), deleted, v2, v2, v1.
    versions = [
        _version(6, "v3"),
        _version(5, "v3"),
        _version(4, None),
        _version(3, "v2"),
        _version(2, "v2"),
        _version(1, "v1"),
    ]
    read: list[str] = []

    def text(v: FileVersion) -> str:
        assert v.blob is not None
        read.append(v.blob)
        return texts[v.blob]

    lines = lc.version_lines(versions, 6, text)
    assert [(n.added, n.removed, n.total, n.uncounted) for n in lines] == [
        (3, 0, 3, None),  # v3 after the deletion: every line added
        (3, 0, 3, None),  # the same content carries the same counts
        (0, 2, None, None),  # deleted: every line of v2 removed
        (1, 0, 2, None),
        (1, 0, 2, None),
        (None, None, 1, lc.OLDEST),
    ]
    assert read.count("v3") == 1, "one comparison per pair of contents"
    assert lines[0].to_json() == {
        "linesAdded": 3,
        "linesRemoved": 0,
        "lines": 3,
        "linesUncounted": None,
    }


def test_only_the_versions_asked_for_are_read_but_the_last_has_its_older_one() -> None:
    versions = [_version(3, "c"), _version(2, "b"), _version(1, "a")]
    texts = {"a": "1\n", "b": "1\n2\n", "c": "1\n2\n3\n"}
    read: list[str] = []

    def text(v: FileVersion) -> str:
        read.append(v.blob or "")
        return texts[v.blob or ""]

    assert [(n.added, n.removed) for n in lc.version_lines(versions, 2, text)] == [(1, 0), (1, 0)]
    assert sorted(set(read)) == ["a", "b", "c"]


def test_what_costs_too_much_is_left_uncounted_and_says_why() -> None:
    big = [_version(2, "big", size=5000), _version(1, "small")]
    never: list[str] = []

    def text(v: FileVersion) -> str:
        never.append(v.blob or "")
        return "\0binary" if v.blob == "bin" else "x\n"

    limits = lc.Limits(max_bytes=4096)
    assert lc.version_lines(big, 2, text, limits)[0].uncounted == lc.TOO_LARGE
    assert "big" not in never, "a version over the size limit is not even read"

    binary = [_version(2, "bin"), _version(1, "small")]
    assert lc.version_lines(binary, 1, text)[0].uncounted == lc.BINARY

    gone = [_version(2, "gone"), _version(1, "small")]
    assert lc.version_lines(gone, 1, lambda v: None)[0].uncounted == lc.UNREADABLE

    ticks = iter([0.0, 0.5, 3.0, 3.0])
    many = [_version(3, "c"), _version(2, "b"), _version(1, "a")]
    timed = lc.version_lines(many, 3, text, lc.Limits(seconds=2.0), clock=lambda: next(ticks))
    assert [n.uncounted for n in timed] == [None, lc.TIME_BUDGET, lc.TIME_BUDGET]

    rewrite = {"new": "".join(f"n{i}\n" for i in range(50)), "old": "o\n"}
    rewritten = [_version(2, "new"), _version(1, "old")]
    counted = lc.version_lines(
        rewritten, 1, lambda v: rewrite[v.blob or ""], lc.Limits(max_changed=10)
    )
    assert (counted[0].uncounted, counted[0].total) == (lc.MANY_CHANGES, 50)


def test_the_store_answers_with_the_lines_of_each_version(workspace: Path, state_dir: Path) -> None:
    path = workspace / "app.py"
    path.write_text("a = 1\n")
    uri = path.as_uri()
    texts = {uri: "a = 1\n"}
    engine = engine_for(workspace, state_dir, texts)
    first = engine.checkpoint("first").result()
    engine.did_open(uri, "a = 1\n", 1)
    texts[uri] = "a = 2\nb = 3\n"
    engine.did_change(uri, 2, [[texts[uri]]], len(texts[uri]))
    second = engine.checkpoint("second").result()
    with connect(engine.db_path) as conn:
        listed = lc.file_history_json(conn, engine.workspace.key, uri, 10)
    assert [
        (v["id"], v["kind"], v["linesAdded"], v["linesRemoved"], v["lines"]) for v in listed
    ] == [(second.id, "buffer", 2, 1, 2), (first.id, "disk", None, None, 1)]
    assert listed[1]["linesUncounted"] == lc.OLDEST
    engine.close("clean")
