"""Check any layer a learner writes: forward against a reference, backward against the numerical
gradient, and a diagnosis when it is wrong.

Book: 5.7.3 (gradient check), applied to one layer at a time.

A layer is anything with the book's protocol: ``forward(*inputs)`` and ``backward(dout)``,
parameters as attributes (``W``, ``b``) and their gradients as ``dW``, ``db``. No base class and
no import of ``backprop`` are needed. :func:`check_layer` takes a class or an instance:

1. it picks input shapes (or takes ``shape``) and random float64 inputs (a ReLU's inputs stay
   at least 0.1 away from its kink), creates the layer (``Affine(W, b)`` gets W and b);
2. **forward**: compared with a reference where the class name is one the book uses
   (``MulLayer``, ``AddLayer``, ``Relu``, ``Sigmoid``, ``Affine``, ``SoftmaxWithLoss``), and
   with the book's numbers where it has some (the apples: 100 × 2 = 200);
3. **backward**: every gradient (each input's, each parameter's ``d<name>``) against the
   numerical gradient of sum(forward(...) · dout) under a *random* upstream gradient ``dout``,
   so that a backward that ignores ``dout`` fails;
4. **in place**: ``dout``, the inputs and the cached arrays must be unchanged;
5. **large inputs** (activations and the loss): forward on inputs of ±1000 must not overflow.

Each failing check gets the first wrong element and the most likely cause (see
``backprop.check.diagnose``), with a hint and the section to reread.
"""

from __future__ import annotations

import copy
import inspect
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from backprop.check.diagnose import (
    Finding,
    compare,
    diagnose_gradient,
    finding,
    fmt,
    text,
)
from backprop.check.runner import Failure, LearnerCodeError, call, load_module
from backprop.functions import sigmoid, softmax_cross_entropy
from backprop.gradient import numerical_gradient

__all__ = [
    "CheckLine",
    "CheckReport",
    "LayerReport",
    "check_file",
    "check_layer",
    "find_layers",
    "is_layer",
]

DEFAULT_TIMEOUT = 10.0  # seconds per check
TOL = 1e-5  # max relative error of a gradient or a forward value


# ---------------------------------------------------------------------------------------------
# The book's layers: inputs, references, sections
# ---------------------------------------------------------------------------------------------


def _normal(rng, shape, scale=1.0):
    return rng.standard_normal(shape) * scale


def _away_from_zero(rng, shape):
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.1, 2.0, size=shape)


def _one_hot(rng, shape):
    t = np.zeros(shape)
    t[np.arange(shape[0]), rng.integers(0, shape[1], size=shape[0])] = 1.0
    return t


@dataclass(frozen=True)
class _Spec:
    formula: str
    section: str
    shapes: tuple  # default input shapes
    make: tuple  # one generator per input: (rng, shape) -> array
    reference: object  # (inputs, params) -> output
    targets: tuple = ()  # indices of inputs that are targets (not differentiated)
    large: bool = False  # check forward on inputs of ±1000
    book: tuple = ()  # ((inputs), expected output) from the book


def _affine_reference(inputs, params):
    x = inputs[0]
    return x.reshape(x.shape[0], -1) @ params["W"] + params["b"]


