"""tensorplan.optimize: the training step replayed in the planned order inside one arena trains
exactly as eager PyTorch does (bit for bit), holds the memory the plan says, and refuses what it
cannot run without touching the user's model."""

import copy

import pytest
import torch
import torchvision
from torch import nn
from torch.nn import functional as F

import helpers
from tensorplan import export, measure, optimize, trace, zoo
from tensorplan.calls import ReplayError

pytest.importorskip("tensorplan.planner")
from tensorplan import planner  # noqa: E402

if planner._core is None:
    pytest.skip("tensorplan._core is not built (make build)", allow_module_level=True)


def _small_vgg11():
    model = torchvision.models.vgg11(num_classes=10)
    model.avgpool = nn.AdaptiveAvgPool2d(1)     # small images: a small classifier
    model.classifier = nn.Sequential(nn.Linear(512, 64), nn.ReLU(), nn.Dropout(0.5),
                                     nn.Linear(64, 10))
    return model


def _gpt2_like():
    return zoo.Decoder(100, 16, 32, 2, 2, "cpu")   # 2 layers, tied head, causal mask, dropout


def _models(batch=2):
    g = torch.Generator().manual_seed(0)
    images = (torch.randn(batch, 3, 32, 32, generator=g),)
    labels = (torch.randint(0, 10, (batch,), generator=g),)
    tokens = (torch.randint(0, 100, (batch, 16), generator=g),)
    next_tokens = (torch.randint(0, 100, (batch, 16), generator=g),)
    sequences = (torch.randn(batch, 8, 6, generator=g),)
    return {
        "resnet18": (lambda: torchvision.models.resnet18(num_classes=10), images, labels,
                     F.cross_entropy),
        "mobilenet_v2": (lambda: torchvision.models.mobilenet_v2(num_classes=10), images, labels,
                         F.cross_entropy),
        "vgg11": (_small_vgg11, images, labels, F.cross_entropy),
        "transformer_layer": (helpers.TransformerLayer, tokens, next_tokens, helpers.token_loss),
        "gpt2_like": (_gpt2_like, tokens, next_tokens, helpers.token_loss),
        # Traced with an output size filled in (meta_kernels.StaticOutputSizes), run without.
        "repeated_positions": (helpers.RepeatedPositions, sequences,
                               (torch.randint(0, 5, (batch,), generator=g),), F.cross_entropy),
    }


MODELS = _models(batch=4)
OPTIMIZERS = {"sgd": helpers.sgd, "adam": helpers.adam}


def side_by_side(name, optimizer, gradients, steps=3):
    """Trains two copies, eager and planned, with the same random seeds; returns both."""
    make, inputs, targets, loss_fn = MODELS[name]
    torch.manual_seed(0)
    eager = make()
    planned = copy.deepcopy(eager)
    eager_opt = OPTIMIZERS[optimizer](list(eager.parameters()))
    planned_opt = OPTIMIZERS[optimizer](list(planned.parameters()))
    step = optimize.optimize(planned, inputs, loss_fn, planned_opt, example_targets=targets,
                             gradients=gradients, time_limit=2)
    for i in range(steps):
        torch.manual_seed(100 + i)
        eager_opt.zero_grad(set_to_none=True)   # eager creates its optimizer state lazily
        loss = loss_fn(eager(*inputs), *targets)
        loss.backward()
        eager_opt.step()
        torch.manual_seed(100 + i)
        planned_loss = step(inputs, targets)
        assert torch.equal(loss.detach(), planned_loss), (i, loss.item(), planned_loss.item())
    return eager, eager_opt, planned, planned_opt, step


@pytest.mark.parametrize("gradients", export.GRADIENTS)
@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
@pytest.mark.parametrize("name", sorted(MODELS))
def test_planned_training_is_bit_identical_to_eager(name, optimizer, gradients):
    eager, eager_opt, planned, planned_opt, _ = side_by_side(name, optimizer, gradients)
    assert measure.differences(eager, eager_opt, planned, planned_opt,
                               grads=gradients == "keep") == []
    if gradients == "fused":
        assert all(p.grad is None for p in planned.parameters())


