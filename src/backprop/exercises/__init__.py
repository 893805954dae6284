"""Exercises: the chapter's pieces as files whose function bodies are left for the learner.

Book: 4.4 (numerical_gradient), 5.4 (MulLayer, AddLayer: the apples), 5.5 (Relu, Sigmoid),
5.6 (Affine, SoftmaxWithLoss), 5.7.2 (TwoLayerNet.gradient).

The reference solutions live in ``exercise-files/`` (a folder whose name is not a Python
identifier, so they are package data, never importable as ``backprop.exercises.*``). In them,
each body to be written lies between ``# >>> Name.method`` and ``# <<<``; :func:`skeleton`
replaces it with ``raise NotImplementedError("what to do")`` and the placeholder docstring with
the exercise's text (section, what to do, hint) in English or Korean. The learner's files
import nothing but NumPy (and each other: ``two_layer_net.py`` imports their Affine).

:func:`start` writes the skeletons into a folder and never overwrites a file; :func:`check`
reads the learner's files (never writes them), checks each exercise with
``backprop.check``, says what is done and what to do next, and, when everything passes, trains
the learner's own TwoLayerNet on the bundled MNIST sample.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from backprop._atomic import atomic_write
from backprop.check import CheckLine, LayerReport, LearnerCodeError, check_layer, find_layers
from backprop.check.diagnose import compare, diagnose_gradient, finding, fmt
from backprop.check.runner import Failure, call, load_module
from backprop.gradient import numerical_gradient

__all__ = ["EXERCISES", "Exercise", "ExerciseReport", "check", "skeleton", "solution", "start"]

FILES_DIR = Path(__file__).resolve().parent / "exercise-files"


@dataclass(frozen=True)
class Exercise:
    """One file of the exercises."""

    file: str
    section: str
    kind: str  # "function", "layers" or "network"
    names: tuple[str, ...]  # what it defines for the learner to write
    title: dict  # lang -> title
    todo: dict  # lang -> {"Name.method": what to do}
    hint: dict  # lang -> hint


EXERCISES = (
    Exercise(
        "numerical_gradient.py",
        "4.4",
        "function",
        ("numerical_gradient",),
        {"en": "numerical gradient", "ko": "수치 미분으로 구하는 기울기"},
        {
            "en": {
                "numerical_gradient": "for each element x[idx]: f(x + h) and f(x − h) with "
                "h = 1e-4, grad[idx] = (fxh1 − fxh2) / 2h, then restore x[idx]; any shape of x",
            },
            "ko": {
                "numerical_gradient": "x의 원소 x[idx]마다 h = 1e-4로 f(x + h)와 f(x − h)를 "
                "계산하고 grad[idx] = (fxh1 − fxh2) / 2h, 그다음 x[idx]를 원래 값으로 되돌리세요. "
                "x의 형상은 무엇이든 됩니다",
            },
        },
        {
            "en": "np.ndindex(x.shape) visits every index of any shape; keep tmp_val = x[idx]",
            "ko": "np.ndindex(x.shape)는 어떤 형상이든 모든 인덱스를 돕니다. tmp_val = x[idx]를 "
            "저장해 두세요",
        },
    ),
    Exercise(
        "mul_add_layers.py",
        "5.4",
        "layers",
        ("MulLayer", "AddLayer"),
        {
            "en": "multiplication and addition layers (the apples)",
            "ko": "곱셈 계층과 덧셈 계층 (사과 쇼핑)",
        },
        {
            "en": {
                "MulLayer.forward": "keep x and y, return x * y",
                "MulLayer.backward": "the inputs swap: dx = dout * y, dy = dout * x; return both",
                "AddLayer.forward": "return x + y",
                "AddLayer.backward": "the upstream gradient passes on unchanged to both inputs",
            },
            "ko": {
                "MulLayer.forward": "x와 y를 저장하고 x * y를 반환하세요",
                "MulLayer.backward": "입력을 서로 바꿔 곱합니다: dx = dout * y, dy = dout * x. "
                "둘 다 반환하세요",
                "AddLayer.forward": "x + y를 반환하세요",
                "AddLayer.backward": "상류에서 온 기울기를 그대로 두 입력에 보냅니다",
            },
        },
        {
            "en": "run the file: 2 apples of 100 with tax 1.1 cost 220; dapple 2.2, dapple_num "
            "110, dtax 200",
            "ko": "파일을 실행해 보세요: 100원짜리 사과 2개, 소비세 1.1이면 220. dapple 2.2, "
            "dapple_num 110, dtax 200",
        },
    ),
    Exercise(
        "relu.py",
        "5.5.1",
        "layers",
        ("Relu",),
        {"en": "ReLU layer", "ko": "ReLU 계층"},
        {
            "en": {
                "Relu.forward": "self.mask = (x <= 0); out = a copy of x with out[mask] = 0",
                "Relu.backward": "dx = a copy of dout with dx[mask] = 0 (do not change dout)",
            },
            "ko": {
                "Relu.forward": "self.mask = (x <= 0). x를 복사한 out에서 out[mask] = 0",
                "Relu.backward": "dout을 복사한 dx에서 dx[mask] = 0 (dout은 바꾸지 마세요)",
            },
        },
        {
            "en": "copy with .copy(): the book's dout[self.mask] = 0 changes the caller's array",
            "ko": ".copy()로 복사하세요: 책의 dout[self.mask] = 0은 호출한 쪽의 배열을 바꿉니다",
        },
    ),
    Exercise(
        "sigmoid.py",
        "5.5.2",
        "layers",
        ("Sigmoid",),
        {"en": "Sigmoid layer", "ko": "Sigmoid 계층"},
        {
            "en": {
                "Sigmoid.forward": "out = 1 / (1 + exp(−x)) without overflow; keep it in self.out",
                "Sigmoid.backward": "dx = dout * (1 − out) * out, with the output of forward",
            },
            "ko": {
                "Sigmoid.forward": "오버플로 없이 out = 1 / (1 + exp(−x)), self.out에 저장하세요",
                "Sigmoid.backward": "순전파의 출력으로 dx = dout * (1 − out) * out",
            },
        },
        {
            "en": "np.exp(-x) overflows for x < −709: with e = np.exp(-np.abs(x)), sigmoid is "
            "1 / (1 + e) where x ≥ 0 and e / (1 + e) where x < 0",
            "ko": "np.exp(-x)는 x < −709에서 오버플로합니다. e = np.exp(-np.abs(x))로 x ≥ 0이면 "
            "1 / (1 + e), x < 0이면 e / (1 + e)",
        },
    ),
    Exercise(
        "affine.py",
        "5.6.2",
        "layers",
        ("Affine",),
        {"en": "Affine layer (batch)", "ko": "배치용 Affine 계층"},
        {
            "en": {
                "Affine.forward": "keep x; return x · W + b",
                "Affine.backward": "dx = dout · Wᵀ, self.dW = xᵀ · dout, self.db = the sum of "
                "dout over the batch; return dx",
            },
            "ko": {
                "Affine.forward": "x를 저장하고 x · W + b를 반환하세요",
                "Affine.backward": "dx = dout · Wᵀ, self.dW = xᵀ · dout, self.db = 배치 방향으로 "
                "더한 dout. dx를 반환하세요",
            },
        },
        {
            "en": "each gradient has the shape of its variable: dW like W (D, M), db like b (M,)",
            "ko": "기울기는 변수와 형상이 같습니다: dW는 W처럼 (D, M), db는 b처럼 (M,)",
        },
    ),
    Exercise(
        "softmax_with_loss.py",
        "5.6.3",
        "layers",
        ("SoftmaxWithLoss",),
        {"en": "Softmax-with-Loss layer", "ko": "Softmax-with-Loss 계층"},
        {
            "en": {
                "SoftmaxWithLoss.forward": "keep t and y = softmax(x); return the "
                "cross_entropy_error of y and t",
                "SoftmaxWithLoss.backward": "dx = (y − t) * dout / batch_size",
            },
            "ko": {
                "SoftmaxWithLoss.forward": "t와 y = softmax(x)를 저장하고 y와 t의 "
                "cross_entropy_error를 반환하세요",
                "SoftmaxWithLoss.backward": "dx = (y − t) * dout / batch_size",
            },
        },
        {
            "en": "t is one-hot (N, C); use dout even though it is usually 1",
            "ko": "t는 원-핫 (N, C)입니다. dout은 보통 1이지만 꼭 곱하세요",
        },
    ),
    Exercise(
        "two_layer_net.py",
        "5.7.2",
        "network",
        ("TwoLayerNet",),
        {
            "en": "TwoLayerNet.gradient by backpropagation",
            "ko": "오차역전파법으로 TwoLayerNet.gradient 구현하기",
        },
        {
            "en": {
                "TwoLayerNet.gradient": "forward (self.loss), then dout = 1 backward through "
                "last_layer and the layers in reverse; return grads with W1, b1, W2, b2 from "
                "the Affine layers' dW and db",
            },
            "ko": {
                "TwoLayerNet.gradient": "순전파(self.loss) 후 dout = 1로 last_layer와 계층들을 "
                "역순으로 역전파하고, Affine 계층의 dW, db로 W1, b1, W2, b2를 담은 grads를 "
                "반환하세요",
            },
        },
        {
            "en": "reversed(self.layers.values()) walks the layers backwards",
            "ko": "reversed(self.layers.values())는 계층을 거꾸로 돕니다",
        },
    ),
)

_WORDS = {
    "en": {
        "header": "Exercise {n} of {total}: {title} (book section {section})",
        "write": "Write the bodies that raise NotImplementedError:",
        "hint": "Hint",
        "how": "Check it with: backprop exercise check {folder}",
        "wrote": "wrote {file}",
        "kept": "kept {file} (it exists: your work is never overwritten)",
        "started": "{n} exercise file(s) in {folder}; start with {first}, then run: backprop "
        "exercise check {folder}",
        "done": "done",
        "todo": "to do",
        "failing": "failing",
        "missing": "missing",
        "next": "next: {file} (section {section}): {todo}",
        "next_hint": "hint: {hint}",
        "all_done": "all {n} exercises pass",
        "training": "training your TwoLayerNet(784, 50, 10) on the bundled MNIST sample "
        "({epochs} epochs, SGD lr 0.1, batch 100)...",
        "trained": "your TwoLayerNet reached a test accuracy of {acc:.4f} on the sample's "
        "{n:,} test images ({seconds:.1f} s): backpropagation you wrote trains a network",
        "no_file": "{file} is missing: run backprop exercise start {folder}",
        "no_class": "{file} has no {name}",
        "summary": "{done} of {total} exercises done",
    },
    "ko": {
        "header": "연습 {n}/{total}: {title} (책의 {section}절)",
        "write": "NotImplementedError를 일으키는 부분을 작성하세요:",
        "hint": "힌트",
        "how": "확인: backprop exercise check {folder}",
        "wrote": "{file} 작성함",
        "kept": "{file} 유지함 (이미 있는 파일은 절대 덮어쓰지 않습니다)",
        "started": "{folder}에 연습 파일 {n}개. {first}부터 시작하고 backprop exercise check "
        "{folder}로 확인하세요",
        "done": "완료",
        "todo": "할 일",
        "failing": "실패",
        "missing": "없음",
        "next": "다음: {file} ({section}절): {todo}",
        "next_hint": "힌트: {hint}",
        "all_done": "연습 {n}개 모두 통과",
        "training": "여러분의 TwoLayerNet(784, 50, 10)을 내장 MNIST 표본으로 학습합니다 "
        "({epochs}에폭, SGD 학습률 0.1, 배치 100)...",
        "trained": "여러분의 TwoLayerNet이 표본의 시험 이미지 {n:,}장에서 정확도 {acc:.4f}에 "
        "도달했습니다 ({seconds:.1f}초): 직접 작성한 오차역전파법으로 신경망이 학습됩니다",
        "no_file": "{file}이 없습니다: backprop exercise start {folder}를 실행하세요",
        "no_class": "{file}에 {name}이 없습니다",
        "summary": "연습 {total}개 중 {done}개 완료",
    },
}

_REGION = re.compile(r"^(?P<indent>[ \t]*)# >>> (?P<name>\S+)\n.*?^[ \t]*# <<<\n", re.M | re.S)
_DOCSTRING = '"""Reference solution."""\n'


def _words(lang: str) -> dict:
    if lang not in _WORDS:
        raise ValueError(f"lang must be one of {', '.join(_WORDS)}, got {lang!r}")
    return _WORDS[lang]


def solution(exercise: Exercise) -> str:
    """The reference solution's text (with the markers around the bodies)."""
    return (FILES_DIR / exercise.file).read_text(encoding="utf-8")


