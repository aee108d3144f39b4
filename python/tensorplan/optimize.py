"""``tensorplan.optimize``: a training step of the user's own model that runs in a planned order,
every tensor it creates at a planned offset of one arena.

```python
import tensorplan.optimize
step = tensorplan.optimize(model, images, F.cross_entropy, optimizer, example_targets=labels)
for images, labels in loader:
    loss = step(images, labels)          # forward, loss, backward, optimizer.step()
print(step.report())
```

(The module is callable: ``tensorplan.optimize(...)`` is ``tensorplan.optimize.optimize(...)``.)

What happens: the step is traced once on the meta device (nothing computed; the exporter,
docs/exporter.md, with every call recorded), planned in-process by the C++ planner (order and
offsets), and from then on every ``step(...)`` replays the recorded calls in the planned order
(``tensorplan.replay``) against the user's own parameters, buffers and optimizer state, which it
updates in place. The arena is allocated when the step is made and, on CPU, once more before the
second step, planned with the workspaces the kernels were seen to need in the first
(docs/optimize.md); never per step.

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
import types

import torch

from . import trace as tracing  # `trace` is also optimize()'s option
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

    def __init__(self, model, optimizer, graph, plan, plan_report, device, planning,
                 workspaces=True):
        self.model = model
        self.optimizer = optimizer
        self.graph = graph
        self.plan = plan
        self.plan_report = plan_report
        self.device = device
        self._planning = planning       # (time_limit, alignment, threads) for re-planning
        self._replay = Replay(graph, plan, device)
        # The first step learns the kernels' own scratch memory; the second plans it as their
        # workspaces, once (on CPU, with the planned allocator).
        self._replay.learning = workspaces and self._replay.allocator is not None
        self._pending_workspaces = None
        self.largest_workspace = 0
        self._settings = _settings(optimizer)
        self._optimizer_class = type(optimizer)

    def _plan_workspaces(self, workspaces):
        """Plans again with each learned workspace a tensor of its node (made and freed there),
        so that the arena holds the kernels' scratch memory too; the old arena goes first."""
        graph = dict(self.graph)
        tensors = list(graph["tensors"])
        next_id = max(t["id"] for t in tensors) + 1
        nodes = []
        for node in graph["nodes"]:
            size = workspaces.get(node["id"])
            if size:
                tensors.append({"id": next_id, "name": f"{node['name']}.{node['id']}:workspace",
                                "size": size, "kind": "temporary"})
                node = dict(node, outputs=node["outputs"] + [next_id], workspace=next_id)
                next_id += 1
            nodes.append(node)
        graph["tensors"], graph["nodes"] = tensors, nodes
        skips = self._replay.skips()
        self._replay = None             # frees the old arena before the new one is made
        time_limit, alignment, threads = self._planning
        plan, report = _plan(planning_graph(graph), time_limit, alignment, threads)
        replay = Replay(graph, plan, self.device)
        replay.take_skips(skips)
        self.graph, self.plan, self.plan_report, self._replay = graph, plan, report, replay
        self.largest_workspace = max(workspaces.values())

    def __call__(self, inputs, targets=()):
        if type(self.optimizer) is not self._optimizer_class or \
                _settings(self.optimizer) != self._settings:
            raise ReplayError("the optimizer's settings changed since the step was planned "
                              "(only the learning rate may change): optimize again")
        if not self.model.training:
            raise ReplayError("the model is in eval mode; the planned step is a training step "
                              "(call model.train())")
        if self._pending_workspaces:
            for p in self.model.parameters():
                p.grad = None           # last step's kept gradients live in the old arena
            self._plan_workspaces(self._pending_workspaces)
            self._pending_workspaces = None
        loss = self._replay.run(self.model, self.optimizer, _as_tuple(inputs), _as_tuple(targets))
        if self._replay.learning:
            self._replay.learning = False
            self._pending_workspaces = self._replay.learned_workspaces()
        return loss

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
            "copied_bytes": sum(self._replay.copied_ops().values()),
            "copied_ops": dict(sorted(self._replay.copied_ops().items(),
                                      key=lambda kv: -kv[1])),
            "planned_allocator": self._replay.allocator is not None,
            "largest_workspace": self.largest_workspace,
            "planner": self.plan_report,
        }


