from __future__ import annotations

import tempfile
from pathlib import Path
from typing import ClassVar

import pytest
from libcst.codemod import CodemodContext
from shim_transforms.migrate_call import MigrateCallCommand
from support import ShimCodemodTest


class TestMigrateCall(ShimCodemodTest):
    TRANSFORM = MigrateCallCommand

    def test_rename_function_and_arguments_everywhere_it_is_referenced(self) -> None:
        self.check(
            """
            from net.client import fetch
            from net import client
            from net.client import fetch as get

            a = fetch("u", {"q": 1}, verify=False, retries=3)
            b = client.fetch("u")
            c = get(url="u", params=p)
            other.fetch("u", {"q": 1})
            """,
            """
            from net.client import request
            from net import client
            from net.client import request as get

            a = request(url="u", query={"q": 1}, check_tls=False, timeout=30)
            b = client.request(url="u", timeout=30)
            c = get(url="u", query=p, timeout=30)
            other.fetch("u", {"q": 1})
            """,
            old_name="net.client.fetch",
            new_name="request",
            positional="url,params",
            rename_keywords="params=query,verify=check_tls",
            drop_keywords="retries",
            add_keywords="timeout=30",
        )

    def test_reorder_positional_parameters(self) -> None:
        self.check(
            """
            from geo import point

            p = point(1, 2)
            q = point(y=4, x=3)
            """,
            """
            from geo import make_point

            p = make_point(2, 1)
            q = make_point(4, 3)
            """,
            old_name="geo.point",
            new_name="make_point",
            positional="x,y",
            new_positional="y,x",
        )

    def test_an_argument_that_would_change_position_is_passed_by_keyword(self) -> None:
        # get(query, url, ...): "u1" alone is the url, not the query; a() and b() keep their order
        self.check(
            """
            from net.client import fetch

            a = fetch("u1")
            b = fetch(a(), b())
            c = fetch(u, p)
            d = fetch("u", "p", False)
            """,
            """
            from net.client import get

            a = get(url="u1")
            b = get(url=a(), query=b())
            c = get(p, u)
            d = get("p", "u", verify=False)
            """,
            old_name="net.client.fetch",
            new_name="get",
            positional="url,params,verify",
            rename_keywords="params=query",
            new_positional="query,url",
        )

    def test_positional_arguments_without_names_are_not_reordered(self) -> None:
        source = "from geo import point\np = point(1, y=2)\n"
        self.check(
            source,
            source,
            expected_skip=True,
            old_name="geo.point",
            new_name="make_point",
            new_positional="y,x",
        )

    def test_the_function_used_as_a_value_is_reported(self) -> None:
        source = """
            from net.client import fetch

            f = fetch
            f("u5")
            """
        self.check(
            source,
            source,
            expected_warnings=[
                "line 3: net.client.fetch used as a value, not called: "
                "calls through it are not migrated"
            ],
            old_name="net.client.fetch",
            positional="url,params",
            rename_keywords="params=query",
        )

    def test_the_function_used_as_a_value_leaves_its_file_when_renamed(self) -> None:
        # f = get, then f("u5") would pass "u5" as the new first parameter, query
        source = """
            from net.client import fetch

            f = fetch
            f("u5")
            """
        self.check(
            source,
            source,
            expected_skip=True,
            old_name="net.client.fetch",
            new_name="get",
            positional="url,params",
            rename_keywords="params=query",
            new_positional="query,url",
        )

    def test_calls_needing_no_change_keep_their_formatting(self) -> None:
        self.check(
            "from geo import point\np = point(x=1,\n          y=2)\n",
            "from geo import point\np = point(x=1,\n          y=2)\n",
            old_name="geo.point",
            drop_keywords="z",
        )

    def test_star_arguments_are_left_with_a_warning(self) -> None:
        self.check(
            "from geo import point\np = point(*xy)\n",
            "from geo import point\np = point(*xy)\n",
            expected_warnings=[
                "line 2: a call to geo.point left as written: it passes *args or **kwargs"
            ],
            old_name="geo.point",
            drop_keywords="z",
        )

    def test_a_call_that_cannot_be_migrated_leaves_its_file_unchanged_when_renaming(
        self,
    ) -> None:
        source = """
            from net.client import fetch

            a = fetch(u, **opts)
            b = fetch(u, p)
            """
        self.check(
            source,
            source,
            expected_skip=True,
            old_name="net.client.fetch",
            new_name="get",
            positional="url,params",
            rename_keywords="params=query",
        )

    def test_a_pure_rename_keeps_star_arguments_as_they_are(self) -> None:
        self.check(
            "from net.client import fetch\na = fetch(u, **opts)\n",
            "from net.client import get\na = get(u, **opts)\n",
            old_name="net.client.fetch",
            new_name="get",
        )

    def test_calls_through_relative_imports_are_migrated(self) -> None:
        self.assertCodemod(
            """
            from .client import fetch
            from . import client

            a = fetch("u", {"q": 1})
            b = client.fetch("u")
            """,
            """
            from .client import request
            from . import client

            a = request(url="u", query={"q": 1})
            b = client.request(url="u")
            """,
            old_name="net.client.fetch",
            new_name="request",
            positional="url,params",
            rename_keywords="params=query",
            context_override=CodemodContext(filename="net/api.py", full_module_name="net.api"),
        )

    def test_calls_in_the_functions_own_module_are_migrated(self) -> None:
        # the definitions stay; a value (``f = fetch``) keeps the old function, which
        # still exists here, and is listed
        context = CodemodContext(filename="net/client.py", full_module_name="net.client")
        self.check(
            """
            def fetch(url, params=None):
                return params

            def request(url, query=None):
                return query

            def use(fetch_all):
                def local(fetch):
                    return fetch("x", params=2)
                return fetch("u", params=1), local

            f = fetch
            """,
            """
            def fetch(url, params=None):
                return params

            def request(url, query=None):
                return query

            def use(fetch_all):
                def local(fetch):
                    return fetch("x", params=2)
                return request("u", query=1), local

            f = fetch
            """,
            old_name="net.client.fetch",
            new_name="request",
            rename_keywords="params=query",
            context_override=context,
        )
        assert context.warnings == [
            "line 12: net.client.fetch used as a value, not called: calls through it are not"
            " migrated"
        ]
        self.check(
            'def fetch(url, params=None):\n    return params\n\nfetch("u", params=1)\n',
            'def fetch(url, params=None):\n    return params\n\nfetch("u", query=1)\n',
            old_name="net.client.fetch",
            rename_keywords="params=query",
            context_override=CodemodContext(
                filename="net/client.py", full_module_name="net.client"
            ),
        )

    def test_the_call_of_a_calls_result_is_not_the_function(self) -> None:
        self.check(
            "from cachetools import cached\nwrapper = cached(cache)(func)\n",
            "from cachetools import cached\nwrapper = cached(cache=cache)(func)\n",
            old_name="cachetools.cached",
            positional="cache",
        )

    def test_comments_between_arguments_stay_where_the_arguments_stay(self) -> None:
        # each comma keeps its spacing and comment; one argument per line stays so
        self.check(
            """
            from geo import point

            p = point(
                1,  # x
                2,
            )
            q = point(x=1, y=g(  # inside a value: kept
                2))
            """,
            """
            from geo import point

            p = point(
                x=1,  # x
                z=2,
            )
            q = point(x=1, z=g(  # inside a value: kept
                2))
            """,
            old_name="geo.point",
            positional="x,y",
            rename_keywords="y=z",
        )

    def test_a_call_whose_commented_arguments_would_move_is_left(self) -> None:
        # dropping y moves z up: the comment after y's comma would describe z
        self.check(
            """
            from geo import point

            p = point(
                x=1,
                y=2,  # the height
                z=3,
            )
            """,
            """
            from geo import point

            p = point(
                x=1,
                y=2,  # the height
                z=3,
            )
            """,
            expected_warnings=[
                "line 3: a call to geo.point left as written: a comment between its arguments"
                " would describe another argument"
            ],
            old_name="geo.point",
            drop_keywords="y",
        )

    def test_an_added_argument_takes_no_comment_of_another(self) -> None:
        # the separator an added argument copies had a comment; the trailing comma too
        self.check(
            """
            from net import fetch

            fetch("d",
                  params=2,  # two
                  verify=True)
            fetch(
                url="e",
                # about verify
                verify=False,
            )
            fetch(
                url="f", params=3,
                verify=False,  # about verify
            )
            """,
            """
            from net import fetch

            fetch(url="d",
                  params=2,  # two
                  verify=True,
                  timeout=9)
            fetch(
                url="e",
                # about verify
                verify=False,
                timeout=9,
            )
            fetch(
                url="f", params=3,
                verify=False,  # about verify
                timeout=9,
            )
            """,
            old_name="net.fetch",
            positional="url,params,verify,timeout",
            add_keywords="timeout=9",
        )

    def test_a_multi_line_call_keeps_its_layout(self) -> None:
        self.check(
            """
            from net import fetch

            fetch(
                "u",
                params=1,
            )
            fetch("u",
                  params=2)
            fetch(
                "u",
            )
            """,
            """
            from net import fetch

            fetch(
                url="u",
                query=1,
                retries=2,
            )
            fetch(url="u",
                  query=2,
                  retries=2)
            fetch(
                url="u",
                retries=2,
            )
            """,
            old_name="net.fetch",
            positional="url",
            rename_keywords="params=query",
            add_keywords="retries=2",
        )

    def test_a_new_name_that_already_means_something_there_leaves_the_file(self) -> None:
        # get("u") would call the local string, or the parameter
        for source in (
            """
            from mylib.client import fetch

            get = "local"

            def run():
                return fetch("u"), get
            """,
            """
            from mylib.client import fetch

            def run(get=1):
                return fetch("u")
            """,
        ):
            self.check(
                source, source, expected_skip=True, old_name="mylib.client.fetch", new_name="get"
            )

    def test_a_keyword_to_add_is_not_added_where_positions_may_already_give_it(self) -> None:
        self.check(
            """
            from mod import fetch

            a = fetch(2, 5)
            b = fetch(url=2)
            """,
            """
            from mod import fetch

            a = fetch(2, 5)
            b = fetch(url=2, timeout=9)
            """,
            expected_warnings=[
                "line 3: a call to mod.fetch left as written: an argument to add may already be"
                " given by position (name them: 'positional')"
            ],
            old_name="mod.fetch",
            add_keywords="timeout=9",
        )

    def test_the_new_function_imported_already_is_no_conflict(self) -> None:
        self.check(
            """
            from mylib.client import fetch, get

            a = fetch("u"), get("v")
            """,
            """
            from mylib.client import get

            a = get("u"), get("v")
            """,
            old_name="mylib.client.fetch",
            new_name="get",
        )

    def test_an_argument_to_drop_that_runs_code_is_left(self) -> None:
        # dropping verify=check() would no longer call check()
        self.check(
            """
            from net.client import fetch

            a = fetch(u, verify=check())
            b = fetch(u, verify=False)
            c = fetch(u, verify=o.prop)
            d = fetch(u, verify=-o.prop)
            e = fetch(u, verify=(-1, "x", None, name))
            """,
            """
            from net.client import fetch

            a = fetch(u, verify=check())
            b = fetch(u)
            c = fetch(u, verify=o.prop)
            d = fetch(u, verify=-o.prop)
            e = fetch(u)
            """,
            expected_warnings=[
                f"line {n}: a call to net.client.fetch left as written: dropping verify would no"
                " longer evaluate its value"
                for n in (3, 5, 6)
            ],
            old_name="net.client.fetch",
            drop_keywords="verify",
        )

    def test_a_name_that_may_also_be_another_function_is_not_migrated(self) -> None:
        # if the import fails, fetch is the local fallback, which takes the old arguments
        source = """
            try:
                from net.client import fetch
            except ImportError:
                def fetch(url, params=None):
                    return None

            a = fetch(u, p)
            """
        self.check(
            source,
            source,
            expected_warnings=[
                "line 7: a call to net.client.fetch left as written: fetch may also be another"
                " function here"
            ],
            old_name="net.client.fetch",
            positional="url,params",
            rename_keywords="params=query",
        )
        self.check(
            source,
            source,
            expected_skip=True,
            old_name="net.client.fetch",
            new_name="get",
        )

    def test_a_call_a_star_import_may_bind_is_reported(self) -> None:
        source = "from net.client import *\n\na = fetch(u, p)\nb = fetch\n"
        self.check(
            source,
            source,
            expected_warnings=[
                "line 3: fetch may come from the star import of net.client: not migrated"
            ],
            old_name="net.client.fetch",
            positional="url,params",
            rename_keywords="params=query",
        )

    def test_bad_arguments_are_refused(self) -> None:
        with pytest.raises(ValueError, match="qualified"):
            MigrateCallCommand(CodemodContext(), old_name="fetch")
        with pytest.raises(ValueError, match="swap them back"):
            MigrateCallCommand(CodemodContext(), old_name="geo.point", new_positional="y,x")
        # a swap or a chain of keyword renames would be applied again by a second run
        for args in (
            {"rename_keywords": "x=y,y=x"},
            {"rename_keywords": "x=y,y=z"},
            {"rename_keywords": "x=y", "drop_keywords": "y"},
            {"rename_keywords": "y=z", "add_keywords": "y=30"},
        ):
            with pytest.raises(ValueError, match="would migrate them again"):
                MigrateCallCommand(CodemodContext(), old_name="geo.point", **args)


