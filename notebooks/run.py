"""Execute the notebooks: each paired text file `notebooks/NN_name.py` (jupytext's percent format,
the source of truth, stored without outputs) becomes a notebook, runs from a clean kernel with
nbclient, and the executed `NN_name.ipynb`, outputs included, is written to a folder — for the
site, docs/notebooks/, which mkdocs-jupyter renders without executing again.

    python notebooks/run.py --out docs/notebooks                 # every notebook
    python notebooks/run.py --out /tmp/nb 01_tutorial 05_to_pytorch   # some, by name

From Python (tests/docs/test_notebooks.py loads this file with importlib):

    done = execute("notebooks/01_tutorial.py", out_dir)     # Executed(name, path, seconds, notebook)

Each notebook gets a fresh kernel started in an empty temporary folder (removed afterwards), so
no notebook sees another's variables or files; it runs with one BLAS thread (THREADS) unless
the environment sets OPENBLAS_NUM_THREADS, OMP_NUM_THREADS or MKL_NUM_THREADS. The kernel is
the kernel spec "python3" when it runs this Python (jupyter_client runs a spec whose command is plain "python" with this
interpreter); when it is missing, it is installed into this Python's prefix (`python -m ipykernel
install --sys-prefix`), and when a "python3" spec of another Python shadows it, a spec
"python3-bptt" is installed beside it and used. A cell that raises stops the run with a
NotebookError naming the notebook and the cell; nothing is written for that notebook.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parent
KERNEL = "python3"
CELL_TIMEOUT = 300          # seconds one cell may run before the notebook fails
# One BLAS/OpenMP thread per kernel unless the caller says otherwise: the notebooks' matrices are
# small, and the tests run several notebooks at once on a few cores, where more threads are slower.
THREADS = {var: "1" for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
_SOURCE = re.compile(r"^\d\d_\w+\.py$")       # 01_tutorial.py, ...; run.py is not a notebook
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class NotebookError(RuntimeError):
    """A notebook that could not be executed (a cell raised or ran past the timeout)."""


@dataclass(frozen=True)
class Executed:
    name: str               # "01_tutorial"
    path: Path              # the executed notebook written, out_dir / f"{name}.ipynb"
    seconds: float          # wall time from the kernel's start to its shutdown
    notebook: object        # the executed nbformat.NotebookNode


def sources(directory=NOTEBOOKS) -> list[Path]:
    """The notebooks' text files NN_name.py in `directory`, in order."""
    return sorted(p for p in Path(directory).iterdir() if _SOURCE.match(p.name))


def select(names, directory=NOTEBOOKS) -> list[Path]:
    """The sources named (stems, "01_tutorial", or file names); all of them when `names` is empty."""
    found = {p.stem: p for p in sources(directory)}
    if not names:
        return list(found.values())
    unknown = [n for n in names if Path(n).stem not in found]
    if unknown:
        raise ValueError(f"No notebook named {', '.join(map(repr, unknown))} in {directory}; "
                         f"the notebooks are: {', '.join(found)}.")
    return [found[Path(n).stem] for n in names]


def to_notebook(path):
    """The notebook of a percent-format text file (jupytext), without outputs."""
    import jupytext
    return jupytext.read(path, fmt="py:percent")


def _runs_here(argv0: str) -> bool:
    """Does a kernel spec whose command starts with argv0 run this Python (this sys.prefix)?"""
    if argv0 in ("python", f"python{sys.version_info[0]}", "python{}.{}".format(*sys.version_info)):
        return True                     # jupyter_client replaces these with sys.executable
    try:
        out = subprocess.run([argv0, "-c", "import sys; print(sys.prefix)"], capture_output=True,
                             text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and Path(out.stdout.strip()) == Path(sys.prefix)


def ensure_kernel(name: str = KERNEL, *, prefix=None) -> str:
    """The name of a kernel spec that runs this Python: `name`, or f"{name}-bptt" when `name`
    belongs to another Python; a missing one is installed into `prefix` (default sys.prefix)."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    manager = KernelSpecManager()
    for candidate in (name, f"{name}-bptt"):
        try:
            spec = manager.get_kernel_spec(candidate)
        except NoSuchKernel:
            subprocess.run([sys.executable, "-m", "ipykernel", "install", "--prefix",
                            str(prefix or sys.prefix), "--name", candidate], check=True,
                           capture_output=True)
            return candidate
        if _runs_here(spec.argv[0]):
            return candidate
    raise NotebookError(f"The kernel specs {name!r} and {name + '-bptt'!r} both run another Python "
                        f"than {sys.executable}; remove one (jupyter kernelspec remove "
                        f"{name}-bptt) and run again.")


def execute(source, out_dir, *, timeout: int = CELL_TIMEOUT, kernel: str | None = None) -> Executed:
    """Run the notebook of `source` (a .py) from a clean kernel; write out_dir/<stem>.ipynb."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    source, out_dir = Path(source), Path(out_dir)
    kernel = kernel or ensure_kernel()
    nb = to_notebook(source)
    nb.metadata["kernelspec"] = {"name": kernel, "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"bptt-{source.stem}-") as cwd:
        client = NotebookClient(nb, timeout=timeout, kernel_name=kernel,
                                resources={"metadata": {"path": cwd}})
        try:
            client.execute(env={**THREADS, **os.environ})
        except (CellExecutionError, CellTimeoutError) as e:
            cell = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"
                         and any(o.output_type == "error" for o in c.get("outputs", []))), None)
            where = f"cell {cell} (counting from 0)" if cell is not None else "a cell"
            raise NotebookError(f"{source.name}: {where} failed:\n{_ANSI.sub('', str(e))}") from None
    seconds = time.perf_counter() - start
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{source.stem}.ipynb"
    tmp = path.with_name(path.name + ".tmp")
    nbformat.write(nb, tmp)
    os.replace(tmp, path)                       # the site never reads a half-written notebook
    return Executed(source.stem, path, seconds, nb)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python notebooks/run.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="folder for the executed .ipynb files")
    parser.add_argument("--timeout", type=int, default=CELL_TIMEOUT, help="seconds per cell")
    parser.add_argument("names", nargs="*", help="notebooks to run (default: all), e.g. 01_tutorial")
    args = parser.parse_args(argv)
    try:
        chosen = select(args.names)
    except ValueError as e:
        parser.error(str(e))
    kernel = ensure_kernel()
    for source in chosen:
        done = execute(source, args.out, timeout=args.timeout, kernel=kernel)
        print(f"{done.name:<22} {done.seconds:6.1f} s  -> {done.path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
