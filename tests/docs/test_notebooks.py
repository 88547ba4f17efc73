"""The notebooks run: every notebooks/NN_name.py (jupytext's percent format, stored without
outputs) is executed from a clean kernel by notebooks/run.py (nbclient), with no error, in under
two minutes, and the executed notebook holds the outputs the site renders (figures, the explorer
inline). The runner itself: it stops at a failing cell and names it, gives every notebook a
fresh kernel in a folder of its own, refuses unknown names, and installs a kernel spec when one
is missing."""
import importlib.util
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
LIMIT_S = 120                       # each notebook, kernel start to shutdown

# What each executed notebook must show at least: figures (PNG; the tutorial's animation is a GIF
# in an HTML <img>, which every renderer shows) and, for the lab notebook, the explorer and lab
# pages inline (HTML iframes).
EXPECTED = {
    "01_tutorial": {"image/png": 5, "text/html": 1},
    "02_lstm": {"image/png": 4},
    "03_lab_from_python": {"text/html": 5},
    "04_train_char_lm": {"image/png": 2},
    "05_to_pytorch": {"image/png": 1},
}


def _load_runner():
    spec = importlib.util.spec_from_file_location("bptt_notebook_runner", NOTEBOOKS / "run.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module                     # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


run = _load_runner()


def _write(path: Path, *cells: str) -> Path:
    """A percent-format notebook of code cells."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"# %%\n{c}\n\n" for c in cells), encoding="utf-8")
    return path


def _outputs(nb):
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]


def test_the_notebooks_are_the_five_in_order():
    assert [p.stem for p in run.sources()] == list(EXPECTED)
    assert not list(NOTEBOOKS.glob("*.ipynb"))           # text files only, no stored outputs


@pytest.mark.parametrize("source", run.sources(), ids=lambda p: p.stem)
def test_sources_are_python_with_markdown_and_code(source):
    text = source.read_text(encoding="utf-8")
    compile(text, str(source), "exec")                   # the .py runs as a plain script too
    nb = run.to_notebook(source)
    kinds = Counter(c.cell_type for c in nb.cells)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    assert kinds["markdown"] >= 5 and kinds["code"] >= 5
    assert not any(c.get("outputs") for c in nb.cells)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(EXPECTED))
def test_notebook_runs_from_a_clean_kernel(name, tmp_path, capsys):
    import nbformat

    start = time.perf_counter()
    assert run.main(["--out", str(tmp_path), name]) == 0     # the CLI that `make docs` calls
    elapsed = time.perf_counter() - start
    assert f"-> {tmp_path / (name + '.ipynb')}" in capsys.readouterr().out
    assert elapsed < LIMIT_S, f"{name} took {elapsed:.0f} s (limit {LIMIT_S} s)"
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{name}.ipynb"]
    nb = nbformat.read(tmp_path / f"{name}.ipynb", as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))   # every cell ran, in order
    outputs = _outputs(nb)
    assert not [o for o in outputs if o.output_type == "error"]
    assert not [o for o in outputs if o.output_type == "stream" and o.name == "stderr"]
    shown = Counter(mime for o in outputs for mime in o.get("data", {}))
    for mime, least in EXPECTED[name].items():
        assert shown[mime] >= least, f"{name}: {shown[mime]} outputs of {mime}, expected >= {least}"
    if name == "01_tutorial":
        assert any('src="data:image/gif;base64,R0lGOD' in o.data.get("text/html", "") for o in outputs
                   if "data" in o)                                        # a GIF's first bytes
    if name == "03_lab_from_python":
        pages = [o.data["text/html"] for o in outputs if "text/html" in o.get("data", {})]
        assert all(p.startswith("<iframe") and "bptt-trace" in p for p in pages)   # the explorer
        assert sum("bptt-lab" in p for p in pages) >= 2                            # and the lab


@pytest.mark.slow
def test_a_failing_cell_stops_the_notebook_and_is_named(tmp_path):
    source = _write(tmp_path / "src" / "01_broken.py", 'print("before")', "x = 1 / 0", 'print("after")')
    out = tmp_path / "out"
    with pytest.raises(run.NotebookError, match=r"01_broken\.py: cell 1 \(counting from 0\) failed:"
                                                r"(.|\n)*ZeroDivisionError"):
        run.execute(source, out)
    assert not out.exists() or not list(out.iterdir())   # nothing written for the site


@pytest.mark.slow
def test_a_cell_past_the_timeout_fails(tmp_path):
    source = _write(tmp_path / "01_slow.py", "import time", "time.sleep(60)")
    start = time.perf_counter()
    with pytest.raises(run.NotebookError, match=r"01_slow\.py: cell 1 \(counting from 0\) failed:"
                                                r"(.|\n)*timed out"):
        run.execute(source, tmp_path / "out", timeout=2)
    assert time.perf_counter() - start < 50


@pytest.mark.slow
def test_every_notebook_gets_a_fresh_kernel_and_folder(tmp_path):
    first = _write(tmp_path / "src" / "01_first.py",
                   "import os, sys\nleaked = 1\nopen('left_behind.txt', 'w').close()",
                   "print(os.getcwd())\nprint(os.environ['OPENBLAS_NUM_THREADS'])\nprint(sys.executable)")
    second = _write(tmp_path / "src" / "02_second.py",
                    "import os\nassert 'leaked' not in globals()\nassert not os.path.exists('left_behind.txt')")
    done = run.execute(first, tmp_path / "out")
    run.execute(second, tmp_path / "out")
    cwd, threads, python = "".join(o.text for o in _outputs(done.notebook)).split()
    assert Path(cwd).name.startswith("bptt-01_first-") and not Path(cwd).exists()   # removed after
    assert threads == os.environ.get("OPENBLAS_NUM_THREADS", "1")
    assert Path(python).parent == Path(sys.executable).parent        # this Python's environment
    assert json.loads(done.path.read_text())["metadata"]["kernelspec"]["name"] == run.ensure_kernel()


def test_select_takes_stems_or_file_names_and_refuses_others():
    assert run.select([]) == run.sources()
    assert [p.stem for p in run.select(["05_to_pytorch", "01_tutorial.py"])] == ["05_to_pytorch", "01_tutorial"]
    with pytest.raises(ValueError, match=r"No notebook named 'nope', '06_gru' in .*notebooks; the "
                                         r"notebooks are: 01_tutorial, 02_lstm, 03_lab_from_python, "
                                         r"04_train_char_lm, 05_to_pytorch\."):
        run.select(["nope", "01_tutorial", "06_gru"])


def test_the_cli_refuses_an_unknown_name_before_running_anything(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run.main(["--out", str(tmp_path / "out"), "nope"])
    assert exit_info.value.code == 2
    assert "No notebook named 'nope'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def _kernel_dirs(tmp_path, monkeypatch):
    """Kernel specs of our own: a folder whose specs shadow those of the prefix (JUPYTER_PATH is
    searched in order, before the user's and this Python's folders), and the prefix."""
    shadow, prefix = tmp_path / "shadow", tmp_path / "prefix"
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "user"))
    monkeypatch.setenv("JUPYTER_PATH", os.pathsep.join([str(shadow), str(prefix / "share" / "jupyter")]))
    return shadow / "kernels", prefix


def _foreign_spec(kernels: Path, name: str):
    d = kernels / name
    d.mkdir(parents=True)
    (d / "kernel.json").write_text(json.dumps({
        "argv": [str(kernels / "no-such-python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "another Python", "language": "python"}))


def test_a_missing_kernel_spec_is_installed_into_the_prefix(tmp_path, monkeypatch):
    _, prefix = _kernel_dirs(tmp_path, monkeypatch)
    spec = prefix / "share" / "jupyter" / "kernels" / "bptt-test-kernel" / "kernel.json"
    assert run.ensure_kernel("bptt-test-kernel", prefix=prefix) == "bptt-test-kernel"
    assert json.loads(spec.read_text())["argv"][0] == sys.executable
    written = spec.stat().st_mtime_ns
    assert run.ensure_kernel("bptt-test-kernel", prefix=prefix) == "bptt-test-kernel"
    assert spec.stat().st_mtime_ns == written                        # found, not installed again


def test_a_kernel_spec_of_another_python_is_not_used(tmp_path, monkeypatch):
    shadow, prefix = _kernel_dirs(tmp_path, monkeypatch)
    _foreign_spec(shadow, "bptt-test-kernel")
    assert run.ensure_kernel("bptt-test-kernel", prefix=prefix) == "bptt-test-kernel-bptt"
    assert (prefix / "share" / "jupyter" / "kernels" / "bptt-test-kernel-bptt" / "kernel.json").exists()
    _foreign_spec(shadow, "bptt-test-kernel-bptt")                     # now both are shadowed
    with pytest.raises(run.NotebookError, match=r"The kernel specs 'bptt-test-kernel' and "
                                                r"'bptt-test-kernel-bptt' both run another Python than "
                                                r".*; remove one \(jupyter kernelspec remove "
                                                r"bptt-test-kernel-bptt\)"):
        run.ensure_kernel("bptt-test-kernel", prefix=prefix)