class TestMigrateThroughReexports(ShimCodemodTest):
    TRANSFORM = MigrateCallCommand
    ARGS: ClassVar[dict[str, str]] = {
        "old_name": "mylib.client.fetch",
        "new_name": "get",
        "positional": "url,params",
        "rename_keywords": "params=query",
    }

    def setUp(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.root = Path(self.tmp.name)
        for name, text in {
            "mylib/__init__.py": "from .client import fetch\n",
            "mylib/client.py": "def fetch(url, params=None): ...\ndef get(url, query=None): ...\n",
            "mylib/compat.py": "from mylib.client import fetch\n",
        }.items():
            (self.root / name).parent.mkdir(parents=True, exist_ok=True)
            (self.root / name).write_text(text)

    def tearDown(self) -> None:
        self.tmp.cleanup()

    def ctx(self, module: str, rel: str) -> CodemodContext:
        return CodemodContext(full_module_name=module, filename=str(self.root / rel))

    def test_a_new_name_the_module_does_not_define_is_refused(self) -> None:
        with pytest.raises(ValueError, match=r"'aid': mylib\.client \(mylib/client\.py\) does"):
            MigrateCallCommand.check_project(
                self.root, old_name="mylib.client.fetch", new_name="aid"
            )
        MigrateCallCommand.check_project(self.root, **self.ARGS)

    def test_an_all_star_imported_by_a_file_binding_the_new_name_is_refused(self) -> None:
        files = {
            "mylib/__init__.py": "from .client import *\n__all__ = ['fetch']\n",
            "app.py": "def get():\n    return 1\nfrom mylib import *\nprint(get())\n",
        }
        for name, text in files.items():
            (self.root / name).write_text(text)
        with pytest.raises(ValueError, match=r"app\.py line 1 binds it and star-imports mylib,"):
            MigrateCallCommand.check_project(self.root, **self.ARGS)
        (self.root / "app.py").write_text("from mylib import *\nprint(get())\n")
        MigrateCallCommand.check_project(self.root, **self.ARGS)
        # through an ordinary module that re-exports it with an __all__ too
        (self.root / "mylib/compat.py").write_text(
            "from mylib.client import *\n__all__ = ['fetch']\n"
        )
        (self.root / "app.py").write_text("get = 1\nfrom mylib.compat import *\n")
        with pytest.raises(
            ValueError, match=r"app\.py line 1 binds it and star-imports mylib\.compat"
        ):
            MigrateCallCommand.check_project(self.root, **self.ARGS)

    def test_calls_through_the_package_reexport_are_migrated(self) -> None:
        self.check(
            """
            import mylib
            from mylib import fetch

            a = fetch("u", params=1)
            b = mylib.fetch("u", 2)
            """,
            """
            import mylib
            from mylib import get

            a = get(url="u", query=1)
            b = mylib.get(url="u", query=2)
            """,
            context_override=self.ctx("app.run", "app/run.py"),
            **self.ARGS,
        )

    def test_calls_through_an_ordinary_module_reexport_are_migrated(self) -> None:
        self.check(
            "from mylib.compat import fetch\na = fetch('u', 1)\n",
            "from mylib.compat import get\na = get(url='u', query=1)\n",
            context_override=self.ctx("app.run", "app/run.py"),
            **self.ARGS,
        )

    def test_a_reexporting_module_keeps_the_old_name_and_adds_the_new(self) -> None:
        # a file left unchanged (a call it cannot migrate) still imports fetch from there
        self.check(
            "from .client import fetch\n",
            "from .client import fetch, get\n",
            context_override=self.ctx("mylib", "mylib/__init__.py"),
            **self.ARGS,
        )
        self.check(
            "from mylib.client import fetch\n",
            "from mylib.client import fetch, get\n",
            context_override=self.ctx("mylib.compat", "mylib/compat.py"),
            **self.ARGS,
        )

    def test_a_module_others_import_the_function_from_keeps_the_old_name(self) -> None:
        # uses.py calls fetch itself, and app/old.py imports fetch from it
        (self.root / "pyproject.toml").write_text("")
        (self.root / "mylib" / "uses.py").write_text("")
        (self.root / "app").mkdir()
        (self.root / "app" / "old.py").write_text("from mylib.uses import fetch\n")
        self.check(
            "from mylib.client import fetch\nx = fetch('u', 1)\n",
            "from mylib.client import fetch, get\nx = get(url='u', query=1)\n",
            context_override=self.ctx("mylib.uses", "mylib/uses.py"),
            **self.ARGS,
        )

    def test_calls_through_a_star_reexport_are_migrated_and_its_all_lists_both(self) -> None:
        (self.root / "mylib" / "star.py").write_text(
            "from mylib.client import *\n__all__ = ['fetch', 'other']\nother = 1\n"
        )
        self.check(
            "from mylib.client import *\n__all__ = ['fetch', 'other']\nother = 1\n",
            "from mylib.client import *\n__all__ = ['fetch', 'get', 'other']\nother = 1\n",
            context_override=self.ctx("mylib.star", "mylib/star.py"),
            **self.ARGS,
        )
        self.check(
            """
            import mylib.star
            from mylib.star import fetch
            a = fetch('u', 1), mylib.star.fetch('u')
            """,
            """
            import mylib.star
            from mylib.star import get
            a = get(url='u', query=1), mylib.star.get(url='u')
            """,
            context_override=self.ctx("app.run", "app/run.py"),
            **self.ARGS,
        )

    def test_a_star_reexport_whose_source_does_not_export_the_new_name_is_left(self) -> None:
        (self.root / "mylib" / "client.py").write_text(
            "__all__ = ['fetch']\ndef fetch(url, params=None): ...\ndef get(url, query=None): ...\n"
        )
        (self.root / "mylib" / "star.py").write_text("from mylib.client import *\n")
        source = "from mylib.star import fetch\na = fetch('u', 1)\n"
        self.assertCodemod(
            source,
            source,
            context_override=self.ctx("app.run", "app/run.py"),
            expected_skip=True,
            **self.ARGS,
        )
