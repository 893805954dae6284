"""Arithmetic expressions as computational graphs, parsed safely; the book's example graphs.

Book: 5.1 (the apple and apple-orange shopping graphs, 5.4 in code), 5.2 (z = (x + y)²),
5.5-5.6 (the ReLU, Sigmoid, Affine and Softmax-with-Loss graphs), Appendix A (the graph of
Softmax-with-Loss), 5.7 (a two-layer net on one MNIST image).

``evaluate("(x + y) ** 2", {"x": 1, "y": 2})`` builds the graph of the expression with Tensors
and returns the output and the input variables. The text is parsed with ``ast`` and walked
node by node against a whitelist: numbers, the given variables, ``+ - * / **``, unary ``-``
and ``+``, parentheses and calls of exp, log, relu, sigmoid, tanh, sum and mean. Anything else
(attribute access, subscripts, lambdas, strings, other names or calls) is rejected with a
``ValueError`` naming it and what is allowed. Nothing is ever passed to ``eval``.

Parts without variables are computed as plain numbers (``x * (2 * 3)`` has the constant 6);
the exponent of ``**`` must be such a constant.

``example(name, variables, seed)`` builds one of ``EXAMPLES`` from the library's own nodes:
the shopping graphs, and the layer graphs of 5.5-5.6 and Appendix A with the learner's numbers
(``variables``) or random ones (``seed``). ``expand(f)`` opens a layer-level node (Affine,
ReLU, Softmax-with-Loss) of any graph into the graph of its parts, on the same numbers.
"""

from __future__ import annotations

import ast
import keyword
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from backprop.autograd.core import Function, Tensor
from backprop.autograd.ops import (
    affine,
    exp,
    log,
    mean,
    relu,
    sigmoid,
    softmax_cross_entropy,
    sum_,
    tanh,
)

__all__ = [
    "BOOK_EXAMPLES",
    "EXAMPLES",
    "FUNCTIONS",
    "MAX_LENGTH",
    "Example",
    "book_example",
    "evaluate",
    "example",
    "expand",
    "parse_variables",
]

FUNCTIONS = {
    "exp": exp,
    "log": log,
    "relu": relu,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "sum": sum_,
    "mean": mean,
}
MAX_LENGTH = 1000  # characters; keeps parsing and the recursive walk shallow

_OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_ALLOWED = (
    "allowed are numbers, variables, the operators + - * / ** and unary -, parentheses and "
    f"the functions {', '.join(FUNCTIONS)}"
)
_DESCRIPTIONS = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscripts ([...])",
    ast.Lambda: "lambda",
    ast.Compare: "comparisons",
    ast.BoolOp: "and/or",
    ast.IfExp: "conditional expressions (if/else)",
    ast.List: "lists",
    ast.Tuple: "tuples",
    ast.Dict: "dicts",
    ast.Set: "sets",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "generator expressions",
    ast.JoinedStr: "f-strings",
    ast.NamedExpr: "assignment expressions (:=)",
    ast.Starred: "starred arguments (*)",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}


def _reject(what: str, node: ast.AST) -> ValueError:
    column = getattr(node, "col_offset", None)
    where = "" if column is None else f" at column {column + 1}"
    return ValueError(f"expression: not allowed{where}: {what}; {_ALLOWED}")


def _check_name(name) -> str:
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"variable name {name!r} is not a valid name (letters, digits and _)")
    if name.startswith("__") or name in FUNCTIONS:
        raise ValueError(
            f"variable name {name!r} is reserved; names of functions ({', '.join(FUNCTIONS)}) "
            f"and names starting with __ cannot be variables"
        )
    return name


