"""Traces one training step of a PyTorch model into a ``tensorplan.graph`` (see docs/exporter.md);
``tensorplan.export`` is its public face and command line, ``graph_file`` writes and reads it.

The step (forward, loss, ``loss.backward()``, ``optimizer.step()``) runs once, eagerly, under a
``TorchDispatchMode`` that sees every ATen operator in the order PyTorch runs it, backward
included (the autograd engine runs CPU and meta backward on the calling thread). By default the
model is copied to the *meta* device first, so nothing is computed and batch 32 of a large model
exports in seconds; the same code runs on real tensors too (``device=None``), which the tests use
to check that meta tracing is faithful.

Memory semantics (what makes a tensor of the graph):

* A graph tensor is one *storage* (an allocation), identified by its ``StorageImpl``. An operator
  output whose storage is new is a new tensor of ``storage.nbytes()`` bytes produced by that node.
* An output that shares a storage with an input is a view or alias (``view``, ``t``, ``expand``,
  ``slice``, ``_reshape_alias``, ``detach``, ...): no memory, no node. Later readers of the view
  read the base tensor, which extends the base's lifetime.
* An operator that writes an argument (schema ``Tensor(a!)``: ``relu_``, ``add_``, ``out=``,
  the optimizer's updates) allocates nothing. So that a planner that reorders operators keeps
  their meaning, each write produces a zero-byte *version* tensor that later readers consume
  (read after write), and consumes a zero-byte *order* tensor from each earlier reader of the
  storage (write after read). These tensors have size 0 and change no byte count.
* Parameters and buffers are ``weight``s, optimizer state ``optimizer_state``, the batch
  ``input``s: they exist before the step and after it. The loss and every ``.grad`` are outputs.
* Operators whose outputs are all views, and operators that return no tensor (``.item()``),
  are not nodes: they neither allocate nor free.

Kinds of produced tensors: ``activation`` (forward and loss), ``gradient`` (backward, and every
``.grad``), ``temporary`` (optimizer step, version/order tensors).
"""

import contextlib
import copy

import torch
from torch.multiprocessing.reductions import StorageWeakRef
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from . import calls, meta_kernels

FORMAT = "tensorplan.graph"
VERSION = 1
PHASES = ("forward", "loss", "backward", "optimizer")
_META = torch.device("meta")
GRADIENTS = ("keep", "fused")

# Operators that draw from the random generator (by overload packet): chained by order edges.
RANDOM_OPERATORS = frozenset({
    "bernoulli", "bernoulli_", "native_dropout", "_fused_dropout", "rand", "rand_like", "randn",
    "randn_like", "randint", "randint_like", "randperm", "normal", "normal_", "uniform_",
    "exponential_", "geometric_", "cauchy_", "log_normal_", "random_", "multinomial", "poisson",
    "rrelu_with_noise", "rrelu_with_noise_", "_standard_gamma", "binomial", "_sample_dirichlet"})


class ExportError(Exception):
    """The step cannot be exported; the message is one line naming the operator and module."""


def _op_name(func):
    """'aten.convolution' for a default overload, 'aten.add.Tensor' otherwise."""
    packet = func.overloadpacket.__name__
    overload = func._overloadname
    namespace = func.namespace if hasattr(func, "namespace") else "aten"
    if overload == "default":
        return f"{namespace}.{packet}"
    return f"{namespace}.{packet}.{overload}"


def _first_sentence(e):
    """The first line of an exception's message, up to its first sentence, at most 200 chars."""
    text = str(e).strip()
    first = text.splitlines()[0] if text else type(e).__name__
    cut = first.find(". ")
    if cut > 0:
        first = first[:cut + 1]
    return first[:200]


def _storage_of(t):
    """(key, nbytes) of a dense tensor's storage; the key is the StorageImpl's address."""
    s = t.storage()
    return s._cdata, s.nbytes()


