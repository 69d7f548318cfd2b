"""Fashion-MNIST from the Debian package, the CIFAR-10 reader, the Debian archive reader."""

from __future__ import annotations

import gzip
import pickle
import shutil
import tarfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from ai_roadmap.datasets import pull as pull_module
from ai_roadmap.datasets.cifar10 import CLASSES, load_cifar10
from ai_roadmap.datasets.fashion_mnist import load_fashion_mnist, read_idx
from ai_roadmap.datasets.manifest import SOURCES
from ai_roadmap.errors import DataFormatError, DataMissingError, IntegrityError
from ai_roadmap.settings import get_settings

pytestmark = pytest.mark.data


def test_fashion_mnist_has_the_published_shape_and_balance(
    roadmap_home: Path, data_home: Path
) -> None:
    train_x, train_y, test_x, test_y = load_fashion_mnist()
    assert train_x.shape == (60000, 28, 28) and test_x.shape == (10000, 28, 28)
    assert train_x.dtype == np.uint8 and train_y.dtype == np.uint8
    # Zalando's paper: 6 000 training and 1 000 test images per class
    assert np.bincount(train_y).tolist() == [6000] * 10
    assert np.bincount(test_y).tolist() == [1000] * 10
    # the first training labels of the official file: ankle boot, T-shirt, T-shirt, dress
    assert train_y[:4].tolist() == [9, 0, 0, 3]


def _idx(path: Path, array: np.ndarray) -> Path:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape
    )
    with gzip.open(path, "wb") as handle:
        handle.write(header + array.astype(np.uint8).tobytes())
    return path


def test_idx_reader_round_trips_and_refuses_garbage(tmp_path: Path) -> None:
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    assert np.array_equal(read_idx(_idx(tmp_path / "a.gz", array)), array)
    bad = tmp_path / "bad.gz"
    with gzip.open(bad, "wb") as handle:
        handle.write(b"not an idx file")
    with pytest.raises(DataFormatError, match="not an IDX file"):
        read_idx(bad)
    short = tmp_path / "short.gz"
    with gzip.open(short, "wb") as handle:
        handle.write(bytes([0, 0, 8, 1]) + (10).to_bytes(4, "big") + b"abc")
    with pytest.raises(DataFormatError, match="header says"):
        read_idx(short)


def test_deb_reader_without_dpkg_matches_dpkg(
    roadmap_home: Path, data_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = SOURCES["dataset-fashion-mnist-deb"]
    archive = data_home / "_archives" / source.filename
    with_dpkg = pull_module._names(archive)
    monkeypatch.setattr(pull_module.shutil, "which", lambda name: None)
    without = pull_module._names(archive)
    assert sorted(with_dpkg) == sorted(without)
    assert f"./usr/share/datasets/fashion-mnist/{'train-images-idx3-ubyte.gz'}" in without


def test_rebuilt_deb_is_accepted_by_its_data_hashes_and_tampering_is_not(
    roadmap_home: Path, data_home: Path, tmp_path: Path
) -> None:
    source = SOURCES["dataset-fashion-mnist-deb"]
    archive = data_home / "_archives" / source.filename
    # a rebuilt package: same data files, different archive bytes → accepted
    rebuilt = replace(source, sha256="0" * 64)
    pull_module.verify_source(archive, rebuilt)
    tampered = replace(source, sha256="0" * 64, member_sha256=((source.members[0], "1" * 64),))
    with pytest.raises(IntegrityError, match="delete the archive"):
        pull_module.verify_source(archive, tampered)


# ── CIFAR-10: synthetic batches in both official formats ──


def _images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, n).astype(
        np.uint8
    )


def _planar(images: np.ndarray) -> np.ndarray:
    """(N, 32, 32, 3) → (N, 3072): all red bytes, then green, then blue, per image."""
    return images.transpose(0, 3, 1, 2).reshape(len(images), -1)


