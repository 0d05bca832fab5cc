"""Training/benchmark datasets: npz, FER2013 CSV and image folders; bad input → DatasetError."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from facecodec.errors import DatasetError, FacecodecError
from facecodec.train.data import FER2013_CLASSES, load_faces


# --- npz ------------------------------------------------------------------------------------
@pytest.fixture
def npz(tmp_path: Path) -> tuple[Path, np.ndarray]:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (7, 48, 48), dtype=np.uint8)
    path = tmp_path / "faces.npz"
    np.savez(
        path,
        images=images,
        labels=np.array([0, 1, 2, 3, 4, 5, 6]),
        split=np.array(["train", "train", "val", "train", "test", "val", "train"]),
    )
    return path, images


def test_npz_split(npz) -> None:
    path, images = npz
    train = load_faces(path, split="train")
    assert train.images.shape == (4, 48, 48, 1)
    assert train.images.dtype == np.uint8
    assert train.labels.tolist() == [0, 1, 3, 6]
    assert train.labels.dtype == np.int64
    assert np.array_equal(train.images[2, ..., 0], images[3])
    assert train.classes == FER2013_CLASSES
    val = load_faces(path, split="val")
    assert val.labels.tolist() == [2, 5]
    everything = load_faces(path)
    assert len(everything) == 7
    assert np.array_equal(everything.images[..., 0], images)


def test_npz_subset(npz) -> None:
    faces = load_faces(npz[0])
    assert len(faces.subset(3)) == 3
    assert faces.subset(3).labels.tolist() == [0, 1, 2]
    assert faces.subset(None) is faces
    assert faces.subset(100) is faces


def test_npz_rgb_without_labels(tmp_path: Path) -> None:
    path = tmp_path / "rgb.npz"
    np.savez(path, images=np.zeros((2, 32, 40, 3), np.uint8))
    faces = load_faces(path)
    assert faces.images.shape == (2, 32, 40, 3)
    assert faces.labels is None


@pytest.mark.parametrize(
    ("arrays", "split", "match"),
    [
        ({"images": np.zeros((2, 8, 8), np.float32)}, None, "uint8"),
        ({"images": np.zeros((2, 8, 8, 2), np.uint8)}, None, r"\(N, H, W"),
        ({"images": np.zeros((2, 8), np.uint8)}, None, r"\(N, H, W"),
        ({"pixels": np.zeros((2, 8, 8), np.uint8)}, None, "images"),
        ({"images": np.zeros((2, 8, 8), np.uint8)}, "train", "no 'split'"),
        (
            {"images": np.zeros((2, 8, 8), np.uint8), "split": np.array(["train", "val"])},
            "test",
            "no images in split",
        ),
        ({"images": np.zeros((3, 8, 8), np.uint8), "labels": np.zeros(2)}, None, "labels"),
        (
            {"images": np.zeros((3, 8, 8), np.uint8), "split": np.array(["train"] * 4)},
            "train",
            "split",
        ),
    ],
    ids=[
        "float", "two-channels", "2d", "no-images", "no-split-array", "empty-split",
        "labels-length", "split-length",
    ],
)  # fmt: skip
def test_npz_bad(tmp_path: Path, arrays: dict, split: str | None, match: str) -> None:
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(DatasetError, match=match):
        load_faces(path, split=split)


@pytest.mark.parametrize(
    "content",
    [b"PK\x03\x04 but not really a zip file", b"", b"\x93NUMPY garbage"],
    ids=["bad-zip", "empty", "npy-magic"],
)
def test_npz_unreadable(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.npz"
    path.write_bytes(content)
    with pytest.raises(DatasetError):
        load_faces(path)


def test_npy_named_npz(tmp_path: Path) -> None:
    np.save(tmp_path / "images.npy", np.zeros((2, 48, 48), np.uint8))
    path = tmp_path / "images.npz"
    (tmp_path / "images.npy").rename(path)
    with pytest.raises(DatasetError):
        load_faces(path)


def test_npz_with_pickled_objects_refused(tmp_path: Path) -> None:
    path = tmp_path / "objects.npz"
    np.savez(path, images=np.array([object(), object()], dtype=object))
    with pytest.raises(DatasetError):
        load_faces(path)


# --- FER2013 CSV -------------------------------------------------------------------------------
def _row(emotion: object, pixels: np.ndarray | str, usage: str) -> str:
    text = pixels if isinstance(pixels, str) else " ".join(str(int(p)) for p in pixels.ravel())
    return f"{emotion},{text},{usage}\n"


@pytest.fixture
def fer_csv(tmp_path: Path) -> tuple[Path, np.ndarray]:
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (5, 48, 48), dtype=np.uint8)
    images[0, 0, 0], images[0, 0, 1] = 0, 255  # both ends of the range
    usages = ["Training", "PublicTest", "Training", "PrivateTest", "Training"]
    path = tmp_path / "fer2013.csv"
    with open(path, "w") as fh:
        fh.write("emotion,pixels,Usage\n")
        for i, (image, usage) in enumerate(zip(images, usages)):
            fh.write(_row(i + 1, image, usage))
    return path, images


def test_fer_csv_splits(fer_csv) -> None:
    path, images = fer_csv
    train = load_faces(path, split="train")
    assert train.images.shape == (3, 48, 48, 1)
    assert train.labels.tolist() == [1, 3, 5]
    assert np.array_equal(train.images[..., 0], images[[0, 2, 4]])
    assert load_faces(path, split="val").labels.tolist() == [2]
    assert load_faces(path, split="test").labels.tolist() == [4]
    everything = load_faces(path)
    assert everything.labels.tolist() == [1, 2, 3, 4, 5]
    assert np.array_equal(everything.images[..., 0], images)
    assert everything.classes == FER2013_CLASSES


def test_fer_csv_without_usage_column(tmp_path: Path) -> None:
    path = tmp_path / "plain.csv"
    path.write_text("emotion,pixels\n" + _row(3, np.full(2304, 7), "").rstrip(",\n") + "\n")
    faces = load_faces(path)
    assert faces.labels.tolist() == [3]
    assert int(faces.images.max()) == 7
    with pytest.raises(DatasetError, match="no rows"):
        load_faces(path, split="train")


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("emotion,pixels,Usage\n" + _row(0, np.zeros(2303), "Training"), "2304 pixels"),
        ("emotion,pixels,Usage\n" + _row(0, np.zeros(2305), "Training"), "2304 pixels"),
        ("emotion,pixels,Usage\n" + _row(0, np.full(2304, 256), "Training"), "0..255"),
        ("emotion,pixels,Usage\n" + _row(0, "1 " * 2303 + "-1", "Training"), "0..255"),
        ("emotion,pixels,Usage\n" + _row(0, "x " * 2304, "Training"), "FER2013"),
        ("emotion,pixels,Usage\n" + _row("happy", np.zeros(2304), "Training"), "FER2013"),
        ("emotion,pixels,Usage\n3\n", "pixels"),
        ("label,data\n1,2\n", "columns"),
        ("", "columns"),
        ("emotion,pixels,Usage\n", "no rows"),
    ],
    ids=[
        "short", "long", "over-255", "negative", "not-numbers", "label-not-int",
        "truncated-row", "wrong-columns", "empty-file", "header-only",
    ],
)  # fmt: skip
def test_fer_csv_bad(tmp_path: Path, body: str, match: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(body)
    with pytest.raises(DatasetError, match=match):
        load_faces(path)


def test_fer_csv_binary_garbage(tmp_path: Path) -> None:
    path = tmp_path / "garbage.csv"
    path.write_bytes(b"\xff\xfe\x00\x81" * 100)
    with pytest.raises(DatasetError):
        load_faces(path)


# --- image folders ---------------------------------------------------------------------------
def test_class_per_folder(tmp_path: Path, make_face, write_png) -> None:
    root = tmp_path / "faces"
    write_png(make_face(1, 64, 64), root / "sad" / "x.png")
    write_png(make_face(2, 30, 20, channels=3), root / "happy" / "y.png")
    write_png(make_face(3, 48, 48), root / "happy" / "z.png")
    (root / "happy" / "notes.txt").write_text("ignored")
    faces = load_faces(root)
    assert faces.classes == ("happy", "sad")  # sorted folder names
    assert faces.labels.tolist() == [0, 0, 1]
    assert faces.images.shape == (3, 48, 48, 1)
    rgb = load_faces(root, size=32, channels=3)
    assert rgb.images.shape == (3, 32, 32, 3)


def test_flat_folder_has_no_labels(tmp_path: Path, make_face, write_png) -> None:
    for i in range(2):
        write_png(make_face(i), tmp_path / f"{i}.png")
    faces = load_faces(tmp_path)
    assert faces.labels is None
    assert faces.classes == ()
    assert faces.images.shape == (2, 48, 48, 1)


def test_mixed_folder_counts_every_image(tmp_path: Path, make_face, write_png) -> None:
    """Images at the top level beside one sub-folder: the sub-folder used to become the only
    class and the top-level images were skipped. Now every image counts, unlabelled."""
    for i in range(3):
        write_png(make_face(i), tmp_path / f"{i}.png")
    write_png(make_face(3), tmp_path / "more" / "3.png")
    write_png(make_face(4), tmp_path / "more" / "deeper" / "4.png")
    (tmp_path / "notes.txt").write_text("not an image")
    faces = load_faces(tmp_path)
    assert faces.labels is None and faces.classes == ()
    assert len(faces) == 5
    from facecodec.bench.context import load_dataset

    benched, split = load_dataset(tmp_path, "auto")  # what `facecodec bench DIR` reads
    assert len(benched) == 5 and split == "all"


def test_folder_without_images(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "readme.txt").write_text("nothing here")
    with pytest.raises(DatasetError, match="no images"):
        load_faces(tmp_path)


def test_folder_with_broken_image(tmp_path: Path, make_face, write_png) -> None:
    write_png(make_face(0), tmp_path / "cls" / "good.png")
    (tmp_path / "cls" / "bad.png").write_bytes(b"not a png")
    with pytest.raises(DatasetError, match=r"bad\.png"):
        load_faces(tmp_path)


# --- paths ------------------------------------------------------------------------------------
def test_missing_and_unsupported_paths(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="not found"):
        load_faces(tmp_path / "nope.npz")
    other = tmp_path / "faces.txt"
    other.write_text("hello")
    with pytest.raises(DatasetError, match="unsupported"):
        load_faces(other)


def test_dataset_error_is_a_facecodec_error() -> None:
    assert issubclass(DatasetError, FacecodecError)
