"""The recorded ATen calls of a training step: how their arguments are written into a graph file
and read back, so that the step can run again without the model's Python code (docs/graph-format.md,
"Replay").

A tensor argument is written as the graph tensor that holds its bytes (its storage) and the view
of it that the call saw: ``{"T": id, "dt": dtype, "s": shape, "st": strides, "o": offset}``
(shape, strides and offset in elements, as ``Tensor.as_strided`` takes them). Everything else
that ATen takes is written as plain JSON or a one-key object:

* numbers, booleans, strings, None and lists as themselves (a float keeps its repr, so it is
  read back bit-for-bit); non-finite floats as ``{"float": "inf" | "-inf" | "nan"}``;
* ``{"dtype": "float32"}``, ``{"layout": "strided"}``, ``{"memory_format": "channels_last"}``;
* ``{"device": true}``: the device the step runs on (a trace on meta runs anywhere);
* a small constant tensor that no graph tensor holds (made outside the step, read by it):
  ``{"const": base64 bytes, "dt": dtype, "s": shape}``.
"""

import base64
import math

import torch

# Constants up to this many bytes are written into the file; larger ones must be buffers.
MAX_CONSTANT_BYTES = 1 << 16

_MEMORY_FORMATS = {
    torch.contiguous_format: "contiguous_format",
    torch.channels_last: "channels_last",
    torch.channels_last_3d: "channels_last_3d",
    torch.preserve_format: "preserve_format",
}
_MEMORY_FORMATS_BY_NAME = {v: k for k, v in _MEMORY_FORMATS.items()}
_LAYOUTS = {torch.strided: "strided", torch.sparse_coo: "sparse_coo"}
_LAYOUTS_BY_NAME = {v: k for k, v in _LAYOUTS.items()}


class ReplayError(Exception):
    """A recorded step cannot be run: the message is one line saying what and how to fix it."""


def dtype_name(dtype):
    return str(dtype).replace("torch.", "")


def dtype_of(name):
    dtype = getattr(torch, name, None)
    if not isinstance(dtype, torch.dtype):
        raise ReplayError(f"unknown dtype '{name}' in the recorded step")
    return dtype


def op_of(name):
    """The OpOverload of 'aten::add.Tensor' (or 'aten::relu' for a default overload)."""
    namespace, _, rest = name.partition("::")
    packet, _, overload = rest.partition(".")
    try:
        return getattr(getattr(getattr(torch.ops, namespace), packet), overload or "default")
    except (AttributeError, RuntimeError):
        raise ReplayError(f"operator {name} of the recorded step does not exist in this "
                          f"PyTorch {torch.__version__}: re-export the step here") from None


def op_name(func):
    """'aten::add.Tensor', 'aten::relu' (default overload): the key that op_of reads."""
    packet = func.overloadpacket.__name__
    namespace = getattr(func, "namespace", "aten")
    overload = func._overloadname
    return f"{namespace}::{packet}" if overload == "default" else f"{namespace}::{packet}.{overload}"


def view_of(t):
    """The view a tensor is of its storage: dtype, shape, strides, offset (elements)."""
    return {"dt": dtype_name(t.dtype), "s": list(t.shape), "st": list(t.stride()),
            "o": t.storage_offset()}


def encode(value, tensor_id):
    """JSON for one argument. tensor_id(t) -> graph tensor id holding t's storage, or None for a
    tensor no graph tensor holds (then it is written as a constant, if small and readable)."""
    if isinstance(value, torch.Tensor):
        tid = tensor_id(value)
        if tid is not None:
            return dict({"T": tid}, **view_of(value))
        return _encode_constant(value)
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return {"float": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
    if isinstance(value, (list, tuple)):
        return [encode(v, tensor_id) for v in value]
    if isinstance(value, torch.dtype):
        return {"dtype": dtype_name(value)}
    if isinstance(value, torch.device):
        return {"device": True}
    if isinstance(value, torch.memory_format):
        return {"memory_format": _MEMORY_FORMATS[value]}
    if isinstance(value, torch.layout):
        return {"layout": _LAYOUTS[value]}
    if isinstance(value, torch.Generator):
        raise ReplayError("the step passes an explicit torch.Generator to an operator; only the "
                          "default generator can be replayed")
    raise ReplayError(f"cannot record an argument of type {type(value).__name__}")


def _encode_constant(t):
    nbytes = t.numel() * t.element_size()
    if t.is_meta or nbytes > MAX_CONSTANT_BYTES:
        where = "on the meta device" if t.is_meta else f"of {nbytes} bytes"
        raise ReplayError(f"the step reads a tensor {where} that is neither a parameter, a buffer, "
                          f"optimizer state nor an input: register it as a buffer "
                          f"(module.register_buffer) so that it can be bound")
    data = t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes() \
        if nbytes else b""
    return {"const": base64.b64encode(data).decode("ascii"), "dt": dtype_name(t.dtype),
            "s": list(t.shape)}


def decode(value, tensor, device):
    """The argument from its JSON. tensor(entry) -> the live tensor of a {"T": ...} entry."""
    if isinstance(value, list):
        return [decode(v, tensor, device) for v in value]
    if not isinstance(value, dict):
        return value
    if "T" in value:
        return tensor(value)
    if "float" in value:
        return float(value["float"])
    if "dtype" in value:
        return dtype_of(value["dtype"])
    if "device" in value:
        return device
    if "memory_format" in value:
        return _MEMORY_FORMATS_BY_NAME[value["memory_format"]]
    if "layout" in value:
        return _LAYOUTS_BY_NAME[value["layout"]]
    if "const" in value:
        data = bytearray(base64.b64decode(value["const"]))
        dtype = dtype_of(value["dt"])
        flat = torch.frombuffer(data, dtype=torch.uint8) if data else torch.empty(0, dtype=torch.uint8)
        return flat.view(dtype).reshape(value["s"]).to(device)
    raise ReplayError(f"cannot read a recorded argument {sorted(value)}")


def tensor_ids_in(value):
    """Graph tensor ids referenced by an encoded argument (for validation)."""
    if isinstance(value, list):
        for v in value:
            yield from tensor_ids_in(v)
    elif isinstance(value, dict) and "T" in value:
        yield value["T"]
