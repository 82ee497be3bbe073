from __future__ import annotations

from libcst.codemod import CodemodContext
from support import ShimCodemodTest

from transforms.rename_symbol import RenameSymbolCommand

ARGS = {"old_name": "shop.models.User", "new_name": "Account"}


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
