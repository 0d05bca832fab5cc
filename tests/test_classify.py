"""``facecodec classify`` and :func:`facecodec.classify_batch`: every input kind,
every output format, both domains, and bad input."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from test_cli import assert_one_line_error, run

import facecodec
from facecodec import api, registry
from facecodec.errors import FacecodecError, ImageError, UnknownModel
from facecodec.recognition import Prediction, classify, classify_batch
from facecodec.registry import FER_CLASSES


def _png_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array[..., 0] if array.shape[2] == 1 else array).save(buf, format="PNG")
    return buf.getvalue()


def test_every_input_kind(faces) -> None:
    ffc = api.encode(faces["a"], model="face-fer-v3", quality=3, device="cpu")
    items = [faces["a"], Image.fromarray(faces["b"][..., 0]), _png_bytes(faces["odd"]), faces["rgb"], ffc]
    results = classify_batch(items, device="cpu", top_k=3)
    assert all(isinstance(r, Prediction) for r in results), results
    for r in results:
        assert r.label in FER_CLASSES and r.label == r.top[0][0]
        assert len(r.top) == 3 and 0 <= r.probability <= 1
        assert [p for _, p in r.top] == sorted((p for _, p in r.top), reverse=True)
    assert [r.domain for r in results] == ["pixel"] * 4 + ["latent"]
    assert results[-1].model == registry.latent_classifier_for("face-fer-v3").name and results[0].model == registry.DEFAULT_CLASSIFIER


def test_pixel_domain_matches_the_classifier(faces, random_model) -> None:
    """The API's probabilities are the registered classifier's softmax on the 48×48 face."""
    net = random_model(registry.DEFAULT_CLASSIFIER).eval()
    x = torch.from_numpy(faces["a"][..., 0]).float().div(255)[None, None]
    with torch.no_grad():
        expected = net(x).softmax(1)[0]
    got = classify(faces["a"], device="cpu", top_k=7)
    for label, p in got.top:
        assert p == pytest.approx(float(expected[FER_CLASSES.index(label)]), abs=1e-5)


def test_mirror_averages_the_face_and_its_mirror_image() -> None:
    from facecodec.recognition import _run_mirrored

    weights = np.random.default_rng(0).normal(size=(48 * 48, 7))

    def net(x: np.ndarray) -> np.ndarray:
        logits = x.reshape(len(x), -1) @ weights
        e = np.exp(logits - logits.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    x = np.random.default_rng(1).random((3, 1, 48, 48)).astype(np.float32)
    expected = (net(x) + net(x[..., ::-1])) / 2
    np.testing.assert_allclose(_run_mirrored(net, x), expected, rtol=1e-6)
    assert not np.allclose(net(x), expected, atol=1e-3)  # mirroring changes this net's answer


def test_mirror_reaches_classify(faces) -> None:
    face = faces["b"]
    both = classify(face, device="cpu", top_k=7, mirror=True)
    plain = dict(classify(face, device="cpu", top_k=7).top)
    mirrored = dict(classify(np.ascontiguousarray(face[:, ::-1]), device="cpu", top_k=7).top)
    for label, p in both.top:
        assert p == pytest.approx((plain[label] + mirrored[label]) / 2, abs=1e-7)


def test_mirror_is_refused_in_the_latent_domain(faces) -> None:
    ffc = api.encode(faces["a"], model="face-fer-v3", quality=3, device="cpu")
    with pytest.raises(FacecodecError, match="pixel domain"):
        classify_batch([ffc], domain="latent", mirror=True, device="cpu")
    assert classify_batch([ffc], domain="pixel", mirror=True, device="cpu")[0].domain == "pixel"


@pytest.mark.parametrize("name", [None, "fer-latent-v8"])
def test_latent_domain_matches_the_head(faces, random_model, name) -> None:
    """Latent predictions are the head (the default one, or the one named) applied to the
    entropy-decoded latent of the file."""
    data = api.encode(faces["a"], model="face-fer-v3", quality=5, device="cpu")
    f = api.parse(data)
    (_members, _, y_hat), = api.decoded_groups({0: f}, "cpu", 8, synthesize=False)
    head_name = name or registry.latent_classifier_for("face-fer-v3").name
    head = random_model(head_name).eval()
    with torch.no_grad():
        expected = head(torch.from_numpy(y_hat), torch.tensor([5.0])).softmax(1)[0]
    got = classify(data, model=name, device="cpu", top_k=7)
    assert got.domain == "latent" and got.model == head_name
    for label, p in got.top:
        assert p == pytest.approx(float(expected[FER_CLASSES.index(label)]), abs=1e-5)


def test_pixel_domain_for_ffc_decodes_first(faces) -> None:
    data = api.encode(faces["a"], quality=2, device="cpu")
    via_file = classify(data, domain="pixel", device="cpu", top_k=7)
    reader = registry.pixel_classifier_for(registry.DEFAULT_CODEC)
    via_pixels = classify(api.decode_array(data, device="cpu"), model=reader, device="cpu", top_k=7)
    assert (via_file.domain, via_file.model) == ("pixel", reader)
    assert [k for k, _ in via_file.top] == [k for k, _ in via_pixels.top]
    assert [p for _, p in via_file.top] == pytest.approx([p for _, p in via_pixels.top], abs=1e-6)


def test_codec_without_latent_head_falls_back_to_pixels(faces) -> None:
    data = api.encode(faces["a"], model="face-hp-v1", quality=4, device="cpu")
    assert registry.latent_classifier_for("face-hp-v1") is None
    assert classify(data, device="cpu").domain == "pixel"
    with pytest.raises(UnknownModel, match="no latent head"):
        classify(data, domain="latent", device="cpu")


def test_bad_items_fail_alone(faces) -> None:
    good = api.encode(faces["a"], device="cpu")
    corrupt = bytearray(good)
    corrupt[-6] ^= 0xFF
    results = classify_batch([b"not an image", bytes(corrupt), faces["a"], good[:10]], device="cpu")
    assert isinstance(results[0], ImageError)
    assert isinstance(results[1], FacecodecError) and isinstance(results[3], FacecodecError)
    assert isinstance(results[2], Prediction)


def test_latent_model_refuses_images_and_pixel_domain(faces) -> None:
    out = classify_batch([faces["a"]], model="fer-latent-v8", device="cpu")
    assert isinstance(out[0], ImageError)
    with pytest.raises(FacecodecError, match="latent head"):
        classify_batch([faces["a"]], model="fer-latent-v8", domain="pixel", device="cpu")
    with pytest.raises(UnknownModel, match="not a classifier"):
        classify(faces["a"], model="face-hp-v1", device="cpu")


def test_package_exports_classify() -> None:
    assert facecodec.classify is classify


# --- CLI -------------------------------------------------------------------------
@pytest.fixture
def mixed_dir(image_dir: Path, faces) -> Path:
    (image_dir / "coded").mkdir()
    (image_dir / "coded" / "a.ffc").write_bytes(api.encode(faces["a"], model="face-fer-v3", quality=2, device="cpu"))
    return image_dir


def test_cli_json_lines_for_a_directory(mixed_dir: Path) -> None:
    result = run("classify", mixed_dir, "--format", "json", "-k", "2", "--device", "cpu")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 6  # a, b, odd, rgb, sub/c, coded/a.ffc
    by_name = {Path(r["file"]).name: r for r in lines}
    assert by_name["a.ffc"]["domain"] == "latent" and by_name["a.png"]["domain"] == "pixel"
    assert all(len(r["top"]) == 2 and r["label"] in FER_CLASSES for r in lines)


def test_cli_csv(mixed_dir: Path) -> None:
    result = run("classify", mixed_dir / "a.png", mixed_dir / "coded" / "a.ffc", "--format", "csv",
                 "-k", "3", "--domain", "pixel", "--device", "cpu")  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["domain"] for r in rows] == ["pixel", "pixel"]
    assert set(rows[0]) >= {"file", "label", "probability", "label_2", "probability_3"}


def test_cli_table_and_stdin(mixed_dir: Path, faces) -> None:
    result = run("classify", "-", "--device", "cpu", input=_png_bytes(faces["b"]))
    assert result.exit_code == 0, result.output
    line = result.stdout.strip()
    assert line.startswith("-") and any(c in line for c in FER_CLASSES) and "[pixel]" in line
    ffc = api.encode(faces["b"], model="face-fer-v3", device="cpu")
    result = run("classify", "-", "--json", "--device", "cpu", input=ffc)
    assert json.loads(result.stdout)["domain"] == "latent"


def test_cli_bad_files_are_reported_and_others_processed(mixed_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.ffc"
    bad.write_bytes(b"FFC\x01garbage")
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    result = run("classify", bad, mixed_dir / "a.png", text, "--json", "--device", "cpu")
    assert result.exit_code == 1
    assert len(result.stdout.splitlines()) == 1
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 2 and all(line.startswith("error: ") for line in errors)
    assert "Traceback" not in result.output


def test_cli_warns_when_an_image_is_not_a_face_crop(tmp_path: Path, make_face, write_png) -> None:
    photo = write_png(make_face(7, 512, 512), tmp_path / "photo.png")
    crop = write_png(make_face(8), tmp_path / "crop.png")
    result = run("classify", photo, crop, "--json", "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 2  # a warning, not an error: both are classified
    assert result.stderr.splitlines() == [
        f"warning: {photo} is 512×512; classify reads 48×48 face crops: the whole image was resized to "
        "48×48 – crop the face first"
    ]


def test_cli_unknown_model_is_one_line(mixed_dir: Path) -> None:
    assert_one_line_error(run("classify", mixed_dir / "a.png", "--model", "nope", "--device", "cpu"), "unknown model")


def test_cli_missing_file_is_one_line(tmp_path: Path) -> None:
    assert_one_line_error(run("classify", tmp_path / "missing.png", "--device", "cpu"), "missing.png")


def test_loaded_classifiers_follow_the_weights_folder(weights_dir: Path, tmp_path: Path, monkeypatch) -> None:
    import shutil

    from facecodec import backends

    first = backends.classifier("fer-cnn-joint-v4", "cpu")
    assert backends.classifier("fer-cnn-joint-v4", "cpu") is first
    other = tmp_path / "weights"
    shutil.copytree(weights_dir, other)
    monkeypatch.setenv("FACECODEC_WEIGHTS", str(other))  # another folder: loaded afresh
    assert backends.classifier("fer-cnn-joint-v4", "cpu") is not first


def test_cli_mirror(mixed_dir: Path) -> None:
    ok = run("classify", mixed_dir / "a.png", "--mirror", "--json", "--device", "cpu")
    assert ok.exit_code == 0 and json.loads(ok.stdout.splitlines()[0])["domain"] == "pixel"
    refused = run("classify", mixed_dir / "a.png", "--mirror", "--domain", "latent", "--device", "cpu")
    assert_one_line_error(refused, "pixel domain")


def test_decoded_files_go_to_the_classifier_their_codec_names(faces) -> None:
    items = [
        faces["a"],
        api.encode(faces["a"], model="face-hp-v1", quality=3, device="cpu"),
        api.encode(faces["a"], model="face-fer-v3", quality=3, device="cpu"),
    ]
    got = classify_batch(items, domain="pixel", device="cpu")
    assert [r.model for r in got] == [
        registry.DEFAULT_CLASSIFIER,
        registry.get_spec("face-hp-v1").classifier,
        registry.get_spec("face-fer-v3").classifier,
    ]
    named = classify_batch(items, model="fer-cnn-joint-v4", domain="pixel", device="cpu")
    assert {r.model for r in named} == {"fer-cnn-joint-v4"}  # a named classifier reads them all


def test_a_latent_head_alone_classifies_ffc_files(faces) -> None:
    ffc = api.encode(faces["a"], model="face-fer-v3", quality=3, device="cpu")
    (got,) = classify_batch([ffc], model="fer-latent-v8", device="cpu")
    assert got.domain == "latent" and got.model == "fer-latent-v8"


def test_auto_domain_follows_each_codecs_latent_head(faces) -> None:
    codecs = registry.model_names("codec")
    items = [api.encode(faces["a"], model=m, quality=3, device="cpu") for m in codecs]
    got = classify_batch(items, device="cpu")
    expected = []
    for codec in codecs:
        spec = registry.get_spec(codec)
        expected.append(("latent", spec.latent_head) if spec.latent_head else ("pixel", spec.classifier))
    assert [(r.domain, r.model) for r in got] == expected
    assert ("pixel", "fer-cnn-joint-v1") in expected and ("latent", "fer-latent-v13") in expected
    pixel = classify_batch(items, device="cpu", domain="pixel")
    assert [r.model for r in pixel] == [registry.get_spec(c).classifier for c in codecs]
    other = classify_batch(items[codecs.index("face-fer-v9"):][:1], model="fer-latent-v8", device="cpu")  # face-fer-v3's head
    assert isinstance(other[0], UnknownModel) and "no latent head" in str(other[0])
