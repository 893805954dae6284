"""backprop.exercises and ``backprop exercise list|start|check``."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

from backprop.cli import main
from backprop.exercises import EXERCISES, check, skeleton, solution, start

FILES = [ex.file for ex in EXERCISES]
BODY = re.compile(r"^[ \t]*# >>> (\S+)\n(.*?)^[ \t]*# <<<\n", re.M | re.S)
RAISE = re.compile(r'^[ \t]*raise NotImplementedError\("(\S+): .*"\)\n', re.M)


def _filled(exercise) -> str:
    """The skeleton with each NotImplementedError replaced by the reference body."""
    bodies = {name: body for name, body in BODY.findall(solution(exercise))}
    return RAISE.sub(lambda m: bodies[m.group(1)], skeleton(exercise))


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def test_the_exercises_in_the_chapters_order():
    assert FILES == [
        "numerical_gradient.py",
        "mul_add_layers.py",
        "relu.py",
        "sigmoid.py",
        "affine.py",
        "softmax_with_loss.py",
        "two_layer_net.py",
    ]
    assert [ex.section for ex in EXERCISES] == [
        "4.4",
        "5.4",
        "5.5.1",
        "5.5.2",
        "5.6.2",
        "5.6.3",
        "5.7.2",
    ]


@pytest.mark.parametrize("exercise", EXERCISES, ids=FILES)
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_skeletons_are_python_with_the_bodies_left_out(exercise, lang):
    text = skeleton(exercise, lang)
    compile(text, exercise.file, "exec")  # valid Python
    assert "# >>>" not in text and "# <<<" not in text
    raises = RAISE.findall(text)
    assert raises == list(exercise.todo[lang])  # one per body, in order
    assert f"({exercise.section})" in text
    assert exercise.hint[lang] in text
    assert "import backprop" not in text and "from backprop" not in text
    if lang == "ko":
        assert "작성하세요" in text and "힌트" in text


def test_filling_in_the_bodies_gives_back_the_solution_code():
    markers = re.compile(r"^[ \t]*# (>>> \S+|<<<)\n", re.M)
    for exercise in EXERCISES:
        code = _filled(exercise).split('\n"""\n', 1)[1]  # after the exercise's text
        reference = markers.sub("", solution(exercise))
        assert code == reference.split('"""Reference solution."""\n', 1)[1]


