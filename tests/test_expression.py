"""Tests of backprop.autograd.expression: the safe parser and the book's shopping graphs."""

from __future__ import annotations

import numpy as np
import pytest

from backprop.autograd import Tensor, backward_order, book_example, evaluate
from backprop.autograd.expression import MAX_LENGTH, parse_variables


def grads_of(expression, **variables):
    output, inputs = evaluate(expression, variables)
    output.backward()
    return output, {name: float(t.grad) for name, t in inputs.items()}


def test_the_chain_rule_example_of_5_2():
    z, grads = grads_of("(x + y) ** 2", x=1, y=2)
    assert float(z) == 9.0
    assert z.name == "z"
    assert grads == {"x": 6.0, "y": 6.0}  # ∂z/∂x = 2t · 1
    assert [f.name for f in backward_order(z)] == ["pow", "add"]


@pytest.mark.parametrize(
    ("expression", "values", "expected"),
    [
        ("x * y - x / y", {"x": 3.0, "y": 2.0}, {"x": 2 - 0.5, "y": 3 + 3 / 4}),
        ("-x + +y", {"x": 1.0, "y": 1.0}, {"x": -1.0, "y": 1.0}),
        ("exp(x)", {"x": 0.5}, {"x": np.exp(0.5)}),
        ("log(x)", {"x": 4.0}, {"x": 0.25}),
        ("relu(x) + relu(-y)", {"x": 2.0, "y": 3.0}, {"x": 1.0, "y": 0.0}),
        ("tanh(x)", {"x": 0.3}, {"x": 1 - np.tanh(0.3) ** 2}),
        ("sigmoid(w * x + b)", {"w": 0.0, "x": 2.0, "b": 0.0}, {"w": 0.5, "x": 0.0, "b": 0.25}),
        ("x ** (1 / 2)", {"x": 4.0}, {"x": 0.25}),
        ("x * (2 * 3)", {"x": 1.0}, {"x": 6.0}),
        ("x * exp(0)", {"x": 1.0}, {"x": 1.0}),
        ("x", {"x": 5.0}, {"x": 1.0}),
        ("sum(v * v)", {"v": [1.0, 2.0]}, None),
    ],
)
def test_expressions(expression, values, expected):
    output, inputs = evaluate(expression, values)
    output.backward()
    if expected is None:
        np.testing.assert_allclose(inputs["v"].grad, [2.0, 4.0])
        return
    for name, value in expected.items():
        assert float(inputs[name].grad) == pytest.approx(value)


def test_inputs_are_named_tensors_in_the_given_order():
    output, inputs = evaluate("y * x", {"x": 1, "y": 2, "unused": 3})
    assert list(inputs) == ["x", "y"]
    assert all(isinstance(t, Tensor) and t.name == n for n, t in inputs.items())
    assert inputs["x"].dtype == np.float64
    output, _ = evaluate("z * 2", {"z": 1})
    assert output.name == "out"  # z is taken by the variable
    output, _ = evaluate("x * 2", {"x": 1}, name="L")
    assert output.name == "L"


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("__import__('os')", "unknown function '__import__'"),
        ("__import__('os').system('ls')", "not allowed at column 1: calling"),
        ("os.system('ls')", "not allowed at column 1: calling 'os.system'"),
        ("x.__class__", "not allowed at column 1: attribute access"),
        ("(lambda: 0)()", "calling"),
        ("lambda: 0", "lambda"),
        ("x[0]", "subscripts"),
        ("'abc'", "the constant 'abc'"),
        ("True * x", "the constant True"),
        ("1j * x", "the constant 1j"),
        ("[x, x]", "lists"),
        ("x if x else x", "conditional expressions"),
        ("x < 2", "comparisons"),
        ("x and x", "and/or"),
        ("f'{x}'", "f-strings"),
        ("(y := 2)", "assignment expressions"),
        ("x @ x", "the operator MatMult"),
        ("x // 2", "the operator FloorDiv"),
        ("~x", "the operator Invert"),
        ("exp(x, x)", "takes exactly one argument"),
        ("exp(x=1)", "takes exactly one argument"),
        ("exp(*x)", "starred"),
        ("eval('1')", "unknown function 'eval'"),
        ("open('f')", "unknown function 'open'"),
        ("z + 1", "unknown name 'z'"),
        ("exp + x", "exp is a function; call it"),
        ("x +* y", "invalid syntax"),
        ("", "invalid syntax"),
        ("x ** x", "exponent of \\*\\* at column 1 must be a number"),
        ("2 ** 10000 * x", "overflows"),
        ("x * (1 / 0)", "division by zero"),
        ("x / (1 - 1)", "divide by zero encountered"),
        ("exp(1000) * x", "overflow encountered in exp"),
        ("2 * 3", "uses no variable"),
    ],
)
def test_rejected_expressions(expression, message):
    with pytest.raises(ValueError, match=message) as info:
        evaluate(expression, {"x": 1.0})
    assert "\n" not in str(info.value)


