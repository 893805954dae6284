"""The step-through page: one self-contained HTML file that shows backpropagation happen.

Book: 5.1-5.6. Python computes everything the page shows (``layout.compute`` places the graph,
``graph.steps`` records the forward and backward passes with their numbers, ``svg`` draws the
picture); the page's small script only reveals it step by step: forward node by node, then
backward in the order ``backward()`` used, with each node's upstream gradient, its local
derivative with the numbers put in, and the product. It fetches nothing (no CDN, no fonts),
so it opens from a file on disk. Text comes from one table per language (English, Korean with
the Korean edition's terms).
"""

from __future__ import annotations

import json
import secrets
from html import escape

import numpy as np

from backprop.visualize import layout as _layout
from backprop.visualize._format import SMALL_ARRAY, number, shape_text
from backprop.visualize.explain import OP_NAMES
from backprop.visualize.graph import Graph, build, collapse, steps
from backprop.visualize.svg import svg

__all__ = ["PAGE_MAX_NODES", "TEXT", "UI", "fragment", "page_html"]

PAGE_MAX_NODES = 200  # beyond this the page lists the steps without drawing the graph
PAGE_ZOOM = 1.3  # the page draws the graph larger than the picture, for a projector
HEAT_MAX = 40  # a heat map has at most HEAT_MAX × HEAT_MAX cells

# What the panel says at each step, per language; the fields come from graph.steps.
TEXT = {
    "en": {
        "inputs": "Forward pass: the inputs {inputs} enter the graph.",
        "forward": "Forward pass: the {op} node ({label}) computes {name} = {value} from {inputs}.",
        "start": "Backward pass (backpropagation) starts at the output {out}: ∂L/∂{out} = {grad}.",
        "backward": "Backward pass: the {op} node ({label}) receives the upstream gradient "
        "∂L/∂out = {upstream}; it multiplies it by its local derivative (chain rule):",
        "line": "∂L/∂{x} = {formula}",
        "sum": "{x} is used {n} times, so its gradient is the sum of the arriving gradients: "
        "∂L/∂{x} = {terms} = {grad}",
    },
    "ko": {
        "inputs": "순전파: 입력 {inputs}이(가) 그래프로 들어갑니다.",
        "forward": "순전파: {op} ({label})가 {inputs}에서 {name} = {value}를 계산합니다.",
        "start": "역전파 시작: 출력 {out}에서 ∂L/∂{out} = {grad}.",
        "backward": "역전파: {op} ({label})는 상류 기울기 ∂L/∂out = {upstream}을(를) 받아 "
        "국소적 미분을 곱합니다 (연쇄법칙):",
        "line": "∂L/∂{x} = {formula}",
        "sum": "{x}는 {n}곳에서 쓰이므로 흘러 들어온 기울기를 더합니다: ∂L/∂{x} = {terms} = {grad}",
    },
}

UI = {
    "en": {
        "lang": "English",
        "forward": "Forward (values)",
        "backward": "Backward (gradients)",
        "prev": "◀ Previous",
        "next": "Next ▶",
        "play": "▶ Play",
        "pause": "❚❚ Pause",
        "reset": "⟲ Reset",
        "step": "Step {k} of {n}",
        "keys": "Keys: → next, ← previous, Home first, End last, Space play/pause",
        "legend": "Values flow forward above each edge; gradients ∂L/∂· flow backward below it, "
        "in red.",
        "too_big": "This graph has {n} nodes, too many to draw legibly (at most {max}); the "
        "steps are listed without the picture.",
        "collapsed": "This graph has {n} nodes, too many to draw legibly (at most {max}): "
        "each chain of operations is drawn as one node (its constants hidden).",
        "close": "Close",
        "open": "Click a layer (Affine, ReLU, Softmax-with-Loss) to open its own graph, on the "
        "same numbers.",
        "no_grads": "backward() has not run: only the forward pass is shown.",
    },
    "ko": {
        "lang": "한국어",
        "forward": "순전파 (값)",
        "backward": "역전파 (기울기)",
        "prev": "◀ 이전",
        "next": "다음 ▶",
        "play": "▶ 재생",
        "pause": "❚❚ 일시 정지",
        "reset": "⟲ 처음으로",
        "step": "{n}단계 중 {k}단계",
        "keys": "키: → 다음, ← 이전, Home 처음, End 끝, Space 재생/정지",
        "legend": "값은 각 화살표 위로 순전파되고, 기울기 ∂L/∂·는 화살표 아래(빨간색)로 "
        "역전파됩니다.",
        "too_big": "이 그래프는 노드가 {n}개로 너무 커서(최대 {max}) 그림 없이 단계만 보여 줍니다.",
        "collapsed": "이 그래프는 노드가 {n}개로 너무 커서(최대 {max}) 연산이 사슬처럼 이어진 "
        "부분을 노드 하나로 접어서 그립니다(그 안의 상수는 생략).",
        "close": "닫기",
        "open": "계층(Affine, ReLU, Softmax-with-Loss)을 누르면 같은 값으로 그 계층의 계산 "
        "그래프가 열립니다.",
        "no_grads": "backward()를 호출하지 않아 순전파만 보여 줍니다.",
    },
}


