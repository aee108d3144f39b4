"""`python3 -m tensorplan.export`: exports zoo models, refuses untraceable ones cleanly."""

import json
import os
import subprocess
import sys

import helpers  # noqa: F401 - sets up sys.path
from tensorplan import export

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def run(*args, cwd=None):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([os.path.join(REPO, "python"), HERE])
    return subprocess.run([sys.executable, "-m", "tensorplan.export", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=300)


def test_exports_a_zoo_model_reproducibly(tmp_path):
    out = tmp_path / "resnet18-b1-sgd.json.gz"
    result = run("torchvision:resnet18", "--batch-size", "1", "--optimizer", "sgd", "-o", str(out))
    assert result.returncode == 0, result.stderr
    graph = export.load(str(out))
    helpers.check_valid(graph)
    assert graph["name"] == "resnet18-b1-sgd"
    committed = os.path.join(REPO, "models", "resnet18-b1-sgd.json.gz")
    assert out.read_bytes() == open(committed, "rb").read(), "the zoo file is reproducible"


def test_untraceable_model_exits_2_with_one_line_and_no_file(tmp_path):
    out = tmp_path / "bad.json.gz"
    result = run("py:untraceable_models:data_dependent", "--batch-size", "2", "-o", str(out))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("tensorplan.export: error: data-dependent control flow")
    assert "module 'gate' (Gate)" in lines[0]
    assert "Traceback" not in result.stderr
    assert os.listdir(tmp_path) == [], "no partial or temporary file"


def test_unknown_model_and_list(tmp_path):
    result = run("torchvision:nosuchnet", "-o", str(tmp_path / "x.json"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "unknown model" in result.stderr
    listing = run("list")
    assert listing.returncode == 0
    names = listing.stdout.split()
    assert "torchvision:resnet50" in names and "transformer:gpt2-xl" in names


def test_any_torchvision_builder_and_fused_gradients(tmp_path):
    out = tmp_path / "shufflenet.json.gz"
    result = run("torchvision:shufflenet_v2_x1_0", "--batch-size", "1", "--optimizer", "adamw",
                 "--gradients", "fused", "-o", str(out))
    assert result.returncode == 0, result.stderr
    graph = export.load(str(out))
    helpers.check_valid(graph)
    assert graph["gradients"] == "fused" and graph["name"] == "shufflenet_v2_x1_0-b1-adamw-fused"
    assert not [t for t in graph["tensors"] if t["kind"] == "gradient" and t.get("output")]


def test_a_detection_model_is_refused_with_the_reason(tmp_path):
    result = run("torchvision:fasterrcnn_resnet50_fpn", "-o", str(tmp_path / "x.json"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "detection model" in result.stderr
    assert "MODULE:CALLABLE" in result.stderr


def test_a_users_model_as_module_callable(tmp_path):
    out = tmp_path / "mine.json"
    result = run("user_models:tiny_mlp", "--batch-size", "4", "--optimizer", "sgd",
                 "--momentum", "0.5", "--lr", "0.1", "--replay", "-o", str(out))
    assert result.returncode == 0, result.stderr
    graph = export.load(str(out))
    helpers.check_valid(graph)
    assert graph["replay"]["optimizer"]["class"] == "SGD"
    assert graph["replay"]["optimizer"]["groups"][0]["momentum"] == 0.5
    assert all("call" in n for n in graph["nodes"])
    bad = run("user_models:not_a_model", "-o", str(tmp_path / "x.json"))
    assert bad.returncode == 2 and "MODULE:CALLABLE" in bad.stderr
    assert "MODULE:CALLABLE" in run("--help").stdout


def test_the_optimize_command_trains_bit_identically_and_reports_json():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([os.path.join(REPO, "python"), HERE])
    result = subprocess.run([sys.executable, "-m", "tensorplan.optimize", "user_models:tiny_mlp",
                             "--batch-size", "4", "--steps", "3", "--check", "--json",
                             "--gradients", "fused", "--optimizer", "adam"],
                            capture_output=True, text=True, env=env, timeout=300)
    if "tensorplan._core is not built" in result.stderr:
        import pytest
        pytest.skip("tensorplan._core is not built (make build)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("\n") and result.stdout.count("\n") == 1
    report = json.loads(result.stdout)
    assert report["bit_identical"] is True and report["not_identical"] == []
    for key in ("eager_peak", "planned_peak", "planned_total", "arena_bytes", "copied_bytes",
                "seconds_per_step_eager", "seconds_per_step_planned"):
        assert key in report, key
    assert report["planned_total"] >= report["arena_bytes"] > 0
    shape = subprocess.run([sys.executable, "-m", "tensorplan.optimize", "torchvision:nosuch"],
                           capture_output=True, text=True, env=env, timeout=300)
    assert shape.returncode == 2 and shape.stderr.count("\n") == 1
