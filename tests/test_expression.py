"""Tests of backprop.autograd.expression: the safe parser and the book's shopping graphs."""

from __future__ import annotations

import numpy as np
import pytest

from backprop.autograd import Tensor, backward_order, book_example, evaluate
from backprop.autograd.expression import EXAMPLES, MAX_LENGTH, example, expand, parse_variables
from backprop.autograd.networks import TensorTwoLayerNet
from backprop.layers import Affine, Relu, Sigmoid, SoftmaxWithLoss


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
        ("exp(1000) * x", "overflows float64"),
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


# ---------------------------------------------------------------------------------------------
# The layer graphs of 5.5-5.6 and Appendix A, against the layers' own forward and backward
# ---------------------------------------------------------------------------------------------


def ops_of(output):
    return [f.name for f in reversed(backward_order(output))]


def test_every_example_is_listed_and_unknown_ones_list_the_valid_ones():
    assert EXAMPLES == (
        "apple",
        "apple-orange",
        "relu",
        "sigmoid",
        "sigmoid-node",
        "affine",
        "softmax-with-loss",
        "two-layer-net",
    )
    with pytest.raises(ValueError, match="the examples are: apple, apple-orange, relu, sigmoid"):
        example("banana")
    with pytest.raises(ValueError, match="example relu has no variable y; its variables are: x"):
        example("relu", {"y": 1.0})


def test_relu_example_is_the_relu_layer_and_its_mask():
    x = np.array([1.0, -0.5, 2.0, -3.0, 0.25, 0.0])
    dout = np.array([0.3, -1.2, 0.7, 2.0, -0.1, 5.0])
    built = example("relu", {"x": x, "dout": dout})
    built.backward()
    layer = Relu()
    np.testing.assert_array_equal(built.output.data, layer.forward(x))
    np.testing.assert_array_equal(built.inputs["x"].grad, layer.backward(dout))
    np.testing.assert_array_equal(built.inputs["x"].grad, np.where(x > 0, dout, 0.0))
    assert "mask = (x <= 0) = [False,  True, False,  True, False,  True]" in built.note
    assert ops_of(built.output) == ["relu"]


@pytest.mark.parametrize("name", ["sigmoid", "sigmoid-node"])
def test_sigmoid_examples_are_the_sigmoid_layer(name):
    built = example(name, {"x": 0.7, "dout": -1.3})
    built.backward()
    layer = Sigmoid()
    y = layer.forward(np.array(0.7))
    assert built.output.data == pytest.approx(y, rel=1e-15)
    assert built.inputs["x"].grad == pytest.approx(layer.backward(np.array(-1.3)), rel=1e-14)
    y_book = 1 / (1 + np.exp(-0.7))  # the book's formula: dout · y(1 − y)
    assert built.inputs["x"].grad == pytest.approx(-1.3 * y_book * (1 - y_book), rel=1e-14)
    if name == "sigmoid":  # ×−1, exp, +1, ÷ as in figure 5-20
        assert ops_of(built.output) == ["mul", "exp", "add", "div"]
        assert "y(1 − y)" in built.note
    else:
        assert ops_of(built.output) == ["sigmoid"]


def test_affine_example_is_the_affine_layer_for_a_batch(rng):
    X, W, B = rng.normal(size=(2, 2)), rng.normal(size=(2, 3)), rng.normal(size=3)
    dout = rng.normal(size=(2, 3))
    built = example("affine", {"X": X.ravel(), "W": W.ravel(), "B": B, "dout": dout.ravel()})
    built.backward()
    layer = Affine(W, B)
    np.testing.assert_allclose(built.output.data, layer.forward(X), rtol=1e-15)
    dx = layer.backward(dout)
    np.testing.assert_allclose(built.inputs["X"].grad, dx, rtol=1e-14)
    np.testing.assert_allclose(built.inputs["W"].grad, layer.dW, rtol=1e-14)
    np.testing.assert_allclose(built.inputs["B"].grad, layer.db, rtol=1e-14)
    # the book's formulas, written out
    np.testing.assert_allclose(built.inputs["X"].grad, dout @ W.T, rtol=1e-14)
    np.testing.assert_allclose(built.inputs["W"].grad, X.T @ dout, rtol=1e-14)
    np.testing.assert_allclose(built.inputs["B"].grad, dout.sum(axis=0), rtol=1e-14)
    assert ops_of(built.output) == ["matmul", "add"]
    with pytest.raises(ValueError, match=r"affine: W needs 6 numbers \(shape \(2, 3\)\), got 4"):
        example("affine", {"W": np.ones(4)})


