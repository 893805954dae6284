"""Arithmetic expressions as computational graphs, parsed safely; the book's shopping graphs.

Book: 5.1 (the apple and apple-orange shopping graphs, 5.4 in code), 5.2 (z = (x + y)²).

``evaluate("(x + y) ** 2", {"x": 1, "y": 2})`` builds the graph of the expression with Tensors
and returns the output and the input variables. The text is parsed with ``ast`` and walked
node by node against a whitelist: numbers, the given variables, ``+ - * / **``, unary ``-``
and ``+``, parentheses and calls of exp, log, relu, sigmoid, tanh, sum and mean. Anything else
(attribute access, subscripts, lambdas, strings, other names or calls) is rejected with a
``ValueError`` naming it and what is allowed. Nothing is ever passed to ``eval``.

Parts without variables are computed as plain numbers (``x * (2 * 3)`` has the constant 6);
the exponent of ``**`` must be such a constant.
"""

from __future__ import annotations

import ast
import keyword
import math
import sys
from collections.abc import Mapping

import numpy as np

from backprop.autograd.core import Tensor
from backprop.autograd.ops import exp, log, mean, relu, sigmoid, sum_, tanh

__all__ = [
    "BOOK_EXAMPLES",
    "FUNCTIONS",
    "MAX_LENGTH",
    "book_example",
    "evaluate",
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
