"""Turning a photo or drawing of one digit into an MNIST-like input.

Book: 3.6.1 describes MNIST's images: 28×28 gray pixels, a white digit on black, 0..255. The
MNIST makers (LeCun et al.) normalised each digit to fit a 20×20 box keeping its aspect ratio,
then centred it in the 28×28 field by its centre of mass. A network trained on MNIST only
recognises digits prepared the same way, so :func:`prepare_digit` repeats those steps:

1. gray levels in [0, 1]; inverted when the background is light (dark ink on paper);
2. the background level (median of the border) is subtracted and the contrast stretched,
   so a photo's gray paper becomes 0 and the darkest stroke 1;
3. crop to the bounding box of the ink;
4. resize so that the longer side is 20 pixels, keeping the aspect ratio (Lanczos filter);
5. paste into 28×28 so that the centre of mass lands on the centre.

Reading and resizing use Pillow, an optional dependency (``pip install 'backprop[image]'``);
it is imported inside the functions.
"""

from __future__ import annotations

import os
import struct
import warnings

import numpy as np

from backprop._safe_npz import open_regular

__all__ = ["MAX_PIXELS", "load_digit_image", "prepare_digit"]

MAX_PIXELS = 50_000_000  # a 50-megapixel photo; Pillow's own bomb limit is 89 million

_INVERT_CHOICES = ("auto", "yes", "no")


def _pillow():
    try:
        from PIL import Image, ImageOps
    except ImportError:
        message = (
            "reading images needs Pillow, an optional dependency: "
            "pip install 'backprop[image]' (or pip install Pillow)"
        )
        raise ModuleNotFoundError(message, name="PIL") from None
    return Image, ImageOps


def load_digit_image(path: str | os.PathLike[str], *, invert: str = "auto") -> np.ndarray:
    """Read an image file of one digit and prepare it like MNIST.

    Returns
    -------
    ndarray, shape (784,), float64 in [0, 1]
        White digit on black, 28×28 flattened row by row.

    Raises
    ------
    ModuleNotFoundError
        Pillow is not installed (the message says how to install it).
    FileNotFoundError, ValueError
        The file is missing, not an image, or blank.
    """
    image_module, image_ops = _pillow()
    from PIL import UnidentifiedImageError

    refused = (
        UnidentifiedImageError,
        OSError,
        ValueError,
        SyntaxError,  # some of Pillow's decoders say "broken file" this way
        EOFError,
        struct.error,
        IndexError,
        TypeError,
        ZeroDivisionError,
        MemoryError,
        image_module.DecompressionBombError,
        image_module.DecompressionBombWarning,
    )
    with open_regular(path, "image file") as file:
        try:
            gray = _read_gray(image_module, image_ops, file)
        except refused as exc:
            raise ValueError(f"{path}: cannot read it as an image: {exc}") from None
    try:
        return prepare_digit(gray, invert=invert).reshape(-1)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def _read_gray(image_module, image_ops, file) -> np.ndarray:
    """The image in ``file`` as gray levels in [0, 1], its size checked before decoding."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", image_module.DecompressionBombWarning)
        with image_module.open(file) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                message = (
                    f"it is {width}×{height} = {width * height:,} pixels, more than the "
                    f"{MAX_PIXELS:,} read (a photo of one digit needs far fewer; a "
                    "decompression bomb claims many more)"
                )
                raise ValueError(message)
            image = image_ops.exif_transpose(image)
            if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
                # Transparent pixels are background: lay the image on white paper.
                rgba = image.convert("RGBA")
                paper = image_module.new("RGBA", rgba.size, (255, 255, 255, 255))
                image = image_module.alpha_composite(paper, rgba)
            return np.asarray(image.convert("L"), dtype=np.float64) / 255.0


def prepare_digit(
    gray,
    *,
    invert: str = "auto",
    box: int = 20,
    size: int = 28,
    threshold: float = 0.2,
) -> np.ndarray:
    """An MNIST-like ``size``×``size`` image from a gray image of one digit.

    Parameters
    ----------
    gray : ndarray, shape (H, W), floats in [0, 1] (0 black, 1 white)
    invert : "auto", "yes" or "no"
        "auto" inverts when the border is mostly light (dark digit on light paper).
    box : int
        The digit is scaled so that its longer side is ``box`` pixels (MNIST: 20).
    size : int
        Side of the output (MNIST: 28).
    threshold : float
        Ink level (after the contrast stretch) that counts for the bounding box, so that
        specks of noise do not widen it.

    Returns
    -------
    ndarray, shape (size, size), float64 in [0, 1], white digit on black.
    """
    if invert not in _INVERT_CHOICES:
        raise ValueError(f"invert must be one of {', '.join(_INVERT_CHOICES)}, got {invert!r}")
    gray = np.asarray(gray, dtype=np.float64)
    if gray.ndim != 2 or min(gray.shape) < 1:
        raise ValueError(f"the image must be 2-D gray levels, got shape {gray.shape}")
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    background = float(np.median(border))
    if invert == "yes" or (invert == "auto" and background > 0.5):
        gray = 1.0 - gray
        background = 1.0 - background
    span = float(gray.max()) - background
    if span < 0.05:
        raise ValueError("no digit found: the image has (almost) no contrast")
    ink = np.clip((gray - background) / span, 0.0, 1.0)
    rows = np.flatnonzero((ink > threshold).any(axis=1))
    cols = np.flatnonzero((ink > threshold).any(axis=0))
    ink = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]

    image_module, _ = _pillow()
    height, width = ink.shape
    scale = box / max(height, width)
    new_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = image_module.fromarray(ink.astype(np.float32)).resize(
        new_size, image_module.Resampling.LANCZOS
    )
    digit = np.clip(np.asarray(resized, dtype=np.float64), 0.0, 1.0)

    # Centre of mass of the ink, then the offset that puts it at the centre of the field.
    total = digit.sum()
    if total <= 0:
        raise ValueError("no digit found: the image is blank after resizing")
    h, w = digit.shape
    cy = (digit.sum(axis=1) @ np.arange(h)) / total
    cx = (digit.sum(axis=0) @ np.arange(w)) / total
    centre = size / 2  # MNIST puts the centre of mass at pixel (14, 14)
    top = int(np.clip(round(centre - cy), 0, size - h))
    left = int(np.clip(round(centre - cx), 0, size - w))
    out = np.zeros((size, size), dtype=np.float64)
    out[top : top + h, left : left + w] = digit
    return out