def _heat(a: np.ndarray, title: str) -> dict:
    """A large array as a heat map: block means on at most HEAT_MAX × HEAT_MAX cells, each
    -1000..1000 relative to the largest magnitude (positive red, negative blue)."""
    a = np.asarray(a, dtype=np.float64)
    a = a.reshape(1, -1) if a.ndim <= 1 else a.reshape(a.shape[0], -1)
    side = round(a.size**0.5)
    if a.shape[0] == 1 and side * side == a.size and side >= 4:  # one image: 784 → 28 × 28
        a = a.reshape(side, side)
    rows = np.array_split(np.arange(a.shape[0]), min(HEAT_MAX, a.shape[0]))
    cols = np.array_split(np.arange(a.shape[1]), min(HEAT_MAX, a.shape[1]))
    finite = np.where(np.isfinite(a), a, 0.0)
    cells = np.array([[finite[np.ix_(r, c)].mean() for c in cols] for r in rows])
    scale = float(np.abs(cells).max()) or 1.0
    return {
        "title": title,
        "rows": len(rows),
        "cols": len(cols),
        "min": number(np.nanmin(a)) if np.isfinite(a).any() else "nan",
        "max": number(np.nanmax(a)) if np.isfinite(a).any() else "nan",
        "cells": [int(v) for v in np.rint(cells / scale * 1000).ravel()],
    }


def _texts(graph: Graph) -> list[dict]:
    records = []
    for step in steps(graph):
        text = {}
        for lang in TEXT:
            lines = []
            for key, fields in step.parts:
                fields = dict(fields)
                if "op" in fields:
                    fields["op"] = OP_NAMES[lang].get(fields["op"], fields["op"])
                lines.append(TEXT[lang][key].format(**fields))
            text[lang] = lines
        records.append(
            {
                "phase": step.phase,
                "node": step.node,
                "values": step.values,
                "grads": step.grads,
                "sum": step.leaf_sum,
                "text": text,
            }
        )
    return records


def shown_graph(graph: Graph) -> tuple[Graph, str]:
    """The graph the page draws: the graph itself; too big, with its chains of operations
    collapsed (``graph.collapse``); still too big, none (the steps without the picture).
    Returns it and "full", "collapsed" or "steps"."""
    if graph.size <= PAGE_MAX_NODES:
        return graph, "full"
    small = collapse(graph)
    if small.size <= PAGE_MAX_NODES:
        return small, "collapsed"
    return small, "steps"


def _data(graph: Graph, prefix: str, lang: str, title: str) -> tuple[str, dict]:
    size = graph.size
    graph, mode = shown_graph(graph)
    drawn = mode != "steps"
    arrays: dict[str, dict] = {}
    big: dict[str, str] = {}
    picture = ""
    if drawn:
        lay = _layout.compute(graph)
        for edge in graph.edges:
            for kind, a in (("v", edge.tensor.data), ("g", edge.grad)):
                if a is not None and np.size(a) > SMALL_ARRAY:
                    key = f"{kind}-{edge.index}"
                    what = "∂L/∂" if kind == "g" else ""
                    arrays[key] = _heat(a, f"{what}{graph.name(edge.tensor)} {shape_text(a)}")
                    big[key] = key
        picture = svg(lay, prefix, big=big, zoom=PAGE_ZOOM)
    data = {
        "prefix": prefix,
        "lang": lang,
        "title": title,
        "drawn": drawn,
        "mode": mode,
        "size": size,
        "max": PAGE_MAX_NODES,
        "grads": graph.has_grads,
        "steps": _texts(graph),
        "arrays": arrays,
        "ui": UI,
    }
    return picture, data