class _Storage:
    """One allocation followed through the step."""

    __slots__ = ("tensor", "token", "readers", "versions", "weak")

    def __init__(self, tensor, weak):
        self.tensor = tensor    # graph tensor id that holds its bytes
        self.token = tensor     # graph tensor id of its latest version (a write's 0-byte tensor)
        self.readers = []       # node ids that read it since its last write
        self.versions = 0       # writes so far
        self.weak = weak        # StorageWeakRef: keeps the StorageImpl's address from reuse


class _Builder:
    """Accumulates tensors and nodes of the graph while the step runs."""

    def __init__(self):
        self.tensors = []       # dicts, id == index
        self.nodes = []         # dicts, id == index
        self.storages = {}      # StorageImpl address -> _Storage
        self.producer = []      # tensor id -> node id or None
        self.owner = []         # tensor id -> module path of a persistent tensor, or None
        self.order_token = {}   # node id -> its 0-byte order tensor id
        self.phase = "forward"
        self.phase_start = {}
        self.module_stack = []
        self.module_types = {}  # module path -> class name, for messages
        self.recording = True
        self.replay = False     # record each node's call (the step can then be run again)
        self.last_random = None  # the latest node that drew random numbers
        self.group = None       # the open per-parameter optimizer update: a _Group, or None
        self.groups = []        # closed _Groups, in the order they ran
        self.constants = {}     # tensor id -> small tensor made outside the step (replay only)

    # -- tensors ---------------------------------------------------------------------------------

    def _new_tensor(self, name, size, kind, producer, shape=None, dtype=None, owner=None):
        tid = len(self.tensors)
        entry = {"id": tid, "name": name, "size": int(size), "kind": kind}
        if shape is not None:
            entry["shape"] = [int(d) for d in shape]
        if dtype is not None:
            entry["dtype"] = str(dtype).replace("torch.", "")
        self.tensors.append(entry)
        self.producer.append(producer)
        self.owner.append(owner)
        return tid

    def add_persistent(self, t, name, kind, owner=None):
        """Registers a tensor that exists before the step (parameter, buffer, state, input)."""
        if not isinstance(t, torch.Tensor):
            return
        key, nbytes = _storage_of(t)
        if key in self.storages:
            return  # tied weights or an input given twice: one allocation
        tid = self._new_tensor(name, nbytes, kind, None, t.shape, t.dtype, owner)
        self.storages[key] = _Storage(tid, StorageWeakRef(t.storage()))

    def _lookup(self, t):
        key, nbytes = _storage_of(t)
        st = self.storages.get(key)
        if st is None:
            # A tensor made outside the step and not registered (a constant held by a module).
            tid = self._new_tensor(f"constant{len(self.tensors)}", nbytes, "input", None,
                                   t.shape, t.dtype, self.current_module())
            if self.replay and not t.is_meta and nbytes <= calls.MAX_CONSTANT_BYTES:
                self.constants[tid] = t     # its value is written into the replay section
            st = _Storage(tid, StorageWeakRef(t.storage()))
            self.storages[key] = st
        return key, st

    # -- modules ---------------------------------------------------------------------------------

    def current_module(self):
        if self.phase == "loss":
            return "(loss)"
        return self.module_stack[-1] if self.module_stack else ""

    def describe_module(self, path=None):
        """'module 'layer1.0.conv1' (Conv2d)' or 'the model (ResNet)', for messages."""
        if path is None:
            path = self.current_module()
        kind = self.module_types.get(path)
        suffix = f" ({kind})" if kind else ""
        return f"module '{path}'{suffix}" if path else f"the model{suffix}"

    def _module_for(self, input_ids):
        """Module path of a node: where forward is; for backward and optimizer nodes the module
        of the weight they read, else of the latest forward tensor they read, else of the
        producer of their first input."""
        if self.phase in ("forward", "loss"):
            return self.current_module()
        for tid in input_ids:
            if self.owner[tid]:
                return self.owner[tid]
        best = None
        for tid in input_ids:
            p = self.producer[tid]
            if p is not None and self.nodes[p].get("_phase") == "forward":
                best = p if best is None else max(best, p)
        if best is not None:
            return self.nodes[best].get("module", "")
        for tid in input_ids:
            p = self.producer[tid]
            if p is not None:
                return self.nodes[p].get("module", "")
        return ""

    # -- operators -------------------------------------------------------------------------------

    def record(self, func, args, kwargs, out):
        nid = self._record(func, args, kwargs, out)
        if self.group is not None and self.replay:
            # Every call of an optimizer update, node or not (views, .item()): the update is run
            # again by the optimizer's own code, checked call by call against this list.
            outs = self.nodes[nid]["call"]["outs"] if nid is not None else None
            self.group.calls.append({"op": calls.op_name(func), "outs": outs})
        if nid is not None and self.group is not None:
            self.nodes[nid]["_group"] = len(self.groups)

    def _record(self, func, args, kwargs, out):
        """Adds the node of one ATen call; returns its id, or None if the call is no node."""
        schema = func._schema
        reads = []              # storage keys read, in call order, unique
        writes = []             # storage keys written, unique
        seen = {}
        for i, arg in enumerate(schema.arguments):
            if i < len(args):
                value = args[i]
            elif arg.name in kwargs:
                value = kwargs[arg.name]
            else:
                continue
            is_write = arg.alias_info is not None and arg.alias_info.is_write
            values = value if isinstance(value, (list, tuple)) else (value,)
            for v in values:
                if not isinstance(v, torch.Tensor):
                    continue
                key, st = self._lookup(v)
                if key not in seen:
                    seen[key] = st
                    reads.append(key)
                if is_write and key not in writes:
                    writes.append(key)

        new_outputs = []        # (key, nbytes, tensor) of fresh storages
        flat_out, _ = tree_flatten(out)
        for t in flat_out:
            if not isinstance(t, torch.Tensor):
                continue
            key, nbytes = _storage_of(t)
            # A storage we know is an alias (a view of an input, or the input itself). Addresses
            # are never reused while we hold a weak reference to the StorageImpl.
            if key in seen or key in self.storages:
                continue
            if any(k == key for k, _, _ in new_outputs):
                continue        # two outputs on one fresh storage
            new_outputs.append((key, nbytes, t))

        if not new_outputs and not writes:
            return None         # a view, an alias or a scalar read: no memory, no node

        nid = len(self.nodes)
        op = _op_name(func)
        input_ids = []
        for key in reads:
            st = seen[key]
            input_ids.append(st.tensor)
            if st.token != st.tensor:
                input_ids.append(st.token)
        for key in writes:
            for r in seen[key].readers:
                if r != nid:
                    input_ids.append(self._order_token(r))
        random = func.overloadpacket.__name__ in RANDOM_OPERATORS
        if random and self.last_random is not None:
            # Random operators keep their relative order in every planned order, so that each
            # draws the same numbers from the generator as in eager PyTorch.
            input_ids.append(self._order_token(self.last_random))
        input_ids = list(dict.fromkeys(input_ids))
        module = self._module_for(input_ids)

        kind = {"forward": "activation", "loss": "activation", "backward": "gradient",
                "optimizer": "temporary"}[self.phase]
        output_ids = []
        # Named after what made them: "layer1.0.conv1:convolution.6" (module:operator.node).
        stem = f"{func.overloadpacket.__name__}.{nid}"
        stem = f"{module}:{stem}" if module else stem
        for k, (key, nbytes, t) in enumerate(new_outputs):
            name = stem if k == 0 else f"{stem}/{k}"
            tid = self._new_tensor(name, nbytes, kind, nid, t.shape, t.dtype)
            self.storages[key] = _Storage(tid, StorageWeakRef(t.storage()))
            output_ids.append(tid)
        for key in writes:
            st = seen[key]
            st.versions += 1
            base = self.tensors[st.tensor]["name"]
            token = self._new_tensor(f"{base}@v{st.versions}", 0, "temporary", nid)
            st.token = token
            st.readers = []
            output_ids.append(token)
        for key in reads:
            if key not in writes:
                seen[key].readers.append(nid)

        node = {"id": nid, "name": func.overloadpacket.__name__, "op": op,
                "inputs": input_ids, "outputs": output_ids}
        if module:
            node["module"] = module
        node["_phase"] = self.phase
        if random:
            self.last_random = nid
        if self.replay:
            fresh = {key: tid for (key, _, _), tid in zip(new_outputs, output_ids)}
            node["call"] = self._call(func, args, kwargs, flat_out, fresh)
        self.nodes.append(node)
        return nid

    def _call(self, func, args, kwargs, flat_out, fresh):
        """The call as the replay reads it: operator, arguments, and for each tensor it returns
        the graph tensor it creates (with the view of it returned), or None (an alias)."""
        def tensor_id(t):
            key, _ = _storage_of(t)
            st = self.storages.get(key)
            return st.tensor if st is not None else None

        outs = []
        for t in flat_out:
            if isinstance(t, torch.Tensor) and _storage_of(t)[0] in fresh:
                outs.append(dict({"T": fresh[_storage_of(t)[0]]}, **calls.view_of(t)))
            else:
                outs.append(None)
        call = {"op": calls.op_name(func),
                "args": [calls.encode(a, tensor_id) for a in args],
                "kwargs": {k: calls.encode(v, tensor_id) for k, v in kwargs.items()},
                "outs": outs}
        if func.overloadpacket.__name__ in meta_kernels.DATA_DEPENDENT:
            call["dynamic"] = True  # its outputs' sizes depend on data: a replay refuses it
        return call

    def _order_token(self, reader):
        token = self.order_token.get(reader)
        if token is None:
            token = self._new_tensor(f"{self.nodes[reader]['name']}.{reader}.done", 0,
                                     "temporary", reader)
            self.nodes[reader]["outputs"].append(token)
            self.order_token[reader] = token
        return token

    def set_phase(self, phase):
        self.phase = phase
        self.phase_start[phase] = len(self.nodes)

    def name_gradient(self, t, name):
        """Names the tensor holding a parameter's complete gradient (fused: not an output)."""
        st = self.storages.get(_storage_of(t)[0])
        if st is not None and self.producer[st.tensor] is not None:
            self.tensors[st.tensor]["name"] = name

    def mark_output(self, t, name=None, kind=None):
        key, _ = _storage_of(t)
        st = self.storages.get(key)
        if st is None or self.producer[st.tensor] is None:
            return              # persistent already lives to the end
        entry = self.tensors[st.tensor]
        entry["output"] = True
        if name:
            entry["name"] = name
        if kind:
            entry["kind"] = kind


