"""Plans a training graph's memory in-process with the C++ planner (``tensorplan._core``).

``plan(graph)`` takes a ``tensorplan.graph`` as a dict (as ``tensorplan.export`` makes it) and
returns ``(plan, report)``: the plan dict is exactly the file ``tensorplan mem plan -o`` writes,
the report the object ``tensorplan mem plan --json`` prints, for the same options. The C++ planner
runs without the GIL, so other Python threads go on while it plans. Bad input raises
``PlanError`` (a ``ValueError``) with the CLI's one-line message.
"""

import json

try:
    from tensorplan import _core
except ImportError as _error:  # not built, or built for another Python
    _core = None
    _IMPORT_ERROR = _error
    PlanError = ValueError
else:
    _IMPORT_ERROR = None
    PlanError = _core.PlanError


def _require_core():
    if _core is None:
        from tensorplan import _core_dir
        raise ImportError(
            f"tensorplan._core is not built (looked in {_core_dir()}; set TENSORPLAN_BUILD to "
            f"another build directory): build it with make build ({_IMPORT_ERROR})")
    return _core


def _text(graph):
    return graph if isinstance(graph, str) else json.dumps(graph)


def plan(graph, *, time_limit=60.0, alignment=512, threads=0, placement_time_limit=5.0,
         placement_ilp=False, joint=False, quiet=True, baseline=None):
    """Plans ``graph`` (a tensorplan.graph dict, or its JSON text) and returns (plan, report).

    time_limit: wall-clock seconds for the whole plan (``mem plan --time-limit``).
    alignment: offsets are multiples of it, sizes rounded up to it, in bytes (``--alignment``).
    threads: placement-search threads (0: one per core; the plan is the same for any count) and
        ILP solver threads (0 or 1: one, reproducible) (``--threads``).
    placement_time_limit: at most this many seconds of the time left go to placing.
    placement_ilp: also try the address ILP on small placement problems (``--placement-ilp``).
    joint: then the joint order-and-placement ILP on small graphs (``--joint``).
    quiet: no progress on stderr.
    baseline: for a graph whose gradients are fused (``"gradients": "fused"``), the same step with
        gradients kept (dict or text): the report's saving and its split (``saving_from_*``) are
        then against eager PyTorch with ``.grad`` kept, and each graph gets half the time limit
        (``--baseline``). Without it a fused graph is its own baseline.
    """
    core = _require_core()
    plan_text, report_text = core.plan(
        _text(graph), baseline_text="" if baseline is None else _text(baseline),
        time_limit=float(time_limit), alignment=int(alignment), threads=int(threads),
        placement_time_limit=float(placement_time_limit), placement_ilp=bool(placement_ilp),
        joint=bool(joint), quiet=bool(quiet))
    return json.loads(plan_text), json.loads(report_text)
