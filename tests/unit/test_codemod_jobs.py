"""The schema of a shared codemod run's jobs: what a worker refuses, and what an asker does."""

from __future__ import annotations

import pytest

from shim_lsp.coordination.jobs import (
    PAYLOAD_MAX,
    VERSION,
    Batch,
    BatchFile,
    JobRejected,
    Outcome,
    Result,
    decode_batch,
    decode_result,
    encode_batch,
    encode_result,
    job_id,
    split,
)


def batch(workspace: str = "ws", files: int = 2) -> Batch:
    found = [BatchFile(f"m{i}.py", f"{i:064x}") for i in range(files)]
    return Batch(VERSION, workspace, "run1", "unittest_to_assert", {}, found)


def test_a_payload_round_trips_and_its_id_is_its_inputs_hash_whatever_the_run() -> None:
    b = batch()
    assert decode_batch(encode_batch(b), "ws") == b
    again = Batch(VERSION, "ws", "run2", b.codemod, {}, b.files)
    assert job_id(again) == job_id(b) and not job_id(b).isdigit()
    assert job_id(batch(files=3)) != job_id(b)


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (encode_batch(batch("other")), "another workspace"),
        ({**encode_batch(batch()), "version": 99}, "version 99"),
        ({**encode_batch(batch()), "files": "m0.py"}, "malformed"),
        ({**encode_batch(batch()), "extra": 1}, "malformed"),
        ({**encode_batch(batch()), "args": {"x": "y" * PAYLOAD_MAX}}, r"bytes \(at most"),
    ],
)
def test_a_foreign_malformed_or_oversized_payload_is_refused(data: object, why: str) -> None:
    with pytest.raises(JobRejected, match=why):
        decode_batch(data, "ws")


def test_a_result_for_other_files_or_not_base64_is_refused() -> None:
    b = batch()
    good = [Outcome(f.path, f.sha256, "unchanged") for f in b.files]
    assert decode_result(encode_result(Result("s", good)), b).outcomes == good
    with pytest.raises(JobRejected, match="other files"):
        decode_result(encode_result(Result("s", good[:1])), b)
    bad = [Outcome(f.path, f.sha256, "changed", new="%%%") for f in b.files]
    with pytest.raises(JobRejected, match="malformed"):
        decode_result(encode_result(Result("s", bad)), b)


def test_a_run_is_split_into_batches_of_about_equal_bytes_the_biggest_first() -> None:
    files = [BatchFile(f"m{i}.py", "0") for i in range(3000)]
    parts = split(files, [1] * 3000)
    assert sorted(f.path for p in parts for f in p) == sorted(f.path for f in files)
    assert max(len(p) for p in parts) == 47 and len(parts) == 64
    # one big file is a batch of its own, queued first; the small ones share what is left
    sizes = [10] * 39 + [5000]
    parts = split(files[:40], sizes)
    assert parts[0] == [files[39]] and sum(len(p) for p in parts) == 40
    assert all(len(p) <= 100 for p in split(files, [0] * 3000)) and split([], []) == []
