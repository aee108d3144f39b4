"""Measuring a training step for real: the peak of live allocations (what the allocator holds),
its time, and whether two runs of training left bit-identical models and optimizers.

On CPU the peak comes from the profiler's memory events (every allocation and release of
PyTorch's CPU allocator, as tests/python/test_reality.py reads them); on CUDA from the caching
allocator's own statistics (``max_memory_allocated``, ``max_memory_reserved``).
"""

import time

import torch


def storage_bytes(tensors):
    """Bytes of the distinct storages behind the tensors (tied weights counted once)."""
    seen = {}
    for t in tensors:
        if isinstance(t, torch.Tensor):
            s = t.storage()
            seen[s._cdata] = s.nbytes()
    return sum(seen.values())


def persistent_bytes(model, optimizer, inputs, targets):
    """What exists before a step: parameters, buffers, optimizer state and the batch."""
    state = [v for s in optimizer.state.values() for v in s.values()
             if isinstance(v, torch.Tensor)]
    return storage_bytes([*model.parameters(), *model.buffers(), *state, *inputs, *targets])


def peak_during(fn, device):
    """(fn's result, peak bytes allocated during fn above what was allocated before it)."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        before = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        result = fn()
        torch.cuda.synchronize(device)
        return result, torch.cuda.max_memory_allocated(device) - before
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        result = fn()
    running = peak = 0
    for event in prof.profiler.kineto_results.events():
        if event.name() == "[memory]":
            running += event.nbytes()
            peak = max(peak, running)
    return result, peak


def timed(fn, device):
    """(fn's result, seconds it took)."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    result = fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return result, time.perf_counter() - start


def differences(model_a, optimizer_a, model_b, optimizer_b, grads=True):
    """Names of everything that is not bit-identical (torch.equal) between two trained copies:
    parameters and buffers, optimizer state, and (grads=True) every .grad."""
    different = []
    state_a, state_b = model_a.state_dict(), model_b.state_dict()
    for name, value in state_a.items():
        if name not in state_b or not torch.equal(value, state_b[name]):
            different.append(name)
    params_a = dict(model_a.named_parameters())
    params_b = dict(model_b.named_parameters())
    for name, p in params_a.items():
        q = params_b[name]
        sa, sb = optimizer_a.state.get(p, {}), optimizer_b.state.get(q, {})
        for key in sorted(set(sa) | set(sb)):
            va, vb = sa.get(key), sb.get(key)
            same = (torch.equal(va, vb) if isinstance(va, torch.Tensor) and
                    isinstance(vb, torch.Tensor) else va == vb)
            if not same:
                different.append(f"{name}.{key}")
        if grads:
            ga, gb = p.grad, q.grad
            if (ga is None) != (gb is None) or (ga is not None and not torch.equal(ga, gb)):
                different.append(f"grad:{name}")
    return different
