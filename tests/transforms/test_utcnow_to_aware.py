from __future__ import annotations

from support import ShimCodemodTest

from transforms.utcnow_to_aware import UtcnowToAwareCommand


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
