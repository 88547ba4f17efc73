"""Building the documentation site for the tests: `mkdocs build --strict` in a folder holding a
mkdocs.yml (the repository's, or a copy with faults put in)."""
import fcntl
import json
import os
import pathlib
import subprocess
import sys
from typing import NamedTuple

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


class Build(NamedTuple):
    returncode: int
    output: str              # mkdocs' log: stdout and stderr
    site: pathlib.Path


def mkdocs_build(config_dir: pathlib.Path, site: pathlib.Path) -> Build:
    """`python -m mkdocs build --strict -d site` in config_dir (the build's own settings)."""
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", MPLBACKEND="Agg")
    run = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site)],
                         cwd=config_dir, env=env, capture_output=True, text=True, timeout=900)
    return Build(run.returncode, run.stdout + run.stderr, site)


# The fixtures: built once per test session (imported by the test modules that use them; a
# conftest.py here would shadow tests/conftest.py, which other modules import as `conftest`).


@pytest.fixture(scope="session")
def site_build(tmp_path_factory) -> Build:
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base   # the session's folder
    record = shared / "docs-site-build.json"
    with open(shared / "docs-site-build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not record.exists():
            b = mkdocs_build(ROOT, shared / "docs-site")
            record.write_text(json.dumps({"returncode": b.returncode, "output": b.output}))
    data = json.loads(record.read_text())
    return Build(data["returncode"], data["output"], shared / "docs-site")


@pytest.fixture(scope="session")
def site(site_build) -> pathlib.Path:
    """The built site's folder (the build must have succeeded)."""
    assert site_build.returncode == 0, site_build.output[-4000:]
    return site_build.site
