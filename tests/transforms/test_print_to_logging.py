from __future__ import annotations

import tempfile
from pathlib import Path

from libcst.codemod import CodemodContext
from shim_transforms.print_to_logging import PrintToLoggingCommand
from support import ShimCodemodTest


class TestPrintToLogging(ShimCodemodTest):
    TRANSFORM = PrintToLoggingCommand

    def test_prints_become_lazy_logger_calls(self) -> None:
        self.check(
            '''
            """Module docstring."""
            import sys

            def work(n):
                print("starting")
                print("got", n, "items")
                print(f"done with {n}")
                print("oops", file=sys.stderr)
                print(n, flush=True)
            ''',
            '''
            """Module docstring."""
            import sys
            import logging

            logger = logging.getLogger(__name__)


            def work(n):
                logger.info("starting")
                logger.info("got %s items", n)
                logger.info(f"done with {n}")
                logger.warning("oops")
                logger.info("%s", n)
            ''',
        )

    def test_what_logging_cannot_say_the_same_way_is_left(self) -> None:
        self.check(
            """
            def print_report(rows, out):
                print(*rows)
                print("a", "b", sep=",")
                print("no newline", end="")
                print("to a file", file=out)

            def shadow():
                print = lambda *a: None
                print("not the builtin")

            if __name__ == "__main__":
                print("program output")
            """,
            """
            def print_report(rows, out):
                print(*rows)
                print("a", "b", sep=",")
                print("no newline", end="")
                print("to a file", file=out)

            def shadow():
                print = lambda *a: None
                print("not the builtin")

            if __name__ == "__main__":
                print("program output")
            """,
        )

    def test_an_existing_logger_is_reused_and_level_is_an_argument(self) -> None:
        self.check(
            """
            import logging

            logger = logging.getLogger("app")

            def f():
                print("x")
            """,
            """
            import logging

            logger = logging.getLogger("app")

            def f():
                logger.debug("x")
            """,
            level="debug",
        )

    def test_a_logger_bound_below_a_print_is_not_reused(self) -> None:
        # log.info(...) at line 4 would raise NameError on import: log is bound at line 7.
        self.check(
            """
            import logging

            print("loading")
            def f():
                print("x")

            log = logging.getLogger("app")
            """,
            """
            import logging
            logger = logging.getLogger(__name__)

            logger.info("loading")
            def f():
                logger.info("x")

            log = logging.getLogger("app")
            """,
        )

    def test_a_parameter_or_local_named_logger_is_never_called(self) -> None:
        self.check(
            """
            def handler(logger, msg):
                print(msg)

            def other():
                logger = object()
                print("x")
            """,
            """
            import logging

            log = logging.getLogger(__name__)


            def handler(logger, msg):
                log.info("%s", msg)

            def other():
                logger = object()
                log.info("x")
            """,
        )

    def test_an_existing_logger_shadowed_locally_leaves_that_print(self) -> None:
        self.check(
            """
            import logging

            logger = logging.getLogger(__name__)

            def handler(logger, msg):
                print(msg)

            def f():
                print("y")
            """,
            """
            import logging

            logger = logging.getLogger(__name__)

            def handler(logger, msg):
                print(msg)

            def f():
                logger.info("y")
            """,
        )

    def test_an_empty_print_stays_and_literals_fold_into_the_format(self) -> None:
        self.check(
            """
            import logging

            logger = logging.getLogger(__name__)
            print()
            print("processing", n, "items at 50%")
            print("a", "b")
            """,
            """
            import logging

            logger = logging.getLogger(__name__)
            print()
            logger.info("processing %s items at 50%%", n)
            logger.info("a b")
            """,
        )

    def test_logging_bound_to_something_else_leaves_the_file(self) -> None:
        self.check(
            """
            from mylib import logging

            print("x")
            """,
            """
            from mylib import logging

            print("x")
            """,
            expected_skip=True,
        )

    def test_a_print_with_a_comment_inside_is_left_with_its_comment(self) -> None:
        source = """
            import logging

            logger = logging.getLogger(__name__)
            print("a",  # why x matters
                  x)
            print(  # leading
                "b")
            print("c"
                  # trailing
                  )
            """
        self.check(
            source + 'print("d")\n',
            source + 'logger.info("d")\n',
            expected_warnings=[
                f"line {n}: a print left as is: a comment inside it would be lost"
                for n in (4, 6, 8)
            ],
        )

    def test_a_star_import_below_the_logger_leaves_the_file(self) -> None:
        # it may bind the logger's name again: every print would call that
        source = """
            import os

            print("x")
            from helpers import *
            """
        self.check(source, source, expected_skip=True)

    def test_a_module_another_file_star_imports_is_left(self) -> None:
        # b.py: logger = "mine"; from a import * -> b.logger would become a's Logger
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        root = Path(tmp.name)
        (root / "pyproject.toml").write_text("")
        (root / "b.py").write_text('logger = "mine"\nfrom a import *\n')
        context = CodemodContext(filename=str(root / "a.py"), full_module_name="a")
        self.check('print("x")\n', 'print("x")\n', context_override=context, expected_skip=True)
        self.check(
            '__all__ = ["f"]\nprint("x")\n',
            "import logging\n\nlogger = logging.getLogger(__name__)\n"
            '__all__ = ["f"]\nlogger.info("x")\n',
            context_override=CodemodContext(filename=str(root / "a.py"), full_module_name="a"),
        )
