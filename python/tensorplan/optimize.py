"""``tensorplan.optimize``: a training step of the user's own model that runs in a planned order,
every tensor it creates at a planned offset of one arena.

```python
step = tensorplan.optimize(model, images, F.cross_entropy, optimizer, example_targets=labels)
for images, labels in loader:
    loss = step(images, labels)          # forward, loss, backward, optimizer.step()
print(step.report())
```

What happens: the step is traced once on the meta device (nothing computed; the exporter,
docs/exporter.md, with every call recorded), planned in-process by the C++ planner (order and
offsets), and from then on every ``step(...)`` replays the recorded calls in the planned order
(``tensorplan.replay``) against the user's own parameters, buffers and optimizer state, which it
updates in place. The arena is allocated once, when the step is made.

``gradients="keep"`` (default) keeps PyTorch's semantics: after a step every ``.grad`` holds the
gradient (a view into the arena, valid until the next step). ``gradients="fused"`` updates each
parameter as soon as its gradient is complete and frees the gradient (``.grad`` stays None), the
saving that OLLA/MODeL and ROAM assume. Both need a per-parameter optimizer (``foreach=False``).
"""

import argparse
import copy
import json
import sys
import time

import torch

from . import export
from .calls import ReplayError
from .replay import Replay

__all__ = ["optimize", "PlannedStep", "ReplayError"]


def _as_tuple(value):
    if value is None:
        return ()
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


def _optimizer_copy_factory(model, optimizer):
    """optimizer_factory for the exporter: the user's optimizer class and settings, param group
    by param group, over the traced copy's parameters (same positions in model.parameters())."""
    position = {id(p): i for i, p in enumerate(model.parameters())}

    def factory(copied_params):
        # The exporter passes the copy's trainable parameters; map through all parameters.
        everything = list(factory.model_copy.parameters())
        groups = []
        for group in optimizer.param_groups:
            settings = {k: v for k, v in group.items() if k != "params"}
            params = []
            for p in group["params"]:
                if id(p) not in position:
                    raise ReplayError("the optimizer holds a tensor that is not a parameter of "
                                      "the model")
                params.append(everything[position[id(p)]])
            groups.append(dict(settings, params=params))
        return type(optimizer)(groups, **optimizer.defaults)
    return factory


def _initialise_state(optimizer):
    """Creates the optimizer state that PyTorch creates lazily in the first step, exactly as that
    step would (zeros), for the optimizers where the first step's arithmetic on zeros equals the
    later steps' (SGD without dampening, Adam, AdamW); otherwise asks for one ordinary step."""
    for group in optimizer.param_groups:
        for p in group["params"]:
            if not p.requires_grad or optimizer.state.get(p):
                continue
            state = optimizer.state[p]
            if isinstance(optimizer, torch.optim.SGD):
                if group["momentum"] == 0:
                    continue
                if group["dampening"] != 0:
                    raise ReplayError("SGD with dampening has no momentum buffers yet: run one "
                                      "ordinary training step first, then optimize")
                state["momentum_buffer"] = torch.zeros_like(p,
                                                            memory_format=torch.preserve_format)
            elif type(optimizer) in (torch.optim.Adam, torch.optim.AdamW):
                state["step"] = torch.tensor(0.)
                state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                if group.get("amsgrad"):
                    state["max_exp_avg_sq"] = torch.zeros_like(
                        p, memory_format=torch.preserve_format)
            else:
                raise ReplayError(f"{type(optimizer).__name__} has no state yet: run one ordinary "
                                  f"training step first (it creates its state), then optimize")


def planning_graph(graph):
    """The graph the arena is planned for: persistent tensors (parameters, buffers, optimizer
    state, the batch) stay where the user's objects hold them, so they take no arena bytes."""
    produced = {t for n in graph["nodes"] for t in n["outputs"]}
    planned = dict(graph)
    planned["tensors"] = [t if t["id"] in produced else dict(t, size=0) for t in graph["tensors"]]
    planned.pop("replay", None)
    planned["nodes"] = [{k: v for k, v in n.items() if k != "call"} for n in graph["nodes"]]
    return planned


def persistent_bytes(graph):
    produced = {t for n in graph["nodes"] for t in n["outputs"]}
    return sum(t["size"] for t in graph["tensors"] if t["id"] not in produced)


def _settings(optimizer):
    """What must not change between planning and a step (the learning rate may)."""
    return [{k: repr(v) for k, v in group.items() if k not in ("params", "lr", "initial_lr")}
            for group in optimizer.param_groups]