def _todo_message(exercise: Exercise, name: str, lang: str) -> str:
    return f"{name}: {exercise.todo[lang][name]} ({exercise.section})"


def skeleton(exercise: Exercise, lang: str = "en") -> str:
    """The file a learner starts from: the solution with its bodies replaced."""
    words = _words(lang)
    n = EXERCISES.index(exercise) + 1
    header = [
        words["header"].format(
            n=n, total=len(EXERCISES), title=exercise.title[lang], section=exercise.section
        ),
        "",
        words["write"],
    ]
    header += [f"- {name}: {todo}" for name, todo in exercise.todo[lang].items()]
    header += ["", f"{words['hint']}: {exercise.hint[lang]}", "", words["how"].format(folder=".")]
    docstring = '"""' + "\n".join(header) + '\n"""\n'

    def body(match: re.Match) -> str:
        message = _todo_message(exercise, match["name"], lang).replace('"', "'")
        return f'{match["indent"]}raise NotImplementedError("{message}")\n'

    text = solution(exercise).replace(_DOCSTRING, docstring, 1)
    return _REGION.sub(body, text)


def start(folder, lang: str = "en") -> list[tuple[str, bool]]:
    """Write the skeletons into ``folder`` (created if needed); existing files are kept.

    Returns ``(file name, written)`` for each exercise, in order.
    """
    _words(lang)
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"{folder} exists and is not a folder")
    done = []
    for exercise in EXERCISES:
        path = folder / exercise.file
        if path.exists():
            done.append((exercise.file, False))
            continue
        text = skeleton(exercise, lang)
        with atomic_write(path, "w", encoding="utf-8") as file:
            file.write(text)
        done.append((exercise.file, True))
    return done


