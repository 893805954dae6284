"""Numerical differentiation and the gradient check (기울기 확인).

Book: 4.3 (numerical_diff), 4.4 (numerical_gradient), 5.7.3 (gradient check).

The central difference (f(x + h) − f(x − h)) / 2h needs two evaluations of ``f`` per parameter:
simple and slow. Backpropagation gets every gradient from one forward and one backward pass.
``gradient_check`` runs both on the same model and reports, parameter by parameter, how far
apart they are, always in float64 (in float32 the central difference itself is too coarse to
check anything).
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field

import numpy as np

from backprop._checks import check_real

__all__ = [
    "Cause",
    "GradientCheckReport",
    "GradientCheckRow",
    "gradient_check",
    "numerical_diff",
    "numerical_gradient",
    "relative_error",
]


def numerical_diff(f, x, h: float = 1e-4) -> float:
    """Derivative of a scalar function at ``x`` by the central difference (4.3.1).

    (f(x + h) − f(x − h)) / 2h has error O(h²), against O(h) for the forward difference.
    """
    h = check_real("numerical_diff", "h", h, positive=True)
    return (f(x + h) - f(x - h)) / (2 * h)


def numerical_gradient(f, x: np.ndarray, h: float = 1e-4) -> np.ndarray:
    """Gradient of the scalar function ``f`` at the array ``x``, element by element (4.4).

    Parameters
    ----------
    f : callable
        ``f(x)`` returns a scalar. As in the book, ``f`` may ignore its argument and read
        ``x`` through a network: each element of ``x`` is changed in place, ``f`` is called,
        and the element is restored — always, even when ``f`` raises.
    x : ndarray of floats, any shape
        Perturbed in place and restored; must be a floating array (integer arrays cannot hold
        x ± h: the book's version silently returns nonsense for them).
    h : float
        Step of the central difference. Use float64 ``x``: in float32, x ± 1e-4 loses most
        of the digits that the difference needs.

    Returns
    -------
    ndarray, shape of ``x``, dtype of ``x``
    """
    h = check_real("numerical_gradient", "h", h, positive=True)
    if not isinstance(x, np.ndarray):
        raise TypeError(
            f"numerical_gradient: x must be a NumPy array of floats (it is changed in place "
            f"and restored), got {type(x).__name__}"
        )
    if x.dtype.kind != "f":
        raise TypeError(
            f"numerical_gradient: x must be a floating-point array, got dtype {x.dtype}; "
            f"convert it first, e.g. x.astype(np.float64)"
        )
    if not x.flags.writeable:
        raise ValueError("numerical_gradient: x must be writeable (it is perturbed in place)")
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):  # works for views and non-contiguous arrays too
        original = x[index]
        try:
            x[index] = original + h
            fxh1 = float(f(x))
            x[index] = original - h
            fxh2 = float(f(x))
        finally:
            x[index] = original
        if not (math.isfinite(fxh1) and math.isfinite(fxh2)):
            raise ValueError(
                f"numerical_gradient: f returned a non-finite value ({fxh1!r}, {fxh2!r}) "
                f"at index {index}"
            )
        grad[index] = (fxh1 - fxh2) / (2 * h)
    return grad


def relative_error(a, b, tiny: float = 1e-4) -> tuple[float, tuple[int, ...]]:
    """Largest elementwise relative error |a − b| / max(|a|, |b|, tiny) and where it occurs.

    Below ``tiny`` the comparison becomes absolute: with a tolerance of 1e-7, two gradients
    smaller than 1e-4 pass when they differ by at most 1e-11. That is the rounding floor of the
    central difference itself (machine epsilon × |loss| / h ≈ 2e-16 × 2.3 / 1e-4 for an MNIST
    loss), so tinier differences say nothing about either method. Zero gradients in both
    give 0.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"relative_error: shapes differ, {a.shape} vs {b.shape}")
    if a.size == 0:
        return 0.0, ()
    err = np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), tiny)
    i = int(np.argmax(err))
    return float(err.reshape(-1)[i]), tuple(int(k) for k in np.unravel_index(i, a.shape))


@dataclass
class Cause:
    """One likely reason why a gradient check failed, and what to do about it."""

    code: str  # "random", "dtype", "relu_kink", "h_too_small", "h_too_large", "backprop"
    message: str
    action: str


