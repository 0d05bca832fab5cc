"""Export the lean runtime's ONNX graphs of shipped models (``facecodec train export-runtime``).

Each graph holds a model's float transforms and *no weights*: every weight is an
initializer marked as external data whose values the runtime takes from the
model's own safetensors file (:mod:`facecodec.runtime.graphs`). So the weights
file stays the one source of truth, a graph is tens of kilobytes, and the
graphs are regenerated, never edited. Graphs per kind of model:

* codec: ``analyze`` (x, gain) -> (y·gain, z = h_a(y·gain)) and ``synthesize`` y_hat -> x_hat in [0, 1];
* pixel classifier: ``classify`` x in [0, 1] -> class probabilities;
* latent head: ``classify`` (y_hat, quality) -> class probabilities.

The manifest entry of each model records its graphs (file, sha256 and the
weight names each takes): ``"runtime": {"analyze": {...}, ...}``.
"""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import registry
from ..imageio import write_atomic
from ..runtime.graphs import GRAPH_DIR, graph_file, graphs_of
from ..weights import MANIFEST_NAME, home_of, read_manifest, sha256_file, using_weights_dir

#: ONNX opset of the exported graphs
OPSET = 17


class _Analyze(torch.nn.Module):
    def __init__(self, codec: torch.nn.Module) -> None:
        super().__init__()
        self.codec = codec

    def forward(self, x: torch.Tensor, gain: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = self.codec.analysis(x) * gain
        return y, self.codec.h_a(y)


class _Synthesize(torch.nn.Module):
    def __init__(self, codec: torch.nn.Module) -> None:
        super().__init__()
        self.codec = codec

    def forward(self, y_hat: torch.Tensor) -> torch.Tensor:
        return self.codec.g_s(y_hat).clamp(0, 1)


class _Classify(torch.nn.Module):
    def __init__(self, net: torch.nn.Module, latent: bool) -> None:
        super().__init__()
        self.net, self.latent = net, latent

    def forward(self, x: torch.Tensor, *quality: torch.Tensor) -> torch.Tensor:
        logits = self.net(x, *quality) if self.latent else self.net(x)
        return logits.float().softmax(1)


def _wrapped(spec: registry.ModelSpec, part: str, model: torch.nn.Module) -> tuple[torch.nn.Module, dict[str, torch.Tensor], list[str]]:
    """The module to export for ``part``, example inputs by name, output names."""
    if spec.kind == "codec":
        m = int(model.log_gain.shape[1]) + int(getattr(model, "sem_channels", 0))
        if part == "analyze":
            return _Analyze(model), {"x": torch.rand(2, spec.channels, 48, 48), "gain": torch.ones(2, m, 1, 1)}, ["y", "z"]
        return _Synthesize(model), {"y_hat": torch.randn(2, m, 6, 6)}, ["x_hat"]
    if spec.kind == "latent-classifier":
        channels = int(spec.kwargs.get("latent_channels", 96))
        inputs = {"y_hat": torch.randn(2, channels, 6, 6), "quality": torch.full((2,), 4.0)}
        return _Classify(model, latent=True), inputs, ["probs"]
    return _Classify(model, latent=False), {"x": torch.rand(2, spec.channels, 48, 48)}, ["probs"]


def _weight_names(spec: registry.ModelSpec) -> dict[bytes, list[str]]:
    """The tensors of the file ``spec``'s weights load from, by value (float32 bytes and shape)."""
    from safetensors.numpy import load_file

    owner = registry.weights_owner(spec)
    by_value: dict[bytes, list[str]] = {}
    for key, value in load_file(str(home_of(owner) / owner.weights_file)).items():
        if value.dtype.kind == "f":
            arr = value.astype(np.float32)
            by_value.setdefault(arr.tobytes() + repr(arr.shape).encode(), []).append(key)
    return by_value


def _graph(spec: registry.ModelSpec, part: str, model: torch.nn.Module) -> tuple[bytes, list[str]]:
    """The ONNX graph of ``part`` with its weights as external initializers, and their names."""
    import onnx
    from onnx import numpy_helper

    module, inputs, outputs = _wrapped(spec, part, model)
    dynamic = {name: {0: "batch"} for name in [*inputs, *outputs]}
    for name in ("x", "y_hat", "y", "z", "x_hat"):
        if name in dynamic and spec.kind == "codec":
            dynamic[name] = {0: "batch", 2: "height", 3: "width"}
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module.eval(), tuple(inputs.values()), buffer, input_names=list(inputs), output_names=outputs,
            dynamic_axes=dynamic, opset_version=OPSET, do_constant_folding=False, dynamo=False,
        )  # fmt: skip
    graph = onnx.load_from_string(buffer.getvalue())
    by_value = _weight_names(spec)
    renamed: dict[str, str] = {}
    for init in graph.graph.initializer:
        arr = numpy_helper.to_array(init)
        if arr.dtype != np.float32:
            continue
        stem = init.name.split(".", 1)[1] if "." in init.name else init.name
        keys = by_value.get(arr.tobytes() + repr(arr.shape).encode(), [])
        if not keys:
            continue  # a constant of the graph's own: stays embedded
        key = stem if stem in keys else keys[0]
        renamed[init.name] = key
        init.name = key
        init.ClearField("raw_data")
        init.ClearField("float_data")
        init.data_location = onnx.TensorProto.EXTERNAL
        del init.external_data[:]
        entry = init.external_data.add()
        entry.key, entry.value = "location", spec.weights_file
    for node in graph.graph.node:
        for i, name in enumerate(node.input):
            node.input[i] = renamed.get(name, name)
    graph.producer_name = "facecodec"
    graph.doc_string = f"{spec.name} {part}: weights from {spec.weights_file}"
    return graph.SerializeToString(), sorted(set(renamed.values()))


def export_runtime(names: list[str], out_dir: Path) -> list[dict[str, Any]]:
    """Write the graphs of ``names`` (registered models with weights in ``out_dir``) to
    ``out_dir/runtime/`` and record them in the manifest; returns one record per graph."""
    records = []
    manifest = read_manifest(out_dir)
    (out_dir / GRAPH_DIR).mkdir(exist_ok=True)
    with using_weights_dir(out_dir):
        for name in names:
            spec = registry.get_spec(name)
            model = registry.create_model(name, device="cpu").eval()
            runtime = {}
            for part in graphs_of(spec):
                data, weights = _graph(spec, part, model)
                path = out_dir / graph_file(name, part)
                write_atomic(path, data, force=True)
                runtime[part] = {"file": graph_file(name, part), "sha256": sha256_file(path), "weights": weights}
                records.append({"model": name, "part": part, "file": str(path), "bytes": len(data), "weights": len(weights)})
            manifest["models"][name]["runtime"] = runtime
    write_atomic(out_dir / MANIFEST_NAME, (json.dumps(manifest, indent=2) + "\n").encode(), force=True)
    return records