SPECS = {
    "MulLayer": _Spec(
        "x · y",
        "5.4.1 (multiplication layer)",
        ((3, 4), (3, 4)),
        (_normal, _normal),
        lambda i, p: i[0] * i[1],
        book=(((100, 2), 200), ((200, 1.1), 220)),
    ),
    "AddLayer": _Spec(
        "x + y",
        "5.4.2 (addition layer)",
        ((3, 4), (3, 4)),
        (_normal, _normal),
        lambda i, p: i[0] + i[1],
        book=(((200, 450), 650),),
    ),
    "Relu": _Spec(
        "max(0, x)",
        "5.5.1 (ReLU layer)",
        ((3, 4),),
        (_away_from_zero,),
        lambda i, p: np.maximum(i[0], 0),
        large=True,
    ),
    "Sigmoid": _Spec(
        "1 / (1 + exp(−x))",
        "5.5.2 (Sigmoid layer)",
        ((3, 4),),
        (_normal,),
        lambda i, p: sigmoid(i[0]),
        large=True,
    ),
    "Affine": _Spec(
        "x · W + b",
        "5.6.2 (batch Affine)",
        ((3, 4),),
        (_normal,),
        _affine_reference,
    ),
    "SoftmaxWithLoss": _Spec(
        "cross_entropy_error(softmax(x), t)",
        "5.6.3 (Softmax-with-Loss layer)",
        ((3, 5), (3, 5)),
        (lambda rng, s: _normal(rng, s, 0.5), _one_hot),
        lambda i, p: softmax_cross_entropy(i[0], i[1]),
        targets=(1,),
        large=True,
    ),
}

_TARGET_NAMES = ("t", "target", "targets", "label", "labels", "y_true")
_PARAM_ARGS = {"W": "W", "w": "W", "weight": "W", "weights": "W", "b": "b", "bias": "b"}
_OUTPUTS = 5  # columns of W for a layer created by the checker


def spec_for(name: str) -> _Spec | None:
    """The book's layer that the class ``name`` is: ``Relu``, or ``MyRelu`` / ``Relu2`` (the
    longest book name that starts or ends the class name), or None."""
    if name in SPECS:
        return SPECS[name]
    matches = [k for k in SPECS if name.startswith(k) or name.endswith(k)]
    return SPECS[max(matches, key=len)] if matches else None


def is_layer(obj) -> bool:
    """A class with callable ``forward`` and ``backward`` (the book's protocol)."""
    return (
        isinstance(obj, type)
        and callable(getattr(obj, "forward", None))
        and callable(getattr(obj, "backward", None))
    )


# ---------------------------------------------------------------------------------------------
# Reports
# ---------------------------------------------------------------------------------------------


@dataclass
class CheckLine:
    """One check of one layer: PASS/FAIL, a short summary and, for a FAIL, the details."""

    layer: str
    check: str
    passed: bool
    summary: str = ""
    finding: Finding | None = None
    first_wrong: str | None = None
    worst: str | None = None
    location: str | None = None

    def details(self, lang: str = "en") -> list[str]:
        lines = [f"{self.layer}: {self.check}"]
        for extra in (self.first_wrong, self.worst):
            if extra:
                lines.append(f"  {extra}")
        if self.location:
            lines.append(f"  {text('at', lang)}: {self.location}")
        if self.finding is not None:
            lines.append(f"  {text('diagnosis', lang)}: {self.finding.message}")
            lines.append(f"  {text('hint', lang)}: {self.finding.hint}")
            lines.append(f"  {text('reread', lang)}: {self.finding.section}")
        return lines


@dataclass
class LayerReport:
    """Every check of one layer."""

    layer: str
    lines: list[CheckLine] = field(default_factory=list)
    lang: str = "en"

    @property
    def passed(self) -> bool:
        return bool(self.lines) and all(line.passed for line in self.lines)

    @property
    def causes(self) -> list[str]:
        """The diagnosis codes of the failing checks, in order, without repeats."""
        codes = [line.finding.code for line in self.lines if not line.passed and line.finding]
        return list(dict.fromkeys(codes))

    def __getitem__(self, check: str) -> CheckLine:
        for line in self.lines:
            if line.check == check:
                return line
        raise KeyError(check)

    def summary_lines(self) -> list[str]:
        width = max((len(line.check) for line in self.lines), default=0)
        return [
            f"{'PASS' if line.passed else 'FAIL'}  {self.layer}  {line.check:<{width}}  "
            f"{line.summary}".rstrip()
            for line in self.lines
        ]

    def detail_lines(self) -> list[str]:
        out = []
        for line in self.lines:
            if not line.passed:
                out.extend(line.details(self.lang))
        return out

    def __str__(self) -> str:
        return "\n".join(_report_text([self], self.lang))

    def __repr__(self) -> str:
        return f"LayerReport({self.layer!r}, passed={self.passed}, causes={self.causes})"

    def _repr_pretty_(self, printer, cycle) -> None:  # IPython and Jupyter show the text
        printer.text(str(self))