@dataclass
class GradientCheckRow:
    """One parameter (or input) of a gradient check."""

    name: str
    shape: tuple[int, ...]
    mean_abs_diff: float  # the book's figure: mean |backprop − numerical_gradient| (plain)
    max_rel_error: float
    worst_index: tuple[int, ...]
    passed: bool
    backprop_at_worst: float = float("nan")  # the two gradients at worst_index
    numerical_at_worst: float = float("nan")


@dataclass
class GradientCheckReport:
    """Result of ``gradient_check``: one row per parameter, plus the two methods' timings."""

    rows: list[GradientCheckRow]
    tol: float
    backprop_seconds: float
    numerical_seconds: float
    title: str = "gradient check"
    method: str = "central difference"  # how the numerical side was computed
    notes: list[str] = field(default_factory=list)
    causes: list[Cause] = field(default_factory=list)  # the doctor's findings on a FAIL
    h_sweep: list[tuple[float, float]] = field(default_factory=list)  # (h, max rel err)
    sweep_param: str = ""

    @property
    def passed(self) -> bool:
        return all(row.passed for row in self.rows)

    @property
    def speedup(self) -> float:
        """How many times faster backpropagation was than numerical differentiation."""
        return self.numerical_seconds / max(self.backprop_seconds, 1e-12)

    def __getitem__(self, name: str) -> GradientCheckRow:
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(name)

    def __str__(self) -> str:
        lines = [
            f"{self.title} (float64, PASS when max relative error ≤ {self.tol:g})",
            f"numerical side: {self.method}",
            f"{'param':<8} {'shape':<14} {'mean |diff|':>12} {'max rel err':>12} "
            f"{'worst index':<14} {'backprop':>12} {'numerical':>12} result",
        ]
        for r in self.rows:
            lines.append(
                f"{r.name:<8} {r.shape!s:<14} {r.mean_abs_diff:>12.3e} "
                f"{r.max_rel_error:>12.3e} {r.worst_index!s:<14} "
                f"{r.backprop_at_worst:>12.5g} {r.numerical_at_worst:>12.5g} "
                f"{'PASS' if r.passed else 'FAIL'}"
            )
        lines.append(
            f"backprop {self.backprop_seconds * 1e3:.3f} ms, numerical "
            f"{self.numerical_seconds * 1e3:.1f} ms (one central difference): backprop was "
            f"{self.speedup:,.0f}× faster"
        )
        lines.extend(self.notes)
        lines.append("all PASS" if self.passed else "FAILED")
        if not self.passed:
            lines.extend(self._doctor_lines())
        return "\n".join(lines)

    def _doctor_lines(self) -> list[str]:
        lines = []
        if self.causes:
            lines.append("why it most likely failed:")
            for cause in self.causes:
                lines.append(f"- {cause.message}")
                lines.append(f"  what to do: {cause.action}")
        if self.h_sweep:
            lines.append(
                f"error for a sweep of h ({self.sweep_param}, at its worst element and a few "
                f"others):"
            )
            lines.extend(sweep_table(self.h_sweep, self.tol))
        return lines

    def __repr__(self) -> str:
        return f"GradientCheckReport(passed={self.passed}, rows={len(self.rows)}, tol={self.tol})"


