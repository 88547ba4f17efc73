"""The documentation site, built once per test session: `mkdocs build --strict` of the repository's
mkdocs.yml into a temporary folder. pytest-xdist's workers share one build through a lock file in
the session's base folder, so `make test` (pytest -n auto) builds it once."""
import fcntl
import json
import os
import pathlib

import pytest

from docs_site import ROOT, Build, mkdocs_build


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