_STYLE = """
.bp-root{padding:6px 10px;color:#111;max-width:100%;
 font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans KR",sans-serif;}
.bp-root h1{font-size:20px;margin:6px 0 8px;}
.bp-bar{display:flex;flex-wrap:wrap;gap:6px;align-items:center;margin:6px 0;}
.bp-bar button{font-size:15px;padding:5px 11px;border:1px solid #888;border-radius:5px;
 background:#f4f4f4;cursor:pointer;}
.bp-bar button:hover{background:#e6e6e6;} .bp-bar button[aria-pressed=true]{background:#ccd9ff;}
.bp-bar input[type=range]{flex:1 1 200px;min-width:140px;}
.bp-phase{font-weight:600;padding:2px 8px;border-radius:4px;}
.bp-phase.forward{background:#e3f0ff;} .bp-phase.backward{background:#ffe3e3;}
.bp-graph{display:block;}
.bp-picture{overflow:auto;border:1px solid #ddd;border-radius:6px;background:#fff;
 max-height:62vh;}
.bp-panel{font-size:16px;line-height:1.5;min-height:4.8em;padding:8px 12px;margin:8px 0;
 border-left:4px solid #888;background:#fafafa;white-space:pre-wrap;}
.bp-panel .bp-line{font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;color:#b00000;
 padding-left:1.5em;}
.bp-help,.bp-legend{font-size:13px;color:#555;}
.bp-graph .grad{fill:#d00000;} .bp-graph .value{fill:#111;}
.bp-graph .openable{cursor:pointer;} .bp-graph .openable rect{stroke-dasharray:4 2;}
.bp-sub{margin:10px 0 0 12px;padding-left:10px;border-left:3px solid #ccd9ff;}
.bp-note{margin:4px 0;}
.bp-graph .summary{text-decoration:underline;cursor:pointer;}
.bp-stepping .bp-graph .pending{visibility:hidden;}
.bp-graph .node.active circle,.bp-graph .node.active rect{stroke:#f08c00;stroke-width:4;
 fill:#fff4d6;}
.bp-graph .node.done circle,.bp-graph .node.done rect{fill:#f3f7ff;}
.bp-graph .edge.active{stroke:#f08c00;stroke-width:3;}
.bp-graph text.fresh{font-weight:bold;}
.bp-popup{position:fixed;left:50%;top:50%;transform:translate(-50%,-50%);background:#fff;
 border:1px solid #888;border-radius:8px;padding:12px;box-shadow:0 4px 24px #0004;z-index:10;}
.bp-popup canvas{image-rendering:pixelated;border:1px solid #ccc;display:block;margin:6px 0;}
"""