def test_errors_name_what_is_allowed():
    with pytest.raises(ValueError) as info:
        evaluate("os.system('ls')", {"x": 1})
    text = str(info.value)
    assert "allowed are numbers, variables" in text
    assert "exp, log, relu, sigmoid, tanh, sum, mean" in text


def test_unknown_name_lists_the_variables():
    with pytest.raises(ValueError, match=r"the variables given are: x, y \(define one"):
        evaluate("q", {"x": 1, "y": 2})


def test_long_and_deep_expressions_are_rejected_cleanly():
    with pytest.raises(ValueError, match="too long"):
        evaluate("x + " * MAX_LENGTH + "x", {"x": 1})
    with pytest.raises(ValueError, match=r"invalid syntax|too deeply nested"):
        evaluate("(" * 300 + "x" + ")" * 300, {"x": 1})
    output, _ = evaluate(" + ".join(["x"] * 240), {"x": 1})  # long but fine
    assert float(output) == 240


def test_expression_must_be_a_string():
    with pytest.raises(TypeError, match="must be a string"):
        evaluate(3, {"x": 1})


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"1x": 1}, "not a valid name"),
        ({"for": 1}, "not a valid name"),
        ({"exp": 1}, "reserved"),
        ({"__x": 1}, "reserved"),
        ({"x": np.inf}, "finite"),
        ({"x": "a"}, "finite numbers"),
    ],
)
def test_bad_variables(variables, message):
    with pytest.raises(ValueError, match=message):
        evaluate("1", variables)


def test_parse_variables():
    variables = parse_variables(["x=1", " y = -2.5 ", "v=1,2,3"])
    assert variables["x"] == 1.0 and variables["x"].shape == ()
    assert variables["y"] == -2.5
    np.testing.assert_array_equal(variables["v"], [1.0, 2.0, 3.0])
    for bad, message in [
        (["x"], "expected NAME=VALUE"),
        (["=1"], "expected NAME=VALUE"),
        (["x="], "expected NAME=VALUE"),
        (["x=a"], "not a number"),
        (["x=nan"], "finite"),
        (["x=1", "x=2"], "given twice"),
        (["os.path=1"], "not a valid name"),
    ]:
        with pytest.raises(ValueError, match=message):
            parse_variables(bad)


def test_book_example_apple():
    price, inputs = book_example("apple")
    price.backward()
    assert float(price) == pytest.approx(220.0)
    assert {k: float(v.grad) for k, v in inputs.items()} == pytest.approx(
        {"apple": 2.2, "apple_num": 110.0, "tax": 200.0}
    )
    assert price.name == "price"
    assert price.creator.inputs[0].name == "apple_price"


def test_book_example_apple_orange():
    price, inputs = book_example("apple-orange")
    price.backward()
    assert float(price) == pytest.approx(715.0)
    assert {k: float(v.grad) for k, v in inputs.items()} == pytest.approx(
        {"apple": 2.2, "apple_num": 110.0, "orange": 3.3, "orange_num": 165.0, "tax": 650.0}
    )


def test_unknown_book_example():
    with pytest.raises(ValueError, match="the examples are: apple, apple-orange"):
        book_example("banana")


@pytest.mark.parametrize("text", ["x * 1" + "0" * 400, "1e400 * x"])
def test_numbers_too_large_for_a_float_are_rejected(text):
    with pytest.raises(ValueError, match="too large for a float"):
        evaluate(text, {"x": 1.0})
