"""bench.system.codeversion: the digest follows a module's own imports and nothing else."""

import os
import sys

import pytest

from bench.system import codeversion
from bench.system.codeversion import code_digest, module_closure


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A temporary package ``cvpkg``, counted as own code: a -> b -> c, and an unrelated module d."""
    root = tmp_path / "cvpkg"
    root.mkdir()
    (root / "__init__.py").write_text("")
    (root / "a.py").write_text("import os\nfrom cvpkg import b\n")
    (root / "b.py").write_text("import cvpkg.c\n")
    (root / "c.py").write_text("VALUE = 1\n")
    (root / "d.py").write_text("VALUE = 2\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(codeversion, "_OWN_PACKAGES", ("cvpkg",))
    yield root
    for name in [name for name in sys.modules if name.split(".")[0] == "cvpkg"]:
        del sys.modules[name]


def _edit(path, text):
    path.write_text(text)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # a new stamp even on a coarse clock


def test_module_closure_follows_own_imports_transitively_and_skips_third_party(package):
    names = {path.name for path in module_closure("cvpkg.a")}
    assert names == {"a.py", "b.py", "c.py", "__init__.py"}
    assert {path.name for path in module_closure("cvpkg.d")} == {"d.py"}


def test_code_digest_changes_with_a_module_of_the_closure_only(package):
    before = code_digest("cvpkg.a")
    assert len(before) == 12 and before == code_digest("cvpkg.a")
    _edit(package / "d.py", "VALUE = 3\n")
    assert code_digest("cvpkg.a") == before
    _edit(package / "c.py", "VALUE = 10\n")
    assert code_digest("cvpkg.a") != before


def test_module_closure_of_an_unknown_module_is_empty():
    assert module_closure("no_such_module_anywhere") == set()
