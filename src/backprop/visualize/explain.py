"""``explain``: the chain rule, node by node, in English or Korean.

Book: 5.2-5.3. Nodes come in the order ``backward()`` visited them; for each input the local
rule of the node class (``backprop.layers``) with the names and, for scalars, the numbers.
"""

from __future__ import annotations

import sys

from backprop.autograd.core import Tensor
from backprop.visualize._format import describe, write_text
from backprop.visualize.graph import build, formula, sum_terms, upstream_text

__all__ = ["OP_NAMES", "TEXT", "explain"]

TEXT = {
    "en": {
        "title": (
            "Backpropagation through the computational graph of {out} = {value}: each node "
            "multiplies the upstream gradient ∂L/∂out by its local derivative (chain rule) and "
            "passes the product on to its inputs."
        ),
        "start": "start: ∂L/∂L = {grad}",
        "output_is": "  (L is the output {out})",
        "header": "{op} node ({label}): {inputs} → out {name} = {value}; upstream ∂L/∂out = "
        "{upstream}",
        "line": "  {op}: ∂L/∂{x} = {formula}",
        "result": "result: ",
        "uses": " (used {n} times: {terms})",
        "no_inputs": "no inputs",
    },
    "ko": {
        "title": (
            "계산 그래프 {out} = {value}의 역전파(backpropagation): 각 노드는 상류에서 "
            "전해진 기울기 ∂L/∂out에 그 노드의 국소적 미분을 곱해 하류(입력 쪽)로 "
            "전달합니다 (연쇄법칙)."
        ),
        "start": "시작: ∂L/∂L = {grad}",
        "output_is": "  (L은 출력 {out})",
        "header": "{op} ({label}): 입력 {inputs} → 출력 {name} = {value}, 상류 기울기 "
        "∂L/∂out = {upstream}",
        "line": "  {op}: ∂L/∂{x} = {formula}",
        "result": "결과: ",
        "uses": " ({n}곳에서 쓰여 기울기를 더함: {terms})",
        "no_inputs": "입력 없음",
    },
}

OP_NAMES = {
    "en": {},  # the Function's own name: add, mul, pow, ...
    "ko": {
        "add": "덧셈 노드",
        "sub": "뺄셈 노드",
        "mul": "곱셈 노드",
        "div": "나눗셈 노드",
        "neg": "부호 반전 노드",
        "pow": "거듭제곱 노드",
        "matmul": "행렬 곱 노드",
        "exp": "exp 노드",
        "log": "log 노드",
        "tanh": "tanh 노드",
        "relu": "ReLU 계층",
        "sigmoid": "Sigmoid 계층",
        "sum": "합 노드",
        "mean": "평균 노드",
        "reshape": "형상 변환 노드",
        "transpose": "전치 노드",
        "affine": "Affine 계층",
        "softmax_cross_entropy": "Softmax-with-Loss 계층",
        "mean_squared_error": "오차제곱합 노드",
    },
}


def explain(output: Tensor, lang: str = "en", *, echo: bool = True) -> str:
    """Explain the backward pass of ``output``'s graph node by node, with the numbers.

    Call ``output.backward()`` first (with ``retain_grad=True``, the default). Nodes come in
    backward order; for each input of a node the line gives its local rule from
    ``backprop.layers`` with the variables' names and, for scalars, the numbers::

        mul: ∂L/∂apple = ∂L/∂out × apple_num = 1.1 × 2 = 2.2

    Parameters
    ----------
    output : Tensor
    lang : "en" or "ko"
        English, or Korean with the Korean edition's terms (국소적 미분, 상류, 연쇄법칙,
        덧셈 노드, 곱셈 노드, ...).
    echo : bool
        Also print the text (default).

    Returns
    -------
    str
        The explanation, one line per step.
    """
    if lang not in TEXT:
        raise ValueError(f"lang must be one of {', '.join(TEXT)}, got {lang!r}")
    graph = build(output)
    if not graph.functions:
        raise ValueError("explain: the output is a leaf; there is no operation to explain")
    if output.grad is None or any(f.input_grads is None for f in graph.functions):
        raise ValueError(
            "explain: the graph has no gradients yet; call output.backward() first (with "
            "retain_grad=True, the default), then explain(output)"
        )
    text, op_names = TEXT[lang], OP_NAMES[lang]
    out_name = graph.name(output)
    lines = [
        text["title"].format(out=out_name, value=describe(output.data)),
        text["start"].format(grad=describe(output.grad))
        + ("" if out_name == "L" else text["output_is"].format(out=out_name)),
    ]
    for f in reversed(graph.functions):
        op = op_names.get(f.name, f.name)
        y = f.output()
        upstream = y.grad
        inputs = ", ".join(
            graph.name(x)
            if not x.requires_grad and x.ndim == 0 and x.name is None
            else f"{graph.name(x)} = {describe(x.data)}"
            for x in f.inputs
        )
        lines.append(
            text["header"].format(
                op=op,
                label=f.label,
                inputs=inputs or text["no_inputs"],
                name=graph.name(y),
                value=describe(y.data),
                upstream=upstream_text(graph, f),
            )
        )
        for k, x in enumerate(f.inputs):
            if x.requires_grad and f.input_grads[k] is not None:
                rule = formula(graph, f, k, upstream)
                lines.append(text["line"].format(op=op, x=graph.name(x), formula=rule))
    results = []
    for x in graph.leaves:
        if x.requires_grad and x.grad is not None:
            item = f"∂L/∂{graph.name(x)} = {describe(x.grad)}"
            uses = graph.uses.get(id(x), [])
            if len(uses) > 1:
                item += text["uses"].format(n=len(uses), terms=sum_terms(uses))
            results.append(item)
    lines.append(text["result"] + ", ".join(results))
    explanation = "\n".join(lines)
    if echo:
        write_text(explanation + "\n", sys.stdout)
    return explanation
