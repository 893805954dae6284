"""The gradient-check doctor's h sweep as a picture: error against h, both on log scales.

Book: 4.3.1 (why h = 1e-4: rounding error grows as h shrinks) and 5.7.3. The curve is U-shaped:
on the right the central difference's truncation error (∝ h², or h⁴ with Richardson
extrapolation), on the left rounding error (∝ ε/h). matplotlib is imported when called.
"""

from __future__ import annotations

import os
from pathlib import Path

from backprop.plots import _figure, _save

__all__ = ["plot_h_sweep"]


def plot_h_sweep(report, path: str | os.PathLike[str], *, h: float | None = None) -> Path:
    """Draw ``report.h_sweep`` (a failed ``GradientCheckReport``) to the PNG ``path``.

    ``h`` marks the step the check used. Raises ValueError when the report has no sweep (it
    passed, or the doctor could not perturb the failing array).
    """
    if not report.h_sweep:
        raise ValueError("plot_h_sweep: the report has no h sweep (the check passed)")
    hs = [row[0] for row in report.h_sweep]
    errs = [max(row[1], 1e-17) for row in report.h_sweep]
    figure = _figure(6.0, 4.0)
    ax = figure.add_subplot()
    ax.loglog(hs, errs, "o-", color="tab:blue", label=f"max rel err of {report.sweep_param}")
    ax.axhline(report.tol, color="tab:green", linestyle="--", label=f"tol {report.tol:g}")
    if h is not None:
        ax.axvline(h, color="tab:red", linestyle=":", label=f"h used: {h:g}")
    ax.set_xlabel("step h of the central difference")
    ax.set_ylabel("max relative error vs backprop")
    ax.set_title("gradient check: error for a sweep of h")
    ax.invert_xaxis()
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    return _save(figure, path)
