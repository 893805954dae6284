"""The step-through page in a real browser (Debian's Chromium driven by Playwright).

The page is opened from disk (file://), stepped through with the keyboard and the buttons,
and the numbers it shows are compared with the gradients Python computed. The page must make
no network request at all.
The README's screenshot is written by ``tools/screenshot_page.py`` the same way.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from backprop.autograd import Tensor, book_example, evaluate
from backprop.autograd.expression import example
from backprop.visualize import PAGE_MAX_NODES, save_graph
from backprop.visualize._format import number, value_lines

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=ARGS)
        yield browser
        browser.close()


class Page:
    """One page opened from disk, with the requests it made and its script errors."""

    def __init__(self, browser, path: Path):
        self.url = path.resolve().as_uri()
        self.page = browser.new_page(viewport={"width": 1280, "height": 800})
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.goto(self.url)
        self.root = self.page.locator(".bp-root").first
        self.prefix = self.root.get_attribute("id")
        self.root.focus()

    def key(self, key: str, times: int = 1) -> None:
        for _ in range(times):
            self.page.keyboard.press(key)

    def click(self, name: str) -> None:
        self.root.locator(f":scope > .bp-bar .bp-{name}").click()

    def label(self, kind: str, index: int):
        return self.page.locator(f"#{self.prefix}-{kind}-{index}")

    def text(self, kind: str, index: int) -> str:
        return self.label(kind, index).text_content()

    def shown(self, kind: str, index: int) -> bool:
        return self.label(kind, index).is_visible()

    def panel(self) -> str:
        return self.root.locator(":scope > .bp-panel").inner_text()

    def count(self) -> str:
        return self.root.locator(":scope > .bp-bar .bp-count").text_content()

    def close(self) -> None:
        assert self.errors == []
        # Nothing but the file itself: no CDN, no fonts, no favicon.
        assert self.requests == [self.url]
        self.page.close()


def open_page(browser, tmp_path, output, name="graph.html", **kwargs) -> Page:
    path = tmp_path / name
    assert save_graph(output, path, **kwargs) == "page"
    return Page(browser, path)


def input_edges(output):
    """(edge index, input tensor) for every edge of the graph, in the page's numbering."""
    from backprop.visualize.graph import build

    return [(e.index, e) for e in build(output).edges]


def test_apple_forward_then_backward_with_the_keyboard(browser, tmp_path):
    price, inputs = book_example("apple")
    price.backward()
    page = open_page(browser, tmp_path, price)
    edges = input_edges(price)  # apple, apple_num, apple_price, tax, price
    assert page.count() == "Step 1 of 6"
    # Step 1: the inputs' values, nothing else yet.
    assert page.shown("v", 0) and page.text("v", 0) == "100"
    assert not page.shown("v", 2) and not page.shown("g", 0)
    page.key("ArrowRight")  # the first ×: apple_price = 200 appears above its edge
    assert page.shown("v", 2) and page.text("v", 2) == "apple_price = 200"
    assert "apple_price = 200" in page.panel()
    page.key("ArrowRight", 2)  # the second ×, then the start of the backward pass
    assert page.text("v", 4) == "220"
    assert "∂L/∂price = 1" in page.panel() and page.shown("g", 4)
    assert not page.shown("g", 3)
    page.key("ArrowRight")  # backward through the last ×, as backward() did
    panel = page.panel()
    assert "∂L/∂tax = ∂L/∂out × apple_price = 1 × 200 = 200" in panel
    assert "∂L/∂apple_price = ∂L/∂out × tax = 1 × 1.1 = 1.1" in panel
    assert page.shown("g", 3) and page.text("g", 3) == number(inputs["tax"].grad) == "200"
    assert not page.shown("g", 0)
    page.key("ArrowRight")
    panel = page.panel()
    assert "∂L/∂apple = ∂L/∂out × apple_num = 1.1 × 2 = 2.2" in panel
    assert "∂L/∂apple_num = ∂L/∂out × apple = 1.1 × 100 = 110" in panel
    for index, edge in edges:
        assert page.shown("g", index)
        assert page.text("g", index) == number(edge.grad)
    assert page.text("g", 0) == number(inputs["apple"].grad)
    page.key("ArrowLeft")
    assert not page.shown("g", 0) and page.shown("g", 3)
    page.key("Home")
    assert page.count() == "Step 1 of 6" and not page.shown("g", 4)
    page.key("End")
    assert page.count() == "Step 6 of 6"
    page.close()


