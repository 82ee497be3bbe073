"""A codemod applied to a selection brings the module-level edits its change needs."""

from __future__ import annotations

import textwrap
from typing import Any

import libcst as cst
from libcst.codemod import CodemodContext
from shim_transforms.print_to_logging import PrintToLoggingCommand
from shim_transforms.unittest_to_assert import UnittestToAssertCommand
from shim_transforms.utcnow_to_aware import UtcnowToAwareCommand

from shim_lsp.codemods.selection import restrict


def run(command: Any, text: str) -> str:
    code: str = command(CodemodContext()).transform_module(cst.parse_module(text)).code
    return code


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines()) if needle in line)


def selected(command: Any, before: str, needle: str) -> str | None:
    before = textwrap.dedent(before)
    line = line_of(before, needle)
    return restrict(before, run(command, before), (line, 0), (line + 1, 0)).text


def test_one_print_brings_its_logger_and_the_logging_import() -> None:
    before = """\
        import os


        def a():
            print("a")


        def b():
            print("b")
        """
    assert selected(PrintToLoggingCommand, before, 'print("b")') == textwrap.dedent(
        """\
        import os
        import logging

        logger = logging.getLogger(__name__)


        def a():
            print("a")


        def b():
            logger.info("b")
        """
    )


def test_one_assert_raises_brings_import_pytest() -> None:
    before = """\
        import unittest


        class T(unittest.TestCase):
            def test_one(self):
                self.assertEqual(1, 1)

            def test_two(self):
                with self.assertRaises(ValueError):
                    int("x")
        """
    result = selected(UnittestToAssertCommand, before, "assertRaises")
    assert result is not None
    assert "import pytest\n" in result
    assert "with pytest.raises(ValueError):" in result
    assert "self.assertEqual(1, 1)" in result


def test_one_utcnow_brings_its_timezone_import() -> None:
    before = """\
        from datetime import datetime

        a = datetime.utcnow()
        b = datetime.utcnow()
        """
    assert selected(UtcnowToAwareCommand, before, "b = ") == textwrap.dedent(
        """\
        from datetime import timezone, datetime

        a = datetime.utcnow()
        b = datetime.now(timezone.utc)
        """
    )


def test_a_change_whose_names_nothing_binds_is_refused() -> None:
    old = "def f():\n    return 1\n"
    new = "def f():\n    return helper()\n"
    result = restrict(old, new, (1, 0), (2, 0))
    assert result.text is None
    assert result.unbound == {"helper"}


ASSERT_RAISES_AS_CM = """\
    import unittest


    class T(unittest.TestCase):
        def test_one(self):
            with self.assertRaises(ValueError) as cm:
                parse("x")
            self.assertIn("invalid", str(cm.exception))
            self.assertEqual(1, 1)

        def test_two(self):
            with self.assertRaises(KeyError) as cm:
                parse("y")
            self.assertIn("y", str(cm.exception))
    """


def test_an_assert_raises_block_brings_the_reads_of_its_cm_and_they_it() -> None:
    # cm.exception on a pytest.raises block is an AttributeError: both change or neither
    for needle in ("assertRaises(ValueError)", 'assertIn("invalid"'):
        result = selected(UnittestToAssertCommand, ASSERT_RAISES_AS_CM, needle)
        assert result is not None
        assert "with pytest.raises(ValueError) as cm:" in result
        assert 'assert "invalid" in str(cm.value)' in result
        # the other test's block and its own cm are another binding: untouched
        assert "with self.assertRaises(KeyError) as cm:" in result
        assert 'self.assertIn("y", str(cm.exception))' in result
        assert "self.assertEqual(1, 1)" in result


def test_an_unselected_assert_in_the_same_changed_block_is_left() -> None:
    # the three-line assertEqual becomes one line: the diff sees one block of both asserts
    before = """\
        import unittest

        class T(unittest.TestCase):
            def test_a(self):
                self.assertTrue(3)
                self.assertEqual(
                    1,
                    1,
                )
                self.assertTrue(2)
        """
    for needle, converted in (("assertTrue(3)", "assert 3"), ("assertTrue(2)", "assert 2")):
        out = selected(UnittestToAssertCommand, before, needle)
        assert out == textwrap.dedent(before).replace(f"self.{needle}", converted), out
    out = selected(UnittestToAssertCommand, before, "assertEqual(")
    assert out is not None and "assert 1 == 1" in out and out.count("self.assertTrue(") == 2