@dataclass
class CheckReport:
    """The reports of all layers of a file (or of several layers)."""

    layers: list[LayerReport]
    lang: str = "en"

    @property
    def passed(self) -> bool:
        return bool(self.layers) and all(r.passed for r in self.layers)

    def __getitem__(self, layer: str) -> LayerReport:
        for r in self.layers:
            if r.layer == layer:
                return r
        raise KeyError(layer)

    def __str__(self) -> str:
        return "\n".join(_report_text(self.layers, self.lang))

    def __repr__(self) -> str:
        return f"CheckReport(passed={self.passed}, layers={[r.layer for r in self.layers]})"

    def _repr_pretty_(self, printer, cycle) -> None:  # IPython and Jupyter show the text
        printer.text(str(self))


def _report_text(reports, lang) -> list[str]:
    lines = [line for r in reports for line in r.summary_lines()]
    details = [line for r in reports for line in r.detail_lines()]
    if details:
        lines.append("")
        lines.extend(details)
    total = sum(len(r.lines) for r in reports)
    failed = sum(not line.passed for r in reports for line in r.lines)
    lines.append("")
    lines.append(
        text("all_pass", lang) if not failed else text("failed", lang, n=failed, total=total)
    )
    return lines


# ---------------------------------------------------------------------------------------------
# Creating the layer and its inputs
# ---------------------------------------------------------------------------------------------


def _float_arrays(obj) -> dict[str, np.ndarray]:
    return {
        k: v
        for k, v in vars(obj).items()
        if isinstance(v, np.ndarray) and v.dtype.kind == "f" and not k.startswith("_")
    }