# The script only reveals what Python computed: which labels appear at each step, which node
# lights up and the sentences of the panel, from the JSON embedded next to it.
_SCRIPT = r"""
(function(){
var root=document.getElementById(ROOT_ID);
if(!root||root.dataset.ready)return; root.dataset.ready="1";
function mine(s){return Array.prototype.filter.call(root.querySelectorAll(s),
 function(e){return e.closest(".bp-root")===root;});}
var D=JSON.parse(mine("script.bp-data")[0].textContent);
var P=D.prefix, S=D.steps, n=S.length, k=0, lang=D.lang, timer=null;
function $(s){return mine(s)[0];}
function el(id){return document.getElementById(P+"-"+id);}
var reveal={}; // label id -> the step that reveals it
S.forEach(function(s,i){
 s.values.forEach(function(e){reveal["v-"+e]=i;});
 s.grads.forEach(function(e){reveal["g-"+e]=i;});
 if(s.sum)reveal["s-"+s.sum]=i;});
var labels=Object.keys(reveal).map(function(id){return [el(id),reveal[id]];})
 .filter(function(p){return p[0];});
root.classList.add("bp-stepping");
function t(key){return D.ui[lang][key];}
function show(){
 labels.forEach(function(p){p[0].classList.toggle("pending",p[1]>k);
  p[0].classList.toggle("fresh",p[1]===k);});
 mine(".bp-graph .active").forEach(function(e){e.classList.remove("active");});
 var s=S[k];
 if(s.node){var node=el("n-"+s.node); if(node){node.classList.add("active");
  if(node.scrollIntoView&&root.dataset.moved)node.scrollIntoView({block:"nearest",inline:"nearest"});}}
 s.values.concat(s.grads).forEach(function(e){var x=el("e-"+e); if(x)x.classList.add("active");});
 var back=s.phase==="start"||s.phase==="backward"||s.phase==="sum";
 var ph=$(".bp-phase"); ph.textContent=t(back?"backward":"forward");
 ph.className="bp-phase "+(back?"backward":"forward");
 var panel=$(".bp-panel"); panel.textContent="";
 s.text[lang].forEach(function(line,i){var d=document.createElement("div");
  d.className=i?"bp-line":"bp-head"; d.textContent=line; panel.appendChild(d);});
 $(".bp-count").textContent=t("step").replace("{k}",k+1).replace("{n}",n);
 $(".bp-slider").value=k;
 $(".bp-play").textContent=timer?t("pause"):t("play");
}
function texts(){
 mine("[data-t]").forEach(function(e){e.textContent=t(e.dataset.t)
  .replace("{n}",D.size).replace("{max}",D.max);});
 mine(".bp-lang").forEach(function(b){
  b.setAttribute("aria-pressed",b.dataset.lang===lang?"true":"false");});
 root.lang=lang; show();
}
function go(i){k=Math.max(0,Math.min(n-1,i)); root.dataset.moved="1"; show();}
function stop(){if(timer){clearInterval(timer);timer=null;}}
function play(){if(timer){stop();show();return;}
 if(k>=n-1)k=0;
 timer=setInterval(function(){if(k>=n-1){stop();show();}else go(k+1);},
  +root.dataset.interval||1200); show();}
$(".bp-next").onclick=function(){stop();go(k+1);};
$(".bp-prev").onclick=function(){stop();go(k-1);};
$(".bp-reset").onclick=function(){stop();go(0);};
$(".bp-play").onclick=play;
var slider=$(".bp-slider"); slider.max=n-1; slider.oninput=function(){stop();go(+slider.value);};
mine(".bp-lang").forEach(function(b){b.onclick=function(){lang=b.dataset.lang;texts();};});
root.tabIndex=0;
root.addEventListener("keydown",function(ev){
 var key=ev.key;
 if(ev.target&&ev.target.tagName==="INPUT"&&ev.target.type!=="range")return;
 if(key==="ArrowRight"){stop();go(k+1);}
 else if(key==="ArrowLeft"){stop();go(k-1);}
 else if(key==="Home"){stop();go(0);}
 else if(key==="End"){stop();go(n-1);}
 else if(key===" "||key==="Spacebar"){play();}
 else return;
 ev.preventDefault();});
mine(".summary").forEach(function(label){label.addEventListener("click",function(){
 var a=D.arrays[label.dataset.array]; if(!a)return;
 var old=root.querySelector(".bp-popup"); if(old)old.remove();
 var box=document.createElement("div"); box.className="bp-popup";
 var h=document.createElement("div"); h.textContent=a.title+"   min "+a.min+", max "+a.max;
 var c=document.createElement("canvas"); c.width=a.cols; c.height=a.rows;
 var z=Math.max(1,Math.floor(Math.min(480/a.cols,360/a.rows)));
 c.style.width=(a.cols*z)+"px"; c.style.height=(a.rows*z)+"px";
 var g=c.getContext("2d"), img=g.createImageData(a.cols,a.rows);
 a.cells.forEach(function(v,i){var f=Math.abs(v)/1000, o=i*4;
  img.data[o]=v>0?255:Math.round(255*(1-f)); img.data[o+1]=Math.round(255*(1-f));
  img.data[o+2]=v<0?255:Math.round(255*(1-f)); img.data[o+3]=255;});
 g.putImageData(img,0,0);
 var close=document.createElement("button"); close.textContent=t("close");
 close.onclick=function(){box.remove();};
 box.appendChild(h); box.appendChild(c); box.appendChild(close); root.appendChild(box);});});
root.querySelectorAll(":scope > .bp-sub").forEach(function(sub){
 var node=el("n-"+sub.dataset.for); if(!node)return;
 node.classList.add("openable");
 node.addEventListener("click",function(){var open=sub.hidden;
  root.querySelectorAll(":scope > .bp-sub").forEach(function(o){o.hidden=true;});
  sub.hidden=!open; if(open)sub.scrollIntoView({block:"nearest"});});});
if(!D.drawn){$(".bp-picture").style.display="none";}
texts();
})();
"""