class _Builder:
    """Walks the whitelisted AST and builds the graph; constant parts become floats."""

    def __init__(self, variables: dict[str, Tensor]):
        self.variables = variables
        self.used: list[str] = []

    def build(self, node: ast.AST):
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            kind = type(node).__name__
            raise _reject(_DESCRIPTIONS.get(type(node), f"the syntax {kind}"), node)
        return method(node)

    def _Expression(self, node: ast.Expression):
        return self.build(node.body)

    def _Constant(self, node: ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _reject(f"the constant {value!r} (only real numbers)", node)
        try:
            number = float(value)  # floats, never Python's unbounded integers
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise ValueError(
                f"expression: the number at column {node.col_offset + 1} is too large for a "
                f"float (|x| must be below {sys.float_info.max:.3g})"
            )
        return number

    def _Name(self, node: ast.Name):
        if node.id in self.variables:
            if node.id not in self.used:
                self.used.append(node.id)
            return self.variables[node.id]
        if node.id in FUNCTIONS:
            raise ValueError(
                f"expression: {node.id} is a function; call it, e.g. {node.id}(x), at column "
                f"{node.col_offset + 1}"
            )
        given = ", ".join(self.variables) or "none"
        raise ValueError(
            f"expression: unknown name {node.id!r} at column {node.col_offset + 1}; the "
            f"variables given are: {given} (define one with --var {node.id}=VALUE); {_ALLOWED}"
        )

    def _UnaryOp(self, node: ast.UnaryOp):
        if isinstance(node.op, ast.USub):
            return -self.build(node.operand)
        if isinstance(node.op, ast.UAdd):
            return self.build(node.operand)
        raise _reject(f"the operator {type(node.op).__name__}", node)

    def _BinOp(self, node: ast.BinOp):
        symbol = _OPERATORS.get(type(node.op))
        if symbol is None:
            raise _reject(f"the operator {type(node.op).__name__}", node)
        left = self.build(node.left)
        right = self.build(node.right)
        if symbol == "**" and isinstance(right, Tensor):
            raise ValueError(
                f"expression: the exponent of ** at column {node.col_offset + 1} must be a "
                f"number or a constant expression, not one with variables"
            )
        if isinstance(left, float) and isinstance(right, float):
            return _constant(symbol, left, right, node)
        if symbol == "+":
            return left + right
        if symbol == "-":
            return left - right
        if symbol == "*":
            return left * right
        if symbol == "/":
            return left / right
        return left**right

    def _Call(self, node: ast.Call):
        if not isinstance(node.func, ast.Name):
            raise _reject(f"calling {ast.unparse(node.func)!r}", node)
        name = node.func.id
        if name not in FUNCTIONS:
            raise ValueError(
                f"expression: unknown function {name!r} at column {node.col_offset + 1}; {_ALLOWED}"
            )
        if node.keywords or len(node.args) != 1:
            raise ValueError(
                f"expression: {name}() takes exactly one argument and no keywords, at column "
                f"{node.col_offset + 1}"
            )
        argument = self.build(node.args[0])
        result = FUNCTIONS[name](argument)
        return result.item() if isinstance(argument, float) else result


def _constant(symbol: str, a: float, b: float, node: ast.AST) -> float:
    try:
        if symbol == "+":
            value = a + b
        elif symbol == "-":
            value = a - b
        elif symbol == "*":
            value = a * b
        elif symbol == "/":
            value = a / b
        else:
            value = a**b
    except (ZeroDivisionError, OverflowError) as exc:
        why = "division by zero" if isinstance(exc, ZeroDivisionError) else "it overflows"
        raise ValueError(
            f"expression: the constant {a:g} {symbol} {b:g} at column {node.col_offset + 1} "
            f"cannot be computed: {why}"
        ) from None
    if not isinstance(value, float) or not math.isfinite(value):
        raise ValueError(
            f"expression: the constant {a:g} {symbol} {b:g} at column {node.col_offset + 1} "
            f"is not a finite real number"
        )
    return value


def evaluate(
    expression: str, variables: Mapping[str, object], name: str | None = None
) -> tuple[Tensor, dict[str, Tensor]]:
    """Build the computational graph of ``expression`` with Tensors.

    Parameters
    ----------
    expression : str
        E.g. ``"(x + y) ** 2"`` or ``"sigmoid(w * x + b)"``; see the module docstring for
        what is allowed. At most ``MAX_LENGTH`` characters.
    variables : mapping of name → number or array
        The value of each variable; each becomes a float64 ``Tensor`` with that name.
    name : str, optional
        The output's name; default ``"z"`` (``"out"`` if a variable is called z).

    Returns
    -------
    (output, inputs)
        The output Tensor (call ``output.backward()``) and the Tensors of the variables the
        expression uses, in the order of ``variables``.

    Raises
    ------
    ValueError
        Invalid syntax, anything outside the whitelist, unknown names, a non-constant
        exponent, or an expression without variables.
    """
    if not isinstance(expression, str):
        raise TypeError(f"expression must be a string, got {type(expression).__name__}")
    if len(expression) > MAX_LENGTH:
        raise ValueError(
            f"expression: {len(expression)} characters is too long (at most {MAX_LENGTH})"
        )
    tensors = {}
    for key, value in variables.items():
        array = np.asarray(value)
        if array.dtype.kind not in "biuf" or not np.all(np.isfinite(array)):
            raise ValueError(f"variable {key}: the value must be finite numbers, got {value!r}")
        tensors[_check_name(key)] = Tensor(array.astype(np.float64), name=key)
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as exc:
        raise ValueError(
            f"expression: invalid syntax ({exc.msg}) at column {exc.offset} in {expression!r}; "
            f"{_ALLOWED}"
        ) from None
    except (RecursionError, MemoryError):
        raise ValueError("expression: too deeply nested") from None
    builder = _Builder(tensors)
    try:
        with np.errstate(all="raise"):
            output = builder.build(tree)
    except RecursionError:
        raise ValueError("expression: too deeply nested") from None
    except FloatingPointError as exc:
        raise ValueError(f"expression: {exc} while computing {expression!r}") from None
    if not isinstance(output, Tensor) or not output.requires_grad:
        raise ValueError(
            f"expression: {expression!r} uses no variable, so there is nothing to "
            f"differentiate; use a variable such as x and give --var x=VALUE"
        )
    if output.creator is None:  # a bare variable: the output must be a node of its own
        output = output * 1.0
    output.name = name or ("out" if "z" in tensors else "z")
    return output, {key: tensors[key] for key in tensors if key in builder.used}


def parse_variables(assignments) -> dict[str, np.ndarray]:
    """``["x=1", "y=2", "v=1,2,3"]`` → ``{"x": 1.0, "y": 2.0, "v": [1, 2, 3]}`` (float64).

    Each assignment is NAME=VALUE with a number or a comma-separated list of numbers (a
    vector). Raises ValueError naming the bad assignment.
    """
    variables: dict[str, np.ndarray] = {}
    for item in assignments:
        name, sep, value = str(item).partition("=")
        name = name.strip()
        if not sep or not name or not value.strip():
            raise ValueError(f"variable {item!r}: expected NAME=VALUE, e.g. x=1 or v=1,2,3")
        _check_name(name)
        if name in variables:
            raise ValueError(f"variable {name} is given twice")
        try:
            numbers = [float(part) for part in value.split(",")]
        except ValueError:
            raise ValueError(
                f"variable {name}: {value.strip()!r} is not a number or a comma-separated list "
                f"of numbers"
            ) from None
        array = np.array(numbers if len(numbers) > 1 else numbers[0], dtype=np.float64)
        if not np.all(np.isfinite(array)):
            raise ValueError(f"variable {name}: the value must be finite, got {value.strip()!r}")
        variables[name] = array
    return variables


# ---------------------------------------------------------------------------------------------
# The book's shopping graphs (5.1.1-5.1.2, coded in 5.4.1-5.4.2)
# ---------------------------------------------------------------------------------------------

BOOK_EXAMPLES = ("apple", "apple-orange")


def _named(tensor: Tensor, name: str) -> Tensor:
    tensor.name = name
    return tensor


def book_example(example: str) -> tuple[Tensor, dict[str, Tensor]]:
    """The book's shopping graph ``"apple"`` (220) or ``"apple-orange"`` (715).

    Built with the book's names and values (5.4.1-5.4.2): apple = 100, apple_num = 2,
    orange = 150, orange_num = 3, tax = 1.1. Returns ``(price, inputs)`` like ``evaluate``;
    after ``price.backward()`` the inputs hold the book's gradients (2.2, 110, 3.3, 165, 650).
    """
    if example not in BOOK_EXAMPLES:
        raise ValueError(
            f"unknown example {example!r}; the examples are: {', '.join(BOOK_EXAMPLES)}"
        )
    apple = Tensor(100.0, name="apple")
    apple_num = Tensor(2.0, name="apple_num")
    tax = Tensor(1.1, name="tax")
    apple_price = _named(apple * apple_num, "apple_price")
    if example == "apple":
        price = _named(apple_price * tax, "price")
        return price, {"apple": apple, "apple_num": apple_num, "tax": tax}
    orange = Tensor(150.0, name="orange")
    orange_num = Tensor(3.0, name="orange_num")
    orange_price = _named(orange * orange_num, "orange_price")
    all_price = _named(apple_price + orange_price, "all_price")
    price = _named(all_price * tax, "price")
    inputs = {"apple": apple, "apple_num": apple_num, "orange": orange, "orange_num": orange_num}
    return price, {**inputs, "tax": tax}


# ---------------------------------------------------------------------------------------------
# The layer graphs of 5.5-5.6 and Appendix A, with the learner's numbers
# ---------------------------------------------------------------------------------------------

EXAMPLES = (
    *BOOK_EXAMPLES,
    "relu",
    "sigmoid",
    "sigmoid-node",
    "affine",
    "softmax-with-loss",
    "two-layer-net",
)
EXPANDABLE = ("affine", "relu", "softmax_cross_entropy")  # layer nodes that ``expand`` opens


@dataclass
class Example:
    """A graph ready for ``backward``: ``output.backward(dout)`` (``dout`` None: 1).

    ``inputs`` are the variables by name, ``note`` says what the graph shows (a line for the
    page and the CLI), ``title`` names it.
    """

    output: Tensor
    inputs: dict[str, Tensor]
    title: str
    dout: np.ndarray | None = None
    note: str = ""
    constants: dict[str, np.ndarray] = field(default_factory=dict)

    def backward(self) -> None:
        self.output.backward(self.dout)


_VARIABLES = {  # the numbers each example takes (shape; () is a scalar)
    "apple": ("apple", "apple_num", "tax"),
    "apple-orange": ("apple", "apple_num", "orange", "orange_num", "tax"),
    "relu": ("x", "dout"),
    "sigmoid": ("x", "dout"),
    "sigmoid-node": ("x", "dout"),
    "affine": ("X", "W", "B", "dout"),
    "softmax-with-loss": ("a", "t"),
    "two-layer-net": ("index",),
}


def _take(variables, name: str, default: np.ndarray, example_name: str) -> np.ndarray:
    """The learner's value of ``name`` (reshaped to the default's shape), or the default."""
    if name not in variables:
        return default
    value = np.asarray(variables[name], dtype=np.float64)
    if value.shape == default.shape:
        return value
    if value.size == default.size:
        return value.reshape(default.shape)
    if default.ndim <= 1 and value.ndim <= 1 and name in ("x", "a"):
        return value  # an elementwise layer takes any number of inputs
    raise ValueError(
        f"example {example_name}: {name} needs {default.size} numbers (shape {default.shape}), "
        f"got {value.size}"
    )


def _round(a: np.ndarray) -> np.ndarray:
    return np.round(a, 2) + 0.0


def _relu_example(v, rng) -> Example:
    x = _take(v, "x", _round(rng.normal(size=6)), "relu")
    dout = _take(v, "dout", _round(rng.normal(size=x.shape)), "relu")
    if dout.shape != x.shape:
        raise ValueError(f"example relu: dout must have x's shape {x.shape}, got {dout.shape}")
    xt = Tensor(x, name="x")
    y = _named(relu(xt), "y")
    mask = x <= 0
    note = (
        f"mask = (x <= 0) = {np.array2string(mask, separator=', ')}: where the mask is True "
        f"the gradient stops (0), elsewhere ∂L/∂x = ∂L/∂y"
    )
    return Example(y, {"x": xt}, "ReLU layer (5.5.1)", dout, note)


def _sigmoid_example(v, rng, simple: bool) -> Example:
    name = "sigmoid-node" if simple else "sigmoid"
    x = _take(v, "x", _round(rng.normal(size=())), name)
    dout = _take(v, "dout", _round(rng.normal(size=x.shape)), name)
    xt = Tensor(x, name="x")
    if simple:
        y = _named(sigmoid(xt), "y")
        note = "the simplified Sigmoid node: ∂L/∂x = ∂L/∂y · y(1 − y)"
        return Example(y, {"x": xt}, "Sigmoid layer, one node (5.5.2)", dout, note)
    y = _named(1.0 / ((xt * -1.0).exp() + 1.0), "y")  # ×(−1), exp, +1, ÷ as in figure 5-20
    out = 1.0 / (1.0 + np.exp(-x))
    note = (
        f"the four nodes give ∂L/∂y · y(1 − y) = {describe_number(dout)} × "
        f"{describe_number(out)} × (1 − {describe_number(out)}) = "
        f"{describe_number(dout * out * (1 - out))}, the simplified node's backward"
    )
    return Example(y, {"x": xt}, "Sigmoid layer as a graph (5.5.2)", dout, note)


def describe_number(a) -> str:
    a = np.asarray(a)
    if a.ndim == 0:
        return f"{float(a) + 0.0:.6g}"
    return np.array2string(a, separator=", ", formatter={"float_kind": lambda x: f"{x:.4g}"})


def _affine_graph(X: Tensor, W: Tensor, B: Tensor) -> Tensor:
    """Y = X · W + B with the matrix product and the (broadcast) addition as two nodes."""
    XW = _named(X @ W, "X·W")
    return _named(XW + B, "Y")


def _affine_example(v, rng) -> Example:
    X = _take(v, "X", _round(rng.normal(size=(2, 2))), "affine")
    W = _take(v, "W", _round(rng.normal(size=(2, 3))), "affine")
    B = _take(v, "B", _round(rng.normal(size=(3,))), "affine")
    dout = _take(v, "dout", _round(rng.normal(size=(2, 3))), "affine")
    tensors = {"X": Tensor(X, name="X"), "W": Tensor(W, name="W"), "B": Tensor(B, name="B")}
    Y = _affine_graph(tensors["X"], tensors["W"], tensors["B"])
    note = (
        "∂L/∂X = ∂L/∂Y · Wᵀ (2, 2), ∂L/∂W = Xᵀ · ∂L/∂Y (2, 3), ∂L/∂B = the sum of ∂L/∂Y "
        "over the batch axis (3,)"
    )
    return Example(Y, tensors, "Affine layer for a batch (5.6.2)", dout, note)


def _softmax_with_loss_graph(a: Tensor, t: np.ndarray) -> Tensor:
    """Appendix A: exp, sum, ÷, log, × t, sum (the book's +) and × (−1)."""
    e = _named(a.exp(), "exp(a)")
    S = _named(e.sum(), "S")
    y = _named(e / S, "y")
    log_y = _named(y.log(), "log y")
    t_log_y = _named(log_y * Tensor(t, name="t", requires_grad=False), "t log y")
    total = _named(t_log_y.sum(), "Σ t log y")
    return _named(total * -1.0, "L")


def _one_hot(t: np.ndarray, classes: int, name: str) -> np.ndarray:
    if t.ndim == 0:  # a label
        label = int(t)
        if label != t or not 0 <= label < classes:
            raise ValueError(f"example {name}: t must be a label 0..{classes - 1}, got {t}")
        return np.eye(classes)[label]
    if t.shape != (classes,) or np.any(t < 0) or not np.isclose(t.sum(), 1.0):
        raise ValueError(
            f"example {name}: t must be {classes} non-negative numbers summing to 1 (one-hot), "
            f"or a label, got {np.array2string(t, separator=', ')}"
        )
    return t


def _softmax_example(v, rng) -> Example:
    name = "softmax-with-loss"
    a = _take(v, "a", _round(rng.normal(size=3) * 2), name)
    if a.ndim != 1 or a.size < 2:
        raise ValueError(f"example {name}: a must be a vector of at least 2 scores")
    t = _one_hot(np.asarray(v.get("t", rng.integers(a.size)), dtype=np.float64), a.size, name)
    at = Tensor(a, name="a")
    L = _softmax_with_loss_graph(at, t)
    y = np.exp(a - a.max()) / np.exp(a - a.max()).sum()
    note = (
        f"∂L/∂a = y − t = {describe_number(y)} − {describe_number(t)} = "
        f"{describe_number(y - t)}: the Softmax-with-Loss layer's backward"
    )
    return Example(L, {"a": at}, "Softmax-with-Loss as a graph (Appendix A)", None, note, {"t": t})


def _two_layer_example(v, rng) -> Example:
    from backprop.datasets import load_dataset  # the bundled MNIST sample, read on demand

    (_, _), (x_test, t_test) = load_dataset("mnist-sample")
    index = int(v["index"]) if "index" in v else int(rng.integers(len(x_test)))
    if not 0 <= index < len(x_test):
        raise ValueError(f"example two-layer-net: index must be 0..{len(x_test) - 1}, got {index}")
    x = Tensor(x_test[index : index + 1], name="x", requires_grad=False)
    t = t_test[index : index + 1]
    params = {
        "W1": 0.01 * rng.standard_normal((784, 50)),
        "b1": np.zeros(50),
        "W2": 0.01 * rng.standard_normal((50, 10)),
        "b2": np.zeros(10),
    }
    tensors = {key: Tensor(value, name=key) for key, value in params.items()}
    h = _named(affine(x, tensors["W1"], tensors["b1"]), "a1")
    z = _named(relu(h), "z1")
    s = _named(affine(z, tensors["W2"], tensors["b2"]), "a2")
    L = _named(softmax_cross_entropy(s, t), "L")
    note = (
        f"MNIST sample test image {index} (label {int(t[0])}) through Affine → ReLU → Affine → "
        f"Softmax-with-Loss; click a layer to open its own graph"
    )
    return Example(
        L, tensors, "Two-layer net on one MNIST image (5.7)", None, note, {"x": x.data, "t": t}
    )


def example(name: str, variables: Mapping | None = None, seed: int | None = 0) -> Example:
    """One of ``EXAMPLES``, built from the library's nodes, not yet backpropagated.

    Parameters
    ----------
    name : str
        "apple", "apple-orange" (5.1), "relu", "sigmoid" (×−1, exp, +1, ÷), "sigmoid-node"
        (5.5), "affine", "softmax-with-loss" (5.6, Appendix A) or "two-layer-net" (5.7).
    variables : mapping, optional
        The learner's numbers by name (see ``example_variables``); a vector is reshaped to
        the input's shape (``X=1,2,3,4`` is the 2 × 2 batch).
    seed : int, optional
        Seeds the random numbers of the inputs not given (and the net's weights).
    """
    if name not in EXAMPLES:
        raise ValueError(f"unknown example {name!r}; the examples are: {', '.join(EXAMPLES)}")
    variables = dict(variables or {})
    unknown = sorted(set(variables) - set(_VARIABLES[name]))
    if unknown:
        raise ValueError(
            f"example {name} has no variable {', '.join(unknown)}; its variables are: "
            f"{', '.join(_VARIABLES[name])}"
        )
    rng = np.random.default_rng(seed)
    if name in BOOK_EXAMPLES:
        output, inputs = book_example(name)
        for key, value in variables.items():
            inputs[key].data = np.asarray(value, dtype=np.float64)
        if variables:  # recompute the graph on the learner's numbers
            output, inputs = _shopping(name, {k: t.data for k, t in inputs.items()})
        return Example(output, inputs, f"The book's {name} shopping graph (5.1, 5.4)")
    if name == "relu":
        return _relu_example(variables, rng)
    if name in ("sigmoid", "sigmoid-node"):
        return _sigmoid_example(variables, rng, simple=name == "sigmoid-node")
    if name == "affine":
        return _affine_example(variables, rng)
    if name == "softmax-with-loss":
        return _softmax_example(variables, rng)
    return _two_layer_example(variables, rng)


def _shopping(name: str, values: dict) -> tuple[Tensor, dict[str, Tensor]]:
    tensors = {key: Tensor(value, name=key) for key, value in values.items()}
    apple_price = _named(tensors["apple"] * tensors["apple_num"], "apple_price")
    if name == "apple":
        return _named(apple_price * tensors["tax"], "price"), tensors
    orange_price = _named(tensors["orange"] * tensors["orange_num"], "orange_price")
    all_price = _named(apple_price + orange_price, "all_price")
    return _named(all_price * tensors["tax"], "price"), tensors


def expand(f: Function) -> Example | None:
    """The graph inside a layer-level node (Affine, ReLU, Softmax-with-Loss) of a graph
    that has been backpropagated, on the same numbers: its inputs as variables and the
    gradient that reached its output as ``dout``. None for other nodes."""
    out = f.output() if f.output is not None else None
    if f.name not in EXPANDABLE or out is None or out.grad is None:
        return None
    names = ("x", "W", "b") if f.name == "affine" else ("x",)
    tensors = {
        name: Tensor(x.data, name=x.name or name, requires_grad=True)
        for name, x in zip(names, f.inputs, strict=True)
    }
    if f.name == "affine":
        x = tensors["x"]
        if x.ndim != 2:
            x = _named(x.reshape(x.shape[0], -1), "x (N, D)")
        XW = _named(x @ tensors["W"], "x·W")
        y = _named(XW + tensors["b"], out.name or "out")
        title = "Affine: x · W + b"
    elif f.name == "relu":
        y = _named(relu(tensors["x"]), out.name or "out")
        title = "ReLU"
    else:
        scores = tensors["x"]
        t = np.asarray(f.constants[0])
        if scores.ndim != 2 or scores.shape[0] != 1:
            return None  # the Appendix A graph is for one sample
        classes = scores.shape[1]
        onehot = np.eye(classes)[int(t.reshape(-1)[0])] if t.ndim <= 1 else t[0]
        y = _softmax_with_loss_graph(_named(scores.reshape(classes), "a"), onehot)
        title = "Softmax-with-Loss (Appendix A)"
    return Example(y, tensors, title, np.asarray(out.grad))