class _Subject:
    """Makes fresh float64 instances of the learner's layer and the inputs to check it with."""

    def __init__(self, layer, spec: _Spec | None, shapes, rng, lang):
        self.cls = layer if isinstance(layer, type) else type(layer)
        self.name = self.cls.__name__
        self.spec = spec
        self.lang = lang
        self.section = spec.section if spec else "5.7.3 (gradient check)"
        forward_params = self._forward_params()
        if shapes is None:
            shapes = list(spec.shapes) if spec else [(3, 4)] * len(forward_params)
        shapes = [tuple(int(n) for n in s) for s in shapes]
        self.template = None
        self.args = {}
        if isinstance(layer, type):
            self._plan_constructor(shapes)
        else:
            self.template = copy.deepcopy(layer)
            for k, v in _float_arrays(self.template).items():
                setattr(self.template, k, v.astype(np.float64))
            W = getattr(self.template, "W", None)
            if shapes and isinstance(W, np.ndarray) and W.ndim == 2 and spec is not None:
                if spec is SPECS["Affine"] and shapes == list(spec.shapes):
                    shapes[0] = (3, W.shape[0])
        if len(shapes) != len(forward_params) and not self._variadic:
            raise Failure(
                finding(
                    "construct",
                    lang,
                    cls=self.name,
                    why=f"forward takes {len(forward_params)} input(s) "
                    f"({', '.join(forward_params)}), {len(shapes)} shape(s) were given",
                    section=self.section,
                )
            )
        names = forward_params or [f"x{i}" for i in range(len(shapes))]
        self.input_names = list(names[: len(shapes)])
        targets = set(spec.targets) if spec else set()
        targets |= {i for i, n in enumerate(self.input_names) if n in _TARGET_NAMES}
        self.targets = targets
        self.shapes = shapes
        makers = spec.make if spec and len(spec.make) == len(shapes) else None
        self.inputs = []
        for i, s in enumerate(shapes):
            if makers is not None:
                self.inputs.append(makers[i](rng, s))
            elif i in targets and len(s) == 2:
                self.inputs.append(_one_hot(rng, s))
            else:
                self.inputs.append(_normal(rng, s))
        self.param_names = list(_float_arrays(self.new()))

    @property
    def _variadic(self) -> bool:
        try:
            sig = inspect.signature(self.cls.forward)
        except (TypeError, ValueError):
            return True
        return any(p.kind is p.VAR_POSITIONAL for p in sig.parameters.values())

    def _forward_params(self) -> list[str]:
        try:
            sig = inspect.signature(self.cls.forward)
        except (TypeError, ValueError):
            return ["x"]
        return [
            name
            for name, p in list(sig.parameters.items())[1:]
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
        ]

    def _plan_constructor(self, shapes) -> None:
        try:
            sig = inspect.signature(self.cls.__init__)
        except (TypeError, ValueError):
            return
        features = int(np.prod(shapes[0][1:])) if shapes and len(shapes[0]) > 1 else 4
        rng = np.random.default_rng(1)
        for name, p in list(sig.parameters.items())[1:]:
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            if p.default is not p.empty and name not in _PARAM_ARGS:  # W, b: always given
                continue
            kind = _PARAM_ARGS.get(name)
            if kind == "W":
                self.args[name] = rng.standard_normal((features, _OUTPUTS))
            elif kind == "b":
                self.args[name] = rng.standard_normal(_OUTPUTS)
            else:
                why = (
                    f"__init__ needs the argument {name!r}, and the checker only knows how to "
                    f"make W and b"
                )
                raise Failure(finding("construct", self.lang, cls=self.name, why=why))

    def new(self):
        """A fresh instance with float64 parameters."""
        if self.template is not None:
            return copy.deepcopy(self.template)
        args = {k: v.copy() for k, v in self.args.items()}
        return self._construct(args)

    def _construct(self, args):
        return call(
            lambda: self.cls(**args),
            method=f"{self.name}.__init__",
            section=self.section,
            lang=self.lang,
            timeout=DEFAULT_TIMEOUT,
            what="nothing",
        )

    def copies(self, scale: float = 1.0) -> list:
        return [a.copy() if i in self.targets else a * scale for i, a in enumerate(self.inputs)]


# ---------------------------------------------------------------------------------------------
# The checks
# ---------------------------------------------------------------------------------------------


def _index_text(index) -> str:
    return ", ".join(str(i) for i in index)


def _count_text(n: int) -> str:
    return "1 array" if n == 1 else f"a tuple of {n}"


