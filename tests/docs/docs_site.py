"""Building the documentation site for the tests: `mkdocs build --strict` in a folder holding a
mkdocs.yml (the repository's, or a copy with faults put in)."""
import os
import pathlib
import subprocess
import sys
from typing import NamedTuple

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
