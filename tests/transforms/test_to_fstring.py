"""to_fstring: before/after, and what it must leave alone."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import time

import libcst as cst
import pytest
from libcst.codemod import CodemodContext
from libcst.metadata import MetadataWrapper, PositionProvider
from shim_transforms.to_fstring import ToFStringCommand
from support import ShimCodemodTest


class TestToFString(ShimCodemodTest):
    TRANSFORM = ToFStringCommand

    def test_percent_and_format_become_fstrings(self) -> None:
        self.check(
            """
            a = "hello %s" % (name,)
            b = "{} is {}".format(x, y)
            c = "{name}!".format(name=who)
            """,
            """
            a = f"hello {name!s}"
            b = f"{x} is {y}"
            c = f"{who}!"
            """,
        )

    def test_unsafe_forms_are_left(self) -> None:
        self.check(
            """
            a = "%d%%" % (n,)
            b = fmt.format(x)
            c = "{}".format(*args)
            d = "%(a)s" % mapping
            """,
            """
            a = "%d%%" % (n,)
            b = fmt.format(x)
            c = "{}".format(*args)
            d = "%(a)s" % mapping
            """,
        )

    def test_backslashes_would_not_parse_before_312_so_those_are_left(self) -> None:
        self.check(
            """
            a = "%s" % "\\n".join(lines)
            b = "{}".format("\\t".join(cells))
            c = "%s!" % (name,)
            """,
            """
            a = "%s" % "\\n".join(lines)
            b = "{}".format("\\t".join(cells))
            c = f"{name!s}!"
            """,
        )

    def test_nested_format_specs_convert_exactly(self) -> None:
        self.check('c = "{0:{1}}".format(value, width)\n', 'c = f"{value:{width}}"\n')

    def test_an_expression_used_twice_is_not_evaluated_twice(self) -> None:
        self.check(
            """
            a = "{0} {0}".format(next(c))
            b = "{0} {0}".format(name)
            c = "<{0}{1}>{2}</{0}>".format(tag, attrs.get(a, ""), text)
            """,
            """
            a = "{0} {0}".format(next(c))
            b = f"{name} {name}"
            c = f"<{tag}{attrs.get(a, '')}>{text}</{tag}>"
            """,
        )

    def test_calls_are_never_reordered_or_dropped(self) -> None:
        self.check(
            """
            a = "{1}{0}".format(f(), g())
            b = "{b}{a}".format(a=f(), b=g())
            c = "{0}".format(f(), g())
            d = "{1}{0}".format(x, y)
            """,
            """
            a = "{1}{0}".format(f(), g())
            b = "{b}{a}".format(a=f(), b=g())
            c = "{0}".format(f(), g())
            d = f"{y}{x}"
            """,
        )

    def test_a_lone_percent_operand_may_be_a_tuple_so_it_is_left(self) -> None:
        # "value: %s" % (1,) prints "value: 1"; f"value: {v}" with v = (1,) prints "(1,)".
        self.check('a = "value: %s" % v\n', 'a = "value: %s" % v\n')

    def test_percent_s_keeps_str_not_format(self) -> None:
        self.check('a = "%s and %s" % (x, y)\n', 'a = f"{x!s} and {y!s}"\n')

    def test_string_literal_arguments_stay_in_place(self) -> None:
        self.check(
            """
            a = "{} {}".format("fixed", x)
            b = "%s %s" % ("fixed", x)
            """,
            """
            a = "{} {}".format("fixed", x)
            b = "%s %s" % ("fixed", x)
            """,
        )

    def test_a_format_key_is_never_turned_into_a_variable(self) -> None:
        self.check(
            """
            a = "{0[name]} ({0[age]})".format(row)
            b = "{0.name}".format(row)
            """,
            """
            a = "{0[name]} ({0[age]})".format(row)
            b = f"{row.name}"
            """,
        )

    def test_an_attribute_field_on_a_compound_argument_keeps_its_parentheses(self) -> None:
        # "{0.denominator}".format(a + b) reads (a + b).denominator, not a + b.denominator
        self.check(
            """
            a = "{0.denominator}".format(a + b)
            b = "{0.real}".format(not a)
            c = "{0.x}".format(b if a else None)
            d = "{0.real}".format(1)
            e = "{0.x} {1}".format(f(), a + b)
            g = "{0.x.y}".format(o.p[1])
            """,
            """
            a = f"{(a + b).denominator}"
            b = f"{(not a).real}"
            c = f"{(b if a else None).x}"
            d = f"{(1).real}"
            e = f"{f().x} {a + b}"
            g = f"{o.p[1].x.y}"
            """,
        )

    def test_wrong_percent_arity_is_left_as_the_error_it_is(self) -> None:
        self.check('a = "%s" % (x, y)\n', 'a = "%s" % (x, y)\n')

    def test_a_call_with_a_comment_inside_is_left_with_its_comment(self) -> None:
        self.check(
            """
            a = "{} {}".format(
                x,  # the first
                y,
            )
            b = "{}".format(  # why
                x
            )
            c = ("{}"  # a note
                 .format(x))
            d = "%s %s" % (
                x,  # the first
                y,
            )
            """,
            """
            a = "{} {}".format(
                x,  # the first
                y,
            )
            b = "{}".format(  # why
                x
            )
            c = ("{}"  # a note
                 .format(x))
            d = "%s %s" % (
                x,  # the first
                y,
            )
            """,
            expected_warnings=[
                f"line {n}: left as written: a comment inside it would be lost"
                for n in (10, 1, 5, 8)
            ],
        )

    def test_a_comment_in_the_parentheses_around_the_call_stays_with_them(self) -> None:
        self.check(
            """
            a = (  # kept
                "{}".format(x)
            )
            b = (  # kept
                "%s" % (x,)
            )
            """,
            """
            a = (  # kept
                f"{x}"
            )
            b = (  # kept
                f"{x!s}"
            )
            """,
        )

    def test_a_u_prefix_is_dropped_since_f_cannot_take_it(self) -> None:
        # In Python 3 u"" is "": the u means nothing, and fu"" does not parse.
        self.check(
            """
            a = u"{} x".format(x)
            b = U"%s" % (x,)
            c = "{}".format(x)
            """,
            """
            a = f"{x} x"
            b = f"{x!s}"
            c = f"{x}"
            """,
        )

    def test_byte_strings_are_never_converted(self) -> None:
        # bytes have no f-string; b"{}".format does not exist and b"%s" % ... stays bytes.
        self.check(
            """
            a = b"%s" % (x,)
            b = b"{}".format(x)
            c = Rb"%s" % (x,)
            d = "{}".format(x)
            """,
            """
            a = b"%s" % (x,)
            b = b"{}".format(x)
            c = Rb"%s" % (x,)
            d = f"{x}"
            """,
        )

    def test_raw_and_triple_quoted_strings_convert_exactly(self) -> None:
        self.check(
            '''
            a = r"\\d+ {} \\n".format(x)
            b = r"\\w %s" % (x,)
            c = """{}
            and {}""".format(x, y)
            ''',
            '''
            a = fr"\\d+ {x} \\n"
            b = fr"\\w {x!s}"
            c = f"""{x}
            and {y}"""
            ''',
        )

    def test_implicit_concatenation_is_left(self) -> None:
        # "a {}" "b {}".format(x, y) formats both parts: converting one would be wrong.
        self.check(
            """
            a = "a {}" "b {}".format(x, y)
            b = ("a %s"
                 "b %s") % (x, y)
            """,
            """
            a = "a {}" "b {}".format(x, y)
            b = ("a %s"
                 "b %s") % (x, y)
            """,
        )

    def test_a_field_that_would_read_part_of_its_expression_as_a_spec_gets_parentheses(
        self,
    ) -> None:
        # f"{y := 1}" formats y with the spec "= 1"; f"{lambda: 1}" and f"{{1: 2}}" do not
        # parse (or read the braces as an escape).
        self.check(
            """
            a = "{}".format(y := 1)
            b = "{}".format(lambda: 1)
            c = "{}".format(a if b else lambda: 1)
            d = "%s" % ({1: 2},)
            e = "%s" % ({a},)
            f = "%s" % (lambda: 1,)
            """,
            """
            a = f"{(y := 1)}"
            b = f"{(lambda: 1)}"
            c = f"{(a if b else lambda: 1)}"
            d = f"{({1: 2})!s}"
            e = f"{({a})!s}"
            f = f"{(lambda: 1)!s}"
            """,
        )

    def test_templates_that_raise_stay_as_written(self) -> None:
        # Mixing "{}" and "{0}" raises ValueError; f"{a}{a}" would not.
        self.check(
            """
            a = "{}{0}".format(x)
            b = "{0:{1:>3}}".format(x, y)
            c = "{:{:{}}}".format(x, y)
            d = "{0.1}".format(x)
            """,
            """
            a = "{}{0}".format(x)
            b = "{0:{1:>3}}".format(x, y)
            c = "{:{:{}}}".format(x, y)
            d = "{0.1}".format(x)
            """,
        )

    def test_escapes_are_read_as_python_reads_them(self) -> None:
        # "\\x7b\\x7d" is "{}" to str.format, but plain text in an f-string; "\\N{...}"
        # braces are part of the escape, not a field.
        self.check(
            """
            a = "\\x7b\\x7d".format(x)
            b = "\\N{EM DASH} %s" % (x,)
            c = "\\\\%s" % (x,)
            """,
            """
            a = "\\x7b\\x7d".format(x)
            b = "\\N{EM DASH} %s" % (x,)
            c = f"\\\\{x!s}"
            """,
        )

    def test_a_percent_inside_a_percent_converts_once(self) -> None:
        # The inner one becomes an f-string; the outer one, holding an f-string, stays, so
        # a second run has nothing left to do.
        self.check('a = "%s!" % ("%s" % (x,),)\n', 'a = "%s!" % (f"{x!s}",)\n')

    def test_a_generator_expression_gets_parentheses_that_312_requires(self) -> None:
        # f"{x for x in []}" compiles on 3.11 only; 3.12 and 3.13 reject it.
        self.check(
            """
            a = "{}".format(x for x in [])
            b = "{} {}".format(n, (x for x in []))
            c = "{}".format(a if b else c)
            d = "{}".format(a != b)
            """,
            """
            a = f"{(x for x in [])}"
            b = f"{n} {(x for x in [])}"
            c = f"{a if b else c}"
            d = f"{a != b}"
            """,
        )

    def test_what_is_left_is_said_in_shims_words_with_its_line(self) -> None:
        self.check(
            """
            async def f(d, k):
                a = "{}".format(d["it's"])
                b = "{}".format(d["\\n"])
                c = "{}".format(await d)
                e = "{}".format(d[f"{k}"])
                g = "%s" % (d["\\n"],)
                h = "%s" % (d[f"{k}"],)
            """,
            """
            async def f(d, k):
                a = "{}".format(d["it's"])
                b = "{}".format(d["\\n"])
                c = "{}".format(await d)
                e = "{}".format(d[f"{k}"])
                g = "%s" % (d["\\n"],)
                h = "%s" % (d[f"{k}"],)
            """,
            # the % pass runs over the file first
            expected_warnings=[
                "line 6: left as written: a backslash inside it "
                "(an f-string cannot hold one before Python 3.12)",
                "line 7: left as written: an f-string inside it",
                "line 2: left as written: a string inside it has the template's quotes "
                "(an f-string cannot hold them before Python 3.12)",
                "line 3: left as written: a backslash inside it "
                "(an f-string cannot hold one before Python 3.12)",
                "line 4: left as written: an await inside it "
                "(an f-string cannot hold one before Python 3.7)",
                "line 5: left as written: an f-string inside it",
            ],
        )


TRICKY = """
def f(a, b, c, d, items, x):
    return [
        "{}".format(x for x in []),
        "{}".format(y := 1),
        "{}".format(lambda: 1),
        "{}".format(a if b else c),
        "{}".format(a if b else lambda: 1),
        "{}".format(a != b),
        "{}".format((yield)),
        "{}".format((a, b)),
        "{}".format({k: v for k, v in items}),
        "{}".format({*a}),
        "{}".format(d[1:2]),
        "{}".format(d[a:b, ::c]),
        "{0.real}".format(a + b),
        "%s" % ((x for x in []),),
        "%s, %s" % (a != b, {1: 2}),
        "%s" % (lambda: 1,),
    ]
