"""Module names come from where Python imports the file from, not from the workspace."""

from __future__ import annotations

from pathlib import Path

from shim_lsp.codemods.modules import module_name_of
from shim_lsp.codemods.registry import discover
from shim_lsp.codemods.runner import CodemodSpec, Job, run


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def test_a_src_layout_names_modules_from_src(tmp_path: Path) -> None:
    write(tmp_path, {"src/shop/__init__.py": "", "src/shop/models.py": "", "src/tool.py": ""})
    assert module_name_of(tmp_path / "src/shop/models.py") == "shop.models"
    assert module_name_of(tmp_path / "src/shop/__init__.py") == "shop"
    assert module_name_of(tmp_path / "src/tool.py") == "tool"


def test_pyproject_package_dir_and_plain_layouts(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": '[tool.setuptools]\npackage-dir = {"" = "lib"}\n',
            "lib/ns/mod.py": "",
            "tests/test_mod.py": "",
            "app/__init__.py": "",
            "app/views.py": "",
        },
    )
    assert module_name_of(tmp_path / "lib/ns/mod.py") == "ns.mod"
    # outside packages and source folders: from the project's folder (namespace packages)
    assert module_name_of(tmp_path / "tests/test_mod.py") == "tests.test_mod"
    assert module_name_of(tmp_path / "app/views.py") == "app.views"


def test_a_name_does_not_depend_on_the_folder_the_command_runs_in(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "proj/pkg/__init__.py": "",
            "proj/pkg/mod.py": "",
            "proj/main.py": "",
            "proj/scripts/tool.py": "",
            "other/pyproject.toml": '[tool.setuptools]\npackage-dir = {"" = "lib"}\n',
            "other/lib/ns/mod.py": "",
            "other/tools/run.py": "",
        },
    )
    # outside any project (no pyproject.toml, setup.py, setup.cfg): from its own folder,
    # as pytest names a test file outside packages and ``python main.py`` imports
    assert module_name_of(tmp_path / "proj/main.py") == "main"
    assert module_name_of(tmp_path / "proj/pkg/mod.py") == "pkg.mod"
    assert module_name_of(tmp_path / "proj/scripts/tool.py") == "tool"
    assert module_name_of(tmp_path / "other/lib/ns/mod.py") == "ns.mod"
    assert module_name_of(tmp_path / "other/tools/run.py") == "tools.run"


def test_a_src_folder_counts_only_in_a_project(tmp_path: Path) -> None:
    """``~/src/project/script.py`` with no project file is ``script``: the ``src`` folder
    of a home directory is no project's source folder."""
    write(tmp_path, {"home/src/project/script.py": "", "home/src/project/tools/x.py": ""})
    assert module_name_of(tmp_path / "home/src/project/script.py") == "script"
    assert module_name_of(tmp_path / "home/src/project/tools/x.py") == "x"
    write(tmp_path, {"home/src/project/pyproject.toml": ""})
    assert module_name_of(tmp_path / "home/src/project/tools/x.py") == "tools.x"


def test_the_readme_rename_in_a_src_layout_renames_the_class_too(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "src/shop/__init__.py": "",
            "src/shop/models.py": "class User:\n    pass\n",
            "tests/test_models.py": "from shop.models import User\n\nUser()\n",
        },
    )
    info = discover()[0]["rename_symbol"]
    spec = CodemodSpec(
        info.module, info.cls, {"old_name": "shop.models.User", "new_name": "Account"}
    )
    files = [tmp_path / "src/shop/models.py", tmp_path / "tests/test_models.py"]
    summary = run(spec, [Job(f) for f in files], root=tmp_path, workers=1)
    news = {Path(r.path).name: r.new for r in summary.results}
    assert news["models.py"] == b"class Account:\n    pass\n"
    assert news["test_models.py"] == b"from shop.models import Account\n\nAccount()\n"


NAMESPACE = {
    # ``shop`` has no __init__.py: a namespace package, which importers spell shop.models
    "shop/models.py": "class User:\n    pass\n\n\ndef fetch(url):\n    return url\n\n\n"
    "def get(url):\n    return url\n\n\nx = fetch('a')\n",
    "shop/views.py": "from .models import User, fetch\n\nv = User(), fetch('b')\n",
    "main.py": "import shop.models\nfrom shop.models import User\n\n"
    "u = User(), shop.models.fetch('c')\n",
}