def _meta_foreach(func, args):
    """Meta kernels for the _foreach_ ops that PyTorch 1.13 lacks (optimizers with foreach=True):
    in-place ones change no shape; the others return one new tensor per tensor of the first
    list, shaped like it."""
    if func._schema.returns and func._schema.returns[0].alias_info is None and \
            not any(a.alias_info is not None and a.alias_info.is_write
                    for a in func._schema.arguments):
        return [torch.empty_like(t) for t in args[0]]
    return None


class _Recorder(TorchDispatchMode):
    """Sees every ATen call of the step; hands it to the builder."""

    def __init__(self, builder, meta):
        super().__init__()
        self.builder = builder
        self.meta = meta        # tracing on meta tensors: factories make meta tensors too
        self.failure = None

    def _fail(self, message):
        if self.failure is None:
            self.failure = message
        raise ExportError(message)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        b = self.builder
        if self.meta and "device" in kwargs and kwargs["device"] != _META and not any(
                isinstance(a, torch.Tensor) for a in tree_flatten(args)[0]):
            # A factory (torch.ones, torch.arange, ...) called without device=: on meta, as the
            # rest of the step, or it could not be mixed with the model's tensors.
            kwargs = dict(kwargs, device=_META)
        if func is torch.ops.aten._local_scalar_dense.default and args[0].is_meta:
            # .item() of a meta tensor has no value. The optimizer reads its step counter this
            # way (Adam's bias correction): any value gives the same graph. Elsewhere the model's
            # Python code branches on a tensor's value, which no graph of ATen ops captures.
            if b.phase == "optimizer":
                return 1 if not args[0].is_floating_point() else 1.0
            self._fail(f"data-dependent control flow in {b.describe_module()} ({b.phase}): the "
                       f"step reads a "
                       f"tensor's value (.item(), bool(tensor), int(tensor)); "
                       f"a training graph must not depend on data")
        try:
            if (self.meta and func.overloadpacket.__name__.startswith("_foreach_")
                    and any(t.is_meta for t in args[0])):
                out = _meta_foreach(func, args)
            else:
                out = func(*args, **kwargs)
        except ExportError:
            raise
        except Exception as e:  # noqa: BLE001 - re-raised with the op and module named
            if b.phase in ("forward", "loss"):
                where = f"{b.describe_module()} ({b.phase})"
            elif b.phase == "optimizer":
                where = "the optimizer step"
            else:
                last = b.nodes[-1].get("module", "") if b.nodes else ""
                where = f"backward (after {b.describe_module(last)})"
            first = _first_sentence(e)
            hint = ""
            if "'Meta' backend" in first:
                hint = (" (it has no meta kernel: its output shape depends on data, or PyTorch "
                        "lacks one; see tensorplan/meta_kernels.py)")
            self._fail(f"cannot trace operator {_op_name(func)} in {where}: {first}{hint}")
        if b.recording and func.namespace == "aten":
            b.record(func, args, kwargs, out)
        return out


