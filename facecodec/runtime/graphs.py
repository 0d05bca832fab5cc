"""The lean runtime's float transforms: ONNX graphs run by ONNX Runtime, weights from safetensors.

A shipped model's graphs (``weights/runtime/NAME.PART.onnx``, written by
``facecodec train export-runtime``) hold no weights: each weight is an external
initializer that :func:`load_graph` fills from the model's own safetensors file,
read with numpy after its sha256 check (float16-stored tensors are widened to
float32, as PyTorch loads them). The manifest entry lists each graph's file,
sha256 and weight names.

Graphs run on the CPU with ``FACECODEC_THREADS`` intra-op threads (default:
ONNX Runtime's own choice, the physical cores). Nothing here imports torch.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import registry
from ..errors import WeightsError
from ..weights import home_of, manifest_entry_of, read_arrays, sha256_file

if TYPE_CHECKING:
    import onnxruntime

    from ..registry import ModelSpec

#: where the graphs live, under the weights folder
GRAPH_DIR = "runtime"
#: the graphs of each kind of model
PARTS = {"codec": ("analyze", "synthesize"), "classifier": ("classify",), "latent-classifier": ("classify",)}


def graph_file(name: str, part: str) -> str:
    """A graph's path relative to the weights folder."""
    return f"{GRAPH_DIR}/{name}.{part}.onnx"


def graphs_of(spec: ModelSpec) -> tuple[str, ...]:
    """The graphs the runtime runs for ``spec`` (none for the recognizer panel)."""
    return PARTS.get(spec.kind, ())


def threads() -> int:
    """Intra-op threads of every loaded graph: ``$FACECODEC_THREADS``, 0 = ONNX Runtime's default."""
    try:
        return max(0, int(os.environ.get("FACECODEC_THREADS", "0")))
    except ValueError:
        return 0


def load_graph(spec: ModelSpec, part: str, arrays: dict[str, np.ndarray] | None = None) -> onnxruntime.InferenceSession:
    """``spec``'s graph ``part`` loaded into ONNX Runtime, its weights filled in.

    ``arrays``: the model's weights as :func:`facecodec.weights.read_arrays` gives them
    (read here when not given).
    """
    import onnxruntime as ort

    record = _graph_record(spec, part)
    path = home_of(spec) / record["file"]
    if not path.exists():
        raise WeightsError(f"no runtime graph {path} for {spec.name!r}; run 'facecodec train export-runtime'")
    if sha256_file(path) != record.get("sha256"):
        raise WeightsError(f"runtime graph {path} fails its sha256 check (tampered, or stale: re-export it)")
    arrays = read_arrays(registry.weights_owner(spec)) if arrays is None else arrays
    names = list(record.get("weights", []))
    missing = [n for n in names if n not in arrays]
    if missing:
        raise WeightsError(f"runtime graph {path} needs weights its file lacks: {', '.join(missing[:3])}")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads()
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    values = [ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(arrays[n], dtype=np.float32)) for n in names]
    options.add_external_initializers(names, values)
    try:
        graph = ort.InferenceSession(path.read_bytes(), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own error types
        raise WeightsError(f"cannot load runtime graph {path}: {str(exc).splitlines()[0]}") from None
    graph._facecodec_values = values  # ONNX Runtime reads them: keep them alive with the graph
    return graph


def _graph_record(spec: ModelSpec, part: str) -> dict[str, Any]:
    entry = manifest_entry_of(spec) or {}
    record = entry.get("runtime", {}).get(part)
    if record is None:
        raise WeightsError(f"{spec.name!r} has no runtime graph {part!r}; run 'facecodec train export-runtime'")
    return record


class OnnxTransforms:
    """A codec's ``analyze`` and ``synthesize`` graphs (:class:`~.codec.Transforms`), each
    loaded on first use (an encoder never loads the synthesis, a decoder never the analysis)."""

    def __init__(self, spec: registry.ModelSpec, arrays: dict[str, np.ndarray]) -> None:
        self._spec, self._arrays = spec, arrays
        self._graphs: dict[str, onnxruntime.InferenceSession] = {}

    def _graph(self, part: str) -> onnxruntime.InferenceSession:
        if part not in self._graphs:
            self._graphs[part] = load_graph(self._spec, part, self._arrays)
        return self._graphs[part]

    def analyze(self, x: np.ndarray, gain: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        y, z = self._graph("analyze").run(["y", "z"], {"x": x, "gain": gain.astype(np.float32)})
        return y, z

    def synthesize(self, y_hat: np.ndarray) -> np.ndarray:
        return self._graph("synthesize").run(["x_hat"], {"y_hat": y_hat})[0]


class OnnxClassifier:
    """A pixel classifier (x in [0, 1]) or a latent head (y_hat, quality): class probabilities."""

    def __init__(self, spec: ModelSpec) -> None:
        self._graph = load_graph(spec, "classify")
        self._inputs = [i.name for i in self._graph.get_inputs()]

    def __call__(self, x: np.ndarray, quality: np.ndarray | None = None) -> np.ndarray:
        feeds = {self._inputs[0]: np.ascontiguousarray(x, dtype=np.float32)}
        if len(self._inputs) > 1:
            q = np.full(len(x), 4.0) if quality is None else quality
            feeds[self._inputs[1]] = np.asarray(q, dtype=np.float32).reshape(-1)
        return self._graph.run(None, feeds)[0]
