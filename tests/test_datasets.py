"""Tests for backprop.datasets (book 3.6.1): IDX files, loaders, sources, downloads, sample.

Everything runs on tiny IDX files written to ``tmp_path`` and a local HTTP server on 127.0.0.1;
no test touches the internet (conftest's autouse ``isolated_env`` points the mirror variables
at a refused port). The real MNIST files of ``../shared/data/mnist`` and Debian's Fashion-MNIST
are used in two short smoke tests when they exist.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import http.server
import io
import os
import re
import socket
import stat
import struct
import subprocess
import sys
import threading
import time
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from backprop.datasets import (
    DATASETS,
    FASHION_MNIST,
    MNIST,
    MNIST_SAMPLE,
    DatasetError,
    DatasetSpec,
    cache_dir,
    download_dataset,
    load_dataset,
    load_fashion_mnist,
    load_mnist,
    read_idx,
    write_idx,
)
from backprop.datasets.idx import idx_bytes
from backprop.datasets.mnist import FILES

REAL_MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS = FILES


# --------------------------------------------------------------------------------------------
# Helpers and fixtures


def make_split(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random 28×28 uint8 images (with 0 and 255 present) and labels 0..9 cycling."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    images[0, 0, 0], images[0, 0, 1] = 0, 255
    labels = (np.arange(n) % 10).astype(np.uint8)
    return images, labels


def make_arrays(n_train: int = 20, n_test: int = 10, seed: int = 0) -> dict[str, np.ndarray]:
    x_train, t_train = make_split(n_train, seed)
    x_test, t_test = make_split(n_test, seed + 1)
    return dict(zip(FILES, (x_train, t_train, x_test, t_test), strict=True))


def write_dataset(folder: Path, arrays: dict[str, np.ndarray], *, compress: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, array in arrays.items():
        write_idx(folder / (f"{name}.gz" if compress else name), array)
    return folder


def sums_of(arrays: dict[str, np.ndarray]) -> dict[str, str]:
    return {name: hashlib.sha256(idx_bytes(array)).hexdigest() for name, array in arrays.items()}


def test_spec(**changes) -> DatasetSpec:
    """MNIST's spec with test checksums and mirrors, its environment variable ignored.

    It keeps the name "mnist", so it uses the (temporary) cache folder ``cache_dir() / "mnist"``.
    """
    return dataclasses.replace(MNIST, **{"mirrors_env": None, **changes})


test_spec.__test__ = False  # a helper, not a test


# --------------------------------------------------------------------------------------------
# IDX format


@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_hand_built_file(tmp_path, compress):
    data = np.arange(24, dtype=np.uint8)
    content = struct.pack(">4B3I", 0, 0, 0x08, 3, 2, 3, 4) + data.tobytes()
    path = tmp_path / "x.idx"
    path.write_bytes(gzip.compress(content) if compress else content)
    array = read_idx(path)
    assert array.shape == (2, 3, 4)
    assert array.dtype == np.uint8
    np.testing.assert_array_equal(array.ravel(), data)
    assert array.flags.writeable


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_write_then_read_every_idx_type(tmp_path, dtype):
    array = (np.arange(12).reshape(3, 4) - 5).astype(dtype)
    if dtype == np.uint8:
        array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    back = read_idx(write_idx(tmp_path / "a.idx.gz", array))
    assert back.dtype == np.dtype(dtype)
    assert back.dtype.isnative
    np.testing.assert_array_equal(back, array)


def test_write_idx_is_reproducible_and_gzip_header_is_bare(tmp_path):
    array, _ = make_split(5)
    first = write_idx(tmp_path / "a.gz", array).read_bytes()
    second = write_idx(tmp_path / "b.gz", array).read_bytes()
    assert first == second
    assert first[3] == 0  # FLG: no file name stored
    assert first[4:8] == b"\0\0\0\0"  # mtime 0
    assert write_idx(tmp_path / "raw", array).read_bytes() == idx_bytes(array)


def test_write_idx_rejects_unsupported_dtype(tmp_path):
    with pytest.raises(TypeError, match="int64"):
        write_idx(tmp_path / "a", np.zeros(3, dtype=np.int64))


@pytest.mark.parametrize(
    ("header", "pattern"),
    [
        (b"\x01\x00\x08\x03", "not an IDX file: magic number 0x01000803"),
        (b"\x00\x00\x07\x01", "not an IDX file: magic number 0x00000701"),
        (b"\x1f\x8c\x08\x00", "not an IDX file"),
    ],
)
def test_wrong_magic_number_names_the_file(tmp_path, header, pattern):
    path = tmp_path / "bad-idx1-ubyte"
    path.write_bytes(header + b"\0" * 16)
    with pytest.raises(DatasetError, match=pattern) as info:
        read_idx(path)
    assert str(info.value).startswith(str(path))


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize(
    ("cut", "pattern"),
    [
        (2, "truncated: 2 bytes, shorter than an IDX header"),
        (10, "truncated: the header announces 3 dimensions"),
        (-1, r"truncated: the header announces a 2×28×28 array of uint8 \(1568 bytes\)"),
    ],
)
def test_truncated_files(tmp_path, compress, cut, pattern):
    images, _ = make_split(2)
    content = idx_bytes(images)[:cut]
    path = tmp_path / "short.gz"
    path.write_bytes(gzip.compress(content) if compress else content)
    with pytest.raises(DatasetError, match=pattern):
        read_idx(path)


def test_trailing_data_is_an_error(tmp_path):
    path = tmp_path / "long"
    path.write_bytes(idx_bytes(np.zeros(3, np.uint8)) + b"\0")
    with pytest.raises(DatasetError, match="unexpected data after the 3 array"):
        read_idx(path)


def test_damaged_gzip_stream(tmp_path):
    compressed = gzip.compress(idx_bytes(make_split(3)[0]))
    path = tmp_path / "cut.gz"
    path.write_bytes(compressed[: len(compressed) // 2])
    with pytest.raises(DatasetError, match=r"cut\.gz: damaged gzip data"):
        read_idx(path)


def test_absurd_header_sizes_do_not_allocate(tmp_path):
    path = tmp_path / "huge.gz"
    path.write_bytes(gzip.compress(struct.pack(">4B3I", 0, 0, 8, 3, 2**32 - 1, 2**32 - 1, 99)))
    with pytest.raises(DatasetError, match=r"huge\.gz"):
        read_idx(path)


# --------------------------------------------------------------------------------------------
# Loader: structure checks, options


def test_label_out_of_range_names_the_file(tmp_path):
    arrays = make_arrays()
    arrays[TEST_LABELS][3] = 10
    write_dataset(tmp_path, arrays)
    pattern = r"t10k-labels-idx1-ubyte\.gz: label 10 at index 3 is not a class 0\.\.9"
    with pytest.raises(DatasetError, match=pattern):
        load_mnist(data_dir=tmp_path)


def test_image_and_label_counts_must_match(tmp_path):
    arrays = make_arrays()
    arrays[TRAIN_LABELS] = arrays[TRAIN_LABELS][:-1]
    write_dataset(tmp_path, arrays)
    with pytest.raises(DatasetError, match=r"has 20 images but .*train-labels.* has 19 labels"):
        load_mnist(data_dir=tmp_path)


@pytest.mark.parametrize(
    ("name", "array", "pattern"),
    [
        (TRAIN_IMAGES, np.zeros((3, 27, 28), np.uint8), r"expected 28×28 images"),
        (TRAIN_IMAGES, np.zeros(3, np.uint8), "expected unsigned-byte images"),
        (TEST_LABELS, np.zeros((10, 28, 28), np.uint8), "expected unsigned-byte labels"),
        (TEST_IMAGES, np.zeros((10, 28, 28), np.float32), "expected unsigned-byte images"),
    ],
)
def test_wrong_kind_of_file(tmp_path, name, array, pattern):
    arrays = make_arrays()
    arrays[name] = array
    write_dataset(tmp_path, arrays)
    with pytest.raises(DatasetError, match=f"{name}.gz: {pattern}"):
        load_mnist(data_dir=tmp_path)


@pytest.mark.parametrize("compress", [False, True])
def test_defaults_follow_the_book(tmp_path, compress):
    arrays = make_arrays()
    write_dataset(tmp_path, arrays, compress=compress)
    (x_train, t_train), (x_test, t_test) = load_mnist(data_dir=tmp_path)
    assert x_train.shape == (20, 784)
    assert x_test.shape == (10, 784)
    assert x_train.dtype == x_test.dtype == np.float64
    assert t_train.shape == (20,)
    assert t_train.dtype == t_test.dtype == np.int64
    assert x_train.min() == 0.0
    assert x_train.max() == 1.0
    np.testing.assert_array_equal(x_train, arrays[TRAIN_IMAGES].reshape(20, 784) / 255)
    np.testing.assert_array_equal(t_test, arrays[TEST_LABELS])


def test_flatten_false_gives_channel_axis(tmp_path):
    arrays = make_arrays()
    write_dataset(tmp_path, arrays)
    (x_train, _), (x_test, _) = load_mnist(flatten=False, data_dir=tmp_path)
    assert x_train.shape == (20, 1, 28, 28)
    assert x_test.shape == (10, 1, 28, 28)
    np.testing.assert_array_equal(x_train[:, 0], arrays[TRAIN_IMAGES] / 255)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_hot_labels_take_the_dtype(tmp_path, dtype):
    arrays = make_arrays()
    write_dataset(tmp_path, arrays)
    (x_train, t_train), _ = load_mnist(one_hot_label=True, dtype=dtype, data_dir=tmp_path)
    assert x_train.dtype == t_train.dtype == dtype
    assert t_train.shape == (20, 10)
    np.testing.assert_array_equal(t_train.sum(axis=1), 1)
    np.testing.assert_array_equal(t_train.argmax(axis=1), arrays[TRAIN_LABELS])


@pytest.mark.parametrize("dtype", [np.uint8, "uint8", None])
def test_raw_uint8_pixels_without_copy(tmp_path, dtype):
    arrays = make_arrays()
    write_dataset(tmp_path, arrays)
    (x_train, t_train), (x_test, _) = load_mnist(normalize=False, dtype=dtype, data_dir=tmp_path)
    assert x_train.dtype == x_test.dtype == np.uint8
    assert t_train.dtype == np.int64
    np.testing.assert_array_equal(x_train, arrays[TRAIN_IMAGES].reshape(20, 784))
    # A reshaped view of the buffer the file was read into, writable.
    assert not x_train.flags.owndata
    assert x_train.base.dtype == np.uint8
    assert x_train.flags.writeable


def test_unnormalized_floats_keep_0_to_255(tmp_path):
    write_dataset(tmp_path, make_arrays())
    (x_train, _), _ = load_mnist(normalize=False, dtype=np.float32, data_dir=tmp_path)
    assert x_train.dtype == np.float32
    assert x_train.max() == 255.0


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"dtype": np.uint8}, "needs normalize=False"),
        ({"dtype": None}, "needs normalize=False"),
        ({"dtype": np.int32}, "dtype must be float32, float64 or uint8 .*got int32"),
        ({"dtype": "nonsense"}, "dtype must be float32, float64 or uint8 .*'nonsense'"),
    ],
)
def test_bad_dtype(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        load_mnist(sample=True, **kwargs)


def test_unknown_dataset_lists_choices():
    with pytest.raises(ValueError, match=r"'mnist', 'mnist-sample', 'fashion-mnist', got 'cifar'"):
        load_dataset("cifar")
    assert set(DATASETS) == {"mnist", "mnist-sample", "fashion-mnist"}


def test_raw_file_is_preferred_to_gz(tmp_path):
    write_dataset(tmp_path, make_arrays(seed=0), compress=True)
    raw = make_arrays(seed=5)
    write_dataset(tmp_path, raw, compress=False)
    (x_train, _), _ = load_mnist(normalize=False, dtype=None, data_dir=tmp_path)
    np.testing.assert_array_equal(x_train, raw[TRAIN_IMAGES].reshape(20, 784))


# --------------------------------------------------------------------------------------------
# The bundled sample


def test_bundled_sample():
    (x_train, t_train), (x_test, t_test) = load_mnist(sample=True, dtype=np.float32)
    assert x_train.shape == (10_000, 784)
    assert x_test.shape == (2_000, 784)
    assert x_train.dtype == np.float32
    assert t_train.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(t_train, minlength=10), [1000] * 10)
    np.testing.assert_array_equal(np.bincount(t_test, minlength=10), [200] * 10)
    assert x_train.min() == 0.0
    assert x_train.max() == 1.0
    assert 0.1 < x_train.mean() < 0.15  # MNIST's mean intensity is about 0.13
    # The classes stay interleaved, as in MNIST (not sorted by label).
    assert len(set(t_train[:50].tolist())) == 10


def test_sample_by_name_raw_pixels():
    (x_train, t_train), _ = load_dataset("mnist-sample", normalize=False, dtype=None)
    assert x_train.dtype == np.uint8
    assert x_train.max() == 255
    assert t_train[:5].tolist() == [5, 0, 4, 1, 9]  # the first five MNIST training labels


def test_sample_files_documented_and_small():
    folder = resources.files("backprop.datasets").joinpath("data")
    sizes = [folder.joinpath(f"{name}.gz").read_bytes() for name in FILES]
    assert sum(len(content) for content in sizes) <= 2_500_000
    readme = folder.joinpath("README.md").read_text(encoding="utf-8")
    for name, digest in MNIST_SAMPLE.sha256.items():
        assert f"{digest}  {name}\n" in readme
    license_text = folder.joinpath("LICENSE").read_text(encoding="utf-8")
    for needle in ("Share Alike 3.0", "Yann LeCun", "Corinna Cortes", "Christopher J.C. Burges"):
        assert needle in license_text.replace("Share-Alike", "Share Alike")


def test_sample_takes_no_data_dir(tmp_path):
    with pytest.raises(ValueError, match=r"bundled with the package; data_dir must be None"):
        load_mnist(sample=True, data_dir=tmp_path)


# --------------------------------------------------------------------------------------------
# Where files come from


def test_cache_dir_per_platform(monkeypatch, isolated_env):
    home = isolated_env
    monkeypatch.setattr(sys, "platform", "linux")
    assert cache_dir() == home / "xdg-cache" / "backprop"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    assert cache_dir() == home / ".cache" / "backprop"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_dir() == home / ".cache" / "backprop"
    monkeypatch.setattr(sys, "platform", "darwin")
    assert cache_dir() == home / "Library" / "Caches" / "backprop"
    monkeypatch.setattr(sys, "platform", "win32")
    assert cache_dir() == home / "AppData" / "Local" / "backprop" / "Cache"
    monkeypatch.setenv("BACKPROP_DATA", "~/data")
    assert cache_dir() == home / "data"


def test_source_order_data_dir_env_cache_system(tmp_path, monkeypatch):
    system = write_dataset(tmp_path / "debian", make_arrays(n_train=14))
    # No checksums: these folders hold different made-up files, checked structurally.
    spec = dataclasses.replace(FASHION_MNIST, sha256={}, system_dirs=(str(system),), mirrors=())
    explicit = write_dataset(tmp_path / "explicit", make_arrays(n_train=11))
    write_dataset(tmp_path / "env-root" / spec.name, make_arrays(n_train=12))
    write_dataset(cache_dir() / spec.name, make_arrays(n_train=13))
    monkeypatch.setenv("BACKPROP_DATA", str(tmp_path / "env-root"))

    def n_train(**kwargs) -> int:
        (x_train, _), _ = load_dataset(spec, normalize=False, dtype=None, **kwargs)
        return len(x_train)

    assert n_train(data_dir=explicit) == 11
    assert n_train() == 12
    monkeypatch.delenv("BACKPROP_DATA")
    assert n_train() == 13
    (cache_dir() / spec.name / f"{TRAIN_IMAGES}.gz").unlink()
    assert n_train() == 14
    spec = dataclasses.replace(spec, system_dirs=())
    with pytest.raises(
        DatasetError, match=r"train-images-idx3-ubyte\.gz not found in .*fashion-mnist and"
    ):
        n_train(download=False)


def test_cached_file_with_wrong_checksum_is_not_used(tmp_path):
    arrays = make_arrays()
    folder = write_dataset(cache_dir() / "mnist", arrays)
    good = sums_of(arrays)
    (x_train, _), _ = load_dataset(test_spec(sha256=good), data_dir=None)
    assert len(x_train) == 20
    wrong = {**good, TEST_IMAGES: "0" * 64}
    with pytest.raises(
        DatasetError, match=r"t10k-images-idx3-ubyte\.gz: SHA-256 .* expected 0{64}"
    ):
        load_dataset(test_spec(sha256=wrong))
    # An explicit data_dir is checked structurally only: a custom subset loads.
    (x_train, _), _ = load_dataset(test_spec(sha256=wrong), data_dir=folder)
    assert len(x_train) == 20


def test_download_dataset_returns_a_verified_system_dir(tmp_path):
    arrays = make_arrays()
    system = write_dataset(tmp_path / "system", arrays)
    spec = test_spec(sha256=sums_of(arrays), system_dirs=(str(system),), mirrors=())
    assert download_dataset(spec) == system
    # An explicit data_dir means "put the files there": the system folder is not an answer.
    with pytest.raises(DatasetError, match="no download mirrors configured"):
        download_dataset(spec, tmp_path / "elsewhere")


def test_system_dir_with_wrong_checksums_is_ignored(tmp_path):
    system = write_dataset(tmp_path / "system", make_arrays())
    spec = test_spec(sha256={name: "0" * 64 for name in FILES}, system_dirs=(str(system),))
    with pytest.raises(DatasetError, match=r"not found in .*mnist and downloads are off"):
        load_dataset(spec, download=False)


def test_import_has_no_side_effects(tmp_path):
    code = (
        "import sys, backprop.datasets\n"
        "assert 'urllib.request' not in sys.modules, 'urllib.request imported'\n"
    )
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "c")}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=tmp_path)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------
# Downloads from a local HTTP server


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[str, tuple[bytes, float]] = {}
        self.hits: list[str] = []
        self.release = threading.Event()

    def handle_error(self, request, client_address) -> None:
        pass  # a client that timed out and left: expected here


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        server = self.server
        server.hits.append(self.path)
        if self.path not in server.routes:
            self.send_error(404)
            return
        body, delay = server.routes[self.path]
        if delay:
            server.release.wait(delay)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args) -> None:
        pass


@pytest.fixture
def server():
    httpd = _Server()
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd
    httpd.release.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def serve(server, prefix: str, arrays: dict[str, np.ndarray], *, delay: float = 0.0) -> str:
    """Serve ``arrays`` gzipped under ``/prefix/NAME.gz``; return the mirror's base URL."""
    for name, array in arrays.items():
        server.routes[f"/{prefix}/{name}.gz"] = (gzip.compress(idx_bytes(array)), delay)
    return f"{server.url}/{prefix}/"


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_first_use_downloads_verifies_and_caches(server, capsys):
    arrays = make_arrays()
    spec = test_spec(sha256=sums_of(arrays), mirrors=(serve(server, "good", arrays),))
    (_, t_train), (x_test, _) = load_dataset(spec, mirrors=None, dtype=np.float32)
    np.testing.assert_array_equal(t_train, arrays[TRAIN_LABELS])
    assert x_test.shape == (10, 784)
    assert leftovers(cache_dir() / "mnist") == sorted(f"{name}.gz" for name in FILES)
    stderr = capsys.readouterr().err
    assert stderr.count("backprop: downloading http://127.0.0.1:") == 4
    assert "ok, SHA-256 verified" in stderr
    # The second load reads the cache and makes no request.
    server.hits.clear()
    load_dataset(spec)
    assert server.hits == []


