"""Regenerate the figures in docs/figures from the library (python docs/make_figures.py)."""
import pathlib

from bptt import viz

OUT = pathlib.Path(__file__).parent / "figures"

if __name__ == "__main__":
    for name, path in viz.save_demo_figures(OUT, seed=0).items():
        print(name, path)
    viz.save_png(viz.vanishing_exploding(seed=0), OUT / "vanishing_exploding.png")
