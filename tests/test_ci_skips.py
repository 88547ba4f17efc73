"""The suite's own rule (tests/conftest.py): under CI (the CI environment variable set) a skip is a
failure, whether a test skips while it runs or a whole module skips while it is collected
(`pytest.importorskip` at module level). Checked on a throwaway suite run by pytest in a
subprocess, with this conftest.py, once with CI set and once without."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CONFTEST = Path(__file__).with_name("conftest.py")
FILES = {
    "test_missing_module.py": 'import pytest\n'
                              'pytest.importorskip("bptt_no_such_module")\n\n\n'
                              'def test_never_collected():\n    pass\n',
    "test_module_level_skip.py": 'import pytest\n'
                                 'pytest.skip("no GPU here", allow_module_level=True)\n',
    "test_runtime_skip.py": 'import pytest\n\n\n'
                            'def test_skips():\n    pytest.skip("not today")\n',
    "test_fine.py": 'def test_passes():\n    assert True\n',
}


@pytest.fixture
def suite(tmp_path):
    shutil.copy(CONFTEST, tmp_path / "conftest.py")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")          # the root: no project options
    for name, text in FILES.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def _pytest(directory, *args, ci):
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS")}
    if ci:
        env["CI"] = "true"
    r = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", *args],
                       cwd=directory, env=env, capture_output=True, text=True,
                       timeout=120)
    return r.returncode, r.stdout + r.stderr


def _summary(text):
    """{'passed': 1, 'skipped': 3, ...} from pytest's last line."""
    last = text.strip().splitlines()[-1]
    return {k: int(n) for n, k in re.findall(r"(\d+) (passed|failed|skipped|errors?)", last)}


def test_without_ci_the_skips_are_skips(suite):
    rc, out = _pytest(suite, ci=False)
    assert rc == 0, out
    assert _summary(out) == {"passed": 1, "skipped": 3}, out


def test_in_ci_a_module_skipped_at_collection_fails_the_run(suite):
    rc, out = _pytest(suite, "test_missing_module.py", "test_fine.py", ci=True)
    assert rc != 0, out
    assert "ERROR collecting test_missing_module.py" in out, out
    assert re.search(r"test_missing_module.py: skipped while collected in CI, which counts as a "
                     r"failure: .*could not import 'bptt_no_such_module'", out), out


def test_in_ci_every_kind_of_skip_is_a_failure(suite):
    rc, out = _pytest(suite, "--continue-on-collection-errors", ci=True)
    assert rc != 0, out
    assert _summary(out) == {"passed": 1, "failed": 1, "errors": 2}, out
    assert re.search(r"test_module_level_skip.py: skipped while collected in CI.*no GPU here", out), out
    assert "skipped in CI, which counts as a failure" in out and "not today" in out, out