# ---------------------------------------------------------------------------------------------
# Checking the learner's folder
# ---------------------------------------------------------------------------------------------


@dataclass
class ExerciseResult:
    exercise: Exercise
    status: str  # "done", "todo", "failing", "missing"
    reports: list[LayerReport] = field(default_factory=list)
    message: str = ""


@dataclass
class ExerciseReport:
    """The state of every exercise of a folder, and the training run when all pass."""

    folder: Path
    results: list[ExerciseResult]
    lang: str = "en"
    accuracy: float | None = None
    test_images: int = 0
    seconds: float = 0.0
    epochs: int = 0

    @property
    def passed(self) -> bool:
        return all(r.status == "done" for r in self.results)

    def __repr__(self) -> str:
        statuses = [r.status for r in self.results]
        return f"ExerciseReport({str(self.folder)!r}, passed={self.passed}, {statuses})"

    def _repr_pretty_(self, printer, cycle) -> None:  # IPython and Jupyter show the text
        printer.text(str(self))

    def __getitem__(self, file: str) -> ExerciseResult:
        for r in self.results:
            if r.exercise.file == file:
                return r
        raise KeyError(file)

    def __str__(self) -> str:
        words = _words(self.lang)
        lines = []
        for i, r in enumerate(self.results, 1):
            title = r.exercise.title[self.lang]
            lines.append(
                f"{words[r.status]:<8} {i}. {r.exercise.file:<22} {title} ({r.exercise.section})"
            )
        for r in self.results:
            if r.status in ("failing", "missing"):
                lines.append("")
                if r.message:
                    lines.append(r.message)
                for report in r.reports:
                    if not report.passed:
                        lines.append(str(report).rstrip().rsplit("\n", 1)[0].rstrip())
        lines.append("")
        done = sum(r.status == "done" for r in self.results)
        lines.append(words["summary"].format(done=done, total=len(self.results)))
        nxt = next((r for r in self.results if r.status != "done"), None)
        if nxt is not None:
            todo = "; ".join(nxt.exercise.todo[self.lang].values())
            lines.append(
                words["next"].format(
                    file=nxt.exercise.file, section=nxt.exercise.section, todo=todo
                )
            )
            lines.append(words["next_hint"].format(hint=nxt.exercise.hint[self.lang]))
        else:
            lines.append(words["all_done"].format(n=len(self.results)))
            if self.accuracy is not None:
                lines.append(
                    words["trained"].format(
                        acc=self.accuracy, n=self.test_images, seconds=self.seconds
                    )
                )
        return "\n".join(lines)