def test_kept_gradients_are_arena_views_and_the_arena_is_made_once():
    # The first step learns the kernels' scratch memory, the second plans it (a new arena, once).
    _, _, planned, _, step = side_by_side("resnet18", "sgd", "keep", steps=2)
    arena = step.arena
    start, end = arena.data_ptr(), arena.data_ptr() + arena.numel()
    for p in planned.parameters():
        assert start <= p.grad.data_ptr() < end
    make, inputs, targets, _ = MODELS["resnet18"]
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step(inputs, targets)
    sizes = [e.nbytes() for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
    assert step.arena.data_ptr() == start, "the arena is allocated once per step object"
    assert arena.numel() not in sizes, "no arena allocated during a step"


@pytest.mark.parametrize("name,gradients", [("resnet18", "keep"), ("resnet18", "fused"),
                                            ("transformer_layer", "fused")])
def test_measured_peak_is_the_plan(name, gradients):
    """From the third step on, the allocator's peak during a planned step is the plan's total
    (arena + persistent), within 64 KiB (the returned loss, Python scalars made 0-d tensors):
    the first step learns where kernels allocate their outputs and how much scratch memory they
    allocate for themselves (oneDNN's convolution backward), the second plans that scratch as
    the kernels' workspaces in the arena. The first plan alone (workspaces=False) holds at most
    the plan plus what one kernel allocates while it runs, as measured on eager."""
    make, inputs, targets, loss_fn = MODELS[name]
    torch.manual_seed(0)
    model = make()
    real = helpers.real_step(copy.deepcopy(model), inputs, targets, loss_fn, helpers.sgd)
    for workspaces in (False, True):
        model_copy = copy.deepcopy(model)
        opt = helpers.sgd(list(model_copy.parameters()))
        step = optimize.optimize(model_copy, inputs, loss_fn, opt, example_targets=targets,
                                 gradients=gradients, time_limit=2, workspaces=workspaces)
        before = measure.persistent_bytes(model_copy, opt, inputs, targets)
        assert before == step.report()["persistent_bytes"]
        step(inputs, targets)
        step(inputs, targets)
        _, peak = measure.peak_during(lambda: step(inputs, targets), "cpu")
        report = step.report()
        measured = before + step.arena.numel() + peak
        assert report["planned_total"] == report["arena_bytes"] + report["persistent_bytes"]
        assert report["copied_bytes"] == 0, report["copied_ops"]
        if workspaces:
            assert report["planned_total"] <= measured <= report["planned_total"] + 65536, (
                measured, report["planned_total"])
        else:
            assert measured <= report["planned_total"] + real.footprint, (
                measured, report["planned_total"], real.footprint)


def test_fused_gradients_need_a_per_parameter_optimizer_and_change_nothing():
    make, inputs, targets, loss_fn = MODELS["transformer_layer"]
    model = make()
    before = copy.deepcopy(model.state_dict())
    opt = torch.optim.Adam(model.parameters(), foreach=True)
    with pytest.raises(ReplayError, match="foreach=False"):
        optimize.optimize(model, inputs, loss_fn, opt, example_targets=targets,
                          gradients="fused")
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())


def test_inputs_of_another_shape_are_refused_before_anything_changes():
    make, inputs, targets, loss_fn = MODELS["resnet18"]
    model = make()
    opt = helpers.sgd(list(model.parameters()))
    step = optimize.optimize(model, inputs, loss_fn, opt, example_targets=targets,
                             time_limit=1)
    before = copy.deepcopy(model.state_dict())
    state = [v.clone() for s in opt.state.values() for v in s.values()]
    bigger = (torch.randn(8, 3, 32, 32),)
    with pytest.raises(ReplayError, match="plan again for this shape"):
        step(bigger, (torch.zeros(8, dtype=torch.long),))
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())
    assert all(torch.equal(a, b) for a, b in
               zip(state, [v for s in opt.state.values() for v in s.values()]))


def test_a_plan_for_another_graph_is_refused():
    make, inputs, targets, loss_fn = MODELS["transformer_layer"]
    graph = export.training_graph(make(), inputs, loss_fn, helpers.sgd, targets=targets,
                                  name="one", replay=True)
    other = export.training_graph(make(), inputs, loss_fn, helpers.adam, targets=targets,
                                  name="other", replay=True)
    plan, _ = planner.plan(optimize.planning_graph(other), time_limit=1)
    from tensorplan.replay import Replay
    with pytest.raises(ReplayError, match="plan is for graph 'other'"):
        Replay(graph, plan, "cpu")
    plan["graph"] = "one"
    with pytest.raises(ReplayError, match="re-plan"):
        Replay(graph, plan, "cpu")


