"""Take the README's screenshot of the step-through page (docs/images/step_through.png).

Builds the book's apple-orange graph (5.1), writes its page, opens it from disk in headless
Chromium (Playwright), steps with the keyboard into the backward pass and saves the page as
a small PNG (palette colours, under 150 KB).

    .venv/bin/python tools/screenshot_page.py [--out docs/images/step_through.png] [--lang ko]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from backprop.autograd.expression import example
from backprop.visualize import save_graph

ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def take(out: Path, lang: str = "en", steps: int = 8, chromium: str | None = None) -> Path:
    from PIL import Image
    from playwright.sync_api import sync_playwright

    built = example("apple-orange")
    built.backward()
    with tempfile.TemporaryDirectory() as folder:
        page_path = Path(folder) / "graph.html"
        save_graph(built.output, page_path, lang=lang, title=built.title)
        executable = chromium or shutil.which("chromium") or "/usr/bin/chromium"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=executable, headless=True, args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(page_path.resolve().as_uri())
            root = page.locator(".bp-root").first
            root.focus()
            for _ in range(steps):
                page.keyboard.press("ArrowRight")
            raw = Path(folder) / "raw.png"
            root.screenshot(path=str(raw))
            browser.close()
        with Image.open(raw) as image:
            small = image.convert("RGB").quantize(colors=64)
            out.parent.mkdir(parents=True, exist_ok=True)
            small.save(out, optimize=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/images/step_through.png"))
    parser.add_argument("--lang", choices=("en", "ko"), default="en")
    parser.add_argument("--steps", type=int, default=8, help="arrow presses before the shot")
    args = parser.parse_args()
    path = take(args.out, args.lang, args.steps)
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