class PlannedStep:
    """One training step of ``model`` with ``optimizer``, in the planned order and arena.

    ``step(inputs, targets)`` -> the loss; ``report()`` -> what was planned and what the arena
    could not hold. Made by ``optimize``."""

    def __init__(self, model, optimizer, graph, plan, plan_report, device):
        self.model = model
        self.optimizer = optimizer
        self.graph = graph
        self.plan = plan
        self.plan_report = plan_report
        self._replay = Replay(graph, plan, device)
        self._settings = _settings(optimizer)
        self._optimizer_class = type(optimizer)

    def __call__(self, inputs, targets=()):
        if type(self.optimizer) is not self._optimizer_class or \
                _settings(self.optimizer) != self._settings:
            raise ReplayError("the optimizer's settings changed since the step was planned "
                              "(only the learning rate may change): optimize again")
        if not self.model.training:
            raise ReplayError("the model is in eval mode; the planned step is a training step "
                              "(call model.train())")
        return self._replay.run(self.model, self.optimizer, _as_tuple(inputs),
                                _as_tuple(targets))

    @property
    def arena(self):
        return self._replay.arena

    def report(self):
        """The plan's figures (bytes) and what runs outside the arena."""
        persistent = persistent_bytes(self.graph)
        arena = self._replay.arena.numel()
        return {
            "graph": self.graph["name"],
            "gradients": self.graph.get("gradients", "keep"),
            "nodes": len(self.graph["nodes"]),
            "arena_bytes": arena,
            "persistent_bytes": persistent,
            "planned_total": arena + persistent,
            "copied_bytes": self._replay.copied_bytes,
            "copied_ops": dict(sorted(self._replay.copied_ops.items(),
                                      key=lambda kv: -kv[1])),
            "planner": self.plan_report,
        }


def _plan(graph, time_limit, alignment, threads):
    from . import planner
    return planner.plan(graph, time_limit=time_limit, alignment=alignment, threads=threads)


def optimize(model, example_inputs, loss_fn, optimizer, *, example_targets=None,
             gradients="keep", time_limit=10.0, alignment=512, threads=1, trace="meta",
             name=None):
    """Plans the training step of ``model`` and returns it as a ``PlannedStep``.

    example_inputs: the model's positional inputs (a tensor or tuple) of the shape every step will
    have; example_targets: the loss's extra arguments (``loss_fn(output, *targets)``).
    optimizer: the user's optimizer over the model's parameters, single-tensor (foreach=False);
    its state is created now if missing (SGD, Adam, AdamW). gradients: "keep" or "fused".
    time_limit (s), alignment (bytes), threads: the planner's (as ``tensorplan mem plan``).
    trace: "meta" (trace a copy on the meta device: computes nothing) or "copy" (trace a copy on
    the model's own device, computing one step on the copy: for models whose operators behave
    differently on meta, e.g. LSTM/GRU).

    Raises ReplayError / ExportError (one line each) without changing the model or optimizer,
    except for creating the optimizer's missing state.
    """
    inputs = _as_tuple(example_inputs)
    targets = _as_tuple(example_targets)
    params = list(model.parameters())
    if not params:
        raise ReplayError("the model has no parameters: nothing to train")
    device = params[0].device
    if any(p.device != device for p in params):
        raise ReplayError("the model's parameters are on several devices; one is supported")
    if trace not in ("meta", "copy"):
        raise ReplayError(f"trace must be 'meta' or 'copy', not '{trace}'")
    try:
        export.check_per_parameter_optimizer(optimizer, gradients)
    except export.ExportError as e:
        raise ReplayError(str(e)) from None
    _initialise_state(optimizer)
    factory = _optimizer_copy_factory(model, optimizer)

    # The exporter deep-copies the model; the factory needs that copy's parameters, so the copy
    # is made here and traced as given.
    trace_device = torch.device("meta") if trace == "meta" else device
    if trace == "meta":
        export.meta_kernels.install()
    model_copy = copy.deepcopy(model).to(trace_device)
    factory.model_copy = model_copy
    name = name or f"{type(model).__name__.lower()}-step"
    graph = export.training_graph(
        model_copy, tuple(x.to(trace_device) for x in inputs), loss_fn, factory,
        targets=tuple(y.to(trace_device) for y in targets), name=name, device=None,
        gradients=gradients, replay=True)
    del model_copy, factory.model_copy
    plan, plan_report = _plan(planning_graph(graph), time_limit, alignment, threads)
    return PlannedStep(model, optimizer, graph, plan, plan_report, device)