def test_buttons_slider_and_play(browser, tmp_path):
    z, inputs = evaluate("(x + y) ** 2", {"x": 1.0, "y": 2.0})
    z.backward()
    page = open_page(browser, tmp_path, z)
    page.click("next")
    page.click("next")
    assert page.count() == "Step 3 of 6"
    assert "z = 9" in page.panel()
    page.click("prev")
    assert page.count() == "Step 2 of 6"
    slider = page.root.locator(":scope > .bp-bar .bp-slider")
    slider.evaluate("(s) => { s.value = 4; s.dispatchEvent(new Event('input')); }")
    assert page.count() == "Step 5 of 6"
    assert "∂L/∂t = ∂L/∂out × c·t^(c−1) = 1 × 2·3^(2−1) = 6" in page.panel()
    page.click("next")
    panel = page.panel()
    assert "∂L/∂x = ∂L/∂out × 1 = 6 × 1 = 6" in panel
    assert "∂L/∂y = ∂L/∂out × 1 = 6 × 1 = 6" in panel
    assert page.text("g", 0) == number(inputs["x"].grad) == "6"
    assert page.text("g", 1) == number(inputs["y"].grad) == "6"
    page.click("reset")
    assert page.count() == "Step 1 of 6"
    page.root.evaluate("(root) => { root.dataset.interval = 150; }")  # 1.2 s a step, normally
    page.click("play")
    page.page.wait_for_function(
        f"document.querySelector('#{page.prefix} .bp-count').textContent.startsWith('Step 3')"
    )
    page.root.focus()
    page.key(" ")  # Space pauses
    paused = page.count()
    page.page.wait_for_timeout(400)
    assert page.count() == paused
    page.close()


def test_fan_in_shows_the_sum_of_the_arriving_gradients(browser, tmp_path):
    x = Tensor(3.0, name="x")
    z = x * x
    t = x * 2.0  # a diamond too: u feeds two nodes
    u = t + 1.0
    loss = z + u * u
    loss.backward()
    page = open_page(browser, tmp_path, loss)
    page.key("End")
    panel = page.panel()
    # x * x sends 1 × x = 3 along each of its edges, x * 2 sends 2 × ∂L/∂t = 2 × 14 = 28
    assert x.grad == 34.0
    terms = re.search(r"∂L/∂x = ([\d +]+) = 34", panel).group(1).split(" + ")
    assert sorted(terms) == ["28", "3", "3"]
    page.key("Home")
    # backward through u * u: its upstream is one gradient; u's creator receives a sum
    texts = []
    for _ in range(20):
        page.key("ArrowRight")
        texts.append(page.panel())
    assert any("∂L/∂out = 7 + 7 = 14" in text for text in texts)
    # the leaf's summed gradient appears beside it at the last step only
    sums = page.page.locator(f"[id^='{page.prefix}-s-']")
    assert sums.count() == 1 and sums.first.is_visible()
    assert "∂L/∂x = 34" in sums.first.text_content()
    page.key("ArrowLeft")
    assert not sums.first.is_visible()
    page.close()


def test_softmax_with_loss_shows_y_minus_t(browser, tmp_path):
    built = example("softmax-with-loss", {"a": np.array([0.3, 2.9, 4.0]), "t": 2})
    built.backward()
    a = built.inputs["a"]
    page = open_page(browser, tmp_path, built.output, note=built.note)
    page.key("End")
    y = np.exp(a.data) / np.exp(a.data).sum()
    expected = y - np.array([0.0, 0.0, 1.0])
    np.testing.assert_allclose(a.grad, expected, rtol=1e-12)
    # the exp node receives ∂L/∂a (its only input): the gradient below the edge a → exp
    assert page.text("g", 0) == "".join(value_lines(a.grad, shape=False))
    assert "y − t" in page.root.inner_text()
    for _, edge in input_edges(built.output):
        if edge.grad is not None:
            assert page.text("g", edge.index) == "".join(value_lines(edge.grad, shape=False))
    page.close()