def test_list(capsys):
    assert main(["exercise", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 7
    assert lines[0].split()[:3] == ["1.", "numerical_gradient.py", "4.4"]
    assert main(["exercise", "list", "--lang", "ko"]) == 0
    assert "ReLU 계층" in capsys.readouterr().out


def test_start_writes_and_never_overwrites(tmp_path):
    folder = tmp_path / "ex"
    assert start(folder) == [(f, True) for f in FILES]
    mine = folder / "relu.py"
    mine.write_text("# my own work\n")
    assert start(folder) == [(f, False) for f in FILES]
    assert mine.read_text() == "# my own work\n"
    (folder / "sigmoid.py").unlink()
    assert dict(start(folder, lang="ko"))["sigmoid.py"] is True
    assert "Sigmoid 계층" in (folder / "sigmoid.py").read_text(encoding="utf-8")
    assert mine.read_text() == "# my own work\n"


def test_start_refuses_a_file_as_folder(tmp_path):
    (tmp_path / "f").write_text("")
    with pytest.raises(NotADirectoryError):
        start(tmp_path / "f")


def test_check_as_started_says_what_to_do_and_changes_nothing(tmp_path):
    start(tmp_path)
    before = _digests(tmp_path)
    report = check(tmp_path)
    assert not report.passed
    assert [r.status for r in report.results] == ["todo"] * 7
    text = str(report)
    assert "0 of 7 exercises done" in text
    assert "next: numerical_gradient.py (section 4.4): for each element x[idx]" in text
    assert "hint: np.ndindex" in text
    assert _digests(tmp_path) == before


def test_filled_in_skeletons_pass_and_train(tmp_path):
    for exercise in EXERCISES:
        (tmp_path / exercise.file).write_text(_filled(exercise), encoding="utf-8")
    before = _digests(tmp_path)
    report = check(tmp_path, epochs=1)
    assert report.passed, str(report)
    assert [r.status for r in report.results] == ["done"] * 7
    assert report.accuracy is not None and report.accuracy > 0.5  # chance is 0.1
    assert report.test_images == 2000
    text = str(report)
    assert "all 7 exercises pass" in text
    assert f"test accuracy of {report.accuracy:.4f} on the sample's 2,000 test images" in text
    assert _digests(tmp_path) == before


def test_a_wrong_exercise_gets_its_diagnosis(tmp_path):
    for exercise in EXERCISES[:3]:
        (tmp_path / exercise.file).write_text(_filled(exercise), encoding="utf-8")
    relu = tmp_path / "relu.py"
    relu.write_text(relu.read_text().replace("dx[self.mask] = 0", "dx[~self.mask] = 0"))
    report = check(tmp_path, lang="ko")
    assert [r.status for r in report.results] == ["done", "done", "failing"] + ["missing"] * 4
    assert report["relu.py"].reports[0].causes == ["mask_inverted"]
    text = str(report)
    assert "mask가 반대입니다" in text
    assert "다음: relu.py (5.5.1절)" in text
    assert "sigmoid.py이 없습니다: backprop exercise start" in text


def test_a_wrong_gradient_in_two_layer_net(tmp_path):
    for exercise in EXERCISES:
        (tmp_path / exercise.file).write_text(_filled(exercise), encoding="utf-8")
    net = tmp_path / "two_layer_net.py"
    net.write_text(
        net.read_text().replace('self.layers["Affine2"].db', 'self.layers["Affine2"].db * 3')
    )
    report = check(tmp_path)
    result = report["two_layer_net.py"]
    assert result.status == "failing"
    assert result.reports[0].causes == ["batch_missing"]
    assert "grads['b2'] is 3 times too large" in str(report)
    assert report.accuracy is None  # no training until everything passes


@pytest.mark.slow
def test_the_solutions_reach_the_books_accuracy(tmp_path):
    for exercise in EXERCISES:
        (tmp_path / exercise.file).write_text(_filled(exercise), encoding="utf-8")
    report = check(tmp_path, epochs=5)
    assert report.accuracy > 0.85


def test_cli_start_then_check_as_a_new_user(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["exercise", "start", "ex"]) == 0
    out = capsys.readouterr().out
    assert "wrote relu.py" in out
    assert "then run: backprop exercise check ex" in out
    assert main(["exercise", "check", "ex"]) == 1
    out = capsys.readouterr().out
    assert "to do    3. relu.py" in out
    assert main(["exercise", "start", "ex"]) == 0
    assert "kept relu.py (it exists: your work is never overwritten)" in capsys.readouterr().out


def test_cli_check_errors(tmp_path, capsys):
    assert main(["exercise", "check", str(tmp_path / "none")]) == 2
    assert "no such folder" in capsys.readouterr().err
    assert main(["exercise", "check", str(tmp_path), "--epochs", "-1"]) == 2


def test_console_script_exercise(tmp_path):
    script = Path(sys.executable).with_name("backprop")
    if not script.exists():
        pytest.skip("console script not installed")
    run = subprocess.run(
        f"{script} exercise start ex && {script} exercise check ex",
        shell=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert run.returncode == 1, run.stderr
    assert "0 of 7 exercises done" in run.stdout
    assert run.stderr == ""


def test_check_writes_no_bytecode_into_the_learners_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    for exercise in EXERCISES:
        (tmp_path / exercise.file).write_text(_filled(exercise), encoding="utf-8")
    check(tmp_path, train=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FILES)
    assert sys.dont_write_bytecode is False