def _status(reports: list[LayerReport]) -> str:
    if all(r.passed for r in reports):
        return "done"
    failing = [line for r in reports for line in r.lines if not line.passed]
    if all(line.finding is not None and line.finding.code == "not_implemented" for line in failing):
        return "todo"
    return "failing"


def check(
    folder,
    lang: str = "en",
    *,
    train: bool = True,
    epochs: int = 5,
    timeout: float = 10.0,
    progress=None,
) -> ExerciseReport:
    """Check every exercise in ``folder``; the files are read, never written.

    When all pass and ``train`` is true, the learner's TwoLayerNet(784, 50, 10) is trained on
    the bundled MNIST sample for ``epochs`` epochs and its test accuracy reported.
    ``progress(text)`` is called before the training starts.
    """
    words = _words(lang)
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"no such folder: {folder} (create it with backprop exercise start)"
        )
    results = []
    for exercise in EXERCISES:
        path = folder / exercise.file
        if not path.is_file():
            message = words["no_file"].format(file=exercise.file, folder=folder)
            results.append(ExerciseResult(exercise, "missing", message=message))
            continue
        try:
            reports = _CHECKS[exercise.kind](exercise, path, lang, timeout)
        except LearnerCodeError as exc:
            results.append(ExerciseResult(exercise, "failing", message=f"FAIL  {exc}"))
            continue
        results.append(ExerciseResult(exercise, _status(reports), reports))
    report = ExerciseReport(folder, results, lang)
    if report.passed and train:
        if progress is not None:
            progress(words["training"].format(epochs=epochs))
        _train_learners_network(report, folder, epochs)
    return report