@pytest.mark.parametrize("t", [2, np.array([0.0, 0.0, 1.0])])
def test_softmax_with_loss_example_is_the_layer_and_gives_y_minus_t(t):
    a = np.array([0.3, 2.9, 4.0])  # the book's example scores (3.5.2)
    built = example("softmax-with-loss", {"a": a, "t": t})
    built.backward()
    layer = SoftmaxWithLoss()
    onehot = np.array([0.0, 0.0, 1.0])
    assert float(built.output.data) == pytest.approx(float(layer.forward(a, onehot)), rel=1e-14)
    np.testing.assert_allclose(built.inputs["a"].grad, layer.backward(1.0), rtol=1e-12)
    y = np.exp(a) / np.exp(a).sum()
    np.testing.assert_allclose(built.inputs["a"].grad, y - onehot, rtol=1e-12)
    # Appendix A: exp, sum, ÷, log, × t, the sum (the book's +), × −1
    assert ops_of(built.output) == ["exp", "sum", "div", "log", "mul", "sum", "mul"]
    assert "∂L/∂a = y − t" in built.note
    with pytest.raises(ValueError, match="t must be 3 non-negative numbers summing to 1"):
        example("softmax-with-loss", {"a": a, "t": np.array([1.0, 1.0, 0.0])})
    with pytest.raises(ValueError, match=r"t must be a label 0\.\.2"):
        example("softmax-with-loss", {"a": a, "t": 3})


def test_two_layer_net_example_is_the_layers_on_a_real_mnist_image():
    from backprop.datasets import load_dataset

    built = example("two-layer-net", {"index": 7}, seed=5)
    built.backward()
    (_, _), (x_test, t_test) = load_dataset("mnist-sample")
    x, t = x_test[7:8], t_test[7:8]
    p = {key: tensor.data for key, tensor in built.inputs.items()}
    layers = [Affine(p["W1"], p["b1"]), Relu(), Affine(p["W2"], p["b2"])]
    h = x
    for layer in layers:
        h = layer.forward(h)
    last = SoftmaxWithLoss()
    assert float(built.output.data) == pytest.approx(float(last.forward(h, t)), rel=1e-14)
    dout = last.backward(1.0)
    for layer in reversed(layers):
        dout = layer.backward(dout)
    for key, layer in (("W1", layers[0]), ("b1", layers[0]), ("W2", layers[2]), ("b2", layers[2])):
        expected = layer.dW if key[0] == "W" else layer.db
        np.testing.assert_allclose(built.inputs[key].grad, expected, rtol=1e-12, atol=1e-18)
    assert ops_of(built.output) == ["affine", "relu", "affine", "softmax_cross_entropy"]
    assert "label" in built.note and f"image 7 (label {int(t[0])})" in built.note


def test_the_book_examples_take_the_learners_numbers():
    built = example("apple", {"apple": 150.0})
    built.backward()
    assert float(built.output.data) == pytest.approx(150 * 2 * 1.1)
    assert float(built.inputs["apple"].grad) == pytest.approx(2.2)
    assert float(built.inputs["tax"].grad) == pytest.approx(300.0)


def test_seeds_set_the_random_numbers():
    a, b, c = (example("relu", seed=s).inputs["x"].data for s in (1, 1, 2))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("name", ["affine", "relu", "softmax_cross_entropy"])
def test_expand_opens_a_layer_node_on_the_same_numbers(name, rng):
    net = TensorTwoLayerNet(6, 4, 3, seed=0)
    x = rng.normal(size=(1, 6))
    loss = net.loss_tensor(x, np.array([2]))
    loss.backward()
    f = next(f for f in reversed(backward_order(loss)) if f.name == name)
    opened = expand(f)
    opened.backward()
    np.testing.assert_allclose(opened.output.data.reshape(-1), f.output().data.reshape(-1))
    for k, tensor in enumerate(opened.inputs.values()):
        if f.input_grads[k] is not None:
            np.testing.assert_allclose(tensor.grad, f.input_grads[k], rtol=1e-12, atol=1e-18)
    assert name == "relu" or len(ops_of(opened.output)) > 1
