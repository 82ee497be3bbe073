from __future__ import annotations

import tempfile
from pathlib import Path

from libcst.codemod import CodemodContext
from shim_transforms.utcnow_to_aware import UtcnowToAwareCommand
from support import ShimCodemodTest


class TestUtcnowToAware(ShimCodemodTest):
    TRANSFORM = UtcnowToAwareCommand

    def test_both_import_styles(self) -> None:
        self.check(
            """
            import datetime
            from datetime import datetime as dt

            a = datetime.datetime.utcnow()
            b = dt.utcfromtimestamp(ts)
            """,
            """
            import datetime
            from datetime import timezone, datetime as dt

            a = datetime.datetime.now(timezone.utc)
            b = dt.fromtimestamp(ts, timezone.utc)
            """,
        )

    def test_lookalikes_are_left(self) -> None:
        self.check(
            """
            from arrow import utcnow

            a = clock.utcnow()
            b = utcnow()
            """,
            """
            from arrow import utcnow

            a = clock.utcnow()
            b = utcnow()
            """,
        )

    def test_a_timezone_name_already_taken_gets_an_alias(self) -> None:
        self.check(
            """
            from datetime import datetime
            from django.utils import timezone

            a = datetime.utcnow()
            b = timezone.now()
            """,
            """
            from datetime import timezone as dt_timezone, datetime
            from django.utils import timezone

            a = datetime.now(dt_timezone.utc)
            b = timezone.now()
            """,
        )

    def test_a_parameter_named_timezone_is_not_used(self) -> None:
        self.check(
            """
            import datetime

            def stamp(timezone="UTC"):
                return datetime.datetime.utcnow(), timezone
            """,
            """
            import datetime
            from datetime import timezone as dt_timezone

            def stamp(timezone="UTC"):
                return datetime.datetime.now(dt_timezone.utc), timezone
            """,
        )

    def test_an_existing_datetime_timezone_import_is_reused(self) -> None:
        self.check(
            """
            from datetime import datetime, timezone

            a = datetime.utcnow()
            """,
            """
            from datetime import datetime, timezone

            a = datetime.now(timezone.utc)
            """,
        )

    def test_an_existing_timezone_alias_is_reused(self) -> None:
        # where a parameter shadows the alias, another name is imported
        self.check(
            """
            from datetime import datetime
            from datetime import timezone as tz

            a = datetime.utcnow()

            def f(tz):
                return datetime.utcfromtimestamp(tz)
            """,
            """
            from datetime import timezone as dt_timezone, datetime
            from datetime import timezone as tz

            a = datetime.now(tz.utc)

            def f(tz):
                return datetime.fromtimestamp(tz, dt_timezone.utc)
            """,
        )

    def test_a_module_another_file_star_imports_is_left(self) -> None:
        # b.py: timezone = "mine"; from a import * -> b.timezone would become datetime's
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        root = Path(tmp.name)
        # no project marker: the folder the module's name starts from is the project
        (root / "b.py").write_text('timezone = "mine"\nfrom a import *\n')
        source = "from datetime import datetime\nx = datetime.utcnow()\n"
        context = CodemodContext(filename=str(root / "a.py"), full_module_name="a")
        self.check(source, source, context_override=context, expected_skip=True)

    def test_a_subclass_call_and_the_function_as_a_value_are_left_with_a_warning(self) -> None:
        source = """
            from datetime import datetime, timezone

            class MyDT(datetime):
                pass

            a = MyDT.utcnow()
            b = dict(factory=datetime.utcnow)
            c = datetime.utcfromtimestamp(*args)
            """
        self.check(
            source,
            source,
            expected_warnings=[
                "line 6: MyDT.utcnow() left as written: MyDT is a subclass of datetime,"
                " which may override it",
                "line 7: datetime.datetime.utcnow used as a value, not called: left as"
                " written (what calls it still gets a naive datetime)",
                "line 8: datetime.datetime.utcfromtimestamp(...) left as written: its"
                " arguments are not one plain timestamp",
            ],
        )

    def test_a_call_on_a_name_only_a_star_import_binds_is_left_with_a_warning(self) -> None:
        source = """
            from datetime import *
            from os.path import *

            a = datetime.utcnow()
            b = dt.datetime.utcfromtimestamp(ts)
            clock = Clock()
            c = clock.utcnow()
            """
        self.check(
            source,
            source,
            expected_warnings=[
                f"line {n}: {call}() left as written: {name} is bound only by a star import,"
                " which SHIM does not follow (import it by name to convert it)"
                for n, call, name in (
                    (4, "datetime.utcnow", "datetime"),
                    (5, "dt.datetime.utcfromtimestamp", "dt"),
                )
            ],
        )
