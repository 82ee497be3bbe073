from __future__ import annotations

from libcst.codemod import CodemodContext
from support import ShimCodemodTest

from transforms.move_module import MoveModuleCommand

ARGS = {"old_module": "shop.utils", "new_module": "shop.common.text"}


class TestMoveModule(ShimCodemodTest):
    TRANSFORM = MoveModuleCommand

    def test_every_import_style_and_access_through_the_module(self) -> None:
        self.check(
            """
            import shop.utils
            import shop.utils as su
            import shop.utils.slug
            from shop.utils import slugify, clean as c
            from shop.utils.slug import make
            from shop import utils
            from shop import utils as u2

            a = shop.utils.slugify(x)
            b = su.slugify(x), utils.clean(y), u2.clean(z)
            """,
            """
            import shop.common.text
            import shop.common.text as su
            import shop.common.text.slug
            from shop.common.text import slugify, clean as c
            from shop.common.text.slug import make
            from shop.common import text as utils
            from shop.common import text as u2

            a = shop.common.text.slugify(x)
            b = su.slugify(x), utils.clean(y), u2.clean(z)
            """,
            **ARGS,
        )

    def test_relative_imports_of_the_moved_module_become_absolute(self) -> None:
        self.check(
            """
            from .utils import slugify
            from . import utils
            from .models import User
            """,
            """
            from shop.common.text import slugify
            from shop.common import text as utils
            from .models import User
            """,
            context_override=CodemodContext(
                full_module_name="shop.views", filename="shop/views.py"
            ),
            **ARGS,
        )

    def test_other_modules_with_the_same_leaf_are_left(self) -> None:
        self.check(
            """
            import other.utils
            from other import utils
            from shop import models, utilities
            x = other.utils.slugify()
            """,
            """
            import other.utils
            from other import utils
            from shop import models, utilities
            x = other.utils.slugify()
            """,
            **ARGS,
        )
