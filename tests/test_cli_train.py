"""``backprop train``, ``evaluate``, ``predict`` on the bundled MNIST sample; bad arguments."""

from __future__ import annotations

import contextlib
import io
import json
import re
import sys

import numpy as np
import pytest

from backprop.checkpoint import load_checkpoint
from backprop.cli import main
from backprop.datasets import load_dataset

ACCURACY_LINE = re.compile(r"^test accuracy (0\.\d{4}|1\.0000)$")


def run_cli(*argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One short training run on the bundled sample: 150 iterations (1.5 epochs)."""
    out = tmp_path_factory.mktemp("run")
    code, stdout, stderr = run_cli("train", "--iters", 150, "--out", out, "--quiet")
    assert code == 0, stderr
    return out, stdout


def test_train_writes_its_files_and_ends_with_the_test_accuracy(trained):
    out, stdout = trained
    lines = stdout.splitlines()
    assert lines[0].startswith("training TwoLayerNet 784-50-10 (ReLU), float32, SGD(lr=0.1), ")
    assert "batch 100, 150 iterations (1.5 epochs of 100)" in lines[0]
    assert lines[1] == "data: MNIST sample (bundled), 10,000 training and 2,000 test images"
    assert lines[2] == f"output folder: {out}"
    assert lines[3].startswith("epoch 1/2  iter 100  loss ")
    assert lines[4].startswith("epoch 2/2  iter 150  loss ")
    assert ACCURACY_LINE.match(lines[-1]), lines[-1]
    for name in (
        "model.npz",
        "history.csv",
        "history.json",
        "learning_curves.png",
        "misclassified.png",
    ):
        assert (out / name).stat().st_size > 0, name
    assert (out / "learning_curves.png").read_bytes()[:4] == b"\x89PNG"
    history = json.loads((out / "history.json").read_text())
    assert len(history["loss"]) == 150
    assert history["iteration"] == [100, 150]
    assert f"{history['test_acc'][-1]:.4f}" == lines[-1].split()[-1]
    meta = load_checkpoint(out / "model.npz").metadata
    assert (meta["dataset"], meta["seed"], meta["dtype"]) == ("mnist-sample", 0, "float32")
    assert meta["training"]["iteration"] == 150


def test_evaluate_prints_the_confusion_matrix_and_the_same_accuracy(trained):
    out, stdout = trained
    code, text, _ = run_cli("evaluate", out / "model.npz", "--misclassified", out / "m.png")
    assert code == 0
    lines = text.splitlines()
    assert "confusion matrix (rows: true class, columns: predicted class)" in lines
    row = next(line for line in lines if line.startswith("   0 "))
    assert len(row.split()) == 12  # label, ten counts, accuracy
    assert lines[-1] == stdout.splitlines()[-1]
    assert (out / "m.png").exists()


def _digit_png(path, index: int = 0, *, dark_on_light: bool = True):
    """A test digit of the sample, enlarged and drawn like ink on paper, as a PNG."""
    from PIL import Image

    (_, _), (x_test, t_test) = load_dataset("mnist-sample", normalize=False, dtype=np.uint8)
    image = x_test[index].reshape(28, 28)
    if dark_on_light:
        image = 255 - image
    big = np.kron(image, np.ones((4, 3), dtype=np.uint8))  # 112×84, another aspect ratio
    Image.fromarray(big).save(path)
    return int(t_test[index])


def test_predict_prints_probabilities_and_the_digit(trained, tmp_path):
    out, _ = trained
    _digit_png(tmp_path / "digit.png")
    code, text, _ = run_cli("predict", out / "model.npz", tmp_path / "digit.png")
    assert code == 0
    lines = text.splitlines()
    assert len(lines) == 11
    probabilities = [float(line.split()[1]) for line in lines[:10]]
    assert sum(probabilities) == pytest.approx(1, abs=1e-3)
    best = int(np.argmax(probabilities))
    assert re.match(rf"^predicted digit {best} \(probability 0\.\d{{4}}\)$", lines[-1])


def test_predicted_input_looks_like_mnist(tmp_path):
    from PIL import Image

    from backprop.images import load_digit_image

    (_, _), (x_test, _) = load_dataset("mnist-sample", normalize=False, dtype=np.uint8)
    original = x_test[3].reshape(28, 28)
    paper = np.kron(255 - original, np.ones((4, 4), dtype=np.uint8))  # dark ink, 112×112
    Image.fromarray(paper).save(tmp_path / "digit.png")
    x = load_digit_image(tmp_path / "digit.png").reshape(28, 28)
    # Inverted, cropped, scaled back into 20×20 and centred like MNIST: nearly the original.
    assert np.corrcoef(x.ravel(), original.ravel())[0, 1] > 0.95
    assert np.abs(x - original / 255).mean() < 0.03


def test_resume_continues_the_run(trained, tmp_path):
    out, _ = trained
    copy = tmp_path / "model.npz"
    copy.write_bytes((out / "model.npz").read_bytes())
    code, text, err = run_cli("train", "--resume", copy, "--iters", 200, "--quiet")
    assert code == 0, err
    assert text.splitlines()[0].endswith("from iteration 150, seed 0")
    assert f"output folder: {tmp_path}" in text
    history = json.loads((tmp_path / "history.json").read_text())
    assert history["iteration"] == [100, 150, 200]
    assert len(history["loss"]) == 200
    assert ACCURACY_LINE.match(text.splitlines()[-1])


# -- bad arguments: one line on stderr, non-zero exit, no traceback --------------------------


def _assert_one_line_error(code, stdout, stderr, *fragments):
    assert code != 0
    assert "Traceback" not in stdout + stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.parametrize(
    ("argv", "fragments"),
    [
        (["--dataset", "cifar"], ["--dataset must be one of mnist", "'cifar'"]),
        (["--optimizer", "adamw"], ["--optimizer must be one of sgd, momentum", "'adamw'"]),
        (["--lr", "0"], ["--lr must be a positive number, got 0"]),
        (["--lr", "-0.5"], ["--lr must be a positive number, got -0.5"]),
        (["--batch-size", "0"], ["--batch-size must be at least 1, got 0"]),
        (["--batch-size", "10001"], ["--batch-size must be at most", "(10,000), got 10,001"]),
        (["--epochs", "0"], ["--epochs must be at least 1, got 0"]),
        (["--iters", "-5"], ["--iters must be at least 1, got -5"]),
        (["--hidden", "0"], ["--hidden sizes must be at least 1, got 0"]),
        (["--activation", "tanh"], ["--activation must be one of relu, sigmoid"]),
        (["--dtype", "float16"], ["--dtype must be one of float32, float64"]),
        (["--data-dir", "somewhere"], ["--data-dir is for --dataset mnist or fashion-mnist"]),
    ],
)
def test_train_bad_arguments(argv, fragments, tmp_path):
    code, stdout, stderr = run_cli("train", *argv, "--out", tmp_path / "run")
    _assert_one_line_error(code, stdout, stderr, "backprop train: error: ", *fragments)
    assert not (tmp_path / "run").exists()


def test_train_rejects_epochs_and_iters_together():
    code, stdout, stderr = run_cli("train", "--epochs", 1, "--iters", 5)
    _assert_one_line_error(code, stdout, stderr, "give --epochs or --iters, not both")


def test_train_rejects_values_argparse_cannot_read():
    with pytest.raises(SystemExit) as info, contextlib.redirect_stderr(io.StringIO()) as err:
        main(["train", "--lr", "fast"])
    assert info.value.code == 2
    assert "argument --lr: invalid float value: 'fast'" in err.getvalue()


def test_resume_refuses_other_settings(trained):
    out, _ = trained
    code, stdout, stderr = run_cli(
        "train", "--resume", out / "model.npz", "--lr", 0.5, "--hidden", 100
    )
    _assert_one_line_error(
        code,
        stdout,
        stderr,
        "these options differ from it: --hidden 100 (saved: 50), --lr 0.5 (saved: 0.1)",
    )


@pytest.mark.parametrize("command", ["evaluate", "predict", "train --resume"])
def test_missing_or_wrong_model_file(command, tmp_path):
    image = tmp_path / "digit.png"
    image.write_bytes(b"")
    extra = [image] if command == "predict" else []
    code, stdout, stderr = run_cli(*command.split(), tmp_path / "nope.npz", *extra)
    _assert_one_line_error(code, stdout, stderr, "model file", "nope.npz does not exist")
    junk = tmp_path / "junk.npz"
    junk.write_text("not a model")
    code, stdout, stderr = run_cli(*command.split(), junk, *extra)
    _assert_one_line_error(code, stdout, stderr, "junk.npz: not a backprop checkpoint")


def test_evaluate_unknown_dataset(trained):
    out, _ = trained
    code, stdout, stderr = run_cli("evaluate", out / "model.npz", "--dataset", "emnist")
    _assert_one_line_error(code, stdout, stderr, "--dataset must be one of")


def test_evaluate_refuses_a_model_with_fewer_outputs_than_classes(tmp_path):
    from backprop.checkpoint import save_checkpoint
    from backprop.networks import TwoLayerNet

    model = save_checkpoint(
        tmp_path / "model.npz",
        TwoLayerNet(784, 20, 5, seed=0),
        metadata={"dataset": "mnist-sample"},
    )
    code, stdout, stderr = run_cli("evaluate", model)
    _assert_one_line_error(
        code,
        stdout,
        stderr,
        f"{model}: the network has 5 outputs, the mnist-sample dataset has 10 classes",
    )


def test_predict_bad_images(trained, tmp_path):
    out, _ = trained
    model = out / "model.npz"
    code, stdout, stderr = run_cli("predict", model, tmp_path / "none.png")
    _assert_one_line_error(code, stdout, stderr, "image file", "none.png does not exist")
    (tmp_path / "text.png").write_text("hello")
    code, stdout, stderr = run_cli("predict", model, tmp_path / "text.png")
    _assert_one_line_error(code, stdout, stderr, "text.png: cannot read it as an image")
    from PIL import Image

    Image.new("L", (30, 30), 200).save(tmp_path / "blank.png")
    code, stdout, stderr = run_cli("predict", model, tmp_path / "blank.png")
    _assert_one_line_error(code, stdout, stderr, "blank.png: no digit found")
    _digit_png(tmp_path / "digit.png")
    code, stdout, stderr = run_cli("predict", model, tmp_path / "digit.png", "--invert", "maybe")
    _assert_one_line_error(code, stdout, stderr, "invert must be one of auto, yes, no")


def test_predict_without_pillow_says_how_to_install_it(trained, tmp_path, monkeypatch):
    out, _ = trained
    _digit_png(tmp_path / "digit.png")
    monkeypatch.setitem(sys.modules, "PIL", None)  # makes `import PIL` fail
    code, stdout, stderr = run_cli("predict", out / "model.npz", tmp_path / "digit.png")
    _assert_one_line_error(code, stdout, stderr, "needs Pillow", "pip install 'backprop[image]'")
    assert code == 2


# -- divergence, output folder, memory, data folders ------------------------------------------


def test_a_learning_rate_that_explodes_stops_with_exit_1_and_a_suggestion_that_trains(tmp_path):
    # Before: the loss jumped to 346 at iteration 6, the ReLUs died, accuracy stayed at
    # chance (0.1000) and the run exited 0 without a word.
    code, stdout, stderr = run_cli(
        "train", "--lr", 10, "--iters", 300, "--quiet", "--out", tmp_path / "bad"
    )
    assert code == 1
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    message = lines[0]
    assert message.startswith("backprop train: stopped: training stopped at iteration ")
    assert "more than 10 times the initial loss" in message
    assert "the learning rate --lr 10 is too high: try --lr " in message
    assert "no checkpoint was saved: it diverged before the first epoch ended" in message
    assert "test accuracy" not in stdout
    suggested = re.search(r"try --lr (\S+?);", message).group(1)
    assert float(suggested) < 10
    assert (tmp_path / "bad" / "history.json").exists()
    assert not (tmp_path / "bad" / "model.npz").exists()

    code, stdout, stderr = run_cli(
        "train", "--lr", suggested, "--iters", 100, "--quiet", "--out", tmp_path / "good"
    )
    assert code == 0, stderr
    assert "batch 100, 100 iterations (1 epoch of 100)" in stdout.splitlines()[0]  # not 1 epochs
    history = json.loads((tmp_path / "good" / "history.json").read_text())
    assert max(history["loss"]) < 10 * history["loss"][0]
    assert history["test_acc"][-1] > 0.5


def test_an_empty_out_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info, contextlib.redirect_stderr(io.StringIO()) as err:
        main(["train", "--out", "", "--iters", "1"])
    assert info.value.code == 2
    assert "argument --out: the output folder name is empty" in err.getvalue()
    assert list(tmp_path.iterdir()) == []


def test_a_network_too_large_for_memory_is_refused_before_allocating(tmp_path):
    code, stdout, stderr = run_cli("train", "--hidden", 1_000_000_000, "--out", tmp_path / "r")
    _assert_one_line_error(
        code,
        stdout,
        stderr,
        "backprop train: error: --hidden 1000000000: training this network would take about ",
        "(795,000,000,010 float32 parameters of 4 bytes",
        "choose smaller --hidden sizes",
    )
    assert code == 2


def test_training_memory_is_parameters_times_copies_plus_a_batch():
    from backprop.cli.train import training_memory

    # 784-50-10: W1 784·50 + b1 50 + W2 50·10 + b2 10 = 39,760 parameters
    parameters, needed = training_memory([784, 50, 10], "float64", 2, 100)
    assert parameters == 39_760
    assert needed == (39_760 * (2 + 2) + 4 * 100 * (784 + 50 + 10)) * 8


def test_too_many_iterations_are_refused(tmp_path):
    code, stdout, stderr = run_cli("train", "--iters", 10**30, "--out", tmp_path / "r")
    _assert_one_line_error(code, stdout, stderr, "--iters must be at most 1,000,000,000")


@pytest.mark.parametrize("command", ["evaluate", "train"])
def test_a_data_dir_that_does_not_exist_is_refused(trained, tmp_path, command):
    out, _ = trained
    missing = tmp_path / "nowhere"
    argv = [out / "model.npz"] if command == "evaluate" else ["--out", tmp_path / "run"]
    code, stdout, stderr = run_cli(command, *argv, "--dataset", "mnist", "--data-dir", missing)
    _assert_one_line_error(code, stdout, stderr, f"--data-dir {missing}: the folder does not exist")
    assert code == 2
    assert not missing.exists()


def test_evaluate_reads_the_folder_the_model_was_trained_from(tmp_path, mnist_dir):
    code, _, stderr = run_cli(
        "train",
        "--dataset",
        "mnist",
        "--data-dir",
        mnist_dir,
        "--iters",
        20,
        "--quiet",
        "--out",
        tmp_path,
    )
    assert code == 0, stderr
    assert load_checkpoint(tmp_path / "model.npz").metadata["data_dir"] == str(mnist_dir.resolve())
    # No --data-dir, an empty cache and no network (conftest): only the saved folder works.
    code, stdout, stderr = run_cli("evaluate", tmp_path / "model.npz")
    assert code == 0, stderr
    assert "data: MNIST test set, 10,000 images" in stdout


def test_resuming_a_finished_run_says_how_to_continue(trained):
    out, _ = trained
    code, stdout, stderr = run_cli("train", "--resume", out / "model.npz", "--quiet")
    _assert_one_line_error(
        code, stdout, stderr, "is already at iteration 150, its end; give a larger --iters"
    )


def test_data_errors_name_the_option_not_the_python_argument(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, stderr = run_cli(
        "train", "--dataset", "mnist", "--data-dir", empty, "--out", tmp_path / "run"
    )
    assert code == 2
    last = stderr.strip().splitlines()[-1]  # after the download's progress line
    assert last.startswith("backprop train: error: MNIST: could not download")
    assert last.endswith("or pass the folder that holds them with --data-dir")
    assert "data_dir=" not in stderr
