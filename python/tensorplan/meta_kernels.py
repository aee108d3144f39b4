"""Meta (shape-only) kernels that PyTorch 1.13 lacks, so that a training step can be traced on
the meta device without computing anything.

PyTorch 1.13 has no meta kernel for ``aten::convolution_backward`` (nor for the adaptive-pool
backwards and several losses: 2-d NLL (segmentation cross entropy), smooth L1 / Huber and
multi-margin backward, ``masked_select``, which label smoothing uses, and 3-d max pooling with its
backward, which torchvision's S3D uses): on meta tensors it falls
through to ``convolution_backward_overrideable`` and fails. Without a meta kernel, an exporter
would have to run every convolution's backward for real, and export time would grow with the
batch size. The kernel only has to produce outputs of the right shape, dtype and strides.

``install()`` is idempotent; kernels stay registered for the life of the process.

``StaticOutputSizes`` is the other half: a call whose output size PyTorch computes from a tensor's
values even though the caller gave it as a number (``repeat_interleave`` with an int count, as
torchvision's MViT uses) is given that size up front, so that it can run on meta tensors.
"""

import torch
from torch.overrides import TorchFunctionMode

_LIBRARY = None


def _convolution_backward(grad_output, input, weight, bias_sizes, stride, padding, dilation,
                          transposed, output_padding, groups, output_mask):
    # Same outputs as the CPU kernel: grad_input like input, grad_weight like weight (both in
    # their own memory format), grad_bias a fresh 1-d tensor of the bias' size.
    grad_input = torch.empty_like(input) if output_mask[0] else None
    grad_weight = torch.empty_like(weight) if output_mask[1] else None
    grad_bias = None
    if output_mask[2]:
        grad_bias = torch.empty(bias_sizes, dtype=grad_output.dtype, device=grad_output.device)
    return grad_input, grad_weight, grad_bias


def _like_self(grad_output, self):
    # Pooling backwards whose gradient has the input's shape.
    return torch.empty_like(self)


def _like_input(grad_output, self, *args):
    # Loss backwards: the gradient has the shape of the loss's input.
    return torch.empty_like(self)


def _reduced(self, reduction, unreduced_shape):
    # A loss: one value per element of unreduced_shape (reduction none) or a scalar.
    shape = unreduced_shape if reduction == 0 else ()
    return torch.empty(shape, dtype=self.dtype, device=self.device)


def _nll_loss2d_forward(self, target, weight, reduction, ignore_index):
    return _reduced(self, reduction, target.shape), torch.empty((), dtype=self.dtype,
                                                                  device=self.device)


def _multi_margin_loss(self, target, p=1, margin=1, weight=None, reduction=1):
    return _reduced(self, reduction, self.shape[:1] if self.dim() > 1 else ())


def _masked_select(self, mask):
    # Its size depends on the mask's values, which meta tensors do not have: the graph records
    # the largest it can be (every element selected), a safe bound for planning. A replay
    # refuses it (replay.py): downstream shapes and scalars were recorded for one batch.
    numel = torch.broadcast_shapes(self.shape, mask.shape).numel()
    return torch.empty((numel,), dtype=self.dtype, device=self.device)


def _max_pool3d_with_indices(self, kernel_size, stride=(), padding=0, dilation=1,
                             ceil_mode=False):
    # The pooled shape (and int64 indices of the same shape), as PyTorch's pooling_output_shape
    # computes it; torchvision's S3D pools in 3-d.
    def three(v):
        v = list(v) if isinstance(v, (list, tuple)) else [v]
        return v * 3 if len(v) == 1 else v

    kernel = three(kernel_size)
    stride = three(stride) if stride else kernel
    padding, dilation = three(padding), three(dilation)
    shape = list(self.shape[:-3])
    for size, k, s, p, d in zip(self.shape[-3:], kernel, stride, padding, dilation):
        span = size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)
        out = span // s + 1
        if ceil_mode and (out - 1) * s >= size + p:  # the last window must start inside
            out -= 1
        shape.append(out)
    return (torch.empty(shape, dtype=self.dtype, device=self.device),
            torch.empty(shape, dtype=torch.int64, device=self.device))


# Operators whose meta kernel returns a gradient shaped like the argument `self`.
_LIKE_SELF = ("_adaptive_avg_pool2d_backward", "_adaptive_avg_pool3d_backward")
# Pooling backwards (grad_output, self, ...) -> like self.
_POOL_BACKWARD_LIKE_SELF = ("max_pool3d_with_indices_backward",)
# Loss backwards (grad_output, self, ...) -> like self.
_LIKE_INPUT = ("smooth_l1_loss_backward", "huber_loss_backward", "multi_margin_loss_backward",
               "soft_margin_loss_backward")
# Operators whose output size depends on data: planned at their bound, never replayed.
DATA_DEPENDENT = frozenset({"masked_select"})


def _repeat_interleave_output_size(args, kwargs):
    # repeat_interleave(self, repeats: int, dim=None): PyTorch 1.13 turns the int into a tensor
    # of counts and sizes the result from its values, which meta tensors do not have; the size
    # is self.size(dim) * repeats (every element of self when dim is None).
    names = ("input", "repeats", "dim")
    given = dict(zip(names, args))
    given.update({k: v for k, v in kwargs.items() if k in names})
    self, repeats, dim = given.get("input"), given.get("repeats"), given.get("dim")
    if (kwargs.get("output_size") is not None or not isinstance(self, torch.Tensor)
            or not isinstance(repeats, int) or isinstance(repeats, bool)):
        return kwargs
    length = self.numel() if dim is None else self.size(dim)
    return dict(kwargs, output_size=length * repeats)


class StaticOutputSizes(TorchFunctionMode):
    """Fills in output sizes that the caller's arguments determine, while tracing on meta."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is torch.repeat_interleave or func is torch.Tensor.repeat_interleave:
            kwargs = _repeat_interleave_output_size(args, kwargs)
        return func(*args, **kwargs)


def _has_meta_kernel(name):
    try:
        return torch._C._dispatch_has_kernel_for_dispatch_key(f"aten::{name}", "Meta")
    except Exception:  # noqa: BLE001 - older API: assume missing
        return False


def install():
    """Registers the missing meta kernels (once per process)."""
    global _LIBRARY
    if _LIBRARY is not None:
        return
    lib = torch.library.Library("aten", "IMPL", "Meta")
    if not _has_meta_kernel("convolution_backward"):
        lib.impl("convolution_backward", _convolution_backward)
    for name in _LIKE_SELF:
        if not _has_meta_kernel(name):
            lib.impl(name, _like_self)
    for name in _LIKE_INPUT + _POOL_BACKWARD_LIKE_SELF:
        if not _has_meta_kernel(name):
            lib.impl(name, _like_input)
    for name, kernel in (("nll_loss2d_forward", _nll_loss2d_forward),
                         ("multi_margin_loss", _multi_margin_loss),
                         ("masked_select", _masked_select),
                         ("max_pool3d_with_indices", _max_pool3d_with_indices)):
        if not _has_meta_kernel(name):
            lib.impl(name, kernel)
    _LIBRARY = lib
