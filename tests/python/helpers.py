"""Shared by the exporter tests: a Python liveness simulator (the graph format's rules, written
independently of the C++ one), the C++ CLI, the real step's allocator trace, and small models."""

import json
import os
import subprocess

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch import nn
from torch.nn import functional as F

from tensorplan import measure

# -- liveness, as docs/graph-format.md defines it ----------------------------------------------


def lifetimes(graph):
    """tensor id -> (first step, last step) under the graph's reference order."""
    position = {nid: i for i, nid in enumerate(graph["order"])}
    last = max(len(graph["order"]) - 1, 0)
    start, end = {}, {}
    for node in graph["nodes"]:
        step = position[node["id"]]
        for t in node["outputs"]:
            start[t] = step
        for t in node["inputs"]:
            end[t] = max(end.get(t, -1), step)
    result = {}
    for t in graph["tensors"]:
        tid = t["id"]
        if tid not in start:
            result[tid] = (0, last)
        elif t.get("output"):
            result[tid] = (start[tid], last)
        else:
            result[tid] = (start[tid], max(start[tid], end.get(tid, start[tid])))
    return result


def live_bytes(graph):
    """Live bytes at every step of the reference order."""
    steps = max(len(graph["order"]), 1)
    delta = [0] * (steps + 1)
    sizes = {t["id"]: t["size"] for t in graph["tensors"]}
    for tid, (s, e) in lifetimes(graph).items():
        delta[s] += sizes[tid]
        delta[e + 1] -= sizes[tid]
    live, running = [], 0
    for s in range(steps):
        running += delta[s]
        live.append(running)
    return live


def max_live(graph):
    return max(live_bytes(graph))


def persistent_bytes(graph):
    produced = {t for n in graph["nodes"] for t in n["outputs"]}
    return sum(t["size"] for t in graph["tensors"] if t["id"] not in produced)


def check_valid(graph):
    """The structural rules the C++ reader enforces (graph.h: link_and_validate)."""
    assert graph["format"] == "tensorplan.graph" and graph["version"] == 1
    tensor_ids = [t["id"] for t in graph["tensors"]]
    assert len(set(tensor_ids)) == len(tensor_ids)
    node_ids = [n["id"] for n in graph["nodes"]]
    assert len(set(node_ids)) == len(node_ids)
    assert sorted(graph["order"]) == sorted(node_ids)
    kinds = {t["id"]: t["kind"] for t in graph["tensors"]}
    producer = {}
    for n in graph["nodes"]:
        for t in n["outputs"]:
            assert t not in producer, f"tensor {t} produced twice"
            producer[t] = n["id"]
    for tid, kind in kinds.items():
        if tid not in producer:
            assert kind in ("input", "weight", "optimizer_state"), (tid, kind)
    done = set()
    nodes = {n["id"]: n for n in graph["nodes"]}
    for nid in graph["order"]:
        for t in nodes[nid]["inputs"]:
            assert t in kinds
            assert t not in producer or producer[t] in done, f"node {nid} reads {t} too early"
        done.add(nid)
    for t in graph["tensors"]:
        assert 0 <= t["size"] < 2 ** 62


# -- the C++ command line -----------------------------------------------------------------------


def cli():
    path = os.environ.get("TENSORPLAN_CLI")
    if not path:
        pytest.skip("TENSORPLAN_CLI is not set (ctest sets it to the built tensorplan binary; "
                    "run `make test`)")
    if not os.path.exists(path):
        pytest.skip(f"TENSORPLAN_CLI={path} does not exist (build first)")
    return path


