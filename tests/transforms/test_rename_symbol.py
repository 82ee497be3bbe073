from __future__ import annotations

import tempfile
import textwrap
from pathlib import Path
from typing import Any

import pytest
from libcst.codemod import CodemodContext
from shim_transforms.rename_symbol import NameTaken, RenameSymbolCommand
from support import ShimCodemodTest

ARGS: dict[str, Any] = {"old_name": "shop.models.User", "new_name": "Account"}


def in_module(module: str, filename: str) -> CodemodContext:
    return CodemodContext(full_module_name=module, filename=filename)


class TestRenameSymbol(ShimCodemodTest):
    TRANSFORM = RenameSymbolCommand

    def test_the_defining_module_renames_the_global_binding_only(self) -> None:
        self.check(
            """
            from __future__ import annotations

            __all__ = ["User", "helper"]

            class User:
                def clone(self) -> "User":
                    return User()

            def helper(User):
                return User

            def make() -> User:
                User = 1
                return User
            """,
            """
            from __future__ import annotations

            __all__ = ["Account", "helper"]

            class Account:
                def clone(self) -> "Account":
                    return Account()

            def helper(User):
                return User

            def make() -> Account:
                User = 1
                return User
            """,
            context_override=in_module("shop.models", "shop/models.py"),
            **ARGS,
        )

    def test_importers_follow_every_import_style(self) -> None:
        self.check(
            """
            from shop.models import User
            from shop.models import User as U
            from shop import models
            import shop.models
            import shop.models as sm
            from .models import User as RelUser

            __all__ = ["User"]
            a: "User" = User()
            b: "sm.User | None" = U()
            c = models.User, shop.models.User, sm.User, RelUser

            def local():
                User = "a different thing"
                return User
            """,
            """
            from shop.models import Account
            from shop.models import Account as U
            from shop import models
            import shop.models
            import shop.models as sm
            from .models import Account as RelUser

            __all__ = ["Account"]
            a: "Account" = Account()
            b: "sm.Account | None" = U()
            c = models.Account, shop.models.Account, sm.Account, RelUser

            def local():
                User = "a different thing"
                return User
            """,
            context_override=in_module("shop.views", "shop/views.py"),
            **ARGS,
        )

    def test_unrelated_symbols_of_the_same_name_are_left(self) -> None:
        self.check(
            """
            from auth.models import User

            __all__ = ["User"]
            x: "User" = User()
            """,
            """
            from auth.models import User

            __all__ = ["User"]
            x: "User" = User()
            """,
            context_override=in_module("shop.views", "shop/views.py"),
            **ARGS,
        )

    def test_attribute_access_by_a_string_on_its_module_is_reported(self) -> None:
        # getattr(models, "User") reads the renamed class by its old name: AttributeError
        # after the rename unless someone rewrites it, and it may be built at run time.
        source = """
            from unittest import mock
            from unittest.mock import patch
            import shop.models
            import shop.models as sm
            from shop import models
            from . import models as rel

            a = getattr(models, "User")
            b = hasattr(sm, "User"), getattr(rel, "User", None)
            setattr(shop.models, "User", object)
            delattr(models, "User")
            c = getattr(other, "User"), getattr(models, "Other"), getattr(models, name)
            d = vars(models)["User"], models.__dict__["User"], sm.__dict__.get("User")
            e = vars(other)["User"], models.__dict__["Other"], vars(models).get(key)
            with mock.patch.object(models, "User"), patch.object(target=sm, attribute="User"):
                monkeypatch.setattr(models, "User", object)
            """
        self.check(
            source,
            source,
            context_override=in_module("shop.views", "shop/views.py"),
            expected_warnings=[
                f"line {n}: {spelled} names shop.models.User in a string; not rewritten"
                for n, spelled in (
                    (8, "getattr(..., 'User')"),
                    (9, "hasattr(..., 'User')"),
                    (9, "getattr(..., 'User')"),
                    (10, "setattr(..., 'User')"),
                    (11, "delattr(..., 'User')"),
                    (13, "vars(models)['User']"),
                    (13, "models.__dict__['User']"),
                    (13, "sm.__dict__.get('User')"),
                    (15, "mock.patch.object(..., 'User')"),
                    (15, "patch.object(..., 'User')"),
                    (16, "monkeypatch.setattr(..., 'User')"),
                )
            ],
            **ARGS,
        )

    def test_a_local_function_named_getattr_is_not_reported(self) -> None:
        source = """
            from shop import models

            def getattr(obj, name):
                return name

            a = getattr(models, "User")
            """
        self.check(
            source,
            source,
            context_override=in_module("shop.views", "shop/views.py"),
            expected_warnings=[],
            **ARGS,
        )

    def test_a_global_statement_follows_the_rename(self) -> None:
        # Left as "global User", the function's "Account = ..." would make a local.
        self.check(
            """
            class User: ...

            def reset():
                global User
                User = None
            """,
            """
            class Account: ...

            def reset():
                global Account
                Account = None
            """,
            context_override=in_module("shop.models", "shop/models.py"),
            **ARGS,
        )

    def test_a_name_that_only_a_star_import_binds_is_renamed(self) -> None:
        self.check(
            """
            from shop.models import *

            def make():
                obj.User = 1
                return User()
            """,
            """
            from shop.models import *

            def make():
                obj.User = 1
                return Account()
            """,
            context_override=in_module("app", "app.py"),
            **ARGS,
        )

    def test_a_name_two_star_imports_may_bind_fails_the_file(self) -> None:
        # left as written it would name nothing once the class is renamed: NameError
        source = """
            from auth.models import *
            from shop.models import *

            x = User()
            """
        with pytest.raises(NameTaken, match="line 4: 'User' may come from the star import of"):
            self.assertCodemod(source, source, context_override=in_module("app", "app.py"), **ARGS)

    def test_the_new_name_read_through_another_star_import_fails_the_file(self) -> None:
        # after the rename the later star import binds Account over auth's own
        source = """
            from auth.models import *
            from shop.models import *

            x = Account()
            """
        with pytest.raises(NameTaken, match="line 4: 'Account' is read here and nothing"):
            self.assertCodemod(source, source, context_override=in_module("app", "app.py"), **ARGS)