def _check_layers(exercise: Exercise, path: Path, lang: str, timeout) -> list[LayerReport]:
    layers = {c.__name__: c for c in find_layers(path)}
    reports = []
    for name in exercise.names:
        if name not in layers:
            message = _words(lang)["no_class"].format(file=exercise.file, name=name)
            found = finding("construct", lang, cls=name, why=message, section=exercise.section)
            reports.append(
                LayerReport(name, [CheckLine(name, "create", False, message, found)], lang)
            )
            continue
        reports.append(check_layer(layers[name], lang=lang, timeout=timeout))
    return reports


def _guarded(report: LayerReport, check_name: str, fn, *args, method, section, lang, timeout, what):
    try:
        return call(
            fn, *args, method=method, section=section, lang=lang, timeout=timeout, what=what
        )
    except Failure as f:
        report.lines.append(
            CheckLine(
                report.layer,
                check_name,
                False,
                f.finding.message,
                finding=f.finding,
                location=f.location,
            )
        )
        return None


def _check_function(exercise: Exercise, path: Path, lang: str, timeout) -> list[LayerReport]:
    module = load_module(path)
    name = exercise.names[0]
    report = LayerReport(name, lang=lang)
    fn = getattr(module, name, None)
    if not callable(fn):
        message = _words(lang)["no_class"].format(file=exercise.file, name=name)
        found = finding("construct", lang, cls=name, why=message, section=exercise.section)
        report.lines.append(CheckLine(name, "define", False, message, found))
        return [report]
    rng = np.random.default_rng(0)
    x2 = rng.standard_normal((2, 3))
    cases = [  # (check, x, f, exact gradient): the book's 4.4 values, then any shape
        ("x = [3, 4]", np.array([3.0, 4.0]), lambda x: np.sum(x**2), np.array([6.0, 8.0])),
        ("x = [0, 2]", np.array([0.0, 2.0]), lambda x: np.sum(x**2), np.array([0.0, 4.0])),
        ("x of shape (2, 3)", x2, lambda x: np.sum(x**3), 3 * x2**2),
    ]
    for check_name, x, f, exact in cases:
        before = x.copy()
        got = _guarded(
            report,
            check_name,
            fn,
            f,
            x,
            method=name,
            section=exercise.section,
            lang=lang,
            timeout=timeout,
            what="grad",
        )
        if got is None:
            continue
        got = np.asarray(got, dtype=np.float64)
        if got.shape != exact.shape:
            found = finding(
                "wrong_shape",
                lang,
                grad="grad",
                target="x",
                got_shape=got.shape,
                want_shape=exact.shape,
                section=exercise.section,
            )
            report.lines.append(CheckLine(name, check_name, False, found.message, found))
            continue
        _, first = compare(got, exact, tol=1e-6)
        if first is not None:
            found = diagnose_gradient(
                got, exact, grad="grad", target="x", section=exercise.section, lang=lang
            )
            index = ", ".join(map(str, first))
            report.lines.append(
                CheckLine(
                    name,
                    check_name,
                    False,
                    found.message,
                    found,
                    first_wrong=(
                        f"grad[{index}]: expected {fmt(exact[first])}, got {fmt(got[first])}"
                    ),
                )
            )
            continue
        if not np.array_equal(x, before):
            found = finding(
                "input_modified",
                lang,
                method=name,
                name="x",
                index="…",
                before="x",
                after="changed (restore x[idx] = tmp_val)",
                section=exercise.section,
            )
            report.lines.append(CheckLine(name, check_name, False, found.message, found))
            continue
        report.lines.append(CheckLine(name, check_name, True, "matches the exact gradient"))
    return [report]