def _best_time(fn, repeat: int = 5) -> float:
    """The fastest of ``repeat`` timed calls of ``fn`` (after the caller's warm-up call)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _row(name, analytic, numeric, tol, tiny) -> GradientCheckRow:
    """``numeric`` is (the book's central difference, the reference compared with)."""
    plain, reference = numeric
    analytic = np.asarray(analytic, dtype=np.float64)
    rel, worst = relative_error(analytic, reference, tiny=tiny)
    # The book's figure: mean |backprop − numerical_gradient|, against the plain difference.
    mad = float(np.mean(np.abs(analytic - plain))) if analytic.size else 0.0
    at = (float(analytic[worst]), float(reference[worst])) if analytic.size else (0.0, 0.0)
    return GradientCheckRow(name, analytic.shape, mad, rel, worst, rel <= tol, *at)


def gradient_check(
    model,
    *inputs,
    tol: float = 1e-7,
    h: float = 1e-4,
    tiny: float = 1e-4,
    richardson: bool = True,
    rng: np.random.Generator | None = None,
    progress=None,
) -> GradientCheckReport:
    """Compare backpropagation with numerical differentiation, parameter by parameter.

    On a **network** (an object with ``params``, ``loss(x, t)`` and ``gradient(x, t)``, such
    as ``TwoLayerNet``): ``gradient_check(network, x, t)`` checks every parameter. The
    network is first copied to float64 (``network.astype``), so the model itself is not
    touched.

    On a **layer** (a node with ``forward``/``backward``): ``gradient_check(layer, *inputs)``
    checks the gradient of every input that ``backward`` returns and of every parameter the
    layer has (``layer.params``, e.g. Affine's W and b). The layer's output is contracted with
    a *random* upstream gradient ``dout``, so a backward that ignores ``dout`` fails.
    Remaining inputs (such as the labels of ``SoftmaxWithLoss``) are held constant.

    Parameters
    ----------
    tol : float
        PASS when the max relative error is at most ``tol``.
    h : float
        Step of the central difference.
    tiny : float
        Floor of the relative error's denominator (see ``relative_error``).
    richardson : bool
        Refine the numerical side by Richardson extrapolation: (4·D(h/2) − D(h)) / 3 from two
        central differences, whose error is O(h⁴) instead of O(h²). Without it, deeper
        networks can FAIL at ``tol=1e-7`` on the central difference's own error, not on
        backpropagation's. The reported numerical time is always that of one plain central
        difference (``numerical_gradient``, the book's method).
    rng : numpy.random.Generator, optional
        Source of the random upstream gradient for layers.
    progress : callable, optional
        ``progress(done, total)`` is called as the numerical gradient runs (``done`` of
        ``total`` evaluations of the loss), e.g. to show a progress line.

    When the check FAILs, the report also says why it most likely failed (``report.causes``,
    printed under "why it most likely failed"): randomness in forward, parameters or data
    that are not float64, a ReLU input within h of its kink, or a step h that is too small or
    too large, with the error for a sweep of h (``report.h_sweep``, printed as a table and a
    bar chart on a log scale: the U-shaped curve). When none of these applies, the backward
    itself is the likely culprit.

    Returns
    -------
    GradientCheckReport
        Rows in parameter order; ``str(report)`` prints the table; ``report.passed``.
    """
    if hasattr(model, "params") and hasattr(model, "gradient") and hasattr(model, "loss"):
        return _check_network(
            model, inputs, tol=tol, h=h, tiny=tiny, richardson=richardson, progress=progress
        )
    if hasattr(model, "forward") and hasattr(model, "backward"):
        return _check_layer(
            model,
            inputs,
            tol=tol,
            h=h,
            tiny=tiny,
            richardson=richardson,
            rng=rng,
            progress=progress,
        )
    raise TypeError(
        f"gradient_check: expected a network (params, loss, gradient) or a layer (forward, "
        f"backward), got {type(model).__name__}"
    )


def _method(h: float, richardson: bool) -> str:
    if richardson:
        return f"central differences with h={h:g} and 2h, Richardson-extrapolated"
    return f"central difference with h={h:g}"


class _Counter:
    """Counts the evaluations of the loss for ``progress(done, total)``."""

    def __init__(self, total: int, progress):
        self.total, self.done, self.progress = total, 0, progress

    def wrap(self, f):
        if self.progress is None:
            return f

        def counted(x):
            self.done += 1
            if self.done % 64 == 0 or self.done == self.total:
                self.progress(self.done, self.total)
            return f(x)

        return counted


def _evaluations(sizes, richardson: bool) -> int:
    return sum(2 * n for n in sizes) * (2 if richardson else 1)


def _numerical_reference(f, x, h, richardson):
    """((the book's central difference, the gradient to compare with), its seconds)."""
    start = time.perf_counter()
    plain = numerical_gradient(f, x, h=h)
    seconds = time.perf_counter() - start
    reference = (4 * plain - numerical_gradient(f, x, h=2 * h)) / 3 if richardson else plain
    return (plain, reference), seconds


def _check_network(network, inputs, *, tol, h, tiny, richardson, progress) -> GradientCheckReport:
    if len(inputs) != 2:
        raise TypeError(
            f"gradient_check(network, x, t): expected the inputs x and targets t, got "
            f"{len(inputs)} positional argument(s)"
        )
    x, t = inputs
    if hasattr(network, "astype"):
        network = network.astype(np.float64)
    x = np.asarray(x)
    x = x.astype(np.float64) if x.dtype.kind in "fiub" else x

    grads = network.gradient(x, t)
    if set(grads) != set(network.params):  # before the slow part
        raise ValueError(
            f"gradient_check: gradient() returned the keys {sorted(grads)}, the network's "
            f"params are {sorted(network.params)}"
        )
    backprop_seconds = _best_time(lambda: network.gradient(x, t))  # includes its forward pass

    numeric = {}
    numerical_seconds = 0.0
    counter = _Counter(
        _evaluations([p.size for p in network.params.values()], richardson), progress
    )

    def loss(_):
        return network.loss(x, t)

    for key, param in network.params.items():
        numeric[key], seconds = _numerical_reference(counter.wrap(loss), param, h, richardson)
        numerical_seconds += seconds

    rows = [_row(k, grads[k], numeric[k], tol, tiny) for k in network.params]
    report = GradientCheckReport(
        rows,
        tol,
        backprop_seconds,
        numerical_seconds,
        title=f"gradient check of {type(network).__name__}",
        method=_method(h, richardson),
    )
    if not report.passed:
        subject = _Subject(
            loss=loss,
            arrays=dict(network.params),
            grads={k: np.asarray(grads[k], dtype=np.float64) for k in network.params},
            relu_inputs=lambda: _network_relu_inputs(network, x),
            dtypes=_dtypes(network.params),
        )
        _doctor(report, subject, h=h, richardson=richardson, tiny=tiny)
    return report


def _check_layer(layer, inputs, *, tol, h, tiny, richardson, rng, progress) -> GradientCheckReport:
    if not inputs:
        raise TypeError("gradient_check(layer, *inputs): give the layer's forward inputs")
    rng = np.random.default_rng(0) if rng is None else rng
    layer = copy.deepcopy(layer)  # the caller's layer keeps its dtype and cache
    for name, value in getattr(layer, "params", {}).items():
        setattr(layer, name, np.array(value, dtype=np.float64))
    if hasattr(layer, "compute_dx"):
        layer.compute_dx = True
    arrays = [
        np.array(v, dtype=np.float64) if np.asarray(v).dtype.kind == "f" else np.asarray(v)
        for v in inputs
    ]

    out = layer.forward(*arrays)
    dout = rng.standard_normal(np.shape(out))
    result = layer.backward(dout)
    dinputs = result if isinstance(result, tuple) else (result,)
    param_grads = {k: np.copy(v) for k, v in getattr(layer, "grads", {}).items()}

    def forward_backward():
        layer.forward(*arrays)
        layer.backward(dout)

    backprop_seconds = _best_time(forward_backward)

    def f(_):
        return float(np.sum(np.asarray(layer.forward(*arrays)) * dout))

    rows = []
    names = {1: ["x"], 2: ["x", "y"]}.get(len(dinputs)) or [f"x{i}" for i in range(len(dinputs))]
    checks = [  # (name, backprop's gradient, the array it is the gradient of)
        (names[i], dx, arrays[i])
        for i, dx in enumerate(dinputs)
        if dx is not None and arrays[i].dtype.kind == "f"
    ]
    checks += [(k, param_grads[k], getattr(layer, k)) for k in param_grads]
    integers = [  # inputs with a gradient that cannot be perturbed by ± h
        (names[i], arrays[i])
        for i, dx in enumerate(dinputs)
        if dx is not None and arrays[i].dtype.kind in "iub"
    ]
    numerical_seconds = 0.0
    compared = []
    counter = _Counter(_evaluations([np.size(a) for _, _, a in checks], richardson), progress)
    for name, analytic, array in checks:
        numeric, seconds = _numerical_reference(counter.wrap(f), array, h, richardson)
        numerical_seconds += seconds
        compared.append((name, analytic, numeric))
    for name, analytic, numeric in compared:
        if np.shape(analytic) != np.shape(numeric[0]):
            raise ValueError(
                f"gradient_check: {type(layer).__name__}.backward returned a gradient of shape "
                f"{np.shape(analytic)} for {name}, which has shape {np.shape(numeric[0])}"
            )
        rows.append(_row(name, analytic, numeric, tol, tiny))
    for name, array in integers:  # not checkable: a FAIL, which the doctor explains
        rows.append(GradientCheckRow(name, array.shape, math.nan, math.inf, (), False))
    report = GradientCheckReport(
        rows,
        tol,
        backprop_seconds,
        numerical_seconds,
        title=f"gradient check of {type(layer).__name__}",
        method=_method(h, richardson),
    )
    if not report.passed:
        checked = {name: array for name, _, array in checks}
        relu = "relu" in type(layer).__name__.lower()
        subject = _Subject(
            loss=f,
            arrays=checked,
            grads={name: np.asarray(a, dtype=np.float64) for name, a, _ in checks},
            relu_inputs=lambda: (
                [(type(layer).__name__, checked["x"])] if relu and "x" in checked else []
            ),
            dtypes={name: np.asarray(a).dtype for name, a in [*checked.items(), *integers]},
        )
        _doctor(report, subject, h=h, richardson=richardson, tiny=tiny)
    return report


# ---------------------------------------------------------------------------------------------
# The doctor: why a gradient check most likely failed
# ---------------------------------------------------------------------------------------------

H_SWEEP = tuple(10.0**-k for k in range(1, 11))  # 1e-1 ... 1e-10


@dataclass
class _Subject:
    """What the doctor needs: the checked function, its arrays and backprop's gradients."""

    loss: object  # f(_) -> float, reading the arrays in place
    arrays: dict  # name -> the array the numerical gradient perturbs
    grads: dict  # name -> backprop's gradient (float64)
    relu_inputs: object  # () -> [(layer name, the input of a ReLU)]
    dtypes: dict  # name -> dtype the check computed in


def _dtypes(params) -> dict:
    return {k: np.asarray(v).dtype for k, v in params.items()}


def _network_relu_inputs(network, x) -> list:
    """(name, input) of every ReLU of a network with ``layers`` (forward order)."""
    layers = getattr(network, "layers", None)
    if layers is None:
        return []
    items = list(layers.items()) if hasattr(layers, "items") else list(enumerate(layers))
    found = []
    out = x
    for name, layer in items:
        if "relu" in type(layer).__name__.lower():
            found.append((str(name), np.asarray(out, dtype=np.float64).copy()))
        out = layer.forward(out)
    return found


def _central(f, array, index, h) -> float:
    original = array[index]
    try:
        array[index] = original + h
        a = float(f(array))
        array[index] = original - h
        b = float(f(array))
    finally:
        array[index] = original
    return (a - b) / (2 * h)


def _sweep(subject: _Subject, name: str, worst, richardson: bool, tiny: float, rng_seed=0):
    """[(h, max rel err over a few elements)] for every h of H_SWEEP."""
    array, grad = subject.arrays[name], subject.grads[name]
    indices = [tuple(worst)]
    rng = np.random.default_rng(rng_seed)
    for flat in rng.choice(array.size, size=min(4, array.size), replace=False):
        index = tuple(int(k) for k in np.unravel_index(int(flat), array.shape))
        if index not in indices:
            indices.append(index)
    table = []
    for h in H_SWEEP:
        errs = []
        for index in indices:
            d = _central(subject.loss, array, index, h)
            if richardson:
                d = (4 * d - _central(subject.loss, array, index, 2 * h)) / 3
            g = float(grad[index])
            errs.append(abs(g - d) / max(abs(g), abs(d), tiny))
        table.append((h, max(errs)))
    return table


def sweep_table(sweep, tol: float) -> list[str]:
    """The h sweep as a table with a bar chart of log10(error): the U-shaped curve."""
    lines = [f"  {'h':>7} {'max rel err':>12}  (each # is a factor of 10 above 1e-16)"]
    best = min(sweep, key=lambda row: row[1])[0]
    for h, err in sweep:
        bars = max(0, round(math.log10(max(err, 1e-16)) + 16))
        mark = " ← best" if h == best else ""
        ok = "PASS" if err <= tol else "FAIL"
        lines.append(f"  {h:>7.0e} {err:>12.2e}  {ok}  {'#' * bars}{mark}")
    return lines


def _doctor(report: GradientCheckReport, subject: _Subject, *, h, richardson, tiny) -> None:
    """Fill ``report.causes`` and ``report.h_sweep`` for a failed check."""
    causes = report.causes
    # 1. Randomness: the same input must give the same loss.
    first, second = float(subject.loss(None)), float(subject.loss(None))
    if first != second:
        causes.append(
            Cause(
                "random",
                f"forward is random: the same input gave {first!r} and then {second!r} "
                "(dropout-like layers draw a new mask on every call), so the numerical "
                "gradient measures the noise",
                "turn the randomness off during the check (train_flg=False, dropout ratio 0) "
                "or fix its seed for every call",
            )
        )
    # 2. Precision: float32 (or less) keeps about 7 digits, the central difference needs more.
    whole = {k: dt for k, dt in subject.dtypes.items() if dt.kind in "iub"}
    if whole:
        names = ", ".join(f"{k} ({dt})" for k, dt in whole.items())
        causes.append(
            Cause(
                "dtype",
                f"integer data: {names}; an integer array cannot hold x ± h, so its gradient "
                "cannot be checked (the book's numerical_gradient silently returns nonsense)",
                "pass floats: x.astype(np.float64)",
            )
        )
    low = {k: dt for k, dt in subject.dtypes.items() if dt.kind == "f" and dt.itemsize < 8}
    if low:
        names = ", ".join(f"{k} ({dt})" for k, dt in low.items())
        causes.append(
            Cause(
                "dtype",
                f"the check computed in low precision: {names}; with h=1e-4 the central "
                "difference of a float32 loss keeps about 3 digits",
                "convert the data and the parameters to float64 before the check, e.g. "
                "network.params[key] = value.astype(np.float64) (or network.astype)",
            )
        )
    # 3. The ReLU kink: an input within reach of 0 makes the central difference straddle it.
    # Only for sensible steps: with h ≥ 1e-2 half the inputs are "near" 0 and h is the cause.
    reach = 2 * h if richardson else h
    for layer_name, x in subject.relu_inputs() if h <= 1e-3 else []:
        close = np.argwhere(np.abs(x) < reach)
        if close.size:
            index = tuple(int(k) for k in close[0])
            more = f" (and {len(close) - 1} more)" if len(close) > 1 else ""
            causes.append(
                Cause(
                    "relu_kink",
                    f"{layer_name}: its input at {index} is {x[index]:.3g}, within "
                    f"{'2h' if richardson else 'h'}={reach:g} "
                    f"of the kink at 0{more}; the central difference there averages the two "
                    "slopes 0 and 1",
                    "this is the numerical side's error, not backprop's: use another batch or "
                    "--seed, or a smaller h for this element",
                )
            )
    # 4. The step h: where does the error curve have its minimum?
    failing = [r for r in report.rows if not r.passed and r.name in subject.arrays]
    if failing:
        worst = max(failing, key=lambda r: r.max_rel_error)
        sweep = _sweep(subject, worst.name, worst.worst_index, richardson, tiny)
        report.h_sweep, report.sweep_param = sweep, worst.name
        best_h, best_err = min(sweep, key=lambda row: row[1])
        passing = [hh for hh, err in sweep if err <= report.tol]
        if passing and not any(math.isclose(h, hh) for hh in passing) and not causes:
            code = "h_too_small" if best_h > h else "h_too_large"
            why = (
                "rounding error grows as ε/h"
                if code == "h_too_small"
                else "the difference's truncation error grows with h"
            )
            causes.append(
                Cause(
                    code,
                    f"the step h={h:g} is too {'small' if code == 'h_too_small' else 'large'}: "
                    f"{why}; at h={best_h:g} the error is {best_err:.1e} (see the sweep below)",
                    (
                        "use the book's h=1e-4"
                        if any(math.isclose(1e-4, hh) for hh in passing)
                        else f"use h={best_h:g}"
                    )
                    + f" (the error is lowest at h={best_h:g} here)",
                )
            )
        elif not passing and not causes:
            causes.append(
                Cause(
                    "backprop",
                    f"no step h brings the numerical gradient of {worst.name} within "
                    f"{report.tol:g} of backprop's (best {best_err:.1e} at h={best_h:g}): the "
                    "numerical side is not the problem",
                    "backprop's gradient is most likely wrong: check each layer's backward "
                    "alone (backprop check FILE.py, or gradient_check(layer, x))",
                )
            )