class _Checker:
    def __init__(self, subject: _Subject, report: LayerReport, timeout, tol, rng):
        self.s = subject
        self.report = report
        self.timeout = timeout
        self.tol = tol
        self.rng = rng
        self.lang = report.lang
        self.events = []  # in-place changes: (code, values)
        self._doubled = None

    # -- helpers ------------------------------------------------------------------------------
    def call(self, fn, *args, method: str, what: str):
        return call(
            fn,
            *args,
            method=f"{self.s.name}.{method}",
            section=self.s.section,
            lang=self.lang,
            timeout=self.timeout,
            what=what,
        )

    def add(self, check, passed, summary="", **kw) -> None:
        self.report.lines.append(CheckLine(self.s.name, check, passed, summary, **kw))

    def fail(self, check, failure: Failure) -> None:
        self.add(
            check,
            False,
            failure.finding.message,
            finding=failure.finding,
            location=failure.location,
        )

    def output(self, out, method: str) -> np.ndarray:
        try:
            arr = np.asarray(out, dtype=np.float64)
        except (TypeError, ValueError):
            arr = None
        if arr is None:
            got = type(out).__name__
            raise Failure(
                finding(
                    "not_an_array",
                    self.lang,
                    method=f"{self.s.name}.{method}",
                    got=got,
                    section=self.s.section,
                )
            )
        return arr

    def _changed(self, before, after):
        """(index, before, after) of the first changed element, or None."""
        before = np.asarray(before)
        after = np.asarray(after)
        if before.shape != after.shape:
            return ("shape", f"shape {before.shape}", f"shape {after.shape}")
        diff = np.flatnonzero(~((before == after) | (np.isnan(before) & np.isnan(after))))
        if not diff.size:
            return None
        idx = np.unravel_index(int(diff[0]), before.shape)
        return (_index_text(idx), fmt(before[idx]), fmt(after[idx]))

    def _watch_inputs(self, given, method: str) -> None:
        for name, original, now in zip(self.s.input_names, self.s.copies(), given, strict=False):
            change = self._changed(original, now)
            if change:
                index, before, after = change
                self.events.append(
                    (
                        "input_modified",
                        {
                            "method": f"{self.s.name}.{method}",
                            "name": name,
                            "index": index,
                            "before": before,
                            "after": after,
                        },
                    )
                )

    # -- 1. forward ---------------------------------------------------------------------------
    def forward(self) -> bool:
        s = self.s
        try:
            inst = s.new()
            inputs = s.copies()
            out = self.output(
                self.call(inst.forward, *inputs, method="forward", what="out"), "forward"
            )
        except Failure as f:
            self.fail("forward", f)
            return False
        self.inst, self.given, self.out_shape = inst, inputs, out.shape
        self._watch_inputs(inputs, "forward")
        self.cache = {k: v.copy() for k, v in vars(inst).items() if isinstance(v, np.ndarray)}
        if s.spec is None:
            self.add("forward", True, text("no_reference", self.lang))
            return True
        wrong = self._against_reference(out, inst)
        if wrong is None:
            wrong = self._book_values()
        if wrong is None:
            self.add("forward", True, text("matches_reference", self.lang, formula=s.spec.formula))
        else:
            self.add("forward", False, wrong.message, finding=wrong)
        return True

    def _against_reference(self, out, inst) -> Finding | None:
        spec, s = self.s.spec, self.s
        params = _float_arrays(inst)
        try:
            expected = np.asarray(spec.reference(s.copies(), params), dtype=np.float64)
        except (KeyError, ValueError):  # no W/b of the expected shapes: no reference
            return None
        if expected.shape != out.shape:
            return finding(
                "wrong_shape",
                self.lang,
                grad="forward's output",
                target="the output",
                got_shape=out.shape,
                want_shape=expected.shape,
                section=s.section,
            )
        _, first = compare(out, expected, tol=self.tol)
        if first is None:
            return None
        return finding(
            "forward_wrong",
            self.lang,
            formula=spec.formula,
            section=s.section,
            index=f"[{_index_text(first)}]",
            expected=fmt(expected[first]),
            got=fmt(out[first]),
        )

    def _book_values(self) -> Finding | None:
        spec, s = self.s.spec, self.s
        for args, expected in spec.book:
            inst = s.new()
            got = self.output(
                self.call(inst.forward, *args, method="forward", what="out"), "forward"
            )
            if got.shape != () or abs(float(got) - expected) > 1e-9 * abs(expected):
                shown = fmt(got) if got.shape == () else f"an array of shape {got.shape}"
                return finding(
                    "forward_wrong",
                    self.lang,
                    formula=spec.formula,
                    section=s.section,
                    index=f"forward({', '.join(map(str, args))})",
                    expected=fmt(expected),
                    got=shown,
                )
        return None

    # -- 2. backward --------------------------------------------------------------------------
    def _dout(self):
        if self.out_shape == ():
            return float(self.rng.uniform(0.5, 2.0))  # a loss: a number that is not 1
        return self.rng.standard_normal(self.out_shape)

    def _split(self, result) -> list:
        s = self.s
        n = len(s.inputs)
        diff = [i for i in range(n) if i not in s.targets]
        if isinstance(result, (tuple, list)):
            items = list(result)
            if len(items) == n and len(diff) != n:
                items = [items[i] for i in diff]
            if len(items) == len(diff):
                return items
            got = _count_text(len(items))
        elif len(diff) == 1:
            return [result]
        else:
            got = _count_text(1)
        names = [s.input_names[i] for i in diff]
        want = f"{len(diff)} input(s) ({', '.join(names)})"
        example = "return " + ", ".join(f"d{n}" for n in names)
        raise Failure(
            finding(
                "wrong_count", self.lang, got=got, want=want, example=example, section=s.section
            )
        )

    def _run_backward(self, inst, dout):
        given = np.array(dout) if isinstance(dout, np.ndarray) else dout
        what = ", ".join(
            f"d{self.s.input_names[i]}"
            for i in range(len(self.s.inputs))
            if i not in self.s.targets
        )
        result = self.call(inst.backward, given, method="backward", what=what or "dx")
        return given, self._split(result)

    def backward(self) -> bool:
        s = self.s
        self.dout = self._dout()
        try:
            given, items = self._run_backward(self.inst, self.dout)
        except Failure as f:
            self.fail("backward", f)
            return False
        if isinstance(self.dout, np.ndarray):
            change = self._changed(self.dout, given)
            if change:
                index, before, after = change
                self.events.append(
                    ("dout_modified", {"index": index, "before": before, "after": after})
                )
        self._watch_inputs(self.given, "backward")
        skip = {f"d{p}" for p in s.param_names}
        for k, before in self.cache.items():
            if k in skip:
                continue
            change = self._changed(before, getattr(self.inst, k, None))
            if change:
                index, b, a = change
                self.events.append(
                    ("cache_modified", {"name": k, "index": index, "before": b, "after": a})
                )
        diff = [i for i in range(len(s.inputs)) if i not in s.targets]
        self.grads = [
            (f"d{s.input_names[i]}", g, ("input", i)) for i, g in zip(diff, items, strict=True)
        ]
        self.grads += [
            (f"d{p}", getattr(self.inst, f"d{p}", None), ("param", p)) for p in s.param_names
        ]
        return True

    # -- 3. each gradient against the numerical gradient ---------------------------------------
    def _numerical(self, where) -> np.ndarray:
        s = self.s
        inst = s.new()
        arrays = s.copies()
        dout = self.dout

        def f(_):
            out = self.call(inst.forward, *[a.copy() for a in arrays], method="forward", what="out")
            return float(np.sum(self.output(out, "forward") * dout))

        kind, key = where
        target = arrays[key] if kind == "input" else getattr(inst, key)
        plain = numerical_gradient(f, target, h=1e-4)
        double = numerical_gradient(f, target, h=2e-4)
        return (4 * plain - double) / 3  # Richardson: O(h⁴)

    def doubled(self) -> dict:
        """The learner's gradients for the upstream gradient 2·dout (for dout_ignored)."""
        if self._doubled is None:
            self._doubled = {}
            try:
                inst = self.s.new()
                self.call(inst.forward, *self.s.copies(), method="forward", what="out")
                _, items = self._run_backward(inst, self.dout * 2)
                labels = [label for label, _, (kind, _) in self.grads if kind == "input"]
                self._doubled = dict(zip(labels, items, strict=True))
                for label, _, (kind, _key) in self.grads:
                    if kind == "param":
                        self._doubled[label] = getattr(inst, label, None)
            except Failure:
                pass
        return self._doubled

    def gradients(self) -> None:
        s = self.s
        for label, got, where in self.grads:
            check = f"backward {label}"
            kind, key = where
            target = s.input_names[key] if kind == "input" else key
            if got is None:
                if kind == "param":
                    found = finding("missing_grad", self.lang, attr=label, target=key)
                else:
                    found = finding(
                        "returned_none",
                        self.lang,
                        method=f"{s.name}.backward",
                        what=label,
                        section=s.section,
                    )
                self.add(check, False, found.message, finding=found)
                continue
            dtype = getattr(got, "dtype", None)
            try:
                got = self.output(got, "backward")
                expected = self._numerical(where)
            except Failure as f:
                self.fail(check, f)
                continue
            low = dtype is not None and dtype.kind == "f" and dtype.itemsize < 8
            if low and got.shape == expected.shape and compare(got, expected, tol=self.tol)[1]:
                found = finding("low_precision", self.lang, grad=label, dtype=dtype)
                self.add(check, False, found.message, finding=found)
                continue
            self._one_gradient(check, label, target, got, expected, where)

    def _one_gradient(self, check, label, target, got, expected, where) -> None:
        s = self.s
        kind = where[0]
        if got.shape == expected.shape:
            err, first = compare(got, expected, tol=self.tol)
            if first is None:
                self.add(check, True, text("matches_numerical", self.lang, err=err))
                return
        x = s.inputs[0] if kind == "input" and len(s.inputs) == 1 else None
        first_x = s.inputs[0]
        found = diagnose_gradient(
            got,
            expected,
            grad=label,
            target=target,
            section=s.section,
            lang=self.lang,
            dout=self.dout,
            got_2dout=self.doubled().get(label) if got.shape == expected.shape else None,
            x=x,
            batch_size=first_x.shape[0] if first_x.ndim >= 2 else None,
            is_bias=kind == "param" and expected.ndim == 1,
        )
        first_wrong = worst = None
        if got.shape == expected.shape:
            summary = text("differs_numerical", self.lang, err=err)
            first_wrong = text(
                "first_wrong",
                self.lang,
                name=label,
                index=_index_text(first),
                expected=fmt(expected[first]),
                got=fmt(got[first]),
            )
            with np.errstate(invalid="ignore", divide="ignore"):
                rel = np.abs(got - expected) / np.maximum(
                    np.maximum(np.abs(got), np.abs(expected)), 1e-4
                )
            w = np.unravel_index(int(np.nanargmax(rel)), rel.shape) if rel.size else ()
            if w != first:
                worst = text(
                    "worst",
                    self.lang,
                    index=_index_text(w),
                    got=fmt(got[w]),
                    expected=fmt(expected[w]),
                )
        else:
            summary = found.message
        self.add(check, False, summary, finding=found, first_wrong=first_wrong, worst=worst)

    # -- 4. nothing changed in place -----------------------------------------------------------
    def in_place(self) -> None:
        if not self.events:
            self.add("in place", True, text("unchanged", self.lang))
            return
        code, values = self.events[0]
        found = finding(code, self.lang, section=self.s.section, **values)
        self.add("in place", False, found.message, finding=found)

    # -- 5. large inputs ----------------------------------------------------------------------
    def large_inputs(self) -> None:
        s = self.s
        try:
            inst = s.new()
            out = self.output(
                self.call(inst.forward, *s.copies(scale=1000.0), method="forward", what="out"),
                "forward",
            )
        except Failure as f:
            if f.error == "FloatingPointError":
                detail = f.finding.message.split(" raised ", 1)[-1]
                found = finding("overflow", self.lang, detail=f"{detail}, inputs of ±1000")
                self.add("large inputs", False, found.message, finding=found, location=f.location)
            else:
                self.fail("large inputs", f)
            return
        if not np.all(np.isfinite(out)):
            found = finding(
                "overflow", self.lang, detail="it returns inf or nan for inputs of ±1000"
            )
            self.add("large inputs", False, found.message, finding=found)
            return
        self.add("large inputs", True, text("finite", self.lang))

    def run(self) -> None:
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            if not self.forward() or not self.backward():
                return
            self.gradients()
            self.in_place()
            if self.s.spec is not None and self.s.spec.large:
                self.large_inputs()


