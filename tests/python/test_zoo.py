"""The committed model zoo: complete, valid, listed in its MANIFEST, within its size budget."""

import os

import pytest

import helpers
from tensorplan import export, zoo

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELS = os.path.join(REPO, "models")
CONFIGS = [(1, "sgd"), (32, "sgd"), (32, "adam")]
FILES = [zoo.graph_name(s, b, o) + ".json.gz" for s in zoo.specs().values() for b, o in CONFIGS]

PAPER = ["alexnet", "vgg11", "vgg16", "vgg19", "resnet18", "resnet50", "squeezenet1_0",
         "mobilenet_v2", "mnasnet0_5", "efficientnet_b0", "googlenet", "inception_v3", "vit_b_16",
         "r3d_18", "transformer", "bert-base", "xlm-r-base", "gpt2", "gpt2-xl"]


def test_zoo_is_complete_and_small():
    assert sorted(zoo.specs()) == sorted(PAPER)
    missing = [f for f in FILES if not os.path.exists(os.path.join(MODELS, f))]
    assert not missing, f"run `make zoo`: missing {missing}"
    total = sum(os.path.getsize(os.path.join(MODELS, f)) for f in FILES)
    assert total < 40 * 2 ** 20
    manifest = open(os.path.join(MODELS, "MANIFEST.md")).read()
    for f in FILES:
        assert f"| {f} |" in manifest


@pytest.mark.parametrize("name", FILES)
def test_zoo_graph_is_valid(name):
    graph = export.load(os.path.join(MODELS, name))
    assert graph["name"] == name[:-len(".json.gz")]
    helpers.check_valid(graph)
    kinds = {t["kind"] for t in graph["tensors"]}
    assert {"input", "weight", "optimizer_state", "activation", "gradient"} <= kinds
    outputs = [t for t in graph["tensors"] if t.get("output")]
    assert sum(t["name"].startswith("grad:") for t in outputs) == len(outputs) - 1
    assert helpers.max_live(graph) > helpers.persistent_bytes(graph)


def test_cpp_simulator_reads_every_zoo_graph():
    """`tensorplan mem simulate` reads each zoo file and agrees with the Python liveness rules."""
    helpers.cli()
    for name in FILES:
        path = os.path.join(MODELS, name)
        graph = export.load(path)
        result = helpers.cli_json("mem", "simulate", path)
        assert result["max_live"] == helpers.max_live(graph), name
        assert result["persistent_bytes"] == helpers.persistent_bytes(graph), name