def project(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


class TestLookupsByName(ShimCodemodTest):
    TRANSFORM = RenameSymbolCommand

    def test_a_lookup_by_name_is_reported_not_rewritten(self) -> None:
        # A model named by a string (Django), the module's namespace by key: both still look
        # for "User" after the rename, and no rename can tell that they mean the class.
        self.check(
            """
            class User: ...

            class Order:
                owner = ForeignKey("User")
                seller = ForeignKey("shop.User")
                other = ForeignKey("crm.Customer")

            cls = globals()["User"]
            __all__ = ["User"]
            """,
            """
            class Account: ...

            class Order:
                owner = ForeignKey("User")
                seller = ForeignKey("shop.User")
                other = ForeignKey("crm.Customer")

            cls = globals()["User"]
            __all__ = ["Account"]
            """,
            context_override=in_module("shop.models", "shop/models.py"),
            expected_warnings=[
                f"line {n}: the string {text!r} may name shop.models.User (a lookup by name);"
                " not rewritten"
                for n, text in ((4, "User"), (5, "shop.User"), (8, "User"))
            ],
            **ARGS,
        )

    def test_a_bare_name_is_not_reported_where_the_file_has_another_user(self) -> None:
        source = """
            from crm.models import User

            data = {"User": User}
            owner = ForeignKey("auth.User")
            """
        self.check(
            source,
            source,
            context_override=in_module("shop.views", "shop/views.py"),
            expected_warnings=[
                "line 4: the string 'auth.User' may name shop.models.User (a lookup by name);"
                " not rewritten"
            ],
            **ARGS,
        )


class TestRenameRefusesATakenName(ShimCodemodTest):
    TRANSFORM = RenameSymbolCommand

    def test_a_local_of_the_new_name_fails_the_file(self) -> None:
        source = """
            from shop.models import User

            def f():
                Account = "the local"
                return User(), Account
            """
        with pytest.raises(
            NameTaken,
            match="line 5: 'Account' already names something else there, bound at line 4:"
            ' `Account = "the local"`;',
        ):
            self.assertCodemod(source, source, **ARGS)

    def test_a_name_also_bound_by_a_fallback_import_keeps_its_local_name(self) -> None:
        # "fast" may provide User: renaming the references would be a NameError there.
        self.check(
            """
            try:
                from fast import User
            except ImportError:
                from shop.models import User

            def run():
                return User.kind
            """,
            """
            try:
                from fast import User
            except ImportError:
                from shop.models import Account as User

            def run():
                return User.kind
            """,
            **ARGS,
        )

    def test_a_local_class_of_the_same_name_is_another_binding_and_stays(self) -> None:
        self.check(
            """
            from shop.models import User

            if __debug__:
                class User:
                    kind = "local"

            x = User()
            """,
            """
            from shop.models import Account as User

            if __debug__:
                class User:
                    kind = "local"

            x = User()
            """,
            **ARGS,
        )

    def test_a_symbol_bound_twice_in_its_own_module_fails_the_file(self) -> None:
        source = """
            try:
                from _speedups import User
            except ImportError:
                class User: ...
            """
        with pytest.raises(NameTaken, match="line 2: 'User' is bound more than once"):
            self.assertCodemod(
                source, source, context_override=in_module("shop.models", "shop/models.py"), **ARGS
            )

    def test_its_module_reached_through_a_variable_is_reported(self) -> None:
        source = """
            import importlib
            import shop.models

            m2 = shop.models
            x = m2.User.kind
            y = importlib.import_module("shop.models").User
            """
        self.check(
            source,
            source,
            expected_warnings=[
                "line 4: shop.models is reached through a variable; its User is not rewritten",
                "line 6: shop.models is reached through importlib; its User is not rewritten",
            ],
            **ARGS,
        )

    def test_an_import_of_the_new_name_fails_the_file(self) -> None:
        source = "from billing import Account\nfrom shop.models import User\n"
        with pytest.raises(NameTaken, match="'Account' already names something"):
            self.assertCodemod(source, source, **ARGS)


class TestRenameThroughReexports(ShimCodemodTest):
    TRANSFORM = RenameSymbolCommand

    def setUp(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.root = Path(self.tmp.name)
        project(
            self.root,
            {
                "shop/__init__.py": "from .models import User\n__all__ = ['User']\n",
                "shop/models.py": "class User: ...\n",
                "pkg/__init__.py": "from .core import *\n",
                "pkg/core.py": "__all__ = ['first']\ndef first(): ...\n",
            },
        )

    def tearDown(self) -> None:
        self.tmp.cleanup()

    def ctx(self, module: str, rel: str) -> CodemodContext:
        return in_module(module, str(self.root / rel))

    def test_the_package_init_and_its_importers_follow_the_rename(self) -> None:
        self.check(
            "from .models import User\n__all__ = ['User']\n",
            "from .models import Account\n__all__ = ['Account']\n",
            context_override=self.ctx("shop", "shop/__init__.py"),
            **ARGS,
        )
        self.check(
            """
            import shop
            from shop import User

            a = shop.User()
            b = User()
            """,
            """
            import shop
            from shop import Account

            a = shop.Account()
            b = Account()
            """,
            context_override=self.ctx("app.views", "app/views.py"),
            **ARGS,
        )

    def test_an_explicit_reexport_as_itself_exports_the_new_name(self) -> None:
        # ``User as User`` (stubs, typed packages): its readers become shop.Account, so
        # the name it exports must too (it exported User, and they failed to import)
        self.check(
            "from .models import User as User\n",
            "from .models import Account as Account\n",
            context_override=self.ctx("shop", "shop/__init__.py"),
            **ARGS,
        )
        self.check(
            "from shop.models import User as User\n\nx = User()\n",
            "from shop.models import Account as Account\n\nx = Account()\n",
            context_override=self.ctx("app.views", "app/views.py"),
            **ARGS,
        )

    def test_an_explicit_reexport_bound_twice_keeps_the_name_it_exports(self) -> None:
        # behind a fallback the package's User may be another: its readers are not renamed
        self.check(
            "try:\n    from .models import User as User\nexcept ImportError:\n    User = None\n",
            "try:\n    from .models import Account as User\nexcept ImportError:\n    User = None\n",
            context_override=self.ctx("shop", "shop/__init__.py"),
            **ARGS,
        )

    def test_a_reexport_through_an_ordinary_module_is_followed(self) -> None:
        project(self.root, {"shop/compat.py": "from shop.models import User\n"})
        self.check(
            "from shop.models import User\n",
            "from shop.models import Account\n",
            context_override=self.ctx("shop.compat", "shop/compat.py"),
            **ARGS,
        )
        self.check(
            """
            import shop.compat
            from shop.compat import User

            x = User(), shop.compat.User()
            """,
            """
            import shop.compat
            from shop.compat import Account

            x = Account(), shop.compat.Account()
            """,
            context_override=self.ctx("app.run", "app/run.py"),
            **ARGS,
        )

    def test_a_compat_module_with_a_fallback_keeps_the_name_it_exports(self) -> None:
        compat = """
            try:
                from fast import User
            except ImportError:
                from shop.models import User
            """
        project(self.root, {"shop/compat.py": compat})
        self.check(
            compat,
            compat.replace("shop.models import User", "shop.models import Account as User"),
            context_override=self.ctx("shop.compat", "shop/compat.py"),
            **ARGS,
        )
        source = "from shop.compat import User\nx = User()\n"
        self.check(source, source, context_override=self.ctx("app.run", "app/run.py"), **ARGS)

    def test_a_name_below_a_class_is_refused(self) -> None:
        with pytest.raises(ValueError, match=r"shop\.models\.User is not a module"):
            RenameSymbolCommand(
                self.ctx("app.run", "app/run.py"), old_name="shop.models.User.save", new_name="keep"
            )

    def test_a_star_reexport_is_followed(self) -> None:
        self.check(
            "import pkg\nfrom pkg import first\nx = pkg.first(), first()\n",
            "import pkg\nfrom pkg import second\nx = pkg.second(), second()\n",
            context_override=self.ctx("app.main", "app/main.py"),
            old_name="pkg.core.first",
            new_name="second",
        )

    def test_a_star_reexport_through_an_ordinary_module_is_followed(self) -> None:
        project(self.root, {"pkg/star.py": "from pkg.core import *\n"})
        self.check(
            "import pkg.star\nfrom pkg.star import first\nx = first(), pkg.star.first()\n",
            "import pkg.star\nfrom pkg.star import second\nx = second(), pkg.star.second()\n",
            context_override=self.ctx("app.main", "app/main.py"),
            old_name="pkg.core.first",
            new_name="second",
        )

    def test_a_star_import_of_a_star_reexport_is_followed(self) -> None:
        project(self.root, {"pkg/star.py": "from pkg.core import *\n"})
        self.check(
            "from pkg.star import *\nx = first()\n",
            "from pkg.star import *\nx = second()\n",
            context_override=self.ctx("app.main", "app/main.py"),
            old_name="pkg.core.first",
            new_name="second",
        )

    def test_a_star_reexport_that_may_bind_the_name_otherwise_fails_the_file(self) -> None:
        project(self.root, {"pkg/star.py": "from pkg.core import *\nfrom other import *\n"})
        source = "from pkg.star import first\nx = first()\n"
        with pytest.raises(NameTaken, match=r"pkg\.star star-imports pkg\.core but 'first' may"):
            self.assertCodemod(
                source,
                source,
                context_override=self.ctx("app.main", "app/main.py"),
                old_name="pkg.core.first",
                new_name="second",
            )

    def test_an_ordinary_reexport_that_binds_the_new_name_fails_the_file(self) -> None:
        project(self.root, {"pkg/star.py": "from pkg.core import *\nsecond = 2\n"})
        source = "from pkg.star import first\nx = first()\n"
        with pytest.raises(NameTaken, match=r"already binds 'second' \(pkg/star\.py line 2\)"):
            self.assertCodemod(
                source,
                source,
                context_override=self.ctx("app.main", "app/main.py"),
                old_name="pkg.core.first",
                new_name="second",
            )

    def test_a_package_that_star_reexports_and_binds_the_new_name_is_refused(self) -> None:
        project(self.root, {"pkg/__init__.py": "from .core import *\nsecond = 1\n"})
        with pytest.raises(ValueError, match=r"'second' is taken: pkg/__init__\.py line 2"):
            RenameSymbolCommand.check_project(
                self.root, old_name="pkg.core.first", new_name="second"
            )

    def test_a_private_new_name_through_a_star_reexport_without_all_is_refused(self) -> None:
        project(self.root, {"pkg/core.py": "def first(): ...\n"})
        with pytest.raises(ValueError, match=r"'_head' is private: pkg re-exports pkg\.core"):
            RenameSymbolCommand.check_project(
                self.root, old_name="pkg.core.first", new_name="_head"
            )
        project(self.root, {"pkg/star2.py": "from pkg.core import *\n"})
        source = "from pkg.star2 import *\nx = first()\n"
        with pytest.raises(NameTaken, match=r"does not bring a private name like '_head'"):
            self.assertCodemod(
                source,
                source,
                context_override=self.ctx("app.main", "app/main.py"),
                old_name="pkg.core.first",
                new_name="_head",
            )

    def test_a_private_new_name_is_fine_where_the_module_has_all(self) -> None:
        RenameSymbolCommand.check_project(self.root, old_name="pkg.core.first", new_name="_head")

    def test_a_new_name_that_is_a_submodule_of_the_package_is_refused(self) -> None:
        project(self.root, {"pkg/tools/__init__.py": ""})
        for new_name, shown in (("core", r"pkg/core\.py"), ("tools", r"pkg/tools")):
            with pytest.raises(ValueError, match=rf"pkg\.{new_name} is a submodule \({shown}"):
                RenameSymbolCommand.check_project(
                    self.root, old_name="pkg.core.first", new_name=new_name
                )

    def test_an_old_name_that_is_also_a_submodule_of_a_reexporting_package_is_refused(
        self,
    ) -> None:
        # pkg.first is the function, or pkg/first.py once imported: importers of the module
        # were renamed to the function's new name
        project(self.root, {"pkg/first.py": "VALUE = 1\n"})
        with pytest.raises(ValueError, match=r"pkg\.first is also a submodule \(pkg/first\.py\)"):
            RenameSymbolCommand.check_project(self.root, old_name="pkg.core.first", new_name="one")

    def test_a_star_importer_that_binds_the_new_name_fails_the_file(self) -> None:
        source = "def head(x):\n    return 1\nfrom pkg import *\nprint(head(0))\n"
        with pytest.raises(NameTaken, match=r"line 1: 'head' is bound here, and the star import"):
            self.assertCodemod(
                source,
                source,
                context_override=self.ctx("app.main", "app/main.py"),
                old_name="pkg.core.first",
                new_name="head",
            )
        assert b"import *" in RenameSymbolCommand.prefilter(old_name="pkg.core.first")[1].encode()

    def test_old_name_given_as_its_reexport_is_refused_with_the_definition(self) -> None:
        for old_name in ("pkg.first", "shop.User"):
            defined = {"pkg.first": r"pkg\.core\.first", "shop.User": r"shop\.models\.User"}
            with pytest.raises(ValueError, match=rf"is a re-export of {defined[old_name]}"):
                RenameSymbolCommand.check_project(self.root, old_name=old_name, new_name="x")
        RenameSymbolCommand.check_project(self.root, old_name="pkg.core.first", new_name="x")

    def test_all_built_in_steps_in_the_defining_module_is_refused(self) -> None:
        for step in (
            "__all__ += ['first']",
            "__all__.extend(['first'])",
            "__all__.append('first')",
            "__all__ = __all__ + ['first']",
        ):
            project(self.root, {"pkg/core.py": f"__all__ = []\n{step}\ndef first(): ...\n"})
            with pytest.raises(ValueError, match=r"pkg/core\.py line 2 builds __all__ in steps"):
                RenameSymbolCommand.check_project(
                    self.root, old_name="pkg.core.first", new_name="head"
                )

    def test_a_module_alias_bound_by_a_fallback_import_fails_the_file(self) -> None:
        source = """
            try:
                import fast as impl
            except ImportError:
                import pkg.core as impl

            x = impl.first()
            """
        with pytest.raises(NameTaken, match=r"line 6: impl\.first may also be fast\.first"):
            self.assertCodemod(
                source,
                source,
                context_override=self.ctx("app.main", "app/main.py"),
                old_name="pkg.core.first",
                new_name="second",
            )

    def test_dotted_strings_are_rewritten_and_mentions_reported(self) -> None:
        self.check(
            '''
            from unittest import mock

            def build() -> "shop.models.User": ...

            @mock.patch("shop.models.User.save")
            @mock.patch("shop.User")
            def test(a, b):
                """
                >>> User()
                """
                log("see shop.models.User for details")

            PLUGINS = ["user = shop.models:User", "shop : User.save", "shop.models:Users"]
            with mock.patch("shop.models" ".User"):
                pass
            FIELD = ("shop.models.User" "Profile")
            ''',
            '''
            from unittest import mock

            def build() -> "shop.models.Account": ...

            @mock.patch("shop.models.Account.save")
            @mock.patch("shop.Account")
            def test(a, b):
                """
                >>> User()
                """
                log("see shop.models.User for details")

            PLUGINS = ["user = shop.models:Account", "shop : Account.save", "shop.models:Users"]
            with mock.patch("shop.models" ".User"):
                pass
            FIELD = ("shop.models.User" "Profile")
            ''',
            context_override=self.ctx("tests.test_x", "tests/test_x.py"),
            expected_warnings=[
                "line 8: a string mentions shop.models.User; not rewritten",
                "line 11: a string mentions shop.models.User; not rewritten",
                "line 14: a string mentions shop.models.User; not rewritten",
                "line 16: a string mentions shop.models.User; not rewritten",
            ],
            **ARGS,
        )


class TestRenameThroughReexportsInASrcLayout(ShimCodemodTest):
    TRANSFORM = RenameSymbolCommand

    def setUp(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.root = Path(self.tmp.name)
        project(
            self.root,
            {
                "pyproject.toml": "[project]\nname = 'shop'\n",
                "src/shop/__init__.py": "from .models import User\n",
                "src/shop/models.py": "class User: ...\n",
            },
        )

    def tearDown(self) -> None:
        self.tmp.cleanup()

    def test_files_outside_src_follow_the_package_reexport(self) -> None:
        for module, rel in (("tests.test_a", "tests/test_a.py"), ("use_top", "use_top.py")):
            with self.subTest(rel):
                self.check(
                    "import shop\nfrom shop import User\nx = shop.User(), User()\n",
                    "import shop\nfrom shop import Account\nx = shop.Account(), Account()\n",
                    context_override=in_module(module, str(self.root / rel)),
                    **ARGS,
                )


def test_a_run_must_include_the_file_defining_the_symbol(tmp_path: Path) -> None:
    (tmp_path / "src/shop").mkdir(parents=True)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'shop'\n")
    (tmp_path / "src/shop/__init__.py").write_text("")
    (tmp_path / "src/shop/models.py").write_text("class User: ...\n")
    assert RenameSymbolCommand.must_include(tmp_path, old_name="shop.models.User") == {
        tmp_path / "src/shop/models.py": (
            "defines shop.models.User, which this rename changes with its importers"
        )
    }
    # a module the project does not have (a library's): nothing to include
    assert RenameSymbolCommand.must_include(tmp_path, old_name="other.mod.User") == {}


def test_a_run_must_include_every_file_that_may_import_the_symbol(tmp_path: Path) -> None:
    (tmp_path / "shop/sub").mkdir(parents=True)
    files = {
        "shop/__init__.py": "",
        "shop/models.py": "class User: ...\n",
        "shop/sub/__init__.py": "",
        "shop/sub/rel.py": "from ..models import User\n",
        "by_module.py": "import shop.models\nshop.models.User()\n",
        "by_package.py": "import shop\nshop.models.User\n",
        "by_parent.py": "from shop import models\nmodels.User\n",
        "other_module.py": "from shop import api\nUser = 1\n",
        "no_import.py": "User = 1\n",
        "no_name.py": "import shop.models\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    found = RenameSymbolCommand.must_include(tmp_path, old_name="shop.models.User")
    assert {p.relative_to(tmp_path).as_posix() for p in found} == {
        "shop/models.py",
        "shop/sub/rel.py",
        "by_module.py",
        "by_package.py",
        "by_parent.py",
    }
    assert found[tmp_path / "by_parent.py"] == (
        "imports shop.models or a package above it and names User, so this rename may change it"
    )