class NoRecordFunction:
    """Stands in for torch.autograd.profiler.record_function while tracing and replaying: the
    optimizer opens a profiler range whose handle (torch.zeros(1)) is no part of the step."""

    def __init__(self, *args, **kwargs):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _add_module_hooks(model, builder):
    handles = []
    for name, module in model.named_modules():
        builder.module_types[name] = type(module).__name__
        def pre(mod, inputs, name=name):
            builder.module_stack.append(name)

        def post(mod, inputs, output, name=name):
            if builder.module_stack and builder.module_stack[-1] == name:
                builder.module_stack.pop()

        handles.append(module.register_forward_pre_hook(pre))
        handles.append(module.register_forward_hook(post))
    return handles


def copy_to_device(model, device):
    """A deep copy of the model on the device, with tied parameters and buffers (one tensor in
    several modules, e.g. GPT-2's embedding and head) still tied: ``Module.to`` across devices
    makes a new Parameter per module, which would turn one weight into two."""
    holders = {}
    for module_name, module in model.named_modules(remove_duplicate=False):
        for table in ("_parameters", "_buffers"):
            for key, t in getattr(module, table).items():
                if t is not None:
                    holders.setdefault(id(t), []).append((module_name, table, key))
    copied = copy.deepcopy(model).to(device)
    modules = dict(copied.named_modules(remove_duplicate=False))
    for places in holders.values():
        if len(places) > 1:
            first_module, table, key = places[0]
            shared = getattr(modules[first_module], table)[key]
            for module_name, table, key in places[1:]:
                getattr(modules[module_name], table)[key] = shared
    return copied


