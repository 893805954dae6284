"""What is most likely wrong with a learner's backward, and the words to say it in.

Book: 5.7.3 (gradient check). The checker (``backprop.check.core``) compares a learner's
gradient ``got`` with the numerical gradient ``expected``; when they differ, the functions here
test the usual mistakes one by one against the learner's own numbers (is ``got`` exactly
``-expected``? ``expected.T``? ``N × expected``? ...) and name the first that explains them.
Every cause has a message, a one-line hint and the book section to reread, in English and in
Korean (the Korean edition's terms: 역전파, 국소적 미분, 기울기, 편향, 가중치, 배치, ...).

Pure NumPy; knows nothing of files or processes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["LANGS", "Finding", "compare", "diagnose_gradient", "finding", "text"]

LANGS = ("en", "ko")

# code -> (message, hint, section). Messages are format strings filled by ``finding``.
_EN = {
    "dout_ignored": (
        "{grad} does not scale with dout: backward ignores the upstream gradient",
        "multiply the local derivative by dout (dx = dout * local derivative); a backward "
        "that assumes dout = 1 is only right at the end of the graph",
        "5.3 (backward of the add and mul nodes)",
    ),
    "sign_flipped": (
        "{grad} has the right size with the opposite sign",
        "check the sign of the local derivative (e.g. y(1 − y), not y(y − 1))",
        "{section}",
    ),
    "transposed": (
        "{grad} is the expected gradient transposed (shape {got_shape}, {target} has shape "
        "{want_shape})",
        "dW = np.dot(self.x.T, dout) has the shape of W; np.dot(dout.T, self.x) is its transpose",
        "5.6.1 (Affine layer), 5.6.2 (batch Affine)",
    ),
    "batch_missing": (
        "{grad} is {n} times too large: a 1/N (N = batch size = {n}) is missing",
        "the loss is a mean over the batch, so its gradient is divided by batch_size: "
        "dx = (self.y - self.t) / batch_size",
        "5.6.3 (Softmax-with-Loss layer)",
    ),
    "batch_extra": (
        "{grad} is {n} times too small: an extra 1/N (N = batch size = {n})",
        "a parameter used by every sample sums their gradients: db = np.sum(dout, axis=0), "
        "not np.mean",
        "5.6.2 (batch Affine)",
    ),
    "bias_axis": (
        "{grad} is summed over the wrong axis (shape {got_shape}, {target} has shape {want_shape})",
        "sum over the batch, axis 0: db = np.sum(dout, axis=0)",
        "5.6.2 (batch Affine)",
    ),
    "wrong_shape": (
        "{grad} has shape {got_shape}, expected {want_shape} (the shape of {target})",
        "a gradient always has the shape of what it is the gradient of",
        "{section}",
    ),
    "mask_inverted": (
        "{grad} lets the gradient through where the input is ≤ 0 and stops it where it is "
        "> 0: the mask is inverted",
        "mask = (x <= 0) marks where the gradient stops: dx = dout.copy(); dx[self.mask] = 0",
        "5.5.1 (ReLU layer)",
    ),
    "sigmoid_x": (
        "{grad} equals dout · x · (1 − x): the local derivative uses the input x instead of "
        "the output y",
        "keep the output in forward (self.out = y) and use dx = dout * (1.0 - self.out) * self.out",
        "5.5.2 (Sigmoid layer)",
    ),
    "dout_modified": (
        "backward changed dout in place (element {index}: it was {before}, it became {after})",
        "do not write into dout: the same dout may go to other nodes; dx = dout.copy() first, "
        "or dx = dout * mask",
        "5.5.1 (ReLU layer)",
    ),
    "input_modified": (
        "{method} changed its input {name} in place (element {index}: it was {before}, it "
        "became {after})",
        "copy before changing: out = x.copy(); the caller still needs x",
        "5.5.1 (ReLU layer)",
    ),
    "cache_modified": (
        "backward changed self.{name} in place (element {index}: it was {before}, it became "
        "{after}); a second backward would be wrong",
        "compute into a new array (dx = dout * (1.0 - self.out) * self.out), never self.out *= ...",
        "5.5.2 (Sigmoid layer)",
    ),
    "overflow": (
        "forward overflows for large inputs ({detail})",
        "never pass a large positive number to np.exp: softmax subtracts the max of each row "
        "(x - x.max()), sigmoid uses exp(-|x|)",
        "3.5.2 (softmax overflow), 3.2.4 (sigmoid)",
    ),
    "forward_wrong": (
        "forward differs from the reference {formula}: at {index} expected {expected}, got {got}",
        "compare your forward with the book's formula {formula}",
        "{section}",
    ),
    "wrong_values": (
        "{grad} differs from the numerical gradient, and not by a sign, a transpose, the "
        "batch size or an ignored dout",
        "write the local derivative out on paper (chain rule: dout × local derivative) and "
        "compare it term by term with your code",
        "{section}",
    ),
    "low_precision": (
        "{grad} is {dtype}: the layer computes in low precision, so it cannot match the "
        "numerical gradient in float64",
        "keep the dtype you are given (no astype(np.float32) inside the layer); the check "
        "passes float64",
        "5.7.3 (gradient check)",
    ),
    "missing_grad": (
        "backward did not set self.{attr} (the gradient of self.{target})",
        "store each parameter's gradient as an attribute: self.dW = ..., self.db = ...",
        "5.6.2 (batch Affine)",
    ),
    "raised": (
        "{method} raised {error}",
        "read the line above: it is your code, called with {call}",
        "{section}",
    ),
    "not_implemented": (
        "{method} is not written yet",
        "{todo}",
        "{section}",
    ),
    "returned_none": (
        "{method} returned None",
        "end {method} with return {what}",
        "{section}",
    ),
    "wrong_count": (
        "backward returned {got}, forward takes {want}",
        "return one gradient per input of forward: {example}",
        "{section}",
    ),
    "timeout": (
        "{method} did not finish within {seconds:g} s",
        "look for a loop that never ends (a while without a step, or a loop over a growing list)",
        "{section}",
    ),
    "not_an_array": (
        "{method} returned {got}, not an array or a number",
        "return a NumPy array (or a number for a loss)",
        "{section}",
    ),
    "construct": (
        "cannot create {cls}: {why}",
        "pass an instance instead: check_layer({cls}(...))",
        "{section}",
    ),
}

_KO = {
    "dout_ignored": (
        "{grad}가 dout에 비례하지 않습니다: 역전파가 상류에서 온 기울기(dout)를 무시합니다",
        "국소적 미분에 dout을 곱하세요 (dx = dout * 국소적 미분). dout = 1을 가정한 역전파는 "
        "그래프의 맨 끝에서만 맞습니다",
        "5.3 (덧셈 노드와 곱셈 노드의 역전파)",
    ),
    "sign_flipped": (
        "{grad}의 크기는 맞지만 부호가 반대입니다",
        "국소적 미분의 부호를 확인하세요 (예: y(y − 1)이 아니라 y(1 − y))",
        "{section}",
    ),
    "transposed": (
        "{grad}가 기대한 기울기의 전치입니다 (형상 {got_shape}, {target}의 형상은 {want_shape})",
        "dW = np.dot(self.x.T, dout)은 W와 형상이 같습니다. np.dot(dout.T, self.x)는 그 전치입니다",
        "5.6.1 (Affine 계층), 5.6.2 (배치용 Affine 계층)",
    ),
    "batch_missing": (
        "{grad}가 {n}배 큽니다: 1/N (N = 배치 크기 = {n})이 빠졌습니다",
        "손실은 배치의 평균이므로 기울기도 batch_size로 나눕니다: "
        "dx = (self.y - self.t) / batch_size",
        "5.6.3 (Softmax-with-Loss 계층)",
    ),
    "batch_extra": (
        "{grad}가 {n}배 작습니다: 1/N (N = 배치 크기 = {n})이 더 들어갔습니다",
        "모든 데이터가 함께 쓰는 매개변수는 기울기를 더합니다: db = np.sum(dout, axis=0) "
        "(np.mean이 아님)",
        "5.6.2 (배치용 Affine 계층)",
    ),
    "bias_axis": (
        "{grad}를 잘못된 축으로 더했습니다 (형상 {got_shape}, {target}의 형상은 {want_shape})",
        "배치 방향(0번째 축)으로 더하세요: db = np.sum(dout, axis=0)",
        "5.6.2 (배치용 Affine 계층)",
    ),
    "wrong_shape": (
        "{grad}의 형상이 {got_shape}입니다. {target}의 형상 {want_shape}이어야 합니다",
        "기울기는 언제나 미분 대상과 형상이 같습니다",
        "{section}",
    ),
    "mask_inverted": (
        "{grad}가 입력이 0 이하인 곳에서 기울기를 흘리고 0보다 큰 곳에서 막습니다: "
        "mask가 반대입니다",
        "mask = (x <= 0)은 기울기가 멈추는 곳입니다: dx = dout.copy(); dx[self.mask] = 0",
        "5.5.1 (ReLU 계층)",
    ),
    "sigmoid_x": (
        "{grad}가 dout · x · (1 − x)입니다: 국소적 미분에 출력 y 대신 입력 x를 썼습니다",
        "순전파에서 출력을 저장하고 (self.out = y) dx = dout * (1.0 - self.out) * self.out",
        "5.5.2 (Sigmoid 계층)",
    ),
    "dout_modified": (
        "역전파가 dout을 제자리에서 바꿨습니다 (원소 {index}: {before} → {after})",
        "dout에 쓰지 마세요. 같은 dout이 다른 노드로도 갑니다: 먼저 dx = dout.copy(), "
        "또는 dx = dout * mask",
        "5.5.1 (ReLU 계층)",
    ),
    "input_modified": (
        "{method}가 입력 {name}를 제자리에서 바꿨습니다 (원소 {index}: {before} → {after})",
        "바꾸기 전에 복사하세요: out = x.copy(). 호출한 쪽은 아직 x가 필요합니다",
        "5.5.1 (ReLU 계층)",
    ),
    "cache_modified": (
        "역전파가 self.{name}를 제자리에서 바꿨습니다 (원소 {index}: {before} → {after}). "
        "역전파를 한 번 더 하면 틀립니다",
        "새 배열로 계산하세요 (dx = dout * (1.0 - self.out) * self.out). "
        "self.out *= ...는 안 됩니다",
        "5.5.2 (Sigmoid 계층)",
    ),
    "overflow": (
        "큰 입력에서 순전파가 오버플로합니다 ({detail})",
        "np.exp에 큰 양수를 넣지 마세요: 소프트맥스는 각 행의 최댓값을 빼고 (x - x.max()), "
        "시그모이드는 exp(-|x|)를 씁니다",
        "3.5.2 (소프트맥스 함수 구현 시 주의점), 3.2.4 (시그모이드 함수 구현하기)",
    ),
    "forward_wrong": (
        "순전파가 기준 {formula}와 다릅니다: {index}에서 {expected}여야 하는데 {got}입니다",
        "순전파를 책의 식 {formula}와 비교하세요",
        "{section}",
    ),
    "wrong_values": (
        "{grad}가 수치 미분으로 구한 기울기와 다릅니다. 부호, 전치, 배치 크기, dout 무시로는 "
        "설명되지 않습니다",
        "국소적 미분을 종이에 써 보고 (연쇄법칙: dout × 국소적 미분) 코드와 항 하나하나 비교하세요",
        "{section}",
    ),
    "low_precision": (
        "{grad}가 {dtype}입니다: 계층이 낮은 정밀도로 계산하므로 float64의 수치 미분과 맞을 수 "
        "없습니다",
        "받은 dtype을 그대로 쓰세요 (계층 안에서 astype(np.float32) 금지). 확인은 float64로 합니다",
        "5.7.3 (기울기 확인)",
    ),
    "missing_grad": (
        "역전파가 self.{attr} (self.{target}의 기울기)를 설정하지 않았습니다",
        "매개변수의 기울기는 속성으로 저장합니다: self.dW = ..., self.db = ...",
        "5.6.2 (배치용 Affine 계층)",
    ),
    "raised": (
        "{method}에서 {error} 오류가 났습니다",
        "위의 줄을 보세요: 여러분의 코드이고, {call}로 호출되었습니다",
        "{section}",
    ),
    "not_implemented": (
        "{method}를 아직 작성하지 않았습니다",
        "{todo}",
        "{section}",
    ),
    "returned_none": (
        "{method}가 None을 반환했습니다",
        "{method}의 끝에 return {what}를 쓰세요",
        "{section}",
    ),
    "wrong_count": (
        "역전파가 {got}를 반환했습니다. 순전파의 입력은 {want}입니다",
        "순전파의 입력마다 기울기를 하나씩 반환하세요: {example}",
        "{section}",
    ),
    "timeout": (
        "{method}가 {seconds:g}초 안에 끝나지 않았습니다",
        "끝나지 않는 반복문을 찾아보세요",
        "{section}",
    ),
    "not_an_array": (
        "{method}가 배열이나 수가 아닌 {got}를 반환했습니다",
        "NumPy 배열(손실이면 수)을 반환하세요",
        "{section}",
    ),
    "construct": (
        "{cls}를 만들 수 없습니다: {why}",
        "대신 인스턴스를 넘기세요: check_layer({cls}(...))",
        "{section}",
    ),
}

_TABLES = {"en": _EN, "ko": _KO}

# Words of the report itself.
_WORDS = {
    "en": {
        "first_wrong": "first wrong element: {name}[{index}] expected {expected}, got {got}",
        "diagnosis": "most likely cause",
        "hint": "hint",
        "reread": "reread",
        "at": "at",
        "all_pass": "all PASS",
        "failed": "{n} of {total} checks FAILED",
        "matches_numerical": "matches the numerical gradient (max rel err {err:.1e})",
        "differs_numerical": "differs from the numerical gradient (max rel err {err:.1e})",
        "matches_reference": "matches {formula}",
        "unchanged": "dout, inputs and cache unchanged",
        "finite": "finite, no overflow for inputs of ±1000",
        "no_reference": "ran (no reference for this class name)",
        "worst": "at the worst index {index}: backprop {got}, numerical {expected}",
    },
    "ko": {
        "first_wrong": "처음 틀린 원소: {name}[{index}] 기대값 {expected}, 실제 {got}",
        "diagnosis": "가장 가능성 높은 원인",
        "hint": "힌트",
        "reread": "다시 읽기",
        "at": "위치",
        "all_pass": "모두 PASS",
        "failed": "검사 {total}개 중 {n}개 FAIL",
        "matches_numerical": "수치 미분 기울기와 일치 (최대 상대 오차 {err:.1e})",
        "differs_numerical": "수치 미분 기울기와 다름 (최대 상대 오차 {err:.1e})",
        "matches_reference": "{formula}와 일치",
        "unchanged": "dout, 입력, 저장한 값 모두 그대로",
        "finite": "±1000 입력에서도 오버플로 없이 유한",
        "no_reference": "실행됨 (이 클래스 이름의 기준 구현은 없음)",
        "worst": "가장 큰 오차 위치 {index}: 역전파 {got}, 수치 미분 {expected}",
    },
}


def _check_lang(lang: str) -> str:
    if lang not in _TABLES:
        raise ValueError(f"lang must be one of {', '.join(LANGS)}, got {lang!r}")
    return lang


def text(key: str, lang: str = "en", **values) -> str:
    """A word or sentence of the report (``first_wrong``, ``hint``, ...), filled in."""
    return _WORDS[_check_lang(lang)][key].format(**values)


@dataclass
class Finding:
    """One diagnosis: what is wrong, a hint, the section to reread."""

    code: str
    message: str
    hint: str
    section: str

    def __repr__(self) -> str:
        return f"Finding({self.code!r})"


def finding(code: str, lang: str = "en", *, section: str = "5.7.3", **values) -> Finding:
    """The diagnosis ``code`` in ``lang``, its message filled with ``values``."""
    message, hint, where = _TABLES[_check_lang(lang)][code]
    values = {"section": section, **values}
    return Finding(code, message.format(**values), hint.format(**values), where.format(**values))


def fmt(value) -> str:
    """A number as the report prints it (6 significant digits)."""
    return f"{float(value):.6g}"


def compare(got, expected, *, tol: float = 1e-6, tiny: float = 1e-4):
    """(max relative error, index of the first element off by more than ``tol`` or None).

    Relative error |got − expected| / max(|got|, |expected|, tiny), as ``relative_error``.
    """
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if got.size == 0:
        return 0.0, None
    with np.errstate(invalid="ignore"):
        err = np.abs(got - expected) / np.maximum(np.maximum(np.abs(got), np.abs(expected)), tiny)
    err = np.where(np.isnan(err), np.inf, err)
    bad = np.flatnonzero(err.reshape(-1) > tol)
    first = None
    if bad.size:
        first = tuple(int(k) for k in np.unravel_index(int(bad[0]), got.shape))
    return float(np.max(err)), first


def _close(a, b, tol: float = 1e-5) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return False
    return compare(a, b, tol=tol)[1] is None


def _nonzero(a) -> bool:
    return bool(np.any(np.abs(np.asarray(a, dtype=np.float64)) > 1e-12))


def diagnose_gradient(
    got,
    expected,
    *,
    grad: str,
    target: str,
    section: str,
    lang: str = "en",
    dout=None,
    got_2dout=None,
    x=None,
    batch_size: int | None = None,
    is_bias: bool = False,
) -> Finding:
    """The most likely reason why ``got`` (backprop) differs from ``expected`` (numerical).

    Parameters
    ----------
    got, expected : arrays
        The learner's gradient of ``target`` (named ``grad`` in messages) and the numerical one.
    dout : array, optional
        The upstream gradient the learner's backward was given.
    got_2dout : array, optional
        The learner's gradient for the upstream gradient 2·dout (the same forward).
    x : array, optional
        The input of a one-input elementwise layer (for sigmoid_x and mask_inverted).
    batch_size : int, optional
        N of the batch (for a missing or extra 1/N).
    is_bias : bool
        ``target`` is a bias (a 1-D parameter added to every row).
    """
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    names = {"grad": grad, "target": target, "section": section}
    shapes = {"got_shape": got.shape, "want_shape": expected.shape}
    if got.shape != expected.shape:
        if expected.ndim == 2 and got.shape == expected.shape[::-1]:
            return finding("transposed", lang, **names, **shapes)
        if is_bias and dout is not None and np.ndim(dout) == 2:
            d = np.asarray(dout, dtype=np.float64)
            for wrong in (d.sum(axis=1), d.sum()):
                if got.shape == np.shape(wrong) and _close(got, wrong):
                    return finding("bias_axis", lang, **names, **shapes)
        if is_bias and got.shape != expected.shape and got.ndim <= 1:
            return finding("bias_axis", lang, **names, **shapes)
        return finding("wrong_shape", lang, **names, **shapes)
    if got_2dout is not None and _nonzero(got) and _close(np.asarray(got_2dout), got):
        return finding("dout_ignored", lang, **names)
    if _nonzero(expected) and _close(got, -expected):
        return finding("sign_flipped", lang, **names)
    if expected.ndim == 2 and expected.shape[0] == expected.shape[1] and _close(got, expected.T):
        return finding("transposed", lang, **names, **shapes)
    if batch_size and batch_size > 1 and _nonzero(expected):
        if _close(got, expected * batch_size):
            return finding("batch_missing", lang, n=batch_size, **names)
        if _close(got, expected / batch_size):
            return finding("batch_extra", lang, n=batch_size, **names)
    if x is not None and dout is not None and np.shape(x) == got.shape == np.shape(dout):
        d = np.asarray(dout, dtype=np.float64)
        xs = np.asarray(x, dtype=np.float64)
        if _close(got, d * xs * (1 - xs)):
            return finding("sigmoid_x", lang, **names)
        masked = np.isclose(expected, 0, atol=1e-9) | np.isclose(expected, d, rtol=1e-6)
        if np.all(masked) and _close(got, d - expected):
            return finding("mask_inverted", lang, **names)
    return finding("wrong_values", lang, **names)
