"""tests/conftest.py's guard against stale numba caches: a kernel's cache (*.nbi, *.nbc) is keyed
on its own file only, so after an edit of an inlined helper in another file every cache older than
the newest source goes, and nothing goes while all are newer."""
import os

from conftest import drop_stale_numba_caches


def _touch(path, mtime):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x")
    os.utime(path, (mtime, mtime))


def test_caches_older_than_a_source_are_dropped(tmp_path):
    _touch(tmp_path / "cells" / "slices.py", 1000)
    _touch(tmp_path / "cells" / "__pycache__" / "slices.kernel-1.py311.nbi", 2000)
    _touch(tmp_path / "cells" / "__pycache__" / "slices.kernel-1.py311.1.nbc", 2000)
    _touch(tmp_path / "cells" / "__pycache__" / "slices.cpython-311.pyc", 500)   # not numba's
    assert drop_stale_numba_caches(tmp_path) == 0                 # every cache newer: kept
    assert len(list(tmp_path.rglob("*.nb?"))) == 2
    _touch(tmp_path / "cells" / "exp32.py", 3000)                 # an inlined helper edited
    assert drop_stale_numba_caches(tmp_path) == 2
    assert list(tmp_path.rglob("*.nb?")) == []
    assert (tmp_path / "cells" / "__pycache__" / "slices.cpython-311.pyc").exists()
    assert drop_stale_numba_caches(tmp_path) == 0                 # nothing left to drop


def test_an_empty_tree_drops_nothing(tmp_path):
    assert drop_stale_numba_caches(tmp_path) == 0
    _touch(tmp_path / "a.py", 10)
    assert drop_stale_numba_caches(tmp_path) == 0
