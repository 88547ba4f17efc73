"""The core install (`pip install bptt`: NumPy, tqdm and numba, no extras) in a fresh virtual
environment: every command works, or says in one line which extra it needs and exits with status 2."""
import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXTRAS = ("torch", "matplotlib", "PIL", "threadpoolctl", "playwright", "hypothesis")
CORE = ("numpy", "tqdm", "numba")


@pytest.fixture(scope="module")
def core(tmp_path_factory):
    """A fresh venv holding bptt and its core dependencies only (from the package registry)."""
    venv = tmp_path_factory.mktemp("core") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    r = subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(ROOT)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    return python


def run(python, *args, cwd):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    return subprocess.run([str(python), "-m", "bptt", *map(str, args)], capture_output=True,
                          text=True, timeout=300, cwd=cwd, env=env)


@pytest.mark.slow
def test_the_core_install_has_no_extras(core):
    code = ("import importlib.util, json, bptt; print(json.dumps({'extras': [m for m in %r "
            "if importlib.util.find_spec(m)], 'core': [m for m in %r if importlib.util.find_spec(m)], "
            "'where': bptt.__file__}))" % (EXTRAS, CORE))
    r = subprocess.run([str(core), "-c", code], capture_output=True, text=True, timeout=120, cwd="/")
    assert r.returncode == 0, r.stderr
    found = json.loads(r.stdout)
    assert found["extras"] == [] and found["core"] == list(CORE)
    assert str(ROOT / "src") not in found["where"]                   # installed, not the checkout


@pytest.mark.slow
def test_every_command_works_or_names_its_extra(core, tmp_path):
    text = tmp_path / "text.txt"
    text.write_text("the cat sat on the mat and the dog ran to the red door.\n" * 200)
    ok = [("demo", "--quick", "--steps", 400),
          ("prepare", text, "--out", "data", "--no-progress"),
          ("train", "--data", "data", "--out", "run", "--steps", 4, "--hidden", 8, "--seq-len", 10,
           "--batch", 2, "--eval-every", 4, "--checkpoint-every", 4, "--no-progress"),
          ("train", text, "--out", "run2", "--model", "gru", "--steps", 2, "--hidden", 8,
           "--seq-len", 10, "--batch", 2, "--eval-every", 2, "--checkpoint-every", 2, "--no-progress"),
          ("sample", "run", "--length", 20),
          ("eval", "run", text, "--max-chars", 500),
          ("explain", "--out", "e.html"),
          ("lab", "--out", "l.html", "--kind", "lstm")]
    for args in ok:
        r = run(core, *args, cwd=tmp_path)
        assert r.returncode == 0, (args, r.stderr)
        assert "Traceback" not in r.stderr
    assert (tmp_path / "run" / "report.html").exists() and (tmp_path / "l.html").stat().st_size > 50_000
    needs = [(("figures", "--out", "figs"), "pip install bptt[plots]"),
             (("bench", "--seconds", "0.2"), "pip install 'bptt[torch]'")]
    for args, hint in needs:
        r = run(core, *args, cwd=tmp_path)
        assert r.returncode == 2, (args, r.returncode, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and hint in lines[0] and "Traceback" not in r.stderr, r.stderr
