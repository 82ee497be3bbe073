from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from libcst.codemod import CodemodContext
from shim_transforms.move_module import MoveModuleCommand, NameTaken
from support import ShimCodemodTest

ARGS: dict[str, Any] = {"old_module": "shop.utils", "new_module": "shop.common.text"}


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

    def test_a_top_level_module_keeps_its_name_bound_in_every_importer(self) -> None:
        # ``import utils`` then ``utils.x``: the name must still mean the module
        self.check(
            """
            import utils
            import utils as u
            import os, utils
            from utils import slugify, clean as c

            def g():
                import utils
                return utils.slugify(x)

            a = utils.slugify(x), u.clean(y), os.sep
            """,
            """
            from pkg import utils
            import pkg.utils as u
            import os, pkg.utils as utils
            from pkg.utils import slugify, clean as c

            def g():
                from pkg import utils
                return utils.slugify(x)

            a = utils.slugify(x), u.clean(y), os.sep
            """,
            old_module="utils",
            new_module="pkg.utils",
        )

    def test_a_top_level_module_moved_under_another_name_or_to_the_top(self) -> None:
        self.check(
            "import utils\nutils.f()\n",
            "from pkg.common import text as utils\nutils.f()\n",
            old_module="utils",
            new_module="pkg.common.text",
        )
        self.check(
            "import utils\nutils.f()\n",
            "import helpers as utils\nutils.f()\n",
            old_module="utils",
            new_module="helpers",
        )

    def test_a_top_level_modules_submodule_import_reads_through_the_new_package(self) -> None:
        self.check(
            "import utils.sub\nutils.sub.f()\n",
            "import pkg.utils.sub\npkg.utils.sub.f()\n",
            old_module="utils",
            new_module="pkg.utils",
        )

    def test_strings_that_only_look_like_the_top_level_module_are_reported(self) -> None:
        # "utils" alone may be anything (a logger's name, a key); "utils.py" is a file name
        self.check(
            "a = 'utils'\nb = 'utils.py'\nc = 'utils.slugify'\n",
            "a = 'utils'\nb = 'utils.py'\nc = 'pkg.utils.slugify'\n",
            expected_warnings=[
                "line 1: a string mentions utils; not rewritten",
                "line 2: a string mentions utils; not rewritten",
            ],
            old_module="utils",
            new_module="pkg.utils",
        )

    def test_relative_imports_stay_relative(self) -> None:
        self.check(
            """
            from .utils import slugify
            from . import utils
            from .models import User
            """,
            """
            from .common.text import slugify
            from .common import text as utils
            from .models import User
            """,
            context_override=CodemodContext(
                full_module_name="shop.views", filename="shop/views.py"
            ),
            **ARGS,
        )

    def test_access_through_an_imported_package_above_the_module(self) -> None:
        # ``sub.utils`` where ``sub`` is the package: the tail below it is rewritten, and a
        # move out of it reads the new path (it was left, an AttributeError after the move)
        self.check(
            """
            import shop as top

            a = top.utils.slugify("y")
            """,
            """
            import shop as top

            a = top.common.text.slugify("y")
            """,
            context_override=CodemodContext(full_module_name="app", filename="app.py"),
            **ARGS,
        )
        self.check(
            """
            from shop import common

            a = common.strings.slugify("x")
            """,
            """
            from shop import common
            import shop.utils

            a = shop.utils.slugify("x")
            """,
            context_override=CodemodContext(full_module_name="app", filename="app.py"),
            old_module="shop.common.strings",
            new_module="shop.utils",
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

    def test_a_module_imported_inside_a_function_gets_no_extra_top_level_import(self) -> None:
        self.check(
            """
            def g():
                import shop.utils
                return shop.utils.f()
            """,
            """
            def g():
                import shop.common.text
                return shop.common.text.f()
            """,
            **ARGS,
        )

    def test_a_move_out_of_the_package_makes_the_import_absolute(self) -> None:
        self.check(
            "from .utils import slugify\n",
            "from other.text import slugify\n",
            context_override=CodemodContext(
                full_module_name="shop.views", filename="shop/views.py"
            ),
            old_module="shop.utils",
            new_module="other.text",
        )

    def test_a_module_imported_from_its_package_and_moved_to_the_top_level_keeps_its_name(
        self,
    ) -> None:
        # no package to import "models2" from: a plain import binding the same local name
        self.check(
            """
            from . import utils as u
            from . import utils
            from shop import utils as su
            from shop import (
                utils,
            )
            from .utils import slugify

            a = u.slugify(x), utils.clean(y), su.f()
            """,
            """
            import helpers as u
            import helpers as utils
            import helpers as su
            import helpers as utils
            from helpers import slugify

            a = u.slugify(x), utils.clean(y), su.f()
            """,
            context_override=CodemodContext(
                full_module_name="shop.views", filename="shop/views.py"
            ),
            old_module="shop.utils",
            new_module="helpers",
        )

    def test_relative_imports_in_a_stub_package_init(self) -> None:
        self.check(
            "from .utils import slugify\n",
            "from .common.text import slugify\n",
            context_override=CodemodContext(full_module_name="shop", filename="shop/__init__.pyi"),
            **ARGS,
        )

    def test_a_new_top_level_name_already_bound_fails_the_file(self) -> None:
        # newtop.mod.X would read the attribute "mod" of the string
        for source, words in (
            (
                'import shop.utils\nnewtop = "value"\ndef run():\n    return shop.utils.X\n',
                "run.py line 1: the moved module would be reached there as newtop.mod, but"
                " 'newtop' already names something else, bound at line 2: `newtop = \"value\"`",
            ),
            (
                "import shop\ndef run(newtop):\n    return shop.utils.X\n",
                "run.py line 3: the moved module would be reached there as newtop.mod, but"
                " 'newtop' already names something else, bound at line 2: `def run(newtop):`",
            ),
        ):
            with self.subTest(source), pytest.raises(NameTaken) as raised:
                self.assertCodemod(
                    source,
                    source,
                    old_module="shop.utils",
                    new_module="newtop.mod",
                    context_override=CodemodContext(filename="app/run.py"),
                )
            assert str(raised.value).startswith(words), raised.value

    def test_a_dunder_import_is_left_with_a_warning(self) -> None:
        # __import__ returns the top package: the attribute chain after it names the old path
        source = 'x = __import__("shop.utils.core").utils.core.f()\n'
        self.check(
            source,
            source,
            expected_warnings=[
                "line 1: __import__('shop.utils.core') left as written: the attributes read"
                " from what it returns would still follow the old path"
            ],
            **ARGS,
        )

    def test_a_package_above_the_module_reached_through_a_variable_is_reported(self) -> None:
        # u = utils follows the rewritten import; s.utils.x cannot be followed
        source = "from shop import utils\nimport shop\n\nu = utils\ns = shop\nn = shop.name\n"
        self.check(
            source,
            source.replace("from shop import utils", "from shop.common import text as utils"),
            expected_warnings=[
                "line 5: shop is reached through a variable, and shop.utils through it is not"
                " rewritten",
            ],
            **ARGS,
        )

    def test_a_piece_of_a_concatenated_string_is_not_rewritten_alone(self) -> None:
        # ("shop.utils" "_legacy") never named the module; ("shop" ".utils") names it whole
        source = 'a = ("shop.utils" "_legacy")\nb = ("shop" ".utils")\n'
        self.check(
            source,
            source,
            expected_warnings=[
                "line 1: a string mentions shop.utils; not rewritten",
                "line 2: a string mentions shop.utils; not rewritten",
            ],
            **ARGS,
        )

    def test_a_relative_import_module_is_left_with_a_warning(self) -> None:
        source = (
            "import importlib\n"
            'm = importlib.import_module(".utils", "shop")\n'
            'n = importlib.import_module(".other", "shop")\n'
        )
        self.check(
            source,
            source,
            expected_warnings=[
                'line 2: importlib.import_module(".utils", "shop") may read shop.utils by a'
                " relative name; not rewritten"
            ],
            **ARGS,
        )

    def test_dotted_strings_are_rewritten_and_mentions_reported(self) -> None:
        self.check(
            """
            patch("shop.utils.slugify")
            patch("shop.utils")
            note = "see shop.utils for details"
            other = "myshop.utils.x"
            """,
            """
            patch("shop.common.text.slugify")
            patch("shop.common.text")
            note = "see shop.utils for details"
            other = "myshop.utils.x"
            """,
            expected_warnings=["line 3: a string mentions shop.utils; not rewritten"],
            **ARGS,
        )

    def moved(self, before: str, after: str, old: str, new: str) -> None:
        """The moved file itself: converted where it is, then unchanged where it went."""
        self.assertCodemod(
            before,
            after,
            context_override=CodemodContext(full_module_name=old, filename=old_path(old)),
            **ARGS,
        )
        self.assertCodemod(
            after,
            after,
            context_override=CodemodContext(full_module_name=new, filename=old_path(new)),
            **ARGS,
        )

    def test_the_moved_module_keeps_its_relative_imports_working_from_its_new_place(
        self,
    ) -> None:
        # shop/utils.py becomes shop/common/text.py: "from . import models" must now go up
        # two levels; an import of the module's own submodules moves with it.
        self.moved(
            """
            from . import models
            from .models import User
            from .utils.slug import make
            from shop import api
            """,
            """
            from .. import models
            from ..models import User
            from .text.slug import make
            from shop import api
            """,
            "shop.utils",
            "shop.common.text",
        )

    def test_a_moved_package_keeps_its_submodules_relative_imports_working(self) -> None:
        self.moved(
            """
            from ..models import User
            from .slug import make
            from . import slug
            """,
            """
            from ...models import User
            from .slug import make
            from . import slug
            """,
            "shop.utils.text",
            "shop.common.text.text",
        )

    def test_an_import_of_the_module_beside_others_is_split_in_the_files_style(self) -> None:
        self.check(
            """
            from shop import utils, models
            from shop import models, utils as u  # noqa: F401

            def f():
                # local
                from . import (
                    models,
                    utils,
                )
                return utils.slugify(models.x), u.clean(y)
            """,
            """
            from shop.common import text as utils
            from shop import models
            from shop import models  # noqa: F401
            from shop.common import text as u  # noqa: F401

            def f():
                # local
                from . import (
                    models,
                )
                from .common import (
                    text as utils,
                )
                return utils.slugify(models.x), u.clean(y)
            """,
            context_override=CodemodContext(
                filename="/nowhere/shop/views.py", full_module_name="shop.views"
            ),
            **ARGS,
        )

    def test_an_import_that_cannot_be_split_in_order_is_left_with_a_warning(self) -> None:
        source = """
            from shop import models, utils, cart
            from shop import (models,  # why
                utils)
            from shop import utils, models; import os
            """
        self.check(
            source,
            source,
            expected_warnings=[
                "line 1: split 'from shop import ...' by hand: splitting it would reorder the"
                " imports or lose a comment",
                "line 2: split 'from shop import ...' by hand: splitting it would reorder the"
                " imports or lose a comment",
                "line 4: split this import by hand: it shares its line with another statement",
            ],
            **ARGS,
        )

    def test_the_module_read_by_name_from_its_package_is_reported(self) -> None:
        source = """
            from unittest import mock
            import shop

            a = getattr(shop, "utils")
            b = hasattr(shop, "utils"), getattr(shop, "models"), getattr(other, "utils")
            c = vars(shop)["utils"], shop.__dict__.get("utils"), vars(shop)["models"]
            with mock.patch.object(shop, "utils"):
                monkeypatch.delattr(shop, "utils")
            """
        self.check(
            source,
            source,
            expected_warnings=[
                f"line {n}: {spelled} names shop.utils in a string; not rewritten"
                for n, spelled in (
                    (4, "getattr(..., 'utils')"),
                    (5, "hasattr(..., 'utils')"),
                    (6, "vars(shop)['utils']"),
                    (6, "shop.__dict__.get('utils')"),
                    (7, "mock.patch.object(..., 'utils')"),
                    (8, "monkeypatch.delattr(..., 'utils')"),
                )
            ],
            **ARGS,
        )


def old_path(module: str) -> str:
    return module.replace(".", "/") + ".py"


def test_moving_onto_a_name_the_package_binds_by_a_star_import_is_refused(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg/__init__.py").write_text("from .core import *\n")
    (tmp_path / "pkg/core.py").write_text("x = 1\ndef tools():\n    return 1\n")
    (tmp_path / "pkg/utils.py").write_text("def helper(): ...\n")
    with pytest.raises(
        ValueError, match=r"pkg binds 'tools' by a star import \(pkg/core\.py line 2"
    ):
        MoveModuleCommand.check_project(tmp_path, old_module="pkg.utils", new_module="pkg.tools")
    (tmp_path / "pkg/core.py").write_text("__all__ = ['x']\nx = 1\ndef tools(): ...\n")
    MoveModuleCommand.check_project(tmp_path, old_module="pkg.utils", new_module="pkg.tools")


ARGS_TEXT = {"old_module": "shop.utils", "new_module": "shop.text"}


def test_a_run_must_include_the_module_its_importers_and_a_packages_files(
    tmp_path: Path,
) -> None:
    (tmp_path / "shop/lib").mkdir(parents=True)
    for name in ("shop/__init__.py", "shop/utils.py", "shop/lib/__init__.py", "shop/lib/a.py"):
        (tmp_path / name).write_text("")
    assert MoveModuleCommand.must_include(tmp_path, **ARGS_TEXT) == {
        tmp_path / "shop/utils.py": "is the module this move renames"
    }
    assert set(MoveModuleCommand.must_include(tmp_path, "shop.lib", "shop.library")) == {
        tmp_path / "shop/lib/__init__.py",
        tmp_path / "shop/lib/a.py",
    }
    # and every file that may import it
    (tmp_path / "app.py").write_text("from shop import utils\n")
    (tmp_path / "other.py").write_text("from shop import lib\nutils = 1\n")
    assert set(MoveModuleCommand.must_include(tmp_path, **ARGS_TEXT)) == {
        tmp_path / "shop/utils.py",
        tmp_path / "app.py",
    }
    # moved by hand first: its importers are still required
    (tmp_path / "shop/utils.py").rename(tmp_path / "shop/text.py")
    assert set(MoveModuleCommand.must_include(tmp_path, **ARGS_TEXT)) == {tmp_path / "app.py"}
    # a module that is not the project's (mock to unittest.mock): nothing is required
    (tmp_path / "test_a.py").write_text("import mock\n")
    assert (
        MoveModuleCommand.must_include(tmp_path, old_module="mock", new_module="unittest.mock")
        == {}
    )