def _to_device(value, device):
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, (list, tuple)):
        return type(value)(_to_device(v, device) for v in value)
    return value


def _as_tuple(value):
    if value is None:
        return ()
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


def _default_loss(output, *targets):
    if targets:
        return torch.nn.functional.cross_entropy(output, *targets)
    return output.sum()


def training_graph(model, example_inputs, loss_fn=None, optimizer_factory=None, *,
                   targets=None, name="model", device="meta", warmup=True, gradients="keep",
                   replay=False):
    """Traces one training step and returns it as a ``tensorplan.graph`` dict.

    model: an ``nn.Module`` (put in training mode). example_inputs: a tensor or tuple of tensors,
    the model's positional arguments. loss_fn(output, *targets) -> scalar loss (default: cross
    entropy with targets, else ``output.sum()``). optimizer_factory(parameters) -> optimizer
    (default: SGD, lr 0.01, momentum 0.9). targets: a tensor or tuple of tensors for the loss.
    device: "meta" (default) traces a copy of the model on meta tensors, computing nothing;
    None traces the model as given (real tensors: the step really runs and updates it); any
    other device traces a copy there (for real).
    warmup: run one untraced step first so that the optimizer's state exists (as it does in
    every step but the first) and gradients are then set to None.
    gradients: "keep" (PyTorch's default: every gradient is kept in ``.grad``, an output of the
    step) or "fused" (each parameter is updated as soon as its gradient is complete, inside
    backward, and the gradient is freed right after; ``.grad`` stays None). Fused needs a
    per-parameter (single-tensor) optimizer.
    replay: record every call with its arguments (nodes' "call", the graph's "replay"), so that
    ``tensorplan.replay`` can run the step again in any planned order; each parameter's
    optimizer update is then one node.

    The step traced: ``out = model(*inputs); loss = loss_fn(out, *targets); loss.backward();
    optimizer.step()``, with every ``.grad`` None before it. Raises ExportError if the step
    cannot be traced.
    """
    if gradients not in GRADIENTS:
        raise ExportError(f"gradients must be one of {', '.join(GRADIENTS)}, not '{gradients}'")
    if optimizer_factory is None:
        optimizer_factory = lambda params: torch.optim.SGD(params, lr=0.01, momentum=0.9)
    if loss_fn is None:
        loss_fn = _default_loss
    inputs = _as_tuple(example_inputs)
    targets = _as_tuple(targets)
    if device is not None:
        meta_kernels.install()
        model = copy_to_device(model, device)
        inputs = _to_device(inputs, device)
        targets = _to_device(targets, device)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = optimizer_factory(params)
    per_parameter = gradients == "fused" or replay
    if per_parameter:
        check_per_parameter_optimizer(optimizer, gradients)

    builder = _Builder()
    builder.replay = replay
    on_meta = (torch.device(device) == _META if device is not None
               else any(p.is_meta for p in model.parameters()))
    recorder = _Recorder(builder, meta=on_meta)
    sizes = meta_kernels.StaticOutputSizes() if on_meta else contextlib.nullcontext()
    param_names = {}
    for pname, p in model.named_parameters():
        param_names.setdefault(id(p), pname)

    def update(p):
        """Runs the optimizer for parameter p alone (the only one with a gradient now)."""
        pname = param_names.get(id(p), "param")
        builder.group = _Group(pname, pname.rpartition(".")[0])
        grad_key = _storage_of(p.grad)[0]
        if builder.recording and grad_key in builder.storages:
            builder.group.grad = dict({"T": builder.storages[grad_key].tensor},
                                      **calls.view_of(p.grad))
        saved = builder.phase
        builder.phase = "optimizer"
        try:
            optimizer.step()
        finally:
            builder.phase = saved
            builder.groups.append(builder.group)
            builder.group = None

    fused_hooks = []
    if gradients == "fused":
        # AccumulateGrad's post-hook runs when a parameter's gradient is complete: update it
        # there and free the gradient (what post-accumulate-grad hooks do in later PyTorch).
        def fused_update(p):
            def hook(grad_inputs, grad_outputs):
                if p.grad is not None:
                    builder.name_gradient(p.grad, f"grad:{param_names.get(id(p), 'param')}")
                    update(p)
                    p.grad = None
            return hook
        with torch.enable_grad():
            for p in params:
                node = p.view_as(p).grad_fn.next_functions[0][0]
                fused_hooks.append((node, node.register_hook(fused_update(p))))

    def optimizer_step():
        if gradients == "fused":
            return
        if not per_parameter:
            optimizer.step()
            return
        # The single-tensor optimizers update parameter after parameter: the same calls, one
        # update at a time, so that each becomes one node of the graph.
        grads = {id(p): p.grad for p in params}
        for p in params:
            p.grad = None
        for group in optimizer.param_groups:
            for p in group["params"]:
                if grads.get(id(p)) is not None:
                    p.grad = grads[id(p)]
                    update(p)
                    p.grad = None
        for p in params:
            p.grad = grads[id(p)]

    def step():
        builder.set_phase("forward")
        out = model(*inputs)
        builder.set_phase("loss")
        loss = loss_fn(out, *targets)
        del out
        if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
            raise ExportError("loss_fn must return a tensor with one element")
        builder.set_phase("backward")
        loss.backward()
        builder.set_phase("optimizer")
        optimizer_step()
        return loss

    handles = _add_module_hooks(model, builder)
    # Optimizer.step() opens a profiler range, whose constructor allocates a 4-byte handle
    # (torch.zeros(1)): not part of the step's dataflow. Profiler ranges are off while tracing.
    saved_record_function = torch.autograd.profiler.record_function
    torch.autograd.profiler.record_function = NoRecordFunction
    try:
        if warmup:
            builder.recording = False
            with sizes, recorder:
                step()
            optimizer.zero_grad(set_to_none=True)
            builder.recording = True
            builder.phase_start = {}
            builder.groups = []
        # Everything that exists before the step, named after what holds it.
        for pname, p in model.named_parameters():
            builder.add_persistent(p, pname, "weight", pname.rpartition(".")[0])
        for bname, buf in model.named_buffers():
            builder.add_persistent(buf, bname, "weight", bname.rpartition(".")[0])
        for p in params:
            state = optimizer.state.get(p, {})
            pname = param_names.get(id(p), "param")
            for key in sorted(state):
                builder.add_persistent(state[key], f"{pname}.{key}", "optimizer_state",
                                       pname.rpartition(".")[0])
        for i, x in enumerate(inputs):
            builder.add_persistent(x, f"input{i}" if len(inputs) > 1 else "input", "input")
        for i, y in enumerate(targets):
            builder.add_persistent(y, f"target{i}" if len(targets) > 1 else "target", "input")
        builder.module_stack = []
        with sizes, recorder:
            loss = step()
    except ExportError:
        raise
    except Exception as e:  # noqa: BLE001
        if recorder.failure is not None:
            raise ExportError(recorder.failure) from None
        where = ""
        if builder.phase in ("forward", "loss"):
            where = " in " + builder.describe_module()
        first = _first_sentence(e)
        raise ExportError(f"{builder.phase} failed{where}: {type(e).__name__}: {first}") from None
    finally:
        torch.autograd.profiler.record_function = saved_record_function
        for h in handles:
            h.remove()
        for _, h in fused_hooks:
            h.remove()

    builder.mark_output(loss, kind="activation")
    for p in params:
        if p.grad is not None:
            builder.mark_output(p.grad, name=f"grad:{param_names.get(id(p), 'param')}",
                                kind="gradient")
    graph = _finish(builder, name)
    graph["gradients"] = gradients
    if replay:
        graph["replay"] = _replay_section(builder, model, optimizer, params, param_names, inputs,
                                          targets, loss, gradients)
    return graph


