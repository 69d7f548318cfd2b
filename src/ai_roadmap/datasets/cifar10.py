"""CIFAR-10 from the canonical files a user gives: 50 000 + 10 000 colour images, 32×32, 10 classes.

CIFAR-10 is in no registry these machines reach, so nothing is pulled: put one of
the two official distributions under ``$ROADMAP_DATA_DIR/cifar10/`` (or pass a
path), either unpacked or as the downloaded archive:

- the Python version, ``cifar-10-batches-py/`` (or ``cifar-10-python.tar.gz``):
  ``data_batch_1`` … ``data_batch_5`` and ``test_batch``, each a pickled dict with
  ``b"data"`` (10 000 × 3 072 uint8, the red, green and blue 1 024-byte planes of
  each image in turn) and ``b"labels"``;
- the binary version, ``cifar-10-batches-bin/`` (or ``cifar-10-binary.tar.gz``):
  ``data_batch_1.bin`` … ``data_batch_5.bin`` and ``test_batch.bin``, each 10 000
  records of 1 label byte followed by the same 3 072 pixel bytes.

The pickles are read with an unpickler that only builds dicts, lists, bytes and
NumPy arrays, so a tampered file cannot run code.
"""

from __future__ import annotations

import io
import pickle
import tarfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ai_roadmap.errors import DataFormatError, DataMissingError
from ai_roadmap.settings import get_settings

CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
RECORD = 1 + 3 * 32 * 32
SAFE_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("_codecs", "encode"),
}

Reader = Callable[[str], bytes]


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in SAFE_GLOBALS:
            raise DataFormatError(f"CIFAR-10 batch refers to {module}.{name}: not a CIFAR file")
        return super().find_class(module, name)


def to_images(flat: np.ndarray) -> np.ndarray:
    """(N, 3072) planar rows → (N, 32, 32, 3) uint8 images (height, width, channel)."""
    return flat.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy()


def parse_pickle(raw: bytes, name: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        batch = _SafeUnpickler(io.BytesIO(raw), encoding="bytes").load()
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[b"labels"], dtype=np.uint8)
    except (pickle.UnpicklingError, KeyError, TypeError, ValueError, EOFError) as err:
        raise DataFormatError(f"{name} is not a CIFAR-10 python batch ({err})") from None
    if data.ndim != 2 or data.shape[1] != RECORD - 1 or len(labels) != len(data):
        raise DataFormatError(f"{name}: expected N × 3072 pixels and N labels")
    return to_images(data), labels


def parse_binary(raw: bytes, name: str) -> tuple[np.ndarray, np.ndarray]:
    if len(raw) == 0 or len(raw) % RECORD:
        raise DataFormatError(f"{name}: size {len(raw)} is not a multiple of {RECORD} bytes")
    records = np.frombuffer(raw, dtype=np.uint8).reshape(-1, RECORD)
    if records[:, 0].max() > 9:
        raise DataFormatError(f"{name}: label byte above 9, not a CIFAR-10 binary batch")
    return to_images(records[:, 1:]), records[:, 0].copy()


def _folder_reader(folder: Path) -> Reader:
    return lambda name: (folder / name).read_bytes()


def _tar_reader(archive: Path, inner: str) -> Reader:
    with tarfile.open(archive) as tf:
        blobs = {
            Path(m.name).name: tf.extractfile(m).read()  # type: ignore[union-attr]
            for m in tf.getmembers()
            if m.isfile() and Path(m.name).parent.name == inner
        }

    def read(name: str) -> bytes:
        if name not in blobs:
            raise DataFormatError(f"{archive.name} has no {inner}/{name}")
        return blobs[name]

    return read


def locate(root: Path) -> tuple[Reader, str]:
    """A reader of batch files and the format (``"python"`` or ``"binary"``) found under root."""
    candidates: list[tuple[Path, str, Callable[[Path], Reader]]] = [
        (root / "cifar-10-batches-py", "python", _folder_reader),
        (root / "cifar-10-batches-bin", "binary", _folder_reader),
        (
            root / "cifar-10-python.tar.gz",
            "python",
            lambda p: _tar_reader(p, "cifar-10-batches-py"),
        ),
        (
            root / "cifar-10-binary.tar.gz",
            "binary",
            lambda p: _tar_reader(p, "cifar-10-batches-bin"),
        ),
    ]
    if (root / "data_batch_1").exists():
        return _folder_reader(root), "python"
    if (root / "data_batch_1.bin").exists():
        return _folder_reader(root), "binary"
    for path, kind, reader in candidates:
        if path.exists():
            return reader(path), kind
    raise DataMissingError(
        f"no CIFAR-10 files under {root}; download the python or binary version from "
        "https://www.cs.toronto.edu/~kriz/cifar.html and put it (unpacked or as the "
        "tar.gz) there, or point ROADMAP_DATA_DIR at the folder holding cifar10/"
    )


def cifar10_root(path: Path | None = None) -> Path:
    """The folder to read: the path given, else ``$ROADMAP_DATA_DIR/cifar10``."""
    if path is not None:
        return Path(path).expanduser()
    settings = get_settings()
    if settings.data_dir is None:
        raise DataMissingError(
            "CIFAR-10 is not on this machine; set ROADMAP_DATA_DIR to a folder holding "
            "cifar10/ with the official python or binary files (or pass --data-dir)"
        )
    return settings.data_dir.expanduser() / "cifar10"


def load_cifar10(path: Path | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(train_images, train_labels, test_images, test_labels)``; images uint8 (N, 32, 32, 3)."""
    read, kind = locate(cifar10_root(path))
    suffix, parse = ("", parse_pickle) if kind == "python" else (".bin", parse_binary)

    def part(names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        pairs = []
        for name in names:
            try:
                raw = read(name + suffix)
            except FileNotFoundError:
                raise DataMissingError(f"CIFAR-10 file {name + suffix} is missing") from None
            pairs.append(parse(raw, name + suffix))
        return np.concatenate([p[0] for p in pairs]), np.concatenate([p[1] for p in pairs])

    train_x, train_y = part(TRAIN_BATCHES)
    test_x, test_y = part((TEST_BATCH,))
    return train_x, train_y, test_x, test_y