def _plan(graph, time_limit, alignment, threads):
    from . import planner
    return planner.plan(graph, time_limit=time_limit, alignment=alignment, threads=threads)


def optimize(model, example_inputs, loss_fn, optimizer, *, example_targets=None,
             gradients="keep", time_limit=10.0, alignment=512, threads=1, trace="meta",
             name=None, workspaces=True):
    """Plans the training step of ``model`` and returns it as a ``PlannedStep``.

    example_inputs: the model's positional inputs (a tensor or tuple) of the shape every step will
    have; example_targets: the loss's extra arguments (``loss_fn(output, *targets)``).
    optimizer: the user's optimizer over the model's parameters, single-tensor (foreach=False);
    its state is created now if missing (SGD, Adam, AdamW). gradients: "keep" or "fused".
    time_limit (s), alignment (bytes), threads: the planner's (as ``tensorplan mem plan``).
    trace: "meta" (trace a copy on the meta device: computes nothing) or "copy" (trace a copy on
    the model's own device, computing one step on the copy: for models whose operators behave
    differently on meta, e.g. LSTM/GRU).

    workspaces: on CPU, learn in the first step how much scratch memory each kernel allocates for
    itself (oneDNN's convolution backward) and plan it into the arena before the second step
    (the arena is then made a second time, once); False keeps the first plan.

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
        tracing.check_per_parameter_optimizer(optimizer, gradients)
    except tracing.ExportError as e:
        raise ReplayError(str(e)) from None
    _initialise_state(optimizer)
    factory = _optimizer_copy_factory(model, optimizer)

    # The exporter deep-copies the model; the factory needs that copy's parameters, so the copy
    # is made here and traced as given.
    trace_device = torch.device("meta") if trace == "meta" else device
    if trace == "meta":
        tracing.meta_kernels.install()
    model_copy = tracing.copy_to_device(model, trace_device)
    factory.model_copy = model_copy
    name = name or f"{type(model).__name__.lower()}-step"
    graph = tracing.training_graph(
        model_copy, tuple(x.to(trace_device) for x in inputs), loss_fn, factory,
        targets=tuple(y.to(trace_device) for y in targets), name=name, device=None,
        gradients=gradients, replay=True)
    del model_copy, factory.model_copy
    plan, plan_report = _plan(planning_graph(graph), time_limit, alignment, threads)
    return PlannedStep(model, optimizer, graph, plan, plan_report, device,
                       (time_limit, alignment, threads), workspaces)


# -- command line ----------------------------------------------------------------------------------

def _random_batch(tensors, generator):
    """The example batch, with values where it has none: floating-point tensors that are all
    zeros (the zoo's examples) become normal noise; integer tensors (class indices, tokens)
    are kept, since only the model knows which values are valid."""
    batch = []
    for t in tensors:
        if t.is_floating_point() and not t.is_meta and not t.any():
            batch.append(torch.randn(t.shape, generator=generator, dtype=t.dtype))
        else:
            batch.append(t)
    return tuple(batch)


def _format_bytes(n):
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if abs(n) >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def side_by_side(spec, batch, optimizer_kind, *, gradients="keep", steps=3, check=True,
                 device="cpu", lr=None, momentum=None, weight_decay=None, time_limit=10.0,
                 alignment=512, progress=None):
    """Eager PyTorch and the planned step on two identical copies of a model, step by step with
    the same random seeds: measured peaks and times, and whether they stay bit-identical."""
    from . import measure, zoo
    say = progress or (lambda message: None)
    torch.manual_seed(0)
    eager_model = spec.build("cpu", batch).to(device)
    eager_model.train()
    planned_model = copy.deepcopy(eager_model)
    zeros_in, zeros_out = spec.inputs(batch, "cpu")
    generator = torch.Generator().manual_seed(1)
    inputs = tuple(x.to(device) for x in _random_batch(zeros_in, generator))
    targets = tuple(y.to(device) for y in _random_batch(zeros_out, generator))
    factory = zoo.optimizer_factory(optimizer_kind, lr, momentum, weight_decay)
    eager_opt = factory(list(eager_model.parameters()))
    planned_opt = factory(list(planned_model.parameters()))
    loss_fn = spec.loss or tracing._default_loss

    say("tracing and planning")
    start = time.perf_counter()
    step = optimize(planned_model, inputs, loss_fn, planned_opt, example_targets=targets,
                    gradients=gradients, time_limit=time_limit, alignment=alignment,
                    name=f"{spec.name}-b{batch}-{optimizer_kind}")
    plan_seconds = time.perf_counter() - start

    def eager_step():
        eager_opt.zero_grad(set_to_none=True)
        loss = loss_fn(eager_model(*inputs), *targets)
        loss.backward()
        eager_opt.step()
        return loss.detach()

    losses_equal = True
    losses = []
    # The first two steps of each warm up (the planned step learns where kernels allocate their
    # outputs and their scratch memory, then plans the latter as workspaces; eager creates its
    # optimizer state); the others are timed. Memory is measured in one more step, under the
    # profiler, after the comparison.
    def run_both(i, record):
        torch.manual_seed(1000 + i)
        eager_loss = record("eager", eager_step)
        torch.manual_seed(1000 + i)
        planned_loss = record("planned", lambda: step(inputs, targets))
        return eager_loss, planned_loss

    times = {"eager": [], "planned": []}

    def timed(side, fn):
        if side == "eager":
            eager_opt.zero_grad(set_to_none=True)   # last step's gradients are not this one's
        result, seconds = measure.timed(fn, device)
        if i >= 2:
            times[side].append(seconds)
        return result

    for i in range(steps):
        say(f"step {i + 1} of {steps}")
        eager_loss, planned_loss = run_both(i, timed)
        losses.append((float(eager_loss), float(planned_loss)))
        losses_equal &= torch.equal(eager_loss, planned_loss)
    eager_times, planned_times = times["eager"], times["planned"]
    different = None
    if check:
        different = measure.differences(eager_model, eager_opt, planned_model, planned_opt,
                                        grads=gradients == "keep")
        if not losses_equal:
            different.insert(0, "loss")
    say("measuring memory")
    peaks = {}

    def profiled(side, fn):
        if side == "eager":
            eager_opt.zero_grad(set_to_none=True)
            before = measure.persistent_bytes(eager_model, eager_opt, inputs, targets)
        else:
            before = measure.persistent_bytes(planned_model, planned_opt, inputs, targets) + \
                step.arena.numel()
        result, peak = measure.peak_during(fn, device)
        peaks[side] = before + peak
        return result

    run_both(steps, profiled)
    eager_peak, planned_peak = peaks["eager"], peaks["planned"]
    report = step.report()
    mean = lambda xs: sum(xs) / len(xs) if xs else None
    return {
        "model": spec.name, "batch_size": batch, "optimizer": optimizer_kind,
        "gradients": gradients, "device": str(device), "steps": steps,
        "bit_identical": None if different is None else not different,
        "not_identical": different,
        "eager_peak": eager_peak, "planned_peak": planned_peak,
        "planned_total": report["planned_total"], "arena_bytes": report["arena_bytes"],
        "persistent_bytes": report["persistent_bytes"],
        "copied_bytes": report["copied_bytes"], "copied_ops": report["copied_ops"],
        "largest_workspace": report["largest_workspace"],
        "largest_copy": max(step._replay.largest_copies(), default=0),
        "seconds_per_step_eager": mean(eager_times),
        "seconds_per_step_planned": mean(planned_times),
        "plan_seconds": plan_seconds,
        "losses": losses,
        "planner": report["planner"],
    }


def main(argv=None):
    from . import cli, zoo
    parser = argparse.ArgumentParser(
        prog="python3 -m tensorplan.optimize",
        description="Trace, plan and run a model's training step in the planned order and arena, "
                    "beside eager PyTorch on an identical copy: measured peaks, times, and "
                    "whether training stays bit-identical.",
        epilog="example: python3 -m tensorplan.optimize torchvision:resnet18 --batch-size 8 "
               "--steps 3 --check\n\n" + zoo.USER_MODEL_HELP + ".",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", metavar="MODEL",
                        help="torchvision:NAME, a zoo model (transformer:gpt2, ...) or "
                             "MODULE:CALLABLE")
    parser.add_argument("--batch-size", type=int, default=8, help="batch size (default 8)")
    cli.add_training_options(parser)
    parser.add_argument("--steps", type=int, default=3, help="training steps of each (default 3)")
    parser.add_argument("--check", action="store_true",
                        help="compare loss, parameters, buffers, optimizer state (and kept "
                             "gradients) with eager's; exit 1 if any is not bit-identical")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--time-limit", type=float, default=10.0,
                        help="planner time limit in seconds (default 10)")
    parser.add_argument("--alignment", type=int, default=512,
                        help="offsets and sizes rounded to this many bytes (default 512)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks")
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    if args.steps < 1:
        parser.error("--steps must be at least 1")
    cli.check_training_options(parser, args)
    if not (0 <= args.time_limit < float("inf")):
        parser.error("--time-limit must be a finite number of seconds >= 0")
    if args.alignment < 1 or args.alignment & (args.alignment - 1):
        parser.error("--alignment must be a power of two")
    try:
        device = torch.device(args.device)
    except RuntimeError:
        parser.error(f"--device: unknown device '{args.device}'")
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device is available")
    tty = sys.stderr.isatty() and not args.quiet
    progress = (lambda m: print(f"tensorplan.optimize: {m} ...", file=sys.stderr, flush=True)) \
        if tty else None
    try:
        spec = zoo.get(args.model)
        result = side_by_side(spec, args.batch_size, args.optimizer, gradients=args.gradients,
                              steps=args.steps, check=args.check, device=device, lr=args.lr,
                              momentum=args.momentum, weight_decay=args.weight_decay,
                              time_limit=args.time_limit, alignment=args.alignment,
                              progress=progress)
    except (ReplayError, tracing.ExportError, zoo.ZooError) as e:
        if args.debug:
            raise
        print(f"tensorplan.optimize: error: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # noqa: BLE001 - one line, no traceback wall
        if args.debug:
            raise
        print(f"tensorplan.optimize: error: {cli.error_line(e)}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result))
    else:
        r = result
        saving = 1 - r["planned_peak"] / r["eager_peak"] if r["eager_peak"] else 0.0
        print(f"{r['model']} batch {r['batch_size']} {r['optimizer']}, gradients {r['gradients']}, "
              f"{r['steps']} steps on {r['device']}")
        print(f"  eager peak    {_format_bytes(r['eager_peak']):>10}   (measured)")
        print(f"  planned peak  {_format_bytes(r['planned_peak']):>10}   (measured; "
              f"{saving:.1%} less)")
        print(f"  planned total {_format_bytes(r['planned_total']):>10}   (arena "
              f"{_format_bytes(r['arena_bytes'])} + persistent "
              f"{_format_bytes(r['persistent_bytes'])})")
        print(f"  outside the arena: {_format_bytes(r['largest_copy'])} at most at once "
              f"({', '.join(op.replace('aten::', '') for op in r['copied_ops']) or 'none'})")
        if r["seconds_per_step_eager"] is not None:
            print(f"  time per step {r['seconds_per_step_eager']:.3f} s eager, "
                  f"{r['seconds_per_step_planned']:.3f} s planned")
        if r["bit_identical"] is not None:
            verdict = "yes" if r["bit_identical"] else \
                f"NO ({', '.join(r['not_identical'][:5])}{' ...' if len(r['not_identical']) > 5 else ''})"
            print(f"  bit-identical loss, parameters, buffers, optimizer state"
                  f"{', gradients' if r['gradients'] == 'keep' else ''}: {verdict}")
    return 1 if result["bit_identical"] is False else 0


class _CallableModule(types.ModuleType):
    """Lets ``tensorplan.optimize(model, ...)`` call ``optimize`` while ``python3 -m
    tensorplan.optimize`` still runs this module."""

    def __call__(self, *args, **kwargs):
        return optimize(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule


if __name__ == "__main__":
    # Run the copy imported as tensorplan.optimize, so that its exceptions are the ones raised.
    from tensorplan.optimize import main as _main
    sys.exit(_main())