def fragment(
    graph: Graph,
    *,
    lang: str = "en",
    title: str | None = None,
    note: str = "",
    subgraphs: dict[str, str] | None = None,
) -> str:
    """The page's body: the controls, the picture, the panel and the script (for a notebook
    cell or the page). Ids are unique, so several fragments can share a notebook.
    ``subgraphs`` maps node ids to the fragments that open when the node is clicked."""
    if lang not in UI:
        raise ValueError(f"lang must be one of {', '.join(UI)}, got {lang!r}")
    prefix = "bp" + secrets.token_hex(4)
    title = title or f"{graph.name(graph.output)} = {_value(graph)}"
    picture, data = _data(graph, prefix, lang, title)
    blob = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
    ui = UI[lang]
    buttons = "".join(
        f'<button type="button" class="bp-{name}" data-t="{name}">{escape(ui[name])}</button>'
        for name in ("reset", "prev", "play", "next")
    )
    langs = "".join(
        f'<button type="button" class="bp-lang" data-lang="{code}">{escape(UI[code]["lang"])}'
        "</button>"
        for code in UI
    )
    notes = []
    if data["mode"] != "full":
        key = "too_big" if data["mode"] == "steps" else "collapsed"
        notes.append(
            f'<p class="bp-note" data-t="{key}">'
            f"{escape(ui[key].format(n=graph.size, max=PAGE_MAX_NODES))}</p>"
        )
    if not graph.has_grads:
        notes.append(f'<p class="bp-note" data-t="no_grads">{escape(ui["no_grads"])}</p>')
    if note:
        notes.append(f'<p class="bp-note">{escape(note)}</p>')
    subgraphs = subgraphs or {}
    if subgraphs:
        notes.append(f'<p class="bp-note" data-t="open">{escape(ui["open"])}</p>')
    subs = "".join(
        f'<div class="bp-sub" data-for="{key}" hidden>{body}</div>'
        for key, body in subgraphs.items()
    )
    return (
        f'<div class="bp-root" id="{prefix}" lang="{lang}">'
        f"<style>{_STYLE}</style>"
        f"<h1>{escape(title)}</h1>{''.join(notes)}"
        f'<div class="bp-bar">{buttons}<input type="range" class="bp-slider" min="0" '
        f'max="{len(data["steps"]) - 1}" value="0" aria-label="step">'
        f'<span class="bp-count"></span><span class="bp-phase"></span>'
        f'<span style="flex:1"></span>{langs}</div>'
        f'<div class="bp-picture">{picture}</div>'
        f'<div class="bp-panel" aria-live="polite"></div>'
        f'<p class="bp-legend" data-t="legend">{escape(ui["legend"])}</p>'
        f'<p class="bp-help" data-t="keys">{escape(ui["keys"])}</p>{subs}'
        f'<script type="application/json" class="bp-data">{blob}</script>'
        f"<script>{_SCRIPT.replace('ROOT_ID', json.dumps(prefix))}</script>"
        "</div>"
    )


def _value(graph: Graph) -> str:
    data = graph.output.data
    return number(data) if np.size(data) == 1 else shape_text(data)


def _subgraphs(graph: Graph, lang: str) -> dict[str, str]:
    """The graphs inside the layer-level nodes (Affine, ReLU, Softmax-with-Loss), on the
    numbers that flowed through them, as fragments."""
    from backprop.autograd.expression import expand

    subs: dict[str, str] = {}
    if len(graph.functions) < 2:  # the graph is the layer itself
        return subs
    for i, f in enumerate(graph.functions):
        opened = expand(f)
        if opened is None:
            continue
        with np.errstate(all="raise"):
            try:
                opened.backward()
            except FloatingPointError:  # e.g. a log of an underflowed softmax: not shown
                continue
        subs[f"f{i}"] = fragment(build(opened.output), lang=lang, title=opened.title)
    return subs


def page_html(graph: Graph, *, lang: str = "en", title: str | None = None, note: str = "") -> str:
    """The whole page: one HTML file, nothing fetched. Layer-level nodes open into their
    own graphs (``backprop.autograd.expression.expand``) on a click."""
    subs = _subgraphs(graph, lang) if graph.has_grads and graph.size <= PAGE_MAX_NODES else {}
    body = fragment(graph, lang=lang, title=title, note=note, subgraphs=subs)
    heading = escape(title or f"{graph.name(graph.output)} = {_value(graph)}")
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>backprop: {heading}</title></head>"
        f'<body style="margin:16px">{body}</body></html>\n'
    )