def check_per_parameter_optimizer(optimizer, gradients):
    """Fused gradients and replay update one parameter at a time: the optimizer must be a
    single-tensor one (PyTorch 1.13's default), not foreach/fused over all parameters."""
    for group in optimizer.param_groups:
        for flag in ("foreach", "fused"):
            if group.get(flag):
                why = "fused gradients" if gradients == "fused" else "replaying the step"
                raise ExportError(
                    f"{type(optimizer).__name__}({flag}=True) updates all parameters in one "
                    f"call, but {why} needs one update per parameter: construct the optimizer "
                    f"with {flag}=False")


class _Group:
    """The calls of one parameter's optimizer update."""

    def __init__(self, param, module):
        self.param = param      # parameter name
        self.module = module    # module path that owns it
        self.calls = []         # {"op", "outs"} of every ATen call, in order
        self.grad = None        # the gradient it reads: a view of a graph tensor


def _replay_section(builder, model, optimizer, params, param_names, inputs, targets, loss,
                    gradients):
    """What a replay binds to and returns: persistent tensors by what holds them, the loss and
    the gradients (views of graph tensors), and the optimizer's settings at trace time."""
    def tensor_of(t):
        key, _ = _storage_of(t)
        return builder.storages[key].tensor

    def view(t):
        return dict({"T": tensor_of(t)}, **calls.view_of(t))

    bound = {"parameter": [], "buffer": [], "state": [], "input": [], "target": [],
             "constant": {}}
    for pname, p in model.named_parameters():
        bound["parameter"].append([pname, tensor_of(p)])
    for bname, buf in model.named_buffers():
        bound["buffer"].append([bname, tensor_of(buf)])
    for p in params:
        for key in sorted(optimizer.state.get(p, {})):
            value = optimizer.state[p][key]
            if isinstance(value, torch.Tensor):
                bound["state"].append([param_names.get(id(p), "param"), key, tensor_of(value)])
    bound["input"] = [tensor_of(x) for x in inputs]
    bound["target"] = [tensor_of(y) for y in targets]
    named = {t for kind in ("parameter", "buffer", "state") for *_, t in bound[kind]}
    named |= set(bound["input"]) | set(bound["target"])
    produced = {t for n in builder.nodes for t in n["outputs"]}
    for key, st in builder.storages.items():
        tid = st.tensor
        if tid in named or tid in produced or builder.tensors[tid]["kind"] != "input":
            continue
        t = builder.constants.get(tid)
        if t is not None:
            bound["constant"][str(tid)] = calls.encode(t, lambda _: None)
    groups = []
    for group in optimizer.param_groups:
        groups.append({k: calls.encode(v, lambda _: None) for k, v in sorted(group.items())
                       if k != "params" and isinstance(v, (bool, int, float, str, tuple, list,
                                                           type(None)))})
    section = {"version": 1, "gradients": gradients, "bound": bound,
               "loss": view(loss),
               "grads": {param_names.get(id(p), "param"): view(p.grad)
                         for p in params if p.grad is not None},
               "optimizer": {"class": type(optimizer).__name__, "groups": groups},
               "shapes": {"input": [calls.view_of(x) for x in inputs],
                          "target": [calls.view_of(y) for y in targets]}}
    return section