def test_korean_switch(browser, tmp_path):
    price, _ = book_example("apple")
    price.backward()
    page = open_page(browser, tmp_path, price)
    page.root.locator(":scope > .bp-bar .bp-lang[data-lang=ko]").click()
    assert page.root.locator(":scope > .bp-bar .bp-next").text_content() == "다음 ▶"
    assert "순전파" in page.panel()
    page.root.focus()
    page.key("End")
    panel = page.panel()
    for term in ("역전파", "상류", "국소적 미분", "연쇄법칙", "곱셈 노드"):
        assert term in panel
    assert "∂L/∂apple = ∂L/∂out × apple_num = 1.1 × 2 = 2.2" in panel
    assert page.count() == "6단계 중 6단계"
    page.root.locator(":scope > .bp-bar .bp-lang[data-lang=en]").click()
    assert "Backward pass" in page.panel()
    page.close()
    ko = open_page(browser, tmp_path, price, name="ko.html", lang="ko")
    assert ko.page.evaluate("document.documentElement.lang") == "ko"
    assert "순전파" in ko.panel()
    ko.close()


def test_arrays_show_shapes_and_large_ones_open_a_heat_map(browser, tmp_path):
    built = example("two-layer-net", seed=3)
    built.backward()
    page = open_page(browser, tmp_path, built.output)
    assert (tmp_path / "graph.html").stat().st_size < 300_000
    page.key("End")
    w1 = page.label("v", 1)
    assert "(784, 50) float64" in w1.text_content()
    w1.click()
    popup = page.root.locator(":scope > .bp-popup")
    assert popup.is_visible() and "W1 (784, 50) float64" in popup.text_content()
    assert popup.locator("canvas").evaluate("(c) => [c.width, c.height]") == [40, 40]
    popup.locator("button").click()
    # a layer opens into its own graph, on the same numbers
    page.page.locator(f"#{page.prefix}-n-f0").click()
    sub = page.root.locator(":scope > .bp-sub:not([hidden])")
    assert sub.count() == 1 and "matmul" in sub.inner_text()
    page.close()


def test_the_notebook_display_steps_through_inline(browser):
    """The text/html of the bundle, inserted as JupyterLab does (innerHTML, then each script
    run again), becomes the step-through; two displays in one notebook do not mix."""
    price, inputs = book_example("apple")
    price.backward()
    page = browser.new_page()
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.set_content("<div id='cell1'></div><div id='cell2'></div>")
    for cell in ("cell1", "cell2"):
        page.evaluate(
            """([id, html]) => {
                const out = document.getElementById(id);
                out.innerHTML = html;
                out.querySelectorAll("script").forEach((old) => {
                    const script = document.createElement("script");
                    if (old.type) script.type = old.type;
                    script.className = old.className;
                    script.textContent = old.textContent;
                    old.replaceWith(script);
                });
            }""",
            [cell, price._repr_mimebundle_()["text/html"]],
        )
    first = page.locator("#cell1 .bp-root")
    prefix = first.get_attribute("id")
    first.focus()
    page.keyboard.press("End")
    assert first.locator(".bp-count").first.text_content() == "Step 6 of 6"
    assert page.locator(f"#{prefix}-g-0").text_content() == number(inputs["apple"].grad)
    second = page.locator("#cell2 .bp-root")
    assert second.locator(".bp-count").first.text_content() == "Step 1 of 6"
    assert requests == []
    page.close()


def test_too_big_a_graph_still_gives_a_usable_page(browser, tmp_path):
    x = Tensor(0.5, name="x")
    y = x
    for _ in range(PAGE_MAX_NODES):  # a chain: drawn as one node
        y = y.sigmoid() * 1.001
    y.backward()
    page = open_page(browser, tmp_path, y)
    assert "each chain of operations is drawn as one node" in page.root.inner_text()
    assert page.page.locator(f"#{page.prefix}-n-f0").text_content() == "400 ops: sigmoid … ×"
    page.key("End")
    assert f"∂L/∂x = {number(x.grad)}" in page.panel()
    assert page.text("g", 0) == number(x.grad)
    page.close()
    terms = x * 1.0
    for k in range(2, PAGE_MAX_NODES):  # a wide sum: no chain to collapse
        terms = terms + x * float(k)
    terms.backward()
    page = open_page(browser, tmp_path, terms, name="wide.html")
    assert "too many to draw legibly" in page.root.inner_text()
    page.key("End")
    assert "∂L/∂x" in page.panel()
    page.close()