def test_environment_variable_gives_the_mirrors(server, monkeypatch):
    arrays = make_arrays()
    url = serve(server, "env", arrays)
    monkeypatch.setenv("BACKPROP_MNIST_MIRRORS", f"http://127.0.0.1:9/unused, {url}")
    spec = test_spec(
        sha256=sums_of(arrays),
        mirrors=("http://127.0.0.1:9/never/",),
        mirrors_env="BACKPROP_MNIST_MIRRORS",
    )
    folder = download_dataset(spec, verbose=False)
    assert folder == cache_dir() / "mnist"
    # An explicit mirrors argument beats the environment.
    with pytest.raises(DatasetError, match="HTTP 404"):
        download_dataset(spec, data_dir=folder.parent / "other", mirrors=[server.url + "/no/"])


def test_corrupt_mirror_then_good_mirror(server, capsys):
    arrays = make_arrays()
    corrupt = {name: array + 1 for name, array in arrays.items()}
    mirrors = (serve(server, "corrupt", corrupt), serve(server, "good", arrays))
    spec = test_spec(sha256=sums_of(arrays), mirrors=mirrors)
    (x_train, _), _ = load_dataset(spec, normalize=False, dtype=None)
    np.testing.assert_array_equal(x_train, arrays[TRAIN_IMAGES].reshape(20, 784))
    assert capsys.readouterr().err.count("failed: SHA-256 ") == 4
    assert leftovers(cache_dir() / "mnist") == sorted(f"{name}.gz" for name in FILES)


