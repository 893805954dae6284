"""MNIST and Fashion-MNIST loaders (book 3.6.1, "MNIST dataset").

``load_mnist(normalize=True, flatten=True, one_hot_label=False)`` returns
``(x_train, t_train), (x_test, t_test)`` as in the book, read from the four standard IDX files
(raw or gzip). ``load_fashion_mnist`` does the same for Fashion-MNIST (same format, ten clothing
classes), ``load_dataset(name, ...)`` picks one by name, and ``load_mnist(sample=True)`` reads
the 10,000 + 2,000 image sample of real MNIST shipped inside the package (no download).

Where the files come from, first match wins:

1. ``data_dir=`` (``--data-dir``): the folder holding the four files themselves. If files are
   missing there they are downloaded into it.
2. otherwise the *cache folder* ``cache_dir() / name``, e.g. ``~/.cache/backprop/mnist``, where
   ``cache_dir()`` is ``$BACKPROP_DATA`` if set, else the platform's user cache folder
   (``$XDG_CACHE_HOME/backprop`` or ``~/.cache/backprop`` on Linux,
   ``~/Library/Caches/backprop`` on macOS, ``%LOCALAPPDATA%\\backprop\\Cache`` on Windows);
3. then, if the cache folder lacks a file, read-only system folders, for Fashion-MNIST the
   Debian package's ``/usr/share/datasets/fashion-mnist/`` (used in place, never copied);
4. then a download into the cache folder from public mirrors, tried in turn (override them with
   ``mirrors=``, ``--mirror`` or ``BACKPROP_MNIST_MIRRORS`` / ``BACKPROP_FASHION_MNIST_MIRRORS``).
   ``download=False`` turns this step off; the error then says which files to put where.

Checking policy. Every file is checked structurally (magic numbers, sizes against the header,
labels below 10, as many labels as images, 28×28 images). Files from the cache folder, system
folders and downloads are also checked against the SHA-256 of their decompressed content, on
every load (hashing costs about 15 % of decompressing): a damaged cached file raises
:class:`DatasetError` instead of being used. Files in an explicit ``data_dir`` are only checked
structurally, so a custom subset in the same format loads too.

Nothing happens at import time: no downloads, no file writes, no environment look-ups.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path

import numpy as np

from backprop.datasets.download import DEFAULT_TIMEOUT, fetch_file, mirrors_from_env
from backprop.datasets.idx import DatasetError, Readable, read_idx_with_sha256, sha256_of_content

__all__ = [
    "DATASETS",
    "FASHION_MNIST",
    "FILES",
    "MNIST",
    "MNIST_SAMPLE",
    "DatasetSpec",
    "cache_dir",
    "download_dataset",
    "load_dataset",
    "load_fashion_mnist",
    "load_mnist",
]

# The four files of every dataset here, in the order train images, train labels, test images,
# test labels. Names without ".gz"; either form is accepted on disk, the mirrors serve ".gz".
# No file of these datasets comes near this (MNIST's largest holds 47 MB): a header announcing
# more is damaged or hostile, and is refused before anything is allocated or decompressed.
MAX_FILE_BYTES = 256 << 20

FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """What the loaders need to know about one dataset.

    Attributes
    ----------
    name : str
        Key in :data:`DATASETS` and folder name in the cache, e.g. ``"mnist"``.
    title : str
        Name for messages, e.g. ``"MNIST"``.
    sha256 : Mapping[str, str]
        File name (from :data:`FILES`) -> hex SHA-256 of its decompressed content. A file with
        no entry is only checked structurally and cannot be downloaded; tests pass specs with
        their own small tables (``dataclasses.replace(MNIST, sha256=..., mirrors=...)``).
    mirrors : tuple of str
        Base URLs to download from, in order.
    mirrors_env : str or None
        Environment variable that replaces ``mirrors`` when set.
    system_dirs : tuple of str
        Read-only folders that may already hold the files (e.g. a distribution package).
    bundled : bool
        The files ship in this package's ``data/`` folder (the MNIST sample).
    class_names : tuple of str
        Label -> human-readable class name.
    image_shape : tuple of int
        (rows, cols) of one image.
    license : str
        License and credit, for messages and documentation.
    """

    name: str
    title: str
    sha256: Mapping[str, str]
    mirrors: tuple[str, ...] = ()
    mirrors_env: str | None = None
    system_dirs: tuple[str, ...] = ()
    bundled: bool = False
    class_names: tuple[str, ...] = ("0", "1", "2", "3", "4", "5", "6", "7", "8", "9")
    image_shape: tuple[int, int] = (28, 28)
    license: str = ""

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


MNIST = DatasetSpec(
    name="mnist",
    title="MNIST",
    sha256={
        "train-images-idx3-ubyte": (
            "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"
        ),
        "train-labels-idx1-ubyte": (
            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"
        ),
        "t10k-images-idx3-ubyte": (
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"
        ),
        "t10k-labels-idx1-ubyte": (
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"
        ),
    },
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ),
    mirrors_env="BACKPROP_MNIST_MIRRORS",
    license="CC BY-SA 3.0; Yann LeCun, Corinna Cortes, Christopher J.C. Burges",
)

FASHION_MNIST = DatasetSpec(
    name="fashion-mnist",
    title="Fashion-MNIST",
    # Decompressed content of the files in Debian's dataset-fashion-mnist package
    # (0.0~git20200523.55506a9-1), identical to Zalando's originals.
    sha256={
        "train-images-idx3-ubyte": (
            "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"
        ),
        "train-labels-idx1-ubyte": (
            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"
        ),
        "t10k-images-idx3-ubyte": (
            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"
        ),
        "t10k-labels-idx1-ubyte": (
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"
        ),
    },
    mirrors=(
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ),
    mirrors_env="BACKPROP_FASHION_MNIST_MIRRORS",
    system_dirs=("/usr/share/datasets/fashion-mnist",),
    class_names=(
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
    license="MIT; Zalando SE",
)

MNIST_SAMPLE = DatasetSpec(
    name="mnist-sample",
    title="MNIST sample",
    # Made by tools/make_mnist_sample.py; see data/README.md.
    sha256={
        "train-images-idx3-ubyte": (
            "072ccf44299fa9bad3ae45681ca7cc1f802f67d3eef72c6f0db1527eb652a361"
        ),
        "train-labels-idx1-ubyte": (
            "c326f8ff2d93a03a81749983c9f0c2603f98040dba763e2ecb5340880a7b29b7"
        ),
        "t10k-images-idx3-ubyte": (
            "732fdc853db316e57582d7328a3b706062e34359cd89b870b8a1526a18a5d498"
        ),
        "t10k-labels-idx1-ubyte": (
            "2af83cf6c8de9dd45e81390d3442b134974a0f8d1912795c76d5c02ba25f0332"
        ),
    },
    bundled=True,
    license=MNIST.license,
)

DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec for spec in (MNIST, MNIST_SAMPLE, FASHION_MNIST)
}

_DTYPE_CHOICES = "float32, float64 or uint8 (None means uint8)"

# What the loaders return: (x_train, t_train), (x_test, t_test).
Split = tuple[np.ndarray, np.ndarray]


# ---------------------------------------------------------------------------------------------
# Locations


def cache_dir() -> Path:
    """The folder under which datasets are cached, one subfolder per dataset.

    ``$BACKPROP_DATA`` if set, else the platform's user cache folder for ``backprop``:
    ``$XDG_CACHE_HOME/backprop`` (or ``~/.cache/backprop``) on Linux and other POSIX systems,
    ``~/Library/Caches/backprop`` on macOS, ``%LOCALAPPDATA%\\backprop\\Cache`` on Windows.
    Read from the environment on each call; nothing is created.
    """
    override = os.environ.get("BACKPROP_DATA")
    if override:
        return Path(override).expanduser()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "backprop" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "backprop"
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base_dir = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"
    return base_dir / "backprop"


def _bundled_folder() -> Readable:
    return resources.files("backprop.datasets").joinpath("data")


def _find(folder: Path | Readable) -> dict[str, Readable | None]:
    """For each of :data:`FILES`, the raw file in ``folder`` if present, else the ``.gz`` one."""
    found: dict[str, Readable | None] = {}
    for name in FILES:
        found[name] = None
        for candidate in (name, name + ".gz"):
            path = folder.joinpath(candidate)
            if path.is_file():
                found[name] = path
                break
    return found


def _where_to_put(folder: Path) -> str:
    names = ", ".join(f"{name}.gz" for name in FILES)
    return (
        f"Put the four files {names} (gzipped or not) in {folder}, or pass the folder that "
        "holds them as data_dir= (--data-dir)"
    )


def _missing_message(spec: DatasetSpec, folder: Path, missing: Sequence[str]) -> str:
    return (
        f"{spec.title}: {', '.join(missing)} not found in {folder} and downloads are off. "
        f"{_where_to_put(folder)}, or run `backprop download --dataset {spec.name}`"
    )


def _get_spec(dataset: str | DatasetSpec, *, downloadable: bool = False) -> DatasetSpec:
    if isinstance(dataset, DatasetSpec):
        return dataset
    choices = [name for name, spec in DATASETS.items() if not (downloadable and spec.bundled)]
    if dataset not in choices:
        listed = ", ".join(repr(name) for name in choices)
        message = f"dataset must be one of {listed}, got {dataset!r}"
        raise ValueError(message)
    return DATASETS[dataset]


def _mirrors(spec: DatasetSpec, mirrors: Sequence[str] | None) -> tuple[str, ...]:
    if mirrors is not None:
        if isinstance(mirrors, str):
            message = f"mirrors must be a sequence of base URLs, got the string {mirrors!r}"
            raise TypeError(message)
        return tuple(mirrors)
    return mirrors_from_env(spec.mirrors_env, spec.mirrors)


def _download_missing(
    spec: DatasetSpec,
    folder: Path,
    missing: Sequence[str],
    mirrors: Sequence[str] | None,
    timeout: float,
    verbose: bool,
) -> None:
    urls = _mirrors(spec, mirrors)
    for name in missing:
        if name not in spec.sha256:
            message = f"{spec.title}: no checksum known for {name}, so it cannot be downloaded"
            raise DatasetError(message)
        try:
            fetch_file(
                name + ".gz", folder, urls, spec.sha256[name], timeout=timeout, verbose=verbose
            )
        except DatasetError as exc:
            message = f"{spec.title}: could not download {exc}. {_where_to_put(folder)}"
            raise DatasetError(message) from None


# ---------------------------------------------------------------------------------------------
# Reading


def _read_checked(spec: DatasetSpec, files: Mapping[str, Readable], verify: bool) -> dict:
    """Read the four files, check their structure (and checksums if ``verify``)."""
    arrays = {}
    for name in FILES:
        path = files[name]
        array, digest = read_idx_with_sha256(path, max_bytes=MAX_FILE_BYTES)
        expected = spec.sha256.get(name)
        if verify and expected is not None and digest != expected:
            message = (
                f"{path}: SHA-256 of the decompressed content is {digest}, expected {expected} "
                f"for {spec.title}'s {name}; the file is damaged or not the right one. Delete it "
                f"to download it again, or pass its folder as data_dir= to load it with "
                "structural checks only"
            )
            raise DatasetError(message)
        is_images = "images" in name
        if array.dtype != np.uint8 or array.ndim != (3 if is_images else 1):
            kind = "images (magic 0x00000803)" if is_images else "labels (magic 0x00000801)"
            message = (
                f"{path}: expected unsigned-byte {kind}, got a {array.ndim}-dimensional "
                f"{array.dtype} array of shape {array.shape}"
            )
            raise DatasetError(message)
        if is_images and array.shape[1:] != spec.image_shape:
            rows, cols = spec.image_shape
            message = f"{path}: expected {rows}×{cols} images, got shape {array.shape}"
            raise DatasetError(message)
        if not is_images and array.size and array.max() >= spec.num_classes:
            index = int(np.argmax(array >= spec.num_classes))
            message = (
                f"{path}: label {array[index]} at index {index} is not a class "
                f"0..{spec.num_classes - 1}"
            )
            raise DatasetError(message)
        arrays[name] = array
    for images_name, labels_name in (FILES[:2], FILES[2:]):
        n_images, n_labels = len(arrays[images_name]), len(arrays[labels_name])
        if n_images != n_labels:
            message = (
                f"{files[images_name]} has {n_images} images but {files[labels_name]} has "
                f"{n_labels} labels; they must match"
            )
            raise DatasetError(message)
    return arrays


def _read_dataset(
    spec: DatasetSpec,
    data_dir: str | os.PathLike[str] | None,
    download: bool,
    mirrors: Sequence[str] | None,
    timeout: float,
) -> dict:
    if spec.bundled:
        if data_dir is not None:
            message = (
                f"{spec.title} is bundled with the package; data_dir must be None, got {data_dir!r}"
            )
            raise ValueError(message)
        return _read_checked(spec, _find(_bundled_folder()), verify=True)
    explicit = data_dir is not None
    folder = Path(data_dir).expanduser() if explicit else cache_dir() / spec.name
    found = _find(folder)
    if all(found.values()):
        return _read_checked(spec, found, verify=not explicit)
    if not explicit:
        for system_dir in spec.system_dirs:
            system_found = _find(Path(system_dir))
            if all(system_found.values()):
                try:
                    return _read_checked(spec, system_found, verify=True)
                except OSError:
                    pass  # unreadable or not the expected files: fetch our own copy instead
    missing = [name for name, path in found.items() if path is None]
    if not download:
        raise DatasetError(_missing_message(spec, folder, [f"{name}.gz" for name in missing]))
    _download_missing(spec, folder, missing, mirrors, timeout, verbose=True)
    return _read_checked(spec, _find(folder), verify=not explicit)


def _check_dtype(dtype, normalize: bool) -> np.dtype:
    try:
        dt = np.dtype(np.uint8 if dtype is None else dtype)
    except TypeError:
        message = f"dtype must be {_DTYPE_CHOICES}, got {dtype!r}"
        raise ValueError(message) from None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.uint8)):
        message = f"dtype must be {_DTYPE_CHOICES}, got {dt}"
        raise ValueError(message)
    if dt == np.uint8 and normalize:
        message = (
            "dtype=uint8 gives the raw pixels 0..255 and needs normalize=False; "
            "pass dtype=float32 or float64 to normalize to [0, 1]"
        )
        raise ValueError(message)
    return dt


def _convert(images, labels, *, dt, normalize, flatten, one_hot_label, num_classes) -> Split:
    n, rows, cols = images.shape
    x = images.reshape(n, rows * cols) if flatten else images.reshape(n, 1, rows, cols)
    if dt != np.uint8:
        x = x.astype(dt)
        if normalize:
            x /= 255  # x is our own fresh array; dividing in place saves a copy
    t = labels.astype(np.int64)
    if one_hot_label:
        t = np.eye(num_classes, dtype=dt)[t]
    return x, t


def load_dataset(
    name: str | DatasetSpec,
    normalize: bool = True,
    flatten: bool = True,
    one_hot_label: bool = False,
    *,
    dtype=np.float64,
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    mirrors: Sequence[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> tuple[Split, Split]:
    """Load a dataset by name: ``(x_train, t_train), (x_test, t_test)``.

    Parameters
    ----------
    name : {"mnist", "mnist-sample", "fashion-mnist"} or DatasetSpec
        ``"mnist-sample"`` is the 10,000 + 2,000 image MNIST subset bundled with the package.
    normalize : bool
        Scale pixels from 0..255 to [0, 1] (needs a float ``dtype``).
    flatten : bool
        Images as rows of 784 values, ``(N, 784)``; else ``(N, 1, 28, 28)`` as in the book.
    one_hot_label : bool
        Labels as one-hot rows ``(N, 10)`` of ``dtype``; else class indices ``(N,)`` int64.
    dtype : np.float64 (default), np.float32, np.uint8 or None
        dtype of the images (and of one-hot labels). ``np.uint8`` (or ``None``, ``"uint8"``)
        with ``normalize=False`` returns the stored pixels without a copy, for code that keeps
        the data compact and converts one batch at a time. A float dtype with
        ``normalize=False`` gives floats in 0..255.
    data_dir : str or os.PathLike, optional
        Folder holding the four IDX files (checked structurally only; missing files are
        downloaded into it). Default: the cache folder, see the module docstring.
    download : bool
        Allow downloading missing files. With ``False`` a missing file raises DatasetError.
    mirrors : sequence of str, optional
        Base URLs to download from, instead of the dataset's mirror list (or its environment
        variable, e.g. ``BACKPROP_MNIST_MIRRORS``).
    timeout : float
        Seconds allowed for connecting to a mirror and for each read.

    Returns
    -------
    (x_train, t_train), (x_test, t_test)
        ``x`` : ndarray, shape (N, 784) or (N, 1, 28, 28), ``dtype``;
        ``t`` : ndarray, shape (N,) int64 or (N, 10) ``dtype``.
        N is 60,000 / 10,000 for MNIST and Fashion-MNIST, 10,000 / 2,000 for the sample.

    Raises
    ------
    ValueError
        Unknown ``name`` or ``dtype``, ``dtype=uint8`` with ``normalize=True``, ``data_dir``
        with the bundled sample.
    DatasetError (an OSError)
        Files missing and not downloadable, damaged, malformed or with a wrong checksum; the
        message names the file and says where files are expected.
    """
    spec = _get_spec(name)
    dt = _check_dtype(dtype, normalize)
    arrays = _read_dataset(spec, data_dir, download, mirrors, timeout)
    options = {
        "dt": dt,
        "normalize": normalize,
        "flatten": flatten,
        "one_hot_label": one_hot_label,
        "num_classes": spec.num_classes,
    }
    train = _convert(arrays[FILES[0]], arrays[FILES[1]], **options)
    test = _convert(arrays[FILES[2]], arrays[FILES[3]], **options)
    return train, test


def load_mnist(
    normalize: bool = True,
    flatten: bool = True,
    one_hot_label: bool = False,
    *,
    dtype=np.float64,
    data_dir: str | os.PathLike[str] | None = None,
    sample: bool = False,
    download: bool = True,
    mirrors: Sequence[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> tuple[Split, Split]:
    """Load MNIST as in the book: ``(x_train, t_train), (x_test, t_test)``.

    ``x_train`` is (60000, 784) and ``x_test`` (10000, 784) with the defaults; with
    ``sample=True`` the bundled class-balanced subset of 10,000 training and 2,000 test images
    is loaded instead (no download, ``data_dir`` must be None). The other parameters, the
    returned shapes and the errors are those of :func:`load_dataset`.

    Examples
    --------
    >>> (x_train, t_train), (x_test, t_test) = load_mnist(sample=True)
    >>> x_train.shape, x_train.dtype, t_train.shape, t_train.dtype
    ((10000, 784), dtype('float64'), (10000,), dtype('int64'))
    """
    return load_dataset(
        MNIST_SAMPLE if sample else MNIST,
        normalize,
        flatten,
        one_hot_label,
        dtype=dtype,
        data_dir=data_dir,
        download=download,
        mirrors=mirrors,
        timeout=timeout,
    )


def load_fashion_mnist(
    normalize: bool = True,
    flatten: bool = True,
    one_hot_label: bool = False,
    *,
    dtype=np.float64,
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    mirrors: Sequence[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> tuple[Split, Split]:
    """Load Fashion-MNIST: ``(x_train, t_train), (x_test, t_test)``, 60,000 / 10,000 images.

    Same format and parameters as :func:`load_dataset`; class names are
    ``FASHION_MNIST.class_names``. Found in the cache folder, then in Debian's
    ``/usr/share/datasets/fashion-mnist/`` (``apt-get install dataset-fashion-mnist``), then
    downloaded.
    """
    return load_dataset(
        FASHION_MNIST,
        normalize,
        flatten,
        one_hot_label,
        dtype=dtype,
        data_dir=data_dir,
        download=download,
        mirrors=mirrors,
        timeout=timeout,
    )


def download_dataset(
    name: str | DatasetSpec = "mnist",
    data_dir: str | os.PathLike[str] | None = None,
    *,
    mirrors: Sequence[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    verbose: bool = True,
) -> Path:
    """Make sure the four files of a dataset are present and verified; return their folder.

    Files already in the folder are checked against the dataset's SHA-256 table (and never
    overwritten: a bad one raises DatasetError saying to delete it); missing ones are
    downloaded, verified and written atomically. With no ``data_dir``, a complete and verified
    system folder (Debian's Fashion-MNIST package) is returned instead of downloading.

    Parameters
    ----------
    name : {"mnist", "fashion-mnist"} or DatasetSpec
    data_dir : str or os.PathLike, optional
        Folder to put the files in. Default: ``cache_dir() / name``.
    mirrors : sequence of str, optional
        Base URLs to try instead of the dataset's own list.
    timeout : float
        Seconds allowed for connecting and for each read.
    verbose : bool
        Show a progress line per download on stderr.

    Returns
    -------
    Path
        The folder holding the four verified files.
    """
    spec = _get_spec(name, downloadable=True)
    if spec.bundled:
        message = f"{spec.title} is bundled with the package; there is nothing to download"
        raise ValueError(message)
    folder = Path(data_dir).expanduser() if data_dir is not None else cache_dir() / spec.name
    found = _find(folder)
    if data_dir is None and not all(found.values()):
        for system_dir in spec.system_dirs:
            system_found = _find(Path(system_dir))
            if all(system_found.values()) and all(
                sha256_of_content(path) == spec.sha256.get(name)
                for name, path in system_found.items()
            ):
                return Path(system_dir)
    for name, path in found.items():
        if path is None:
            continue
        digest = sha256_of_content(path)
        expected = spec.sha256.get(name)
        if expected is not None and digest != expected:
            message = (
                f"{path}: SHA-256 of the decompressed content is {digest}, expected {expected} "
                f"for {spec.title}'s {name}; delete the file and run the download again"
            )
            raise DatasetError(message)
    missing = [name for name, path in found.items() if path is None]
    _download_missing(spec, folder, missing, mirrors, timeout, verbose)
    return folder