def cli_json(*args):
    """Runs `tensorplan ARGS --json` and returns its JSON object; skips the test if this build's
    `tensorplan mem` has no such subcommand yet."""
    path = cli()
    if args[0] == "mem":
        menu = subprocess.run([path, "mem", "--help"], capture_output=True, text=True,
                              timeout=60).stdout
        if args[1] not in menu.split():
            pytest.skip(f"this tensorplan has no `mem {args[1]}` yet")
    result = subprocess.run([path, *args, "--json"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# -- the real step ---------------------------------------------------------------------------------


class RealStep:
    """What the allocator did during one real training step (profiler memory events).

    full_peak: the peak of live bytes as the CPU allocator saw it, counting what exists before
        the step and what kernels allocate for themselves and free before they return.
    op_peak: the same, sampled right after every ATen operator returns (before its inputs are
        released): what a graph of ATen operators can see.
    workspace: the most any one operator held inside itself above what it returned.
    footprint: the most any one operator allocated while it ran, what it returned included
        (with oneDNN, a kernel computes into scratch buffers of its outputs' size and copies).
    before: bytes that exist before the step (parameters, buffers, state, batch)."""

    def __init__(self, before, full_peak, op_peak, workspace, footprint=0):
        self.before, self.full_peak, self.op_peak, self.workspace = (
            before, full_peak, op_peak, workspace)
        self.footprint = footprint


MARKER = 7      # bytes: a 7-byte uint8 tensor allocated and freed after every operator


class _Markers(TorchDispatchMode):
    """Puts a +7/-7 pair into the allocator's event stream after each ATen operator returns,
    so that operator boundaries can be found in it without relying on timestamps."""

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        torch.empty(MARKER, dtype=torch.uint8)
        return out


def real_step(model, inputs, targets, loss_fn, optimizer_factory):
    """Runs the training step for real, as the exporter traces it: one warm-up step, gradients
    set to None, then forward, loss, backward, optimizer step, under the profiler."""
    from torch.profiler import ProfilerActivity, profile

    optimizer = optimizer_factory([p for p in model.parameters() if p.requires_grad])

    def step():
        out = model(*inputs)
        loss = loss_fn(out, *targets)
        del out
        loss.backward()
        optimizer.step()
        return loss

    model.train()
    step()
    optimizer.zero_grad(set_to_none=True)
    state = [v for s in optimizer.state.values() for v in s.values()]
    before = measure.storage_bytes([*model.parameters(), *model.buffers(), *state, *inputs,
                                    *targets])
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        with _Markers():
            loss = step()
        del loss
    # Memory events come in the order they happened (ties in timestamp keep that order).
    memory = [e.nbytes() for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
    running = full = op_peak = workspace = footprint = 0
    segment_start = segment_max = 0
    i = 0
    while i < len(memory):
        if memory[i] == MARKER and i + 1 < len(memory) and memory[i + 1] == -MARKER:
            op_peak = max(op_peak, running)
            workspace = max(workspace, segment_max - max(running, segment_start))
            footprint = max(footprint, segment_max - segment_start)
            segment_start = segment_max = running
            i += 2
            continue
        running += memory[i]
        full = max(full, running)
        segment_max = max(segment_max, running)
        i += 1
    return RealStep(before, before + full, before + op_peak, workspace, footprint)


# -- small models ----------------------------------------------------------------------------------


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(32)
        self.fc = nn.Linear(32 * 8 * 8, 10)

    def forward(self, x):
        x = self.pool(self.relu(self.bn1(self.conv1(x))))
        x = self.pool(self.relu(self.bn2(self.conv2(x))))
        return self.fc(torch.flatten(x, 1))


class RepeatedPositions(nn.Module):
    # MViT's positional encoding: a parameter repeated by an int count (PyTorch sizes the result
    # from a tensor of counts, which meta tensors do not have).
    def __init__(self):
        super().__init__()
        self.temporal = nn.Parameter(torch.randn(2, 6))
        self.scale = nn.Parameter(torch.randn(3))
        self.fc = nn.Linear(6, 5)

    def forward(self, x):
        pos = torch.repeat_interleave(self.temporal, 4, dim=0)           # (8, 6)
        scale = self.scale.repeat_interleave(2)                           # dim None: (6,)
        return self.fc((x + pos) * scale).mean(dim=1)


class TransformerLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(100, 64)
        self.layer = nn.TransformerEncoderLayer(64, 4, 128, dropout=0.1, batch_first=True)
        self.head = nn.Linear(64, 100)

    def forward(self, ids):
        return self.head(self.layer(self.embed(ids)))


class MobileNetBlock(nn.Module):
    def __init__(self):
        super().__init__()
        from torchvision.models.mobilenetv2 import InvertedResidual
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16),
                                  nn.ReLU6(inplace=True))
        self.block = InvertedResidual(16, 16, 1, 6)
        self.down = InvertedResidual(16, 24, 2, 6)
        self.head = nn.Linear(24, 10)

    def forward(self, x):
        x = self.down(self.block(self.stem(x)))
        return self.head(F.adaptive_avg_pool2d(x, 1).flatten(1))


def token_loss(logits, target):
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))


def small_models(batch=2):
    """name -> (model factory, inputs, targets, loss_fn)."""
    g = torch.Generator().manual_seed(0)
    return {
        "cnn": (SmallCNN, (torch.randn(batch, 3, 32, 32, generator=g),),
                (torch.randint(0, 10, (batch,), generator=g),), F.cross_entropy),
        "transformer_layer": (TransformerLayer,
                              (torch.randint(0, 100, (batch, 16), generator=g),),
                              (torch.randint(0, 100, (batch, 16), generator=g),), token_loss),
        "mobilenet_block": (MobileNetBlock, (torch.randn(batch, 3, 32, 32, generator=g),),
                            (torch.randint(0, 10, (batch,), generator=g),), F.cross_entropy),
    }


def sgd(params):
    return torch.optim.SGD(params, lr=0.01, momentum=0.9)


def adam(params):
    return torch.optim.Adam(params, lr=1e-3)


def adam_foreach(params):
    return torch.optim.Adam(params, lr=1e-3, foreach=True)


def sgd_foreach(params):
    return torch.optim.SGD(params, lr=0.01, momentum=0.9, foreach=True)
