from __future__ import annotations

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