def _run_over_namespace(tmp_path: Path, name: str, args: dict[str, str]) -> dict[str, bytes]:
    write(tmp_path, NAMESPACE)
    info = discover()[0][name]
    files = [tmp_path / f for f in NAMESPACE]
    summary = run(
        CodemodSpec(info.module, info.cls, args), [Job(f) for f in files], root=tmp_path, workers=1
    )
    assert summary.count("failed") == 0, [r.reason for r in summary.results]
    return {
        str(Path(r.path).relative_to(tmp_path)): r.new for r in summary.results if r.new is not None
    }


def test_a_rename_in_a_namespace_package_renames_the_definition_with_its_importers(
    tmp_path: Path,
) -> None:
    news = _run_over_namespace(
        tmp_path, "rename_symbol", {"old_name": "shop.models.User", "new_name": "Account"}
    )
    assert news["shop/models.py"].startswith(b"class Account:\n")
    assert news["shop/views.py"].startswith(b"from .models import Account, fetch\n")
    assert news["main.py"].startswith(b"import shop.models\nfrom shop.models import Account\n")
    # a run over main.py alone is refused: it names the definition and the relative importer
    info = discover()[0]["rename_symbol"]
    spec = CodemodSpec(info.module, info.cls, {"old_name": "shop.models.User", "new_name": "A"})
    assert set(spec.must_include(tmp_path)) >= {
        tmp_path / "shop/models.py",
        tmp_path / "shop/views.py",
    }


def test_migrate_call_in_a_namespace_package_reaches_its_own_module_and_relative_importers(
    tmp_path: Path,
) -> None:
    news = _run_over_namespace(
        tmp_path, "migrate_call", {"old_name": "shop.models.fetch", "new_name": "get"}
    )
    assert news["shop/models.py"].endswith(b"x = get('a')\n")
    assert news["shop/views.py"] == b"from .models import User, get\n\nv = User(), get('b')\n"
    assert news["main.py"].endswith(b"shop.models.get('c')\n")


def test_move_module_in_a_namespace_package_rewrites_relative_imports_too(tmp_path: Path) -> None:
    news = _run_over_namespace(
        tmp_path, "move_module", {"old_module": "shop.models", "new_module": "shop.accounts"}
    )
    assert news["shop/views.py"].startswith(b"from .accounts import User, fetch\n")
    assert news["main.py"].startswith(b"import shop.accounts\nfrom shop.accounts import User\n")


def test_a_package_inside_a_namespace_package_moves_with_its_relative_imports(
    tmp_path: Path,
) -> None:
    # ns/ has no __init__.py, ns/sub/ has one: util.py names itself sub.util, importers
    # spell it ns.sub.util; its own relative import must still reach sibling once moved
    write(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "x"\nversion = "0"\n',
            "src/ns/sub/__init__.py": "",
            "src/ns/sub/sibling.py": "VALUE = 1\n",
            "src/ns/sub/util.py": "from . import sibling\n\nX = sibling.VALUE\n",
            "tests/test_app.py": "from ns.sub.util import X\n",
        },
    )
    info = discover()[0]["move_module"]
    args = {"old_module": "ns.sub.util", "new_module": "ns.tools.util2"}
    files = [tmp_path / "src/ns/sub/util.py", tmp_path / "tests/test_app.py"]
    summary = run(
        CodemodSpec(info.module, info.cls, args), [Job(f) for f in files], root=tmp_path, workers=1
    )
    news = {Path(r.path).name: r.new for r in summary.results}
    assert news["util.py"] == b"from ..sub import sibling\n\nX = sibling.VALUE\n"
    assert news["test_app.py"] == b"from ns.tools.util2 import X\n"


