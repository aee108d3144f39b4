"""The exporter's memory semantics, one rule per test (python/tensorplan/trace.py)."""

import gzip

import pytest
import torch
from torch import nn
from torch.nn import functional as F

import helpers
from tensorplan import export

VIEW_OPS = {"aten.view", "aten.t", "aten.expand", "aten.slice.Tensor", "aten.select.int",
            "aten.transpose.int", "aten.unsqueeze", "aten._reshape_alias", "aten.detach",
            "aten.split.Tensor", "aten.alias", "aten.permute"}


def trace(model, x, y=None, loss_fn=None, opt=helpers.sgd, **kw):
    torch.manual_seed(0)
    g = export.training_graph(model, x, loss_fn, opt, targets=y, **kw)
    helpers.check_valid(g)
    return g


def by_id(g):
    return {t["id"]: t for t in g["tensors"]}


def nodes_with(g, op, phase=None):
    lo, hi = g["phases"][phase] if phase else (0, len(g["nodes"]))
    return [n for n in g["nodes"] if n["op"] == op and lo <= n["id"] < hi]


def position(g):
    return {nid: i for i, nid in enumerate(g["order"])}


class Views(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(8, 8)

    def forward(self, x):
        h = self.lin(x)                      # addmm: the only new storage before mul
        v = h.view(4, 2, 8)
        s = v[:, 0]                          # select
        e = s[1:].unsqueeze(1).expand(3, 5, 8)
        t = e.transpose(1, 2)
        return (t * 2.0).sum(dim=(1, 2))


def test_views_take_no_memory_and_extend_the_base():
    g = trace(Views(), torch.randn(8, 8), loss_fn=lambda out: out.sum())
    assert not [n["op"] for n in g["nodes"] if n["op"] in VIEW_OPS]
    (addmm,) = nodes_with(g, "aten.addmm", "forward")
    (mul,) = nodes_with(g, "aten.mul.Tensor", "forward")
    base = addmm["outputs"][0]
    assert by_id(g)[base]["size"] == 8 * 8 * 4
    assert base in mul["inputs"], "the mul reads the view's base"
    life = helpers.lifetimes(g)[base]
    assert life[1] >= position(g)[mul["id"]]
    # Every forward tensor is the output of a non-view op: only addmm, mul, sum made memory.
    lo, hi = g["phases"]["forward"]
    made = [n["op"] for n in g["nodes"][lo:hi] if any(by_id(g)[t]["size"] for t in n["outputs"])]
    assert made == ["aten.addmm", "aten.mul.Tensor", "aten.sum.dim_IntList"]


class InPlace(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(8, 8)
        self.out = nn.Linear(8, 2)

    def forward(self, x):
        return self.out(F.relu(self.lin(x), inplace=True))


def test_inplace_ops_mutate_their_input():
    g = trace(InPlace(), torch.randn(4, 8), torch.zeros(4, dtype=torch.long))
    tensors = by_id(g)
    (relu,) = nodes_with(g, "aten.relu_", "forward")
    (lin,) = [n for n in nodes_with(g, "aten.addmm", "forward") if n.get("module") == "lin"]
    h = lin["outputs"][0]
    assert relu["inputs"][0] == h
    assert [tensors[t]["size"] for t in relu["outputs"]] == [0], "a 0-byte version, no memory"
    version = relu["outputs"][0]
    # The next layer reads the mutated storage and its version (read after write).
    (out,) = [n for n in nodes_with(g, "aten.addmm", "forward") if n.get("module") == "out"]
    assert h in out["inputs"] and version in out["inputs"]
    # The optimizer updates weights in place: SGD's add_ and mul_ allocate nothing.
    lo, hi = g["phases"]["optimizer"]
    for n in g["nodes"][lo:hi]:
        if n["op"] in ("aten.add_.Tensor", "aten.mul_.Tensor"):
            assert all(tensors[t]["size"] == 0 for t in n["outputs"])
    weight = next(t["id"] for t in g["tensors"] if t["name"] == "lin.weight")
    updates = [n for n in g["nodes"][lo:hi] if n["op"] == "aten.add_.Tensor"
               and n["inputs"][0] == weight]
    assert len(updates) == 1


def ancestors(g, nid):
    producer = {t: n["id"] for n in g["nodes"] for t in n["outputs"]}
    nodes = {n["id"]: n for n in g["nodes"]}
    seen, stack = set(), [nid]
    while stack:
        for t in nodes[stack.pop()]["inputs"]:
            p = producer.get(t)
            if p is not None and p not in seen:
                seen.add(p)
                stack.append(p)
    return seen


def test_writes_come_after_every_earlier_reader():
    # Any order that respects the graph's edges must update a weight only after every operator
    # that reads it (forward matmul, backward grad-input matmul): write after read.
    g = trace(InPlace(), torch.randn(4, 8), torch.zeros(4, dtype=torch.long))
    weight = next(t["id"] for t in g["tensors"] if t["name"] == "out.weight")
    pos = position(g)
    readers = [n for n in g["nodes"] if weight in n["inputs"]]
    update = max(readers, key=lambda n: pos[n["id"]])
    assert update["op"] == "aten.add_.Tensor"
    before = ancestors(g, update["id"])
    assert len(readers) >= 3
    for r in readers:
        if r is not update:
            assert r["id"] in before, f"{r['op']} must precede the update"


class MultiOut(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x):
        h = self.pool(self.bn(self.conv(x)))
        a, b = torch.split(h, 2, dim=1)      # getitem of a multi-output view op
        values, _ = torch.max(a + b, dim=1)  # a multi-output op, one output unused
        return values.flatten(1)


def test_multi_output_ops_and_getitem():
    g = trace(MultiOut(), torch.randn(2, 3, 8, 8), torch.zeros(2, dtype=torch.long),
              loss_fn=lambda out, y: out.sum())
    tensors = by_id(g)
    (bn,) = nodes_with(g, "aten.native_batch_norm", "forward")
    sizes = [tensors[t]["size"] for t in bn["outputs"] if tensors[t]["size"]]
    assert sizes[:3] == [2 * 4 * 8 * 8 * 4, 4 * 4, 4 * 4]   # output, saved mean, saved invstd
    (pool,) = nodes_with(g, "aten.max_pool2d_with_indices", "forward")
    out, indices = pool["outputs"][:2]
    assert tensors[out]["size"] == 2 * 4 * 4 * 4 * 4
    assert tensors[indices]["size"] == 2 * 4 * 4 * 4 * 8 and tensors[indices]["dtype"] == "int64"
    assert not nodes_with(g, "aten.split.Tensor")
    (add,) = nodes_with(g, "aten.add.Tensor", "forward")
    assert add["inputs"][:1] == [out], "both halves of the split read the pool's output"
    (mx,) = nodes_with(g, "aten.max.dim", "forward")
    assert [tensors[t]["size"] for t in mx["outputs"][:2]] == [2 * 4 * 4 * 4, 2 * 4 * 4 * 8]
    # Indices of max and of the pool, unused by forward, live until their backward reads them.
    life = helpers.lifetimes(g)
    lo, hi = g["phases"]["backward"]
    assert lo <= life[mx["outputs"][1]][1] < hi
    (pool_bw,) = nodes_with(g, "aten.max_pool2d_with_indices_backward", "backward")
    assert life[indices][1] == position(g)[pool_bw["id"]]


def test_persistent_tensors_and_outputs():
    model = helpers.SmallCNN()
    for opt, state in ((helpers.sgd, ["momentum_buffer"]),
                       (helpers.adam, ["exp_avg", "exp_avg_sq", "step"])):
        g = trace(model, torch.randn(2, 3, 32, 32), torch.zeros(2, dtype=torch.long), opt=opt)
        tensors = {t["name"]: t for t in g["tensors"]}
        produced = {t for n in g["nodes"] for t in n["outputs"]}
        for name, p in model.named_parameters():
            assert tensors[name]["kind"] == "weight" and tensors[name]["id"] not in produced
            assert tensors[name]["size"] == p.numel() * p.element_size()
            for key in state:
                s = tensors[f"{name}.{key}"]
                assert s["kind"] == "optimizer_state" and s["id"] not in produced
            grad = tensors[f"grad:{name}"]
            assert grad["kind"] == "gradient" and grad.get("output") is True
            assert grad["id"] in produced and grad["size"] == p.numel() * p.element_size()
        for name, b in model.named_buffers():
            assert tensors[name]["kind"] == "weight"
            assert tensors[name]["size"] == b.numel() * b.element_size()
        assert tensors["input"]["kind"] == "input"
        assert tensors["input"]["size"] == 2 * 3 * 32 * 32 * 4
        assert tensors["target"]["kind"] == "input" and tensors["target"]["size"] == 2 * 8
        outputs = [t for t in g["tensors"] if t.get("output")]
        assert len(outputs) == len(list(model.parameters())) + 1
        (loss,) = [t for t in outputs if not t["name"].startswith("grad:")]
        assert loss["size"] == 4 and loss["kind"] == "activation"
        last = len(g["order"]) - 1
        life = helpers.lifetimes(g)
        assert all(life[t["id"]][1] == last for t in outputs)


def test_activations_saved_for_backward_die_after_last_use():
    g = trace(helpers.SmallCNN(), torch.randn(2, 3, 32, 32), torch.zeros(2, dtype=torch.long))
    life = helpers.lifetimes(g)
    pos = position(g)
    (conv1,) = [n for n in nodes_with(g, "aten.convolution", "forward") if n["module"] == "conv1"]
    act = conv1["outputs"][0]                # saved by bn1 for its backward
    readers = [n for n in g["nodes"] if act in n["inputs"]]
    last_reader = max(readers, key=lambda n: pos[n["id"]])
    assert last_reader["op"] == "aten.native_batch_norm_backward"
    assert last_reader.get("module") == "bn1"
    assert life[act][1] == pos[last_reader["id"]]
    lo, hi = g["phases"]["backward"]
    assert lo <= life[act][1] < hi
    assert not by_id(g)[act].get("output")


def test_sizes_follow_dtype_and_storage():
    class Sized(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(6, 6).double()

        def forward(self, x):
            wide = torch.ones(5, 12, dtype=torch.float64)
            return self.lin(x) + wide[:, 3:9]     # a view of a larger storage

    g = trace(Sized(), torch.randn(5, 6, dtype=torch.float64), loss_fn=lambda out: out.sum())
    tensors = by_id(g)
    (ones,) = nodes_with(g, "aten.ones", "forward")
    assert tensors[ones["outputs"][0]]["size"] == 5 * 12 * 8, "the view's base storage"
    (addmm,) = nodes_with(g, "aten.addmm", "forward")
    assert tensors[addmm["outputs"][0]]["size"] == 5 * 6 * 8
    assert tensors[addmm["outputs"][0]]["dtype"] == "float64"


def test_module_paths():
    g = trace(helpers.SmallCNN(), torch.randn(2, 3, 32, 32), torch.zeros(2, dtype=torch.long))
    conv = {n["module"]: n for n in nodes_with(g, "aten.convolution", "forward")}
    assert set(conv) == {"conv1", "conv2"}
    bw = {n["module"] for n in nodes_with(g, "aten.convolution_backward", "backward")}
    assert bw == {"conv1", "conv2"}
    assert {n["module"] for n in nodes_with(g, "aten.native_batch_norm_backward")} == {"bn1", "bn2"}
    lo, hi = g["phases"]["optimizer"]
    assert {n.get("module") for n in g["nodes"][lo:hi]} == {"conv1", "bn1", "conv2", "bn2", "fc"}


def test_meta_tracing_equals_real_tracing():
    # The default traces on meta tensors; tracing the real step must give the same graph.
    for name, (make, x, y, loss_fn) in helpers.small_models().items():
        torch.manual_seed(0)
        model = make()
        meta = export.training_graph(model, x, loss_fn, helpers.sgd, targets=y)
        real = export.training_graph(model, x, loss_fn, helpers.sgd, targets=y, device=None)
        assert meta["nodes"] == real["nodes"], name
        assert meta["tensors"] == real["tensors"], name


@pytest.mark.parametrize("pool", [dict(kernel_size=3, stride=2, padding=1),
                                  dict(kernel_size=(1, 3, 3), stride=(1, 2, 2), ceil_mode=True)])
def test_max_pool_3d_traces_on_meta_as_for_real(pool):
    # PyTorch 1.13 has no meta kernel for 3-d max pooling (torchvision's S3D uses it): ours must
    # give the shapes the real kernels give, in the forward and the backward.
    def make():
        return nn.Sequential(nn.Conv3d(3, 4, 3, padding=1), nn.MaxPool3d(**pool),
                             nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(4, 5))

    x, y = torch.randn(2, 3, 5, 9, 8), torch.tensor([1, 3])
    torch.manual_seed(0)
    model = make()
    real = export.training_graph(model, x, F.cross_entropy, helpers.sgd, targets=y, device=None)
    meta = export.training_graph(model, x, F.cross_entropy, helpers.sgd, targets=y)
    assert any(n["op"].startswith("aten.max_pool3d_with_indices") for n in meta["nodes"])
    assert meta["nodes"] == real["nodes"]
    assert meta["tensors"] == real["tensors"]


def test_repeat_interleave_by_a_number_traces_on_meta_as_for_real():
    x, y = torch.randn(2, 8, 6), torch.tensor([1, 3])
    torch.manual_seed(0)
    model = helpers.RepeatedPositions()
    real = export.training_graph(model, x, F.cross_entropy, helpers.sgd, targets=y, device=None)
    meta = export.training_graph(model, x, F.cross_entropy, helpers.sgd, targets=y)
    assert any(n["op"].startswith("aten.repeat_interleave") for n in meta["nodes"])
    assert meta["nodes"] == real["nodes"]
    assert meta["tensors"] == real["tensors"]


def test_save_is_deterministic(tmp_path):
    graphs = [trace(helpers.TransformerLayer(), *helpers.small_models()["transformer_layer"][1:3],
                    loss_fn=helpers.token_loss) for _ in range(2)]
    paths = [tmp_path / "a.json.gz", tmp_path / "b.json.gz"]
    for graph, path in zip(graphs, paths):
        export.save(graph, str(path))
    data = [p.read_bytes() for p in paths]
    assert data[0] == data[1]
    assert data[0][4:8] == b"\0\0\0\0", "gzip mtime is 0"
    assert export.load(str(paths[0])) == graphs[0]
    export.save(graphs[0], str(tmp_path / "c.json"))
    assert gzip.decompress(data[0]) == (tmp_path / "c.json").read_bytes()


class DataDependent(nn.Module):
    def __init__(self):
        super().__init__()
        self.gate = nn.Linear(4, 4)

    def forward(self, x):
        h = self.gate(x)
        if h.sum() > 0:                      # branches on a value
            h = h * 2
        return h


class NoMetaKernel(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 4), Select())

    def forward(self, x):
        return self.body(x)


class Select(nn.Module):
    def forward(self, h):
        return h[torch.nonzero(h > 0)[:, 0]]


@pytest.mark.parametrize("model, words", [
    (DataDependent, ["data-dependent", "DataDependent", "forward"]),
    (NoMetaKernel, ["aten.nonzero", "module 'body.1' (Select)", "forward"]),
])
def test_untraceable_models_get_one_clear_message(model, words):
    with pytest.raises(export.ExportError) as info:
        export.training_graph(model(), torch.randn(2, 4), loss_fn=lambda out: out.sum())
    message = str(info.value)
    assert "\n" not in message
    for word in words:
        assert word in message


@pytest.mark.parametrize("optimizer", [helpers.sgd, helpers.adam])
def test_phases_of_a_replay_graph_cover_its_collapsed_node_list(optimizer):
    """With replay=True each parameter's update is collapsed into one node; the phases are ranges
    of the final node list (the C++ reader refuses ranges past its end), in order, covering it,
    and every collapsed update lies in the optimizer phase."""
    model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
    x, y = torch.randn(4, 6), torch.randint(0, 3, (4,))
    g = trace(model, x, y, F.cross_entropy, optimizer, replay=True)
    n = len(g["nodes"])
    ranges = [g["phases"][p] for p in export.PHASES]
    assert all(0 <= lo <= hi <= n for lo, hi in ranges), ranges
    assert ranges[0][0] == 0 and ranges[-1][1] == n
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:])), ranges
    lo, hi = g["phases"]["optimizer"]
    updates = [i for i, node in enumerate(g["nodes"]) if node["op"] == "tensorplan::optimizer_update"]
    assert len(updates) == 4 and all(lo <= i < hi for i in updates), (updates, lo, hi)