def _check_network(exercise: Exercise, path: Path, lang: str, timeout) -> list[LayerReport]:
    module = load_module(path)
    cls = getattr(module, "TwoLayerNet", None)
    report = LayerReport("TwoLayerNet", lang=lang)
    section = exercise.section
    if not isinstance(cls, type):
        message = _words(lang)["no_class"].format(file=exercise.file, name="TwoLayerNet")
        found = finding("construct", lang, cls="TwoLayerNet", why=message, section=section)
        report.lines.append(CheckLine("TwoLayerNet", "create", False, message, found))
        return [report]
    kw = {"method": "", "section": section, "lang": lang, "timeout": timeout}
    net = _guarded(
        report, "create", cls, 5, 4, 3, 1.0, **{**kw, "method": "TwoLayerNet"}, what="a network"
    )
    if net is None:
        return [report]
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 5))
    t = np.eye(3)[[0, 2, 1]]
    grads = _guarded(
        report,
        "gradient",
        net.gradient,
        x,
        t,
        **{**kw, "method": "TwoLayerNet.gradient"},
        what="grads",
    )
    if grads is None:
        return [report]
    if not isinstance(grads, dict) or set(grads) != set(net.params):
        keys = sorted(grads) if isinstance(grads, dict) else type(grads).__name__
        found = finding(
            "wrong_count",
            lang,
            got=f"{keys}",
            want=f"{sorted(net.params)}",
            example="grads = {'W1': ..., 'b1': ..., 'W2': ..., 'b2': ...}",
            section=section,
        )
        report.lines.append(CheckLine("TwoLayerNet", "gradient", False, found.message, found))
        return [report]
    for key, param in net.params.items():
        check_name = f"gradient {key}"
        got = np.asarray(grads[key], dtype=np.float64) if grads[key] is not None else None
        try:

            def f(_):
                return float(
                    call(net.loss, x, t, **{**kw, "method": "TwoLayerNet.loss"}, what="loss")
                )

            plain = numerical_gradient(f, param, h=1e-4)
            expected = (4 * plain - numerical_gradient(f, param, h=2e-4)) / 3
        except Failure as fail:
            report.lines.append(
                CheckLine(
                    "TwoLayerNet",
                    check_name,
                    False,
                    fail.finding.message,
                    fail.finding,
                    location=fail.location,
                )
            )
            continue
        if got is not None and got.shape == expected.shape:
            err, first = compare(got, expected)
            if first is None:
                report.lines.append(
                    CheckLine(
                        "TwoLayerNet",
                        check_name,
                        True,
                        f"matches the numerical gradient ({err:.1e})",
                    )
                )
                continue
        if got is None:
            found = finding(
                "returned_none",
                lang,
                method="TwoLayerNet.gradient",
                what=f"grads['{key}']",
                section=section,
            )
            report.lines.append(CheckLine("TwoLayerNet", check_name, False, found.message, found))
            continue
        found = diagnose_gradient(
            got,
            expected,
            grad=f"grads['{key}']",
            target=key,
            section=section,
            lang=lang,
            batch_size=3,
            is_bias=key.startswith("b"),
        )
        first_wrong = None
        if got.shape == expected.shape:
            idx = ", ".join(map(str, first))
            first_wrong = (
                f"first wrong element: grads['{key}'][{idx}] expected "
                f"{fmt(expected[first])}, got {fmt(got[first])}"
            )
        report.lines.append(
            CheckLine(
                "TwoLayerNet", check_name, False, found.message, found, first_wrong=first_wrong
            )
        )
    return [report]