def test_changed_optimizer_settings_are_refused():
    make, inputs, targets, loss_fn = MODELS["transformer_layer"]
    model = make()
    opt = helpers.sgd(list(model.parameters()))
    step = optimize.optimize(model, inputs, loss_fn, opt, example_targets=targets, time_limit=1)
    opt.param_groups[0]["lr"] = 0.5        # allowed: a learning-rate schedule
    step(inputs, targets)
    opt.param_groups[0]["momentum"] = 0.5
    with pytest.raises(ReplayError, match="settings changed"):
        step(inputs, targets)


def test_an_untraceable_model_is_refused_and_left_alone():
    import untraceable_models
    spec = untraceable_models.data_dependent
    model = spec.build("cpu", 2)
    inputs, targets = spec.inputs(2, "cpu")
    before = copy.deepcopy(model.state_dict())
    with pytest.raises(export.ExportError, match="data-dependent"):
        optimize.optimize(model, inputs, spec.loss, helpers.sgd(list(model.parameters())),
                          example_targets=targets)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())


class _Linear(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.layer = nn.Linear(4, classes)

    def forward(self, x):
        return self.layer(x)


class _Segmenter(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 5, 1)

    def forward(self, x):
        return self.conv(x)


_g = torch.Generator().manual_seed(3)
LOSSES = {
    "segmentation cross entropy": (_Segmenter, torch.randn(2, 3, 4, 4, generator=_g),
                                   torch.randint(0, 5, (2, 4, 4), generator=_g),
                                   F.cross_entropy),
    "label smoothing": (lambda: _Linear(5), torch.randn(6, 4, generator=_g),
                        torch.tensor([0, 1, 2, -100, 4, 1]),
                        lambda o, t: F.cross_entropy(o, t, label_smoothing=0.1)),
    "smooth l1": (lambda: _Linear(5), torch.randn(2, 4, generator=_g),
                  torch.randn(2, 5, generator=_g), F.smooth_l1_loss),
    "huber": (lambda: _Linear(5), torch.randn(2, 4, generator=_g),
              torch.randn(2, 5, generator=_g), F.huber_loss),
    "multi margin": (lambda: _Linear(5), torch.randn(2, 4, generator=_g),
                     torch.randint(0, 5, (2,), generator=_g), F.multi_margin_loss),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_common_losses_trace_on_meta_and_replay_bit_identically(name):
    make, x, y, loss_fn = LOSSES[name]
    graph = export.training_graph(make(), x, loss_fn, helpers.adam, targets=y)
    helpers.check_valid(graph)
    if name == "label smoothing":
        # masked_select's size depends on the targets (ignored ones): planned at its bound,
        # refused by the replay with the reason.
        model = make()
        with pytest.raises(ReplayError, match="masked_select.*depends on the data"):
            optimize.optimize(model, x, loss_fn, helpers.adam(list(model.parameters())),
                              example_targets=y)
        return
    torch.manual_seed(0)
    eager = make()
    planned = copy.deepcopy(eager)
    eager_opt, planned_opt = helpers.adam(list(eager.parameters())), \
        helpers.adam(list(planned.parameters()))
    step = optimize.optimize(planned, x, loss_fn, planned_opt, example_targets=y, time_limit=1)
    for _ in range(2):
        eager_opt.zero_grad(set_to_none=True)
        loss = loss_fn(eager(x), y)
        loss.backward()
        eager_opt.step()
        assert torch.equal(loss.detach(), step(x, y))
    assert measure.differences(eager, eager_opt, planned, planned_opt) == []


def test_random_operators_are_chained_in_their_eager_order():
    make, inputs, targets, loss_fn = MODELS["transformer_layer"]
    graph = export.training_graph(make(), inputs, loss_fn, helpers.sgd, targets=targets)
    random = [n for n in graph["nodes"] if n["name"] in trace.RANDOM_OPERATORS]
    assert len(random) >= 3                        # three dropouts in a TransformerEncoderLayer
    producer = {t: n["id"] for n in graph["nodes"] for t in n["outputs"]}
    for before, after in zip(random, random[1:]):
        assert before["id"] in {producer.get(t) for t in after["inputs"]}, (before, after)


def test_a_fused_graph_says_so_and_keeps_no_gradient():
    make, inputs, targets, loss_fn = MODELS["transformer_layer"]
    graph = export.training_graph(make(), inputs, loss_fn, helpers.adam, targets=targets,
                                  gradients="fused")
    helpers.check_valid(graph)
    assert graph["gradients"] == "fused"
    assert not [t for t in graph["tensors"] if t["kind"] == "gradient" and t.get("output")]
    assert any(t["name"].startswith("grad:") for t in graph["tensors"])
    keep = export.training_graph(make(), inputs, loss_fn, helpers.adam, targets=targets)
    assert keep["gradients"] == "keep"
    assert len([t for t in keep["tensors"] if t.get("output")]) == \
        len(list(make().parameters())) + 1        # every .grad and the loss


def test_checkpoints_and_evaluation_keep_working():
    """The user's objects stay the truth: a checkpoint taken between planned steps, loaded into
    the optimizer (which replaces its state tensors), trains on exactly as eager does."""
    eager, eager_opt, planned, planned_opt, step = side_by_side("transformer_layer", "adam",
                                                                "fused", steps=2)
    make, inputs, targets, loss_fn = MODELS["transformer_layer"]
    checkpoint = copy.deepcopy((planned.state_dict(), planned_opt.state_dict()))
    planned.load_state_dict(checkpoint[0])
    planned_opt.load_state_dict(checkpoint[1])
    planned.eval()
    with torch.no_grad():
        assert torch.equal(planned(*inputs), eager.eval()(*inputs))
    planned.train()
    eager.train()
    torch.manual_seed(7)
    eager_opt.zero_grad(set_to_none=True)
    loss = loss_fn(eager(*inputs), *targets)
    loss.backward()
    eager_opt.step()
    torch.manual_seed(7)
    assert torch.equal(step(inputs, targets), loss.detach())
    assert measure.differences(eager, eager_opt, planned, planned_opt, grads=False) == []


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("gradients", export.GRADIENTS)
def test_bit_identical_on_cuda(gradients):
    make, inputs, targets, loss_fn = MODELS["resnet18"]
    torch.manual_seed(0)
    eager = make().cuda()
    planned = copy.deepcopy(eager)
    inputs, targets = tuple(x.cuda() for x in inputs), tuple(y.cuda() for y in targets)
    eager_opt, planned_opt = helpers.sgd(list(eager.parameters())), \
        helpers.sgd(list(planned.parameters()))
    step = optimize.optimize(planned, inputs, loss_fn, planned_opt, example_targets=targets,
                             gradients=gradients, time_limit=2)
    for i in range(3):
        torch.manual_seed(i)
        eager_opt.zero_grad(set_to_none=True)
        loss = loss_fn(eager(*inputs), *targets)
        loss.backward()
        eager_opt.step()
        torch.manual_seed(i)
        assert torch.equal(loss.detach(), step(inputs, targets))
    assert measure.differences(eager, eager_opt, planned, planned_opt,
                               grads=gradients == "keep") == []
    # Nothing arena-sized is allocated during a step: the arena is made once.
    arena = step.arena.data_ptr()
    _, peak = measure.peak_during(lambda: step(inputs, targets), "cuda")
    assert step.arena.data_ptr() == arena
    assert peak < step.arena.numel() + max(step._replay.largest_copies(), default=0)


class _HoldsATensor(nn.Module):
    """Keeps a large tensor as a plain attribute, neither parameter nor buffer."""

    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(64, 64)
        self.scale = torch.ones(64, 512)        # 128 KiB: too large to record by value

    def forward(self, x):
        return self.layer(x) @ self.scale


def test_an_unregistered_tensor_is_refused_before_any_step():
    model = _HoldsATensor()
    opt = helpers.sgd(list(model.parameters()))
    with pytest.raises((ReplayError, export.ExportError), match="register"):
        optimize.optimize(model, torch.randn(2, 64), lambda out: out.sum(), opt)


def test_the_module_is_the_function():
    import tensorplan
    import tensorplan.optimize
    make, inputs, targets, loss_fn = MODELS["transformer_layer"]
    model = make()
    step = tensorplan.optimize(model, inputs, loss_fn, helpers.sgd(list(model.parameters())),
                               example_targets=targets, time_limit=1)
    assert isinstance(step, optimize.PlannedStep)
    assert step(inputs, targets).numel() == 1