def _finish(builder, name):
    nodes = []
    for node in builder.nodes:
        node.pop("_phase", None)
        nodes.append(node)
    bounds = [builder.phase_start.get(p, len(nodes)) for p in PHASES] + [len(nodes)]
    traced_ids = [n["id"] for n in nodes]
    if builder.replay:
        nodes = _collapse_updates(nodes, builder.groups)
    else:
        for node in nodes:
            node.pop("_group", None)
    # Phases are ranges of positions in the final node list: a position of the traced list maps
    # to the number of nodes kept before it (a collapsed update keeps its first node's place).
    kept = {n["id"] for n in nodes}
    kept_before = [0]
    for node_id in traced_ids:
        kept_before.append(kept_before[-1] + (node_id in kept))
    phases = {}
    for i, p in enumerate(PHASES):
        phases[p] = [kept_before[bounds[i]], kept_before[max(bounds[i], bounds[i + 1])]]
    return {"format": FORMAT, "version": VERSION, "name": name,
            "phases": phases,
            "tensors": builder.tensors,
            "nodes": nodes,
            "order": [n["id"] for n in nodes]}


def _collapse_updates(nodes, groups):
    """Makes each parameter's optimizer update one node (at the place of its first call): its
    inputs are what the update reads from outside, its outputs everything its calls create. A
    replay runs the optimizer's own code for the update (its scalars, such as Adam's bias
    correction, change from step to step), so the planner must not interleave it with other
    nodes. Temporaries of the update die at the node itself: live at once, as in a workspace."""
    members = {}
    for node in nodes:
        g = node.pop("_group", None)
        if g is not None:
            members.setdefault(g, []).append(node)
    first = {group_nodes[0]["id"]: g for g, group_nodes in members.items()}
    merged_away = {n["id"] for group_nodes in members.values() for n in group_nodes[1:]}
    result = []
    for node in nodes:
        if node["id"] in merged_away:
            continue
        g = first.get(node["id"])
        if g is None:
            result.append(node)
            continue
        group_nodes, group = members[g], groups[g]
        produced = {t for n in group_nodes for t in n["outputs"]}
        inputs = [t for n in group_nodes for t in n["inputs"] if t not in produced]
        result.append({"id": node["id"], "name": "optimizer_update",
                       "op": "tensorplan::optimizer_update",
                       "inputs": list(dict.fromkeys(inputs)),
                       "outputs": [t for n in group_nodes for t in n["outputs"]],
                       "module": group.module,
                       "call": {"optimizer": {"param": group.param, "grad": group.grad,
                                              "calls": group.calls}}})
    return result
