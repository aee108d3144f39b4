"""Where the outputs and scratch memory of a replayed call go: the planned allocator's side.

On CPU, ``tensorplan._arena`` (bindings/python/arena_allocator.cc) wraps PyTorch's CPU allocator.
Armed around a call, it gives the call's output allocations their planned slots in the arena and
serves the call's other allocations (its scratch) from the node's planned workspace, logging every
allocation and release. ``Landing`` runs one call so, checks that nothing planned outlives it,
learns from the log (how many same-size allocations a kernel makes before its output; how much
workspace it needs) and copies in whatever did not land.
"""

import os

import torch
from torch.utils._pytree import tree_flatten, tree_unflatten

from .calls import ReplayError


def planned_allocator(device):
    """tensorplan._arena, installed, where it applies (CPU, built, not switched off with
    TENSORPLAN_ARENA_ALLOCATOR=0); else None and outputs are copied in."""
    if device.type != "cpu" or os.environ.get("TENSORPLAN_ARENA_ALLOCATOR", "1") == "0":
        return None
    try:
        from tensorplan import _arena
    except ImportError:
        return None
    _arena.install()
    return _arena


_ALIGN = 64    # bytes: how the planned allocator aligns what it serves from a workspace region
_SLOT, _REGION, _ELSEWHERE = 0, 1, 2


def _armed_call(func, args, kwargs, allocator, slots, region):
    """Runs func with the planned allocator armed: (result, slots still held, allocation log)."""
    allocator.arm(slots, region)
    try:
        result = func(*args, **kwargs)
    finally:
        held, log = allocator.disarm()
    return result, held, log


def _output_events(log, outputs_at):
    """Indices of the allocation events that made the call's outputs: at an output's address,
    the last allocation never released."""
    live = {}
    for i, (nbytes, address, source) in enumerate(log):
        if source < 0:
            live.pop(address, None)
        else:
            live[address] = i
    return {i for address, i in live.items() if address in outputs_at}


def _scratch_bytes(log, outputs_at):
    """The workspace a call needs for what it allocates for itself (everything but its outputs):
    the allocations and releases replayed first fit, as the planned allocator serves a region."""
    outputs = _output_events(log, outputs_at)
    blocks = {}                 # address -> (start, end) in the workspace
    need = 0
    for i, (nbytes, address, source) in enumerate(log):
        if source < 0:
            blocks.pop(address, None)
            continue
        if i in outputs or nbytes == 0:
            continue
        start = 0
        for begin, end in sorted(blocks.values()):
            if start + nbytes <= begin:
                break
            start = max(start, -(-end // _ALIGN) * _ALIGN)
        blocks[address] = (start, start + nbytes)
        need = max(need, start + nbytes)
    return need


def _check_region(log, outputs_at):
    live = {}
    for i, (nbytes, address, source) in enumerate(log):
        if source < 0:
            live.pop(address, None)
        elif source == _REGION:
            live[address] = i
    if [a for a in live if a not in outputs_at]:
        raise ReplayError("an allocation from a call's planned workspace outlived the call: "
                          "please report this (TENSORPLAN_ARENA_ALLOCATOR=0 switches the planned "
                          "allocator off)")


class Landing:
    """Puts the outputs of a call without an ``.out`` kernel into the arena.

    With the planned allocator (``tensorplan._arena``, CPU), the kernel allocates each output
    straight into its slot: the allocator is armed with the slots for the duration of the call,
    and learns from the first run how many allocations of a slot's size the kernel makes before
    its output (oneDNN computes into a scratch buffer of the output's size, then copies). Outputs
    that did not land (first run, no allocator, another device) are copied into their views;
    ``copied`` says how many bytes the last run copied."""

    __slots__ = ("outs", "slots", "skips", "copied")

    def __init__(self, outs):
        self.outs = outs        # per flat output: (arena view, storage bytes, address) or None
        self.slots = {}         # address -> bytes, one per output storage
        for entry in outs:
            if entry is not None:
                self.slots[entry[2]] = entry[1]
        self.skips = {address: 0 for address in self.slots}
        self.copied = sum(o[0].numel() * o[0].element_size() for o in outs if o is not None)

    def run(self, func, args, kwargs, allocator, region=None, learn=None):
        """Calls func; returns its result with the outputs replaced by their arena views.
        learn(scratch bytes), if given, hears what the call allocated for itself."""
        if allocator is not None:
            result, held, log = _armed_call(
                func, args, kwargs, allocator,
                [(b, a, self.skips[a]) for a, b in self.slots.items()], region)
        else:
            result, held, log = func(*args, **kwargs), [], []
        flat, spec = tree_flatten(result)
        misplaced = []
        placed = []
        for entry, value in zip(self.outs, flat):
            if entry is None:
                placed.append(value)
                continue
            view, nbytes, address = entry
            placed.append(view)
            landed = (value.storage().data_ptr() == address and value.data_ptr() ==
                      view.data_ptr() and value.shape == view.shape
                      and value.stride() == view.stride())
            if not landed:
                misplaced.append((entry, value))
        outputs_at = {value.storage().data_ptr() for value in flat
                      if isinstance(value, torch.Tensor)}
        if [a for a in held if a not in outputs_at]:
            raise ReplayError("an allocation outside a call's outputs kept a planned slot of the "
                              "arena: please report this (TENSORPLAN_ARENA_ALLOCATOR=0 switches "
                              "the planned allocator off)")
        _check_region(log, outputs_at)
        if learn is not None:
            learn(_scratch_bytes(log, outputs_at))
        # Learn where each output's allocation came among those of its size.
        made = _output_events(log, outputs_at)
        for (view, nbytes, slot), value in misplaced:
            address = value.storage().data_ptr()
            same_size = [i for i, (b, _, source) in enumerate(log) if b == nbytes and source >= 0]
            mine = [i for i in same_size if i in made and log[i][1] == address]
            if mine:
                self.skips[slot] = same_size.index(mine[0])
        # Values that sit in the arena (in another output's slot) are moved out first.
        moved = [(entry[0], value.clone() if value.storage().data_ptr() in self.slots else value)
                 for entry, value in misplaced]
        self.copied = 0
        for view, value in moved:
            view.copy_(value)
            self.copied += view.numel() * view.element_size()
        del flat, result, misplaced, moved
        return tree_unflatten(placed, spec)


def plain_call(func, args, kwargs, allocator, region, learn):
    """A call whose outputs are given (out=) or that only writes its arguments: armed only to
    serve its scratch from its workspace region, or to learn how much scratch it needs."""
    if allocator is None or (region is None and learn is None):
        return func(*args, **kwargs)
    result, _, log = _armed_call(func, args, kwargs, allocator, [], region)
    outputs_at = {v.storage().data_ptr() for v in tree_flatten(result)[0]
                  if isinstance(v, torch.Tensor)}
    _check_region(log, outputs_at)
    if learn is not None:
        learn(_scratch_bytes(log, outputs_at))
    return result