# ---------------------------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------------------------


def check_layer(
    layer,
    *,
    shape=None,
    lang: str = "en",
    timeout: float | None = DEFAULT_TIMEOUT,
    tol: float = TOL,
    rng: np.random.Generator | None = None,
) -> LayerReport:
    """Check a layer class or instance written with the book's protocol.

    Parameters
    ----------
    layer : class or instance
        Has ``forward(*inputs)`` and ``backward(dout)``; parameters as attributes (``W``,
        ``b``), their gradients as ``dW``, ``db`` after ``backward``. A class is created by the
        checker (``W`` and ``b`` arguments of ``__init__`` get random arrays); an instance is
        copied, so it is not changed.
    shape : list of tuples, optional
        The shape of each input of ``forward`` (default: the book's layers get shapes that make
        mistakes visible, e.g. Affine x (3, 4), W (4, 5); other layers (3, 4) per input).
    lang : "en" or "ko"
    timeout : float or None
        Seconds each call of the learner's code may take (SIGALRM: main thread, POSIX).
    tol : float
        Max relative error of a PASS.
    rng : numpy.random.Generator, optional
        Source of the inputs and of the random upstream gradient.

    Returns
    -------
    LayerReport
        ``str(report)`` prints one line per check, then the details of failures;
        ``report.passed``; ``report.causes`` lists the diagnosis codes.
    """
    if lang not in ("en", "ko"):
        raise ValueError(f"check_layer: lang must be one of en, ko, got {lang!r}")
    cls = layer if isinstance(layer, type) else type(layer)
    if not is_layer(cls):
        raise TypeError(
            f"check_layer: {cls.__name__} is not a layer: it needs forward(*inputs) and "
            f"backward(dout) methods"
        )
    rng = np.random.default_rng(0) if rng is None else rng
    report = LayerReport(cls.__name__, lang=lang)
    try:
        subject = _Subject(layer, spec_for(cls.__name__), shape, rng, lang)
    except Failure as f:
        report.lines.append(
            CheckLine(
                cls.__name__,
                "create",
                False,
                f.finding.message,
                finding=f.finding,
                location=f.location,
            )
        )
        return report
    _Checker(subject, report, timeout, tol, rng).run()
    return report


