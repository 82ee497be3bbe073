"""to_fstring: before/after, and what it must leave alone."""

from __future__ import annotations

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
