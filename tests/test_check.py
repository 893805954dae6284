"""backprop.check: checking a learner's layers, and ``backprop check``."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from backprop import check_layer, layers
from backprop.check import LearnerCodeError, check_file, find_layers
from backprop.cli import main

DATA = Path(__file__).parent / "data"
WRONG = DATA / "wrong_layers.py"
BAD = DATA / "bad_layers.py"
SOLUTIONS = Path(__file__).parents[1] / "src" / "backprop" / "exercises" / "exercise-files"


def _expected() -> dict[str, str]:
    spec = importlib.util.spec_from_file_location("_wrong_layers_for_tests", WRONG)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.EXPECTED


EXPECTED = _expected()


# -- the reference implementations pass --------------------------------------------------------


@pytest.mark.parametrize(
    "cls",
    [
        layers.MulLayer,
        layers.AddLayer,
        layers.Relu,
        layers.Sigmoid,
        layers.Affine,
        layers.SoftmaxWithLoss,
        layers.Tanh,
    ],
)
def test_library_layers_pass(cls):
    report = check_layer(cls)
    assert report.passed, str(report)
    assert report.causes == []


@pytest.mark.parametrize(
    "file", ["mul_add_layers.py", "relu.py", "sigmoid.py", "affine.py", "softmax_with_loss.py"]
)
def test_the_exercises_reference_solutions_pass(file):
    report = check_file(SOLUTIONS / file)
    assert report.passed, str(report)


def test_every_check_of_a_book_layer_is_run():
    report = check_layer(layers.Affine)
    checks = [line.check for line in report.lines]
    assert checks == ["forward", "backward dx", "backward dW", "backward db", "in place"]
    relu = check_layer(layers.Relu)
    assert [line.check for line in relu.lines][-1] == "large inputs"


def test_an_instance_is_copied_not_changed(rng):
    W = rng.standard_normal((6, 2)).astype(np.float32)
    layer = layers.Affine(W, np.zeros(2, dtype=np.float32))
    report = check_layer(layer)
    assert report.passed, str(report)
    assert layer.W is W and layer.W.dtype == np.float32 and layer.x is None


def test_shape_option(rng):
    report = check_layer(layers.Affine, shape=[(2, 7)])
    assert report.passed
    with_shape = check_layer(layers.MulLayer, shape=[(2,), (2,)])
    assert with_shape.passed


# -- every diagnosis, and no other -------------------------------------------------------------


@pytest.mark.parametrize(("name", "code"), sorted(EXPECTED.items()))
def test_each_wrong_layer_gets_its_diagnosis_and_no_other(name, code):
    report = check_file(f"{WRONG}:{name}")
    (layer,) = report.layers
    assert not layer.passed
    assert layer.causes == [code], str(layer)


def test_every_class_of_the_wrong_file_is_checked():
    report = check_file(WRONG)
    assert [r.layer for r in report.layers] == list(EXPECTED)
    assert not report.passed


def test_failure_details_name_output_element_cause_hint_and_section():
    report = check_file(f"{WRONG}:SoftmaxWithLossMissingN")
    text = str(report)
    line = report["SoftmaxWithLossMissingN"]["backward dx"]
    assert not line.passed
    assert line.first_wrong.startswith("first wrong element: dx[0, 0] expected ")
    got = float(line.first_wrong.rsplit("got ", 1)[1])
    expected = float(line.first_wrong.split("expected ")[1].split(",")[0])
    assert got == pytest.approx(3 * expected, rel=1e-4)  # N = 3 times too large
    assert "FAIL  SoftmaxWithLossMissingN  backward dx" in text
    assert "most likely cause: dx is 3 times too large: a 1/N (N = batch size = 3)" in text
    assert "hint: the loss is a mean over the batch" in text
    assert "reread: 5.6.3 (Softmax-with-Loss layer)" in text
    assert text.splitlines()[-1] == "1 of 4 checks FAILED"


def test_overflow_names_the_learners_line():
    line = check_file(f"{WRONG}:SigmoidOverflowing")["SigmoidOverflowing"]["large inputs"]
    assert "wrong_layers.py" in line.location
    assert "self.out = 1 / (1 + np.exp(-x))" in line.location


def test_korean_messages():
    report = check_file(f"{WRONG}:TransposedAffine", lang="ko")
    text = str(report)
    assert "가장 가능성 높은 원인: dW가 기대한 기울기의 전치입니다" in text
    assert "다시 읽기: 5.6.1 (Affine 계층)" in text
    assert "검사 5개 중 1개 FAIL" in text
    with pytest.raises(ValueError, match="lang must be one of en, ko"):
        check_layer(layers.Relu, lang="fr")


def test_all_pass_line():
    assert str(check_layer(layers.Relu)).splitlines()[-1] == "all PASS"


# -- bad input: the learner's code fails, the checker does not ---------------------------------


def test_forward_that_raises_names_the_method_and_the_learners_line():
    (report,) = check_file(f"{BAD}:ReluRaising").layers
    line = report["forward"]
    assert not line.passed
    assert line.finding.code == "raised"
    assert line.finding.message.startswith("ReluRaising.forward raised ValueError: shapes")
    assert 'bad_layers.py", line 9, in forward: return np.dot(x, np.ones((5, 5)))' in (
        line.location
    )
    assert "an array of shape (3, 4)" in line.finding.hint


def test_backward_that_returns_none():
    (report,) = check_file(f"{BAD}:SigmoidReturningNone").layers
    assert report.causes == ["returned_none"]
    assert "SigmoidReturningNone.backward returned None" in str(report)
    assert "return dx" in report["backward"].finding.hint


def test_backward_with_the_wrong_number_of_gradients():
    (report,) = check_file(f"{BAD}:MulLayerOneGradient").layers
    assert report.causes == ["wrong_count"]
    assert "backward returned 1 array, forward takes 2 input(s) (x, y)" in str(report)
    assert "return dx, dy" in str(report)


def test_backward_that_never_ends_is_stopped():
    (report,) = check_file(f"{BAD}:ReluForever", timeout=0.3).layers
    assert report.causes == ["timeout"]
    assert "ReluForever.backward did not finish within 0.3 s" in str(report)


def test_parameter_gradient_not_set():
    (report,) = check_file(f"{BAD}:AffineForgettingDb").layers
    assert report.causes == ["missing_grad"]
    assert "backward did not set self.db (the gradient of self.b)" in str(report)


def test_layer_that_cannot_be_created():
    (report,) = check_file(f"{BAD}:NeedsAConfig").layers
    assert report.causes == ["construct"]
    assert "__init__ needs the argument 'config'" in str(report)


def test_not_a_layer():
    with pytest.raises(TypeError, match="check_layer: int is not a layer"):
        check_layer(3)


def test_file_that_does_not_exist(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        check_file(tmp_path / "none.py")


def test_file_that_does_not_parse(tmp_path):
    path = tmp_path / "broken.py"
    path.write_text("class Relu:\n    def forward(self, x)\n        return x\n")
    with pytest.raises(LearnerCodeError, match=r"broken.py: line 2: .*def forward\(self, x\)"):
        find_layers(path)


def test_file_that_raises_on_import(tmp_path):
    path = tmp_path / "raising.py"
    path.write_text("import numpy as np\n\nx = np.zeros(3) + np.zeros(4)\n")
    with pytest.raises(LearnerCodeError) as excinfo:
        find_layers(path)
    message = str(excinfo.value)
    assert "raising.py: importing it raised ValueError: operands could not be broadcast" in message
    assert 'raising.py", line 3, in <module>: x = np.zeros(3) + np.zeros(4)' in message


def test_file_without_layers(tmp_path):
    path = tmp_path / "empty.py"
    path.write_text("class Relu:\n    def forward(self, x):\n        return x\n")
    with pytest.raises(LearnerCodeError, match=r"defines no layer.*it defines the classes Relu"):
        find_layers(path)


def test_unknown_class_name():
    with pytest.raises(LearnerCodeError, match=r"has no layer class Nope; its layers are Relu"):
        check_file(f"{BAD}:Nope")


def test_sibling_imports_and_edits_are_read_again(tmp_path):
    (tmp_path / "helpers.py").write_text("def scale():\n    return 2.0\n")
    layer = tmp_path / "layer.py"
    layer.write_text(
        "from helpers import scale\n\n\nclass MyRelu:\n    def forward(self, x):\n"
        "        self.x = x\n        return x * (x > 0)\n\n    def backward(self, dout):\n"
        "        return dout * (self.x > 0) * scale()\n"
    )
    assert check_file(layer)["MyRelu"].causes == ["wrong_values"]  # 2 × the gradient
    assert "helpers" not in sys.modules
    (tmp_path / "helpers.py").write_text("def scale():\n    return 1.0\n")
    assert check_file(layer).passed  # the edited sibling is read again


# -- the command ---------------------------------------------------------------------------------


def test_cli_check_passes_with_exit_code_0(capsys):
    code = main(["check", str(SOLUTIONS / "relu.py")])
    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines()[0].startswith("PASS  Relu  forward")
    assert out.rstrip().endswith("all PASS")


def test_cli_check_fails_with_exit_code_1(capsys):
    code = main(["check", f"{WRONG}:ReluMaskInverted", "--lang", "ko"])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL  ReluMaskInverted  backward dx" in out
    assert "mask가 반대입니다" in out


def test_cli_check_bad_files(capsys, tmp_path):
    assert main(["check", str(tmp_path / "none.py")]) == 2
    assert "backprop check: error: no such file" in capsys.readouterr().err
    path = tmp_path / "broken.py"
    path.write_text("def f(:\n")
    assert main(["check", str(path)]) == 1
    assert capsys.readouterr().out.startswith("FAIL  ")


def test_cli_check_shape_and_timeout_arguments(capsys):
    assert main(["check", f"{SOLUTIONS / 'affine.py'}:Affine", "--shape", "2,6"]) == 0
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["check", "x.py", "--shape", "a,b"])
    assert main(["check", "x.py", "--timeout", "0"]) == 2
    assert "--timeout must be positive" in capsys.readouterr().err


def test_cli_check_help_says_the_code_runs_in_this_process(capsys):
    with pytest.raises(SystemExit):
        main(["check", "--help"])
    assert "run in this process" in " ".join(capsys.readouterr().out.split())


def test_console_script_check(tmp_path):
    script = Path(sys.executable).with_name("backprop")
    if not script.exists():
        pytest.skip("console script not installed")
    shutil.copy(WRONG, tmp_path / "mine.py")
    result = subprocess.run(
        [str(script), "check", "mine.py:AffineBiasWrongAxis"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 1
    assert "db is summed over the wrong axis (shape (3,), b has shape (5,))" in result.stdout
    assert result.stderr == ""


def test_forward_that_returns_none():
    (report,) = check_file(f"{BAD}:AddLayerForgettingReturn").layers
    assert report.causes == ["returned_none"]
    assert "AddLayerForgettingReturn.forward returned None" in str(report)
    assert "end AddLayerForgettingReturn.forward with return out" in str(report)


def test_a_class_without_a_reference_still_gets_the_backward_checks():
    class Square:
        def forward(self, x):
            self.x = x
            return x * x

        def backward(self, dout):
            return 2 * self.x * dout

    report = check_layer(Square)
    assert report.passed
    assert report["forward"].summary == "ran (no reference for this class name)"
    assert [line.check for line in report.lines] == ["forward", "backward dx", "in place"]