def find_layers(path) -> list[type]:
    """The layer classes defined in the learner's file ``path``, in the order of the file."""
    module = load_module(path)
    classes = [v for v in vars(module).values() if isinstance(v, type)]
    layers = [c for c in classes if is_layer(c) and c.__module__ == module.__name__]
    if not layers:
        own = [c.__name__ for c in classes if c.__module__ == module.__name__]
        found = f"; it defines the classes {', '.join(own)}" if own else ""
        raise LearnerCodeError(
            f"{path} defines no layer: a layer is a class with forward(*inputs) and "
            f"backward(dout) methods{found}"
        )
    return layers


def split_target(target: str) -> tuple[str, str | None]:
    """``"file.py:ClassName"`` → ``("file.py", "ClassName")``; ``"file.py"`` → (…, None)."""
    path, sep, name = target.rpartition(":")
    if sep and name.isidentifier() and path:
        return path, name
    return target, None


def check_file(target, **kwargs) -> CheckReport:
    """Check every layer class of a file (``FILE.py``) or one (``FILE.py:ClassName``).

    Keyword arguments go to :func:`check_layer`. Raises ``FileNotFoundError`` for a missing
    file and :class:`LearnerCodeError` (a ``ValueError``) for a file that does not parse,
    raises on import or defines no layer.
    """
    path, name = split_target(str(target))
    layers = find_layers(Path(path))
    if name is not None:
        chosen = [c for c in layers if c.__name__ == name]
        if not chosen:
            raise LearnerCodeError(
                f"{path} has no layer class {name}; its layers are "
                f"{', '.join(c.__name__ for c in layers)}"
            )
        layers = chosen
    lang = kwargs.get("lang", "en")
    return CheckReport([check_layer(c, **kwargs) for c in layers], lang=lang)
