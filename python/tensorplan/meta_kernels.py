"""Meta (shape-only) kernels that PyTorch 1.13 lacks, so that a training step can be traced on
the meta device without computing anything.

PyTorch 1.13 has no meta kernel for ``aten::convolution_backward``: on meta tensors it falls
through to ``convolution_backward_overrideable`` and fails. Without a meta kernel, an exporter
would have to run every convolution's backward for real, and export time would grow with the
batch size. The kernel only has to produce outputs of the right shape, dtype and strides.

``install()`` is idempotent; kernels stay registered for the life of the process.
"""

import torch

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


# Operators whose meta kernel returns a gradient shaped like the argument `self`.
_LIKE_SELF = ("_adaptive_avg_pool2d_backward", "_adaptive_avg_pool3d_backward")


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
    _LIBRARY = lib
