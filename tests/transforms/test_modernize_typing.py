"""modernize_typing: before/after, and what it must leave alone."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from libcst.codemod import CodemodContext
from shim_transforms.modernize_typing import ModernizeTypingCommand
from support import ShimCodemodTest


class TestModernizeTyping(ShimCodemodTest):
    TRANSFORM = ModernizeTypingCommand

    def check(self, before: str, after: str, **args: Any) -> None:
        # these cases also test where the future import (asked for) goes and where not
        super().check(before, after, **{"add_future_import": True, **args})

    def test_optional_union_and_generics_for_310(self) -> None:
        self.check(
            """
            from typing import Dict, List, Optional, Union
            import typing as t

            def f(a: Optional[int], b: Union[str, bytes], c: List[Dict[str, t.Optional[int]]]):
                pass
            """,
            """
            from __future__ import annotations

            def f(a: int | None, b: str | bytes, c: list[dict[str, int | None]]):
                pass
            """,
        )

    def test_older_targets_get_only_what_runs_there(self) -> None:
        self.check(
            """
            from typing import List, Optional

            def f(a: Optional[List[int]]) -> None:
                pass
            """,
            """
            from __future__ import annotations
            from typing import Optional

            def f(a: Optional[list[int]]) -> None:
                pass
            """,
            target_version="3.9",
        )

    def test_forward_references_and_lookalikes_are_left(self) -> None:
        self.check(
            """
            from typing import Optional
            from mylib import List

            x: Optional["Node"] = None
            y: List[int] = []
            """,
            """
            from __future__ import annotations
            from typing import Optional
            from mylib import List

            x: Optional["Node"] = None
            y: List[int] = []
            """,
        )

    def test_run_time_expressions_are_left_only_annotations_change(self) -> None:
        # typing.Optional["Node"] at run time is fine; "Node" | None raises TypeError.
        self.check(
            """
            import typing
            from typing import List, Optional

            def converter(t):
                return typing.Optional[t]

            Alias = Optional[int]
            cast(List[int], x)

            def f(a: Optional[int]) -> List[int]:
                pass
            """,
            """
            from __future__ import annotations
            import typing
            from typing import List, Optional

            def converter(t):
                return typing.Optional[t]

            Alias = Optional[int]
            cast(List[int], x)

            def f(a: int | None) -> list[int]:
                pass
            """,
        )

    def test_a_builtin_name_shadowed_where_the_annotation_is_evaluated_is_not_used(self) -> None:
        # In Record's body, list and type name the method and the attribute, not the builtins.
        self.check(
            """
            from typing import Dict, List, Type

            class Record:
                type: str = "row"

                def list(self) -> List[int]:
                    pass

                def kind(self, t: Type[int]) -> Dict[str, int]:
                    pass

            def f(a: List[int], b: Type[int]) -> None:
                pass
            """,
            """
            from __future__ import annotations
            from typing import List, Type

            class Record:
                type: str = "row"

                def list(self) -> List[int]:
                    pass

                def kind(self, t: Type[int]) -> dict[str, int]:
                    pass

            def f(a: list[int], b: type[int]) -> None:
                pass
            """,
        )

    def test_stubs_get_no_future_import(self) -> None:
        self.assertCodemod(
            "from typing import Optional\ndef f(a: Optional[int]) -> None: ...\n",
            "def f(a: int | None) -> None: ...\n",
            context_override=CodemodContext(filename="pkg/mod.pyi", full_module_name="pkg.mod"),
            add_future_import=True,
        )

    def test_the_future_import_only_when_asked(self) -> None:
        # it turns every annotation into a string: code reading __annotations__ or
        # dataclasses.fields() directly would see "int" where it saw int
        self.assertCodemod(
            "from typing import List\n\ndef f(a: List[int], b: int) -> None: ...\n",
            "def f(a: list[int], b: int) -> None: ...\n",
        )

    def test_files_without_annotations_are_untouched(self) -> None:
        self.check("x = 1\n", "x = 1\n")

    def test_a_union_of_none_with_none_is_left(self) -> None:
        # None | None raises TypeError where annotations are evaluated; Optional[None] does not.
        self.check(
            """
            from typing import Optional, Union

            def f(a: Optional[None], b: Union[None, None, int], c: Union[None, int]) -> None:
                pass
            """,
            """
            from __future__ import annotations
            from typing import Optional, Union

            def f(a: Optional[None], b: Union[None, None, int], c: None | int) -> None:
                pass
            """,
        )

    def test_no_future_import_where_an_annotation_reads_a_local_name(self) -> None:
        # Annotations as strings are resolved in the module's globals (get_type_hints,
        # singledispatch, pydantic): a local or class-level name would no longer be found.
        for source, line, name in (
            (
                """
                def make():
                    class Local: ...

                    def g(x: Local) -> None:
                        pass
                """,
                4,
                "Local",
            ),
            (
                """
                class A:
                    Inner = int

                    def m(self, x: Inner) -> None:
                        pass
                """,
                4,
                "Inner",
            ),
        ):
            with self.subTest(name):
                self.check(
                    source,
                    source,
                    expected_warnings=[
                        f"line {line}: 'from __future__ import annotations' not added: this"
                        f" annotation reads {name!r}, which is not a module-level name, so code"
                        " that evaluates annotations (typing.get_type_hints, dataclasses,"
                        " pydantic) would no longer find it"
                    ],
                )

    def test_global_names_in_methods_and_nested_functions_allow_the_future_import(self) -> None:
        self.check(
            """
            import models

            class A(models.Model):
                name = models.CharField()

                def m(self, x: models.Model, y: int) -> list[A]:
                    def inner(z: A) -> None:
                        pass
            """,
            """
            from __future__ import annotations
            import models

            class A(models.Model):
                name = models.CharField()

                def m(self, x: models.Model, y: int) -> list[A]:
                    def inner(z: A) -> None:
                        pass
            """,
        )

    def test_no_future_import_where_an_annotation_calls(self) -> None:
        # the future import would stop the call from running when the function is defined
        self.check(
            """
            def f(a: make_type(), b: int) -> None:
                pass

            def g():
                x: make_type() = 1
            """,
            """
            def f(a: make_type(), b: int) -> None:
                pass

            def g():
                x: make_type() = 1
            """,
            expected_warnings=[
                "line 1: 'from __future__ import annotations' not added: this annotation calls,"
                " and would no longer run when it is defined"
            ],
        )

    def test_annotations_that_are_never_evaluated_do_not_block_the_future_import(self) -> None:
        # a local variable's annotation is never evaluated, with or without the import
        self.check(
            """
            def f(a: int) -> None:
                class Local: ...
                x: Local = Local()
                y: make() = 1
            """,
            """
            from __future__ import annotations

            def f(a: int) -> None:
                class Local: ...
                x: Local = Local()
                y: make() = 1
            """,
        )

    def test_typing_names_a_package_init_may_re_export_stay_imported(self) -> None:
        self.assertCodemod(
            """
            from typing import List, Optional

            def f(a: Optional[int]) -> List[int]: ...
            """,
            """
            from __future__ import annotations
            from typing import List, Optional

            def f(a: int | None) -> list[int]: ...
            """,
            context_override=CodemodContext(filename="pkg/__init__.py", full_module_name="pkg"),
            add_future_import=True,
        )

    def test_no_future_import_below_37_where_it_does_not_exist(self) -> None:
        for version in ("3.6", "2.7"):
            with self.subTest(version):
                self.check(
                    "from typing import List\n\ndef f(a: List[int]) -> None: ...\n",
                    "from typing import List\n\ndef f(a: List[int]) -> None: ...\n",
                    target_version=version,
                )

    def test_a_fallback_import_in_a_try_stays_as_written(self) -> None:
        # removing it would leave "try: pass", the fallback dead code
        self.check(
            """
            try:
                from typing import List
            except ImportError:
                List = list

            def f(a: List[int]) -> None: ...
            """,
            """
            from __future__ import annotations

            try:
                from typing import List
            except ImportError:
                List = list

            def f(a: list[int]) -> None: ...
            """,
            target_version="3.9",
        )


class TestTypingNamesOthersImport(ShimCodemodTest):
    TRANSFORM = ModernizeTypingCommand

    def check(self, before: str, after: str, **args: Any) -> None:
        # these cases also test where the future import (asked for) goes and where not
        super().check(before, after, **{"add_future_import": True, **args})

    SOURCE = """
        from typing import List, Optional

        def f(a: Optional[int]) -> List[int]: ...
        """

    def project(self, files: dict[str, str]) -> CodemodContext:
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        root = Path(self.tmp.name)
        (root / "pyproject.toml").write_text("[project]\nname = 'x'\n")
        for name, text in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
        return CodemodContext(filename=str(root / "a.py"), full_module_name="a")

    def test_typing_names_another_module_imports_from_this_one_stay(self) -> None:
        for importer in ("from a import Optional, List\n", "import a\nx = a.List\n"):
            with self.subTest(importer):
                context = self.project({"a.py": self.SOURCE, "tests/test_b.py": importer})
                self.check(
                    self.SOURCE,
                    """
                    from __future__ import annotations
                    from typing import List, Optional

                    def f(a: int | None) -> list[int]: ...
                    """,
                    context_override=context,
                )

    def test_a_module_nobody_imports_loses_its_unused_typing_imports(self) -> None:
        context = self.project({"a.py": self.SOURCE, "b.py": "import os\n"})
        self.check(
            self.SOURCE,
            """
            from __future__ import annotations

            def f(a: int | None) -> list[int]: ...
            """,
            context_override=context,
        )

    def test_importers_in_a_src_layout_without_a_project_file_keep_the_imports(self) -> None:
        # no pyproject.toml, setup.py or .git: the project is the folder above src/
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        root = Path(self.tmp.name)
        for name, text in {
            "src/pkg/__init__.py": "",
            "src/pkg/a.py": self.SOURCE,
            "tests/test_b.py": "from pkg.a import Optional, List\n",
        }.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
        self.check(
            self.SOURCE,
            """
            from __future__ import annotations
            from typing import List, Optional

            def f(a: int | None) -> list[int]: ...
            """,
            context_override=CodemodContext(
                filename=str(root / "src" / "pkg" / "a.py"), full_module_name="pkg.a"
            ),
        )

    def test_a_module_others_reach_through_an_aliased_import_module_keeps_the_imports(
        self,
    ) -> None:
        importer = 'from importlib import import_module as im\nL = im("a").List\n'
        context = self.project({"a.py": self.SOURCE, "tests/test_b.py": importer})
        self.check(
            self.SOURCE,
            """
            from __future__ import annotations
            from typing import List, Optional

            def f(a: int | None) -> list[int]: ...
            """,
            context_override=context,
        )

    def test_a_module_others_reach_through_importlib_keeps_the_imports(self) -> None:
        importer = 'import importlib\nL = importlib.import_module("a").List\n'
        context = self.project({"a.py": self.SOURCE, "tests/test_b.py": importer})
        self.check(
            self.SOURCE,
            """
            from __future__ import annotations
            from typing import List, Optional

            def f(a: int | None) -> list[int]: ...
            """,
            context_override=context,
        )