def test_corrupt_only_leaves_nothing_in_the_cache(server):
    arrays = make_arrays()
    spec = test_spec(
        sha256=sums_of(arrays),
        mirrors=(serve(server, "bad", {n: a[:-1] for n, a in arrays.items()}),),
    )
    pattern = (
        r"MNIST: could not download train-images-idx3-ubyte\.gz .*should be.*Put the four files"
    )
    with pytest.raises(DatasetError, match=pattern):
        load_dataset(spec)
    assert leftovers(cache_dir() / "mnist") == []


def test_damaged_gzip_download(server):
    arrays = make_arrays()
    for name in FILES:
        server.routes[f"/junk/{name}.gz"] = (b"\x1f\x8b not really gzip", 0.0)
    spec = test_spec(sha256=sums_of(arrays), mirrors=(server.url + "/junk/",))
    with pytest.raises(DatasetError, match="damaged gzip data where the SHA-256"):
        download_dataset(spec, verbose=False)
    assert leftovers(cache_dir() / "mnist") == []


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_downloaded_files_follow_the_umask(server):
    arrays = make_arrays()
    spec = test_spec(sha256=sums_of(arrays), mirrors=(serve(server, "good", arrays),))
    umask = os.umask(0o022)
    try:
        folder = download_dataset(spec, verbose=False)
    finally:
        os.umask(umask)
    assert stat.S_IMODE((folder / f"{TRAIN_IMAGES}.gz").stat().st_mode) == 0o644


