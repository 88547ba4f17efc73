"""Write docs/figures/teacher_forcing_flow.png from docs/teacher_forcing.md's own code (its Python
blocks, run in order; the figure is the `fig` they leave) and print its exposure-bias table.

    python docs/make_teacher_forcing_figure.py
"""
import pathlib
import re

from bptt import viz

DOCS = pathlib.Path(__file__).parent


def main():
    text = (DOCS / "teacher_forcing.md").read_text(encoding="utf-8")
    namespace = {"__name__": "__docs__"}
    for i, code in enumerate(re.findall(r"```python\n(.*?)```", text, flags=re.S)):
        exec(compile(code, f"teacher_forcing.md[block {i}]", "exec"), namespace)
    path = viz.save_png(namespace["fig"], DOCS / "figures" / "teacher_forcing_flow.png")
    print(f"wrote {path}")
    for mode, row in namespace["table"].items():
        print(f"| {mode} | {row['teacher']:.3f} | {row['free']:.3f} | {row['free'] - row['teacher']:.3f} |")


if __name__ == "__main__":
    main()