def test_a_package_inside_a_namespace_package_is_named_through_the_namespace(
    tmp_path: Path,
) -> None:
    """``ns/`` (no ``__init__.py``, a module importing relatively) holding ``ns/sub/``: the
    name the editor offers for ``ns/sub/models.py`` is ``ns.sub.models``, the name its
    importers spell; ``sub.models`` let a rename miss ``ns/app.py``'s ``from .sub import``.
    Below ``src/`` the namespace counts always; Django's ``tests/`` (no relative imports,
    its packages imported as top-level ones by runtests.py) keeps naming from below it."""
    write(
        tmp_path,
        {
            "p/pyproject.toml": '[project]\nname = "p"\nversion = "0"\n',
            "p/ns/sub/__init__.py": "from .models import User\n",
            "p/ns/sub/models.py": "class User:\n    pass\n",
            "p/ns/app.py": "from .sub import User\n\nu = User()\n",
            "p/tests/admin/__init__.py": "",
            "p/tests/admin/tests.py": "",
            "p/tests/runtests.py": "import admin.tests\n",
            "p/my-tools/pkg/__init__.py": "from . import x\n",
            "p/my-tools/pkg/x.py": "",
            "q/pyproject.toml": "",
            "q/src/ns/sub/__init__.py": "",
            "q/src/ns/sub/mod.py": "",
        },
    )
    assert module_name_of(tmp_path / "p/ns/sub/models.py") == "ns.sub.models"
    assert module_name_of(tmp_path / "p/tests/admin/tests.py") == "admin.tests"
    assert module_name_of(tmp_path / "p/my-tools/pkg/x.py") == "pkg.x"  # my-tools: no name
    assert module_name_of(tmp_path / "q/src/ns/sub/mod.py") == "ns.sub.mod"
    info = discover()[0]["rename_symbol"]
    args = {"old_name": "ns.sub.models.User", "new_name": "Account"}
    files = sorted((tmp_path / "p").rglob("*.py"))
    summary = run(
        CodemodSpec(info.module, info.cls, args),
        [Job(f) for f in files],
        root=tmp_path / "p",
        workers=1,
    )
    news = {str(Path(r.path).relative_to(tmp_path / "p")): r.new for r in summary.results}
    assert news["ns/app.py"] == b"from .sub import Account\n\nu = Account()\n"
    assert news["ns/sub/models.py"] == b"class Account:\n    pass\n"


def test_a_rename_of_a_non_ascii_name_reaches_an_importer_in_latin_1(tmp_path: Path) -> None:
    """The cheap test before the parse looked for the name's UTF-8 bytes, so an importer
    spelling ``Üser`` in latin-1 was "not parsed" and left importing a name that was gone."""
    write(tmp_path, {"pyproject.toml": "", "pkg/__init__.py": "", "pkg/models.py": "Üser = 1"})
    (tmp_path / "pkg/lat.py").write_bytes(
        b"# -*- coding: latin-1 -*-\nfrom pkg import models\nprint(models.\xdcser)\n"
    )
    info = discover()[0]["rename_symbol"]
    args = {"old_name": "pkg.models.Üser", "new_name": "Member"}
    files = sorted(tmp_path.rglob("*.py"))
    summary = run(
        CodemodSpec(info.module, info.cls, args), [Job(f) for f in files], root=tmp_path, workers=1
    )
    news = {Path(r.path).name: r.new for r in summary.results}
    assert (news["lat.py"] or b"").endswith(b"\nprint(models.Member)\n")


def test_a_new_name_a_files_encoding_cannot_hold_fails_that_file_plainly(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": "", "pkg/__init__.py": "", "pkg/models.py": "Café = 1"})
    (tmp_path / "pkg/lat.py").write_bytes(
        b"# -*- coding: latin-1 -*-\nfrom pkg.models import Caf\xe9\n"
    )
    info = discover()[0]["rename_symbol"]
    args = {"old_name": "pkg.models.Café", "new_name": "Данные"}
    files = sorted(tmp_path.rglob("*.py"))
    summary = run(
        CodemodSpec(info.module, info.cls, args), [Job(f) for f in files], root=tmp_path, workers=1
    )
    reasons = {Path(r.path).name: (r.status, r.reason) for r in summary.results}
    assert reasons["lat.py"] == (
        "failed",
        "the result cannot be written in the file's encoding (latin-1): it has no form for"
        " 'Данные'; nothing was changed in this file",
    )


def test_a_name_spelled_another_way_python_reads_as_the_same_fails_its_file(
    tmp_path: Path,
) -> None:
    """``ﬁnd`` (a ligature) is ``find`` to Python: the rename compared names as written and
    left that importer importing a name that was gone (exit 0)."""
    write(
        tmp_path,
        {
            "pyproject.toml": "",
            "pkg/__init__.py": "",
            "pkg/models.py": "def find():\n    pass\n",
            "pkg/lig.py": "from pkg.models import \ufb01nd\n",
        },
    )
    for name, args in (
        ("rename_symbol", {"old_name": "pkg.models.find", "new_name": "locate"}),
        ("migrate_call", {"old_name": "pkg.models.find", "new_name": "locate"}),
    ):
        info = discover()[0][name]
        files = sorted(tmp_path.rglob("*.py"))
        summary = run(
            CodemodSpec(info.module, info.cls, args),
            [Job(f) for f in files],
            root=tmp_path,
            workers=1,
        )
        reasons = {Path(r.path).name: (r.status, r.reason) for r in summary.results}
        assert reasons["lig.py"][0] == "failed", name
        # a refusal reads as written, without the exception's class name
        assert reasons["lig.py"][1].startswith("'\ufb01nd' is 'find' to Python, spelled")
        assert all(r.new is None for r in summary.results)