_CHECKS = {"function": _check_function, "layers": _check_layers, "network": _check_network}


def _train_learners_network(report: ExerciseReport, folder: Path, epochs: int) -> None:
    from backprop.datasets import load_mnist

    module = load_module(folder / "two_layer_net.py")
    network = module.TwoLayerNet(784, 50, 10)
    (x_train, t_train), (x_test, t_test) = load_mnist(sample=True, one_hot_label=True)
    start_time = time.perf_counter()
    train(network, x_train, t_train, x_test, t_test, epochs=epochs)
    report.accuracy = float(network.accuracy(x_test, t_test))
    report.seconds = time.perf_counter() - start_time
    report.test_images = len(x_test)
    report.epochs = epochs


def train(network, x_train, t_train, x_test, t_test, *, epochs: int) -> None:
    """Train the learner's network as the book's 5.7.4 does: SGD, lr 0.1, batches of 100.

    Through the book-compatible ``Trainer`` contract (``mini_batch_size``, ``optimizer_param``,
    ``verbose``); the seed fixes the data order.
    """
    from backprop.training import Trainer

    Trainer(
        network,
        x_train,
        t_train,
        x_test,
        t_test,
        epochs=epochs,
        mini_batch_size=100,
        optimizer="SGD",
        optimizer_param={"lr": 0.1},
        verbose=False,
        seed=0,
    ).train()
