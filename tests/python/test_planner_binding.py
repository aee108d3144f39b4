"""tensorplan._core / tensorplan.planner: the C++ planner in-process. Its plan is the CLI's, bad
input raises with the CLI's message, and other Python threads run while it plans."""

import gzip
import json
import os
import subprocess
import threading
import time

import pytest

import helpers
from tensorplan import planner

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
MODELS = os.path.join(REPO, "models")


@pytest.fixture(autouse=True)
def built_core():
    """Under ctest (TENSORPLAN_CLI set) the module must have been built; by hand it may not be."""
    if planner._core is None:
        if os.environ.get("TENSORPLAN_CLI"):
            pytest.fail(f"tensorplan._core did not import: {planner._IMPORT_ERROR}")
        pytest.skip("tensorplan._core is not built (make build)")


def zoo_text(name):
    path = os.path.join(MODELS, name)
    if path.endswith(".gz"):
        with gzip.open(path, "rt") as f:
            return f.read()
    with open(path) as f:
        return f.read()


@pytest.mark.parametrize("name,alignment", [("mlp-b32-sgd.json", 512),
                                            ("cnn-small-b32-sgd.json", 512),
                                            ("cnn-small-b32-sgd.json", 1)])
def test_plan_equals_the_cli_plan(tmp_path, name, alignment):
    cli = helpers.cli()
    out = tmp_path / "plan.json"
    result = subprocess.run(
        [cli, "mem", "plan", os.path.join(MODELS, name), "--time-limit", "5", "--alignment",
         str(alignment), "-o", str(out), "--json"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    cli_report = json.loads(result.stdout)

    plan, report = planner.plan(json.loads(zoo_text(name)), time_limit=5, alignment=alignment)
    assert plan == json.loads(out.read_text())
    # The text itself is what `mem plan -o` writes, byte for byte.
    plan_text, _ = planner._core.plan(zoo_text(name), time_limit=5, alignment=alignment)
    assert plan_text == out.read_text()
    timings = {"seconds", "order_seconds", "placement_seconds"}
    assert set(report) == set(cli_report)
    assert {k: v for k, v in report.items() if k not in timings} == \
        {k: v for k, v in cli_report.items() if k not in timings}
    assert report["arena_bytes"] == plan["arena_bytes"]
    assert plan.get("alignment", 1) == alignment


def fused(graph):
    """The same step with fused gradients, as the exporter's --gradients fused writes it."""
    graph = json.loads(json.dumps(graph))
    graph["gradients"] = "fused"
    for t in graph["tensors"]:
        if t["kind"] == "gradient":
            t.pop("output", None)
    return graph


def test_fused_graph_against_its_keep_baseline_equals_the_cli(tmp_path):
    cli = helpers.cli()
    keep_path = os.path.join(MODELS, "cnn-small-b32-sgd.json")
    keep = json.loads(zoo_text("cnn-small-b32-sgd.json"))
    fused_path = tmp_path / "fused.json"
    fused_path.write_text(json.dumps(fused(keep)))
    out = tmp_path / "plan.json"
    result = subprocess.run(
        [cli, "mem", "plan", str(fused_path), "--baseline", keep_path, "--time-limit", "4", "-o",
         str(out), "--json"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    cli_report = json.loads(result.stdout)

    plan, report = planner.plan(fused(keep), baseline=keep, time_limit=4)
    assert plan == json.loads(out.read_text())
    assert report["gradients"] == "fused" and report["baseline_gradients"] == "keep"
    for key in ("baseline_reserved", "saving", "saving_from_gradients", "arena_bytes"):
        assert report[key] == cli_report[key], key
    _, keep_report = planner.plan(keep, time_limit=2)
    assert report["baseline_reserved"] == keep_report["reference_reserved"]
    assert report["saving"] >= keep_report["saving"]
    parts = ("allocator", "order", "gradients", "placement")
    assert sum(report["saving_from_" + p] for p in parts) == pytest.approx(report["saving"])
    with pytest.raises(planner.PlanError, match="keeps them"):
        planner.plan(keep, baseline=keep)


def test_graph_as_text_or_dict_gives_the_same_plan():
    text = zoo_text("mlp-b32-sgd.json")
    assert planner.plan(text, time_limit=1)[0] == planner.plan(json.loads(text), time_limit=1)[0]


def test_bad_graph_raises_with_the_one_line_message():
    graph = json.loads(zoo_text("mlp-b32-sgd.json"))
    graph["tensors"][3]["kind"] = "bogus"
    with pytest.raises(planner.PlanError) as info:
        planner.plan(graph)
    message = str(info.value)
    assert "\n" not in message
    assert "/tensors/3/kind" in message and 'unknown kind "bogus"' in message
    assert isinstance(info.value, ValueError)

    with pytest.raises(planner.PlanError, match="not valid JSON"):
        planner.plan("{not json")
    with pytest.raises(planner.PlanError, match='format is "tensorplan.plan"'):
        planner.plan({"format": "tensorplan.plan", "version": 1})
    with pytest.raises(planner.PlanError, match="alignment"):
        planner.plan(graph, alignment=0)


def test_other_threads_run_while_it_plans():
    # A graph the planner keeps working on until its time limit (the heuristics do not meet the
    # bound): about 2 s of C++ work.
    text = zoo_text("efficientnet_b0-b32-adam.json.gz")
    in_call = False
    ticks_in_call = 0
    done = threading.Event()

    def ticker():
        nonlocal ticks_in_call
        while not done.is_set():
            if in_call:
                ticks_in_call += 1
            time.sleep(0.001)

    worker = threading.Thread(target=ticker)
    worker.start()
    try:
        in_call = True
        _, report = planner.plan(text, time_limit=2)
        in_call = False
    finally:
        done.set()
        worker.join()
    assert report["arena_bytes"] > 0
    # Holding the GIL, the planner would let the ticker run at most the one tick it was in.
    assert ticks_in_call >= 5, f"the other thread advanced {ticks_in_call} times while planning"


def test_missing_module_error_says_how_to_build(monkeypatch):
    monkeypatch.setattr(planner, "_core", None)
    monkeypatch.setattr(planner, "_IMPORT_ERROR", ImportError("no module"))
    with pytest.raises(ImportError, match="make build"):
        planner.plan({})