def _write_cifar(folder: Path, kind: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    folder.mkdir(parents=True)
    written = {}
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        images, labels = _images(4, seed=i)
        written[name] = (images, labels)
        if kind == "python":
            batch = {b"data": _planar(images), b"labels": labels.tolist(), b"batch_label": b"x"}
            (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
        else:
            records = np.concatenate([labels[:, None], _planar(images)], axis=1)
            (folder / f"{name}.bin").write_bytes(records.astype(np.uint8).tobytes())
    return written


def _check(loaded: tuple[np.ndarray, ...], written: dict) -> None:
    train_x, train_y, test_x, test_y = loaded
    expect_x = np.concatenate([written[f"data_batch_{k}"][0] for k in range(1, 6)])
    expect_y = np.concatenate([written[f"data_batch_{k}"][1] for k in range(1, 6)])
    assert train_x.shape == (20, 32, 32, 3) and np.array_equal(train_x, expect_x)
    assert np.array_equal(train_y, expect_y)
    assert np.array_equal(test_x, written["test_batch"][0])
    assert np.array_equal(test_y, written["test_batch"][1])


@pytest.mark.parametrize(
    ("kind", "folder"), [("python", "cifar-10-batches-py"), ("binary", "cifar-10-batches-bin")]
)
def test_cifar10_folders_in_both_formats(tmp_path: Path, kind: str, folder: str) -> None:
    written = _write_cifar(tmp_path / "cifar10" / folder, kind)
    _check(load_cifar10(tmp_path / "cifar10"), written)


def test_cifar10_from_the_downloaded_tarball_via_roadmap_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    written = _write_cifar(tmp_path / "src" / "cifar-10-batches-py", "python")
    (tmp_path / "user" / "cifar10").mkdir(parents=True)
    with tarfile.open(tmp_path / "user" / "cifar10" / "cifar-10-python.tar.gz", "w:gz") as tf:
        tf.add(tmp_path / "src" / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    monkeypatch.setenv("ROADMAP_DATA_DIR", str(tmp_path / "user"))
    get_settings.cache_clear()
    try:
        _check(load_cifar10(), written)
    finally:
        get_settings.cache_clear()


def test_cifar10_pixel_layout_is_the_official_one(tmp_path: Path) -> None:
    """Record = label, 1 024 red, 1 024 green, 1 024 blue bytes, each plane row-major."""
    record = np.zeros(3073, dtype=np.uint8)
    record[0] = 7
    record[1 + 5 * 32 + 2] = 200  # red plane, row 5, column 2
    record[1 + 2048 + 31] = 99  # blue plane, row 0, column 31
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    for name in [f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]:
        (folder / f"{name}.bin").write_bytes(record.tobytes())
    train_x, train_y, _, _ = load_cifar10(tmp_path)
    assert train_y.tolist() == [7] * 5 and CLASSES[7] == "horse"
    assert train_x[0, 5, 2, 0] == 200 and train_x[0, 0, 31, 2] == 99
    assert int(train_x[0].sum()) == 299


def test_cifar10_errors_are_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ROADMAP_DATA_DIR", raising=False)
    get_settings.cache_clear()
    with pytest.raises(DataMissingError, match="set ROADMAP_DATA_DIR"):
        load_cifar10()
    get_settings.cache_clear()
    with pytest.raises(DataMissingError, match="no CIFAR-10 files"):
        load_cifar10(tmp_path)
    folder = tmp_path / "cifar-10-batches-bin"
    _write_cifar(folder, "binary")
    (folder / "data_batch_3.bin").write_bytes(b"\x00" * 100)
    with pytest.raises(DataFormatError, match="not a multiple of 3073"):
        load_cifar10(tmp_path)
    (folder / "data_batch_3.bin").unlink()
    with pytest.raises(DataMissingError, match=r"data_batch_3\.bin is missing"):
        load_cifar10(tmp_path)


class _Exploit:
    def __reduce__(self) -> tuple:
        return (shutil.rmtree, ("/nonexistent-folder",))


def test_cifar10_pickles_cannot_run_code(tmp_path: Path) -> None:
    folder = tmp_path / "cifar-10-batches-py"
    _write_cifar(folder, "python")
    (folder / "data_batch_1").write_bytes(pickle.dumps({b"data": _Exploit(), b"labels": []}))
    with pytest.raises(DataFormatError, match=r"shutil\.rmtree"):
        load_cifar10(tmp_path)
    (folder / "data_batch_1").write_bytes(b"garbage")
    with pytest.raises(DataFormatError, match="not a CIFAR-10 python batch"):
        load_cifar10(tmp_path)


def test_tang_poems_are_all_there(roadmap_home: Path, data_home: Path) -> None:
    from ai_roadmap.datasets.poems import iter_tang_poems

    poems = list(iter_tang_poems())
    assert len(poems) == 57607  # the package README's count for 全唐诗
    first = poems[0]
    assert first["author"] == "太宗皇帝" and first["paragraphs"][0] == "秦川雄帝宅，函谷壯皇居。"