def test_progress_line_is_redrawn_on_a_terminal(server, monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    arrays = make_arrays()
    spec = test_spec(sha256=sums_of(arrays), mirrors=(serve(server, "good", arrays),))
    download_dataset(spec)
    lines = terminal.getvalue().split("\n")
    assert len(lines) == 5  # one per file, then the empty string after the last newline
    assert all(line.startswith("backprop: downloading ") for line in lines[:4])
    assert all("\r" in line and "(100%) ok, SHA-256 verified" in line for line in lines[:4])


def test_not_found_on_any_mirror(server):
    arrays = make_arrays()
    spec = test_spec(sha256=sums_of(arrays), mirrors=(server.url + "/a/", server.url + "/b"))
    with pytest.raises(DatasetError) as info:
        load_dataset(spec)
    message = str(info.value)
    assert message.count("HTTP 404") == 2
    assert str(cache_dir() / "mnist") in message
    assert "\n" not in message
    assert leftovers(cache_dir() / "mnist") == []


def test_slow_mirror_times_out(server):
    arrays = make_arrays()
    spec = test_spec(sha256=sums_of(arrays), mirrors=(serve(server, "slow", arrays, delay=5),))
    start = time.monotonic()
    with pytest.raises(DatasetError, match=r"timed out \(timeout=0.2 s\)"):
        load_dataset(spec, timeout=0.2)
    assert time.monotonic() - start < 2
    assert leftovers(cache_dir() / "mnist") == []


def test_first_mirror_down_second_works(server):
    arrays = make_arrays()
    spec = test_spec(
        sha256=sums_of(arrays), mirrors=(closed_port_url(), serve(server, "ok", arrays))
    )
    folder = download_dataset(spec, verbose=False)
    assert leftovers(folder) == sorted(f"{name}.gz" for name in FILES)


def test_only_missing_files_are_downloaded_into_data_dir(server, tmp_path):
    arrays = make_arrays()
    folder = tmp_path / "mine"
    write_dataset(folder, {name: arrays[name] for name in (TRAIN_IMAGES, TEST_LABELS)})
    spec = test_spec(sha256=sums_of(arrays), mirrors=(serve(server, "m", arrays),))
    (x_train, _), _ = load_dataset(spec, data_dir=folder)
    assert len(x_train) == 20
    assert sorted(server.hits) == [f"/m/{TEST_IMAGES}.gz", f"/m/{TRAIN_LABELS}.gz"]
    assert len(leftovers(folder)) == 4


def test_download_dataset_never_overwrites_a_bad_file(server, tmp_path):
    arrays = make_arrays()
    folder = write_dataset(tmp_path / "d", {TRAIN_LABELS: arrays[TRAIN_LABELS][::-1]})
    spec = test_spec(sha256=sums_of(arrays), mirrors=(serve(server, "m", arrays),))
    before = (folder / f"{TRAIN_LABELS}.gz").read_bytes()
    with pytest.raises(
        DatasetError, match=r"train-labels-idx1-ubyte\.gz: SHA-256 .*delete the file"
    ):
        download_dataset(spec, folder)
    assert (folder / f"{TRAIN_LABELS}.gz").read_bytes() == before
    assert server.hits == []


def test_uncompressed_download_is_stored_raw(server):
    arrays = make_arrays()
    for name, array in arrays.items():
        server.routes[f"/raw/{name}.gz"] = (idx_bytes(array), 0.0)
    spec = test_spec(sha256=sums_of(arrays), mirrors=(server.url + "/raw/",))
    folder = download_dataset(spec, verbose=False)
    assert leftovers(folder) == sorted(FILES)


def test_download_disabled_makes_no_request(server):
    spec = test_spec(sha256=sums_of(make_arrays()), mirrors=(server.url + "/x/",))
    with pytest.raises(
        DatasetError, match=r"downloads are off\..*`backprop download --dataset mnist`"
    ):
        load_dataset(spec, download=False)
    assert server.hits == []


def test_bundled_sample_is_not_downloadable():
    with pytest.raises(ValueError, match="'mnist', 'fashion-mnist', got 'mnist-sample'"):
        download_dataset("mnist-sample")
    with pytest.raises(ValueError, match="nothing to download"):
        download_dataset(MNIST_SAMPLE)


# --------------------------------------------------------------------------------------------
# Real data, when this checkout has it


def _readme_counts(label: str) -> list[int]:
    readme = (REAL_MNIST / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"{label}: ([\d ]+)", readme)
    return [int(n) for n in match.group(1).split()]


@pytest.mark.skipif(not REAL_MNIST.is_dir(), reason=f"{REAL_MNIST} not present")
def test_real_mnist_and_the_sample_made_from_it():
    # Published checksums: all four files are present, so this only verifies.
    assert download_dataset("mnist", REAL_MNIST, verbose=False) == REAL_MNIST
    (x_train, t_train), (x_test, t_test) = load_mnist(
        normalize=False, dtype=np.uint8, flatten=False, data_dir=REAL_MNIST
    )
    assert x_train.shape == (60_000, 1, 28, 28)
    assert x_test.shape == (10_000, 1, 28, 28)
    assert np.bincount(t_train).tolist() == _readme_counts("train")
    assert np.bincount(t_test).tolist() == _readme_counts("test")
    # The sample is 1,000 (train) / 200 (test) of each class, evenly spaced over the class's
    # occurrences in the whole file, in the original order.
    (s_train, st_train), (s_test, st_test) = load_mnist(
        normalize=False, dtype=np.uint8, flatten=False, sample=True
    )
    for x, t, s, st, per_class in (
        (x_train, t_train, s_train, st_train, 1000),
        (x_test, t_test, s_test, st_test, 200),
    ):
        chosen = []
        for k in range(10):
            where = np.flatnonzero(t == k)
            chosen.append(where[np.linspace(0, len(where) - 1, per_class).round().astype(int)])
        index = np.sort(np.concatenate(chosen))
        assert len(np.unique(index)) == 10 * per_class
        np.testing.assert_array_equal(st, t[index])
        np.testing.assert_array_equal(s, x[index])


@pytest.mark.skipif(not DEBIAN_FASHION.is_dir(), reason=f"{DEBIAN_FASHION} not present")
def test_fashion_mnist_from_the_debian_package():
    (x_train, t_train), (_, t_test) = load_fashion_mnist(
        normalize=False, dtype=None, download=False
    )
    assert x_train.shape == (60_000, 784)
    assert np.bincount(t_train).tolist() == [6000] * 10
    assert np.bincount(t_test).tolist() == [1000] * 10
