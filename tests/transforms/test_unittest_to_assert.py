from __future__ import annotations

from shim_transforms.unittest_to_assert import UnittestToAssertCommand
from support import ShimCodemodTest


class TestUnittestToAssert(ShimCodemodTest):
    TRANSFORM = UnittestToAssertCommand

    def test_the_assertion_family(self) -> None:
        self.check(
            """
            import unittest

            class T(unittest.TestCase):
                def test(self):
                    self.assertEqual(a, b)
                    self.assertNotEqual(a, b, "they differ")
                    self.assertTrue(x)
                    self.assertFalse(x or y)
                    self.assertIsNone(v)
                    self.assertIsNotNone(v)
                    self.assertIn(k, d)
                    self.assertNotIn(k, d)
                    self.assertIs(a, b)
                    self.assertIsInstance(o, int)
                    self.assertNotIsInstance(o, int)
                    self.assertGreaterEqual(n, 1)
                    self.assertEqual(x if c else y, not z)
                    self.assertEqual(a == b, c, msg="chained")
            """,
            """
            import unittest

            class T(unittest.TestCase):
                def test(self):
                    assert a == b
                    assert a != b, "they differ"
                    assert x
                    assert not (x or y)
                    assert v is None
                    assert v is not None
                    assert k in d
                    assert k not in d
                    assert a is b
                    assert isinstance(o, int)
                    assert not isinstance(o, int)
                    assert n >= 1
                    assert (x if c else y) == (not z)
                    assert (a == b) == c, "chained"
            """,
        )

    def test_operands_spanning_lines_keep_their_parentheses(self) -> None:
        self.check(
            """
            import unittest

            class T(unittest.TestCase):
                def test(self):
                    self.assertEqual(msg, "part one "
                                          "part two")
                    self.assertTrue(a
                                    and b, "why "
                                           "it failed")
            """,
            """
            import unittest

            class T(unittest.TestCase):
                def test(self):
                    assert msg == ("part one "
                                          "part two")
                    assert (a
                                    and b), ("why "
                                           "it failed")
            """,
        )

    def test_assert_raises_becomes_pytest_raises(self) -> None:
        self.check(
            """
            import unittest

            class T(unittest.TestCase):
                def test(self):
                    with self.assertRaises(ValueError):
                        int("x")
                    with self.assertRaisesRegex(KeyError, "missing") as cm:
                        d["k"]
                    self.assertEqual(cm.exception.args, ("k",))
            """,
            """
            import unittest
            import pytest

            class T(unittest.TestCase):
                def test(self):
                    with pytest.raises(ValueError):
                        int("x")
                    with pytest.raises(KeyError, match="missing") as cm:
                        d["k"]
                    assert cm.value.args == ("k",)
            """,
        )

    def test_a_bare_generator_argument_keeps_its_parentheses(self) -> None:
        self.check(
            """
            import unittest

            class T(unittest.TestCase):
                def test(self):
                    self.assertTrue(x for x in result)
                    self.assertEqual(a, b)
            """,
            """
            import unittest

            class T(unittest.TestCase):
                def test(self):
                    assert (x for x in result)
                    assert a == b
            """,
        )

    def test_comments_between_arguments_are_never_dropped(self) -> None:
        self.check(
            """
            import unittest

            class T(unittest.TestCase):
                def test(self):
                    self.assertEqual(
                        compute(),  # the slow path
                        expected,
                    )
                    self.assertEqual(a, b)  # kept: it is the line's comment
            """,
            """
            import unittest

            class T(unittest.TestCase):
                def test(self):
                    self.assertEqual(
                        compute(),  # the slow path
                        expected,
                    )
                    assert a == b  # kept: it is the line's comment
            """,
        )

    def test_cm_exception_follows_the_binding_into_nested_functions(self) -> None:
        self.check(
            """
            import unittest

            class T(unittest.TestCase):
                def test(self):
                    with self.assertRaises(ValueError) as cm:
                        int("x")
                    def check():
                        return cm.exception.args
                    assert check()
            """,
            """
            import unittest
            import pytest

            class T(unittest.TestCase):
                def test(self):
                    with pytest.raises(ValueError) as cm:
                        int("x")
                    def check():
                        return cm.value.args
                    assert check()
            """,
        )

    def test_a_cm_also_bound_by_an_unconverted_block_is_left_everywhere(self) -> None:
        self.check(
            """
            import unittest

            class T(unittest.TestCase):
                def test(self):
                    with self.assertRaises(ValueError) as cm:
                        int("x")
                    first = cm.exception
                    with self.assertRaises(KeyError, msg="m") as cm:
                        d["k"]
                    second = cm.exception
            """,
            """
            import unittest

            class T(unittest.TestCase):
                def test(self):
                    with self.assertRaises(ValueError) as cm:
                        int("x")
                    first = cm.exception
                    with self.assertRaises(KeyError, msg="m") as cm:
                        d["k"]
                    second = cm.exception
            """,
        )

    def test_msg_of_assert_raises_regex_is_never_dropped(self) -> None:
        self.check(
            """
            import unittest

            class T(unittest.TestCase):
                def test(self):
                    with self.assertRaisesRegex(KeyError, "k", msg="why"):
                        d["k"]
            """,
            """
            import unittest

            class T(unittest.TestCase):
                def test(self):
                    with self.assertRaisesRegex(KeyError, "k", msg="why"):
                        d["k"]
            """,
        )

    def test_what_cannot_be_translated_exactly_is_left(self) -> None:
        self.check(
            """
            import unittest

            class T(unittest.TestCase):
                def test(self):
                    self.assertRaises(ValueError, int, "x")
                    self.assertAlmostEqual(a, b, places=3)
                    other.assertEqual(a, b)
                    self.assertEqual(*pair)
            """,
            """
            import unittest

            class T(unittest.TestCase):
                def test(self):
                    self.assertRaises(ValueError, int, "x")
                    self.assertAlmostEqual(a, b, places=3)
                    other.assertEqual(a, b)
                    self.assertEqual(*pair)
            """,
        )

    def test_only_unittest_test_cases_are_converted(self) -> None:
        self.check(
            """
            import unittest
            from unittest import TestCase as Base

            class Helper:
                def assertEqual(self, a, b):
                    return a == b

                def check(self):
                    self.assertEqual(a, b)

            class NotATest(Unknown):
                def check(self):
                    self.assertTrue(a)

            class MyBase(Base):
                def assertTrue(self, x, msg=None):
                    log(x)

            class T(MyBase):
                def test(self):
                    self.assertTrue(x)
                    self.assertEqual(a, b)

            class WithMixin(SomeMixin, unittest.TestCase):
                def test(self):
                    self.assertEqual(a, b)

            class Overrides(unittest.TestCase):
                assertIn = staticmethod(check_in)

                def assertRaises(self, *a):
                    return custom(*a)

                def test(self):
                    self.assertIn(a, b)
                    with self.assertRaises(ValueError):
                        pass
                    self.assertIs(a, b)
            """,
            """
            import unittest
            from unittest import TestCase as Base

            class Helper:
                def assertEqual(self, a, b):
                    return a == b

                def check(self):
                    self.assertEqual(a, b)

            class NotATest(Unknown):
                def check(self):
                    self.assertTrue(a)

            class MyBase(Base):
                def assertTrue(self, x, msg=None):
                    log(x)

            class T(MyBase):
                def test(self):
                    self.assertTrue(x)
                    assert a == b

            class WithMixin(SomeMixin, unittest.TestCase):
                def test(self):
                    self.assertEqual(a, b)

            class Overrides(unittest.TestCase):
                assertIn = staticmethod(check_in)

                def assertRaises(self, *a):
                    return custom(*a)

                def test(self):
                    self.assertIn(a, b)
                    with self.assertRaises(ValueError):
                        pass
                    assert a is b
            """,
        )

    def test_a_base_after_unittest_test_case_cannot_override_its_asserts(self) -> None:
        # the MRO puts TestCase, which defines every assert method, before SomeMixin
        self.check(
            """
            import unittest

            class T(unittest.TestCase, SomeMixin):
                def test(self):
                    self.assertEqual(a, b)
            """,
            """
            import unittest

            class T(unittest.TestCase, SomeMixin):
                def test(self):
                    assert a == b
            """,
        )

    def test_pytest_bound_to_something_else_skips_the_file(self) -> None:
        before = """
            import unittest
            from helpers import runner as pytest

            class T(unittest.TestCase):
                def test(self):
                    with self.assertRaises(ValueError):
                        pytest.run()
                    self.assertTrue(x)
            """
        self.assertCodemod(before, before, expected_skip=True)

    def test_pytest_that_is_the_module_is_used(self) -> None:
        self.check(
            """
            import unittest
            import pytest

            class T(unittest.TestCase):
                @pytest.mark.slow
                def test(self):
                    with self.assertRaises(ValueError):
                        int("x")
            """,
            """
            import unittest
            import pytest

            class T(unittest.TestCase):
                @pytest.mark.slow
                def test(self):
                    with pytest.raises(ValueError):
                        int("x")
            """,
        )

    def test_untouched_bytes_stay_identical(self) -> None:
        for source in (
            b"\xef\xbb\xbfimport os\r\nx = 1\r\n",
            "# -*- coding: latin-1 -*-\ns = 'caf\xe9'\n".encode("latin-1"),
        ):
            assert self.run_bytes(source) == source

    def test_changed_file_keeps_crlf(self) -> None:
        source = (
            b"import unittest\r\n"
            b"class T(unittest.TestCase):\r\n    def t(self):\r\n        self.assertTrue(x)\r\n"
        )
        assert self.run_bytes(source) == source.replace(b"self.assertTrue(x)", b"assert x")

    def test_a_message_unittest_would_evaluate_even_on_success_is_left(self) -> None:
        # unittest evaluates msg before it checks; assert only when it fails: a call in the
        # message would no longer run (or raise) on success.
        self.check(
            """
            import unittest

            class T(unittest.TestCase):
                def test(self):
                    self.assertEqual(a, b, note())
                    self.assertTrue(x, msg=errors["x"])
                    self.assertTrue(x, f"{name} and {obj.attr}")
                    self.assertEqual(a, b, "plain %s" % name)
            """,
            """
            import unittest

            class T(unittest.TestCase):
                def test(self):
                    self.assertEqual(a, b, note())
                    self.assertTrue(x, msg=errors["x"])
                    assert x, f"{name} and {obj.attr}"
                    assert a == b, "plain %s" % name
            """,
            expected_warnings=[
                "line 5: self.assertEqual left as written: unittest evaluates its message even"
                " when the assertion holds",
                "line 6: self.assertTrue left as written: unittest evaluates its message even"
                " when the assertion holds",
            ],
        )

    def test_keyword_arguments_out_of_order_with_calls_are_left(self) -> None:
        # assert tag("first") == tag("second") would call them in the other order
        self.check(
            """
            import unittest

            class T(unittest.TestCase):
                def test(self):
                    self.assertEqual(second=tag("second"), first=tag("first"))
                    self.assertEqual(second=b, first=a)
                    self.assertEqual(first=f(), second=g())
            """,
            """
            import unittest

            class T(unittest.TestCase):
                def test(self):
                    self.assertEqual(second=tag("second"), first=tag("first"))
                    assert a == b
                    assert f() == g()
            """,
            expected_warnings=[
                "line 5: self.assertEqual left as written: its arguments would be evaluated in"
                " another order"
            ],
        )

    def test_a_class_that_sets_its_failure_exception_is_left(self) -> None:
        # failureException = MyFail: its asserts raise MyFail, a plain assert AssertionError.
        self.check(
            """
            import unittest

            class Base(unittest.TestCase):
                failureException = MyFail

            class T(Base):
                def test(self):
                    self.assertTrue(x)

            class U(unittest.TestCase):
                def setUp(self):
                    self.failureException = MyFail

                def test(self):
                    self.assertTrue(x)
            """,
            """
            import unittest

            class Base(unittest.TestCase):
                failureException = MyFail

            class T(Base):
                def test(self):
                    self.assertTrue(x)

            class U(unittest.TestCase):
                def setUp(self):
                    self.failureException = MyFail

                def test(self):
                    self.assertTrue(x)
            """,
        )

    def test_assert_methods_replaced_on_the_instance_are_left(self) -> None:
        self.check(
            """
            import unittest

            class T(unittest.TestCase):
                def setUp(self):
                    self.assertTrue = lenient

                def test(self):
                    self.assertTrue(x)
                    self.assertFalse(x)
            """,
            """
            import unittest

            class T(unittest.TestCase):
                def setUp(self):
                    self.assertTrue = lenient

                def test(self):
                    self.assertTrue(x)
                    assert not x
            """,
        )

    def test_assert_equal_with_type_equality_functions_is_left(self) -> None:
        # addTypeEqualityFunc makes assertEqual call a function of the test's, not ==.
        self.check(
            """
            import unittest

            class T(unittest.TestCase):
                def setUp(self):
                    self.addTypeEqualityFunc(Point, self.same_point)

                def test(self):
                    self.assertEqual(p, q)
                    self.assertNotEqual(p, q)
            """,
            """
            import unittest

            class T(unittest.TestCase):
                def setUp(self):
                    self.addTypeEqualityFunc(Point, self.same_point)

                def test(self):
                    self.assertEqual(p, q)
                    assert p != q
            """,
        )

    def test_is_instance_is_not_used_where_the_name_means_something_else(self) -> None:
        self.check(
            """
            import unittest

            def isinstance(a, b):
                return False

            class T(unittest.TestCase):
                def test(self):
                    self.assertIsInstance(o, int)
                    self.assertNotIsInstance(o, int)
            """,
            """
            import unittest

            def isinstance(a, b):
                return False

            class T(unittest.TestCase):
                def test(self):
                    self.assertIsInstance(o, int)
                    self.assertNotIsInstance(o, int)
            """,
            expected_warnings=[
                f"line {n}: self.{method} left as written: the name 'isinstance' is bound to"
                " something else in this module"
                for n, method in ((8, "assertIsInstance"), (9, "assertNotIsInstance"))
            ],
        )

    def test_identity_with_a_literal_is_left(self) -> None:
        # "x is 1" is a SyntaxWarning (and an identity Python does not promise).
        self.check(
            """
            import unittest

            class T(unittest.TestCase):
                def test(self):
                    self.assertIs(x, 1)
                    self.assertIsNot("a", y)
                    self.assertIs(x, True)
            """,
            """
            import unittest

            class T(unittest.TestCase):
                def test(self):
                    self.assertIs(x, 1)
                    self.assertIsNot("a", y)
                    assert x is True
            """,
            expected_warnings=[
                f"line {n}: self.{method} left as written: 'is' with a literal is a SyntaxWarning"
                " and an identity Python does not promise"
                for n, method in ((5, "assertIs"), (6, "assertIsNot"))
            ],
        )
