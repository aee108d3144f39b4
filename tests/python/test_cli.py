"""`python3 -m tensorplan.export`: exports zoo models, refuses untraceable ones cleanly."""

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