"""


def _interpreter(python: str) -> str | None:
    """That Python, on the PATH or installed by pyenv, if it runs here."""
    candidates = [
        shutil.which(python),
        *glob.glob(os.path.expanduser(f"~/.pyenv/versions/*/bin/{python}")),
    ]
    for exe in candidates:
        if exe and subprocess.run([exe, "-c", "pass"], capture_output=True).returncode == 0:
            return exe
    return None


@pytest.mark.parametrize("python", ["python3.11", "python3.12", "python3.13"])
def test_every_result_compiles_on_each_supported_python(python: str) -> None:
    exe = _interpreter(python)
    if exe is None:
        pytest.skip(f"{python} is not installed here")
    out = ToFStringCommand(CodemodContext()).transform_module(cst.parse_module(TRICKY)).code
    assert out.count('f"') == TRICKY.count('"{') + TRICKY.count('"%s'), out
    subprocess.run(
        [exe, "-c", "import sys; compile(sys.stdin.read(), 'out.py', 'exec')"],
        input=out,
        text=True,
        check=True,
    )


def test_costs_a_few_parses_of_the_file_not_a_visitor_per_field() -> None:
    """Measured beside a baseline in the same process, in CPU time (a loaded machine slows
    both alike): libcst parsing the module and walking it with position metadata. It took
    about 3 times that; when it built three visitors for every field it took about 20 times
    (1,000 such lines 22 s, 2,000 lines 50 s)."""
    source = "".join(f"x{i} = '{{}}'.format(i)\n" for i in range(1000))
    started = time.process_time()
    MetadataWrapper(cst.parse_module(source)).visit(PositionsOnly())
    baseline = time.process_time() - started
    started = time.process_time()
    out = ToFStringCommand(CodemodContext()).transform_module(cst.parse_module(source)).code
    elapsed = time.process_time() - started
    assert out.count("f'{i}'") == 1000
    assert elapsed < 8 * baseline, f"{elapsed:.2f} s; a parse and a walk {baseline:.2f} s"


class PositionsOnly(cst.CSTVisitor):
    METADATA_DEPENDENCIES = (PositionProvider,)
