"""The model zoo: the models of the OLLA/MODeL paper plus larger transformers, each with the
inputs, targets and loss of one training step.

Names: ``torchvision:<name>`` for torchvision models (the zoo's, and any other builder of
``torchvision.models`` that trains on a fixed-shape batch), ``transformer:<name>`` for
transformers built here from ``torch.nn`` modules; a bare zoo name (``resnet50``, ``bert-base``)
works too, and ``MODULE:CALLABLE`` names a user's own model.
Transformers are built directly on the meta device (no memory, no initialisation), which makes
GPT-2 XL (1.56 B parameters) cheap to export.
"""

from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F

from . import trace


class ZooError(Exception):
    """Unknown model name or bad arguments."""


@dataclass
class Spec:
    name: str                           # file name stem, e.g. "resnet50"
    family: str                         # "torchvision", "transformer" or "user"
    build: Callable[..., nn.Module]     # (device, batch) -> model
    inputs: Callable[[int, str], tuple]  # (batch, device) -> (model inputs, targets)
    loss: Callable = None               # loss_fn(output, *targets)
    note: str = ""                      # one line for the MANIFEST
    sizes: dict = field(default_factory=dict)


# -- losses --------------------------------------------------------------------------------------

def _cross_entropy(output, target):
    return F.cross_entropy(output, target)


def _aux_cross_entropy(aux_weight):
    """Loss of a network with auxiliary classifiers (GoogLeNet, Inception v3 in training mode):
    main + aux_weight * each auxiliary, as in their papers' recipes."""
    def loss(output, target):
        if isinstance(output, torch.Tensor):
            return F.cross_entropy(output, target)
        main, *aux = [o for o in output if o is not None]
        total = F.cross_entropy(main, target)
        for a in aux:
            total = total + aux_weight * F.cross_entropy(a, target)
        return total
    return loss


def _token_cross_entropy(logits, target):
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))


def _mse(output, target):
    return F.mse_loss(output, target)


# -- transformers from torch.nn ------------------------------------------------------------------

class Encoder(nn.Module):
    """A BERT-style encoder (post-norm, GELU) with a masked-language-model head over every token:
    token + position (+ segment) embeddings, LayerNorm, dropout, N nn.TransformerEncoderLayer."""

    def __init__(self, vocab, max_positions, type_vocab, d_model, heads, layers, ff, device):
        super().__init__()
        kw = {"device": device}
        self.tokens = nn.Embedding(vocab, d_model, **kw)
        self.positions = nn.Embedding(max_positions, d_model, **kw)
        self.segments = nn.Embedding(type_vocab, d_model, **kw) if type_vocab else None
        self.norm = nn.LayerNorm(d_model, eps=1e-12, **kw)
        self.dropout = nn.Dropout(0.1)
        layer = lambda: nn.TransformerEncoderLayer(d_model, heads, ff, dropout=0.1,
                                                   activation="gelu", batch_first=True, **kw)
        self.layers = nn.ModuleList([layer() for _ in range(layers)])
        self.head_transform = nn.Linear(d_model, d_model, **kw)
        self.head_norm = nn.LayerNorm(d_model, eps=1e-12, **kw)
        self.decoder = nn.Linear(d_model, vocab, **kw)

    def forward(self, ids):
        seq = ids.shape[1]
        pos = torch.arange(seq, device=ids.device).unsqueeze(0)
        x = self.tokens(ids) + self.positions(pos)
        if self.segments is not None:
            x = x + self.segments(torch.zeros_like(ids))
        x = self.dropout(self.norm(x))
        for layer in self.layers:
            x = layer(x)
        x = self.head_norm(F.gelu(self.head_transform(x)))
        return self.decoder(x)


class Decoder(nn.Module):
    """A GPT-2 decoder: token + position embeddings, N pre-norm causal blocks
    (nn.TransformerEncoderLayer with norm_first and a causal mask), final LayerNorm, and a
    language-model head tied to the token embedding."""

    def __init__(self, vocab, context, d_model, heads, layers, device):
        super().__init__()
        kw = {"device": device}
        self.tokens = nn.Embedding(vocab, d_model, **kw)
        self.positions = nn.Embedding(context, d_model, **kw)
        self.dropout = nn.Dropout(0.1)
        layer = lambda: nn.TransformerEncoderLayer(d_model, heads, 4 * d_model, dropout=0.1,
                                                   activation="gelu", batch_first=True,
                                                   norm_first=True, layer_norm_eps=1e-5, **kw)
        self.layers = nn.ModuleList([layer() for _ in range(layers)])
        self.norm = nn.LayerNorm(d_model, **kw)
        self.head = nn.Linear(d_model, vocab, bias=False, **kw)
        self.head.weight = self.tokens.weight

    def forward(self, ids):
        seq = ids.shape[1]
        pos = torch.arange(seq, device=ids.device).unsqueeze(0)
        mask = torch.full((seq, seq), float("-inf"), device=ids.device).triu(1)
        x = self.dropout(self.tokens(ids) + self.positions(pos))
        for layer in self.layers:
            x = layer(x, src_mask=mask)
        return self.head(self.norm(x))


class Seq2Seq(nn.Module):
    """nn.Transformer() with its default sizes (d_model 512, 8 heads, 6+6 layers, ff 2048)."""

    def __init__(self, device):
        super().__init__()
        self.transformer = nn.Transformer(device=device)

    def forward(self, src, tgt):
        return self.transformer(src, tgt)


def _token_inputs(seq, vocab):
    def make(batch, device):
        ids = torch.zeros(batch, seq, dtype=torch.long, device=device)
        target = torch.zeros(batch, seq, dtype=torch.long, device=device)
        return (ids,), (target,)
    return make


def _seq2seq_inputs(batch, device):
    # Sequence-first (nn.Transformer's default layout): source and target 256 tokens each.
    src = torch.zeros(256, batch, 512, device=device)
    tgt = torch.zeros(256, batch, 512, device=device)
    target = torch.zeros(256, batch, 512, device=device)
    return (src, tgt), (target,)


def _image_inputs(size, classes=1000, frames=None):
    def make(batch, device):
        shape = (batch, 3, frames, size, size) if frames else (batch, 3, size, size)
        x = torch.zeros(shape, device=device)
        y = torch.zeros(batch, dtype=torch.long, device=device)
        return (x,), (y,)
    return make


# -- the registry --------------------------------------------------------------------------------

def _torchvision(name, size=224, loss=_cross_entropy, frames=None, note="", batch1=None,
                 inputs=None, **kwargs):
    """batch1: keyword arguments that replace kwargs at batch size 1."""
    def build(device, batch):
        import torchvision
        args = dict(kwargs, **(batch1 or {})) if batch == 1 else kwargs
        model = torchvision.models.get_model(name, weights=None, **args)
        return model.to(device) if device != "cpu" else model
    return Spec(name, "torchvision", build, inputs or _image_inputs(size, frames=frames), loss,
                note)


def _segmentation_loss(output, target):
    """torchvision's segmentation recipe: per-pixel cross entropy of 'out', plus 0.5 x that of
    'aux' where the model has an auxiliary head."""
    loss = F.cross_entropy(output["out"], target)
    if output.get("aux") is not None:
        loss = loss + 0.5 * F.cross_entropy(output["aux"], target)
    return loss


def _segmentation_inputs(size, classes=21):
    def make(batch, device):
        x = torch.zeros(batch, 3, size, size, device=device)
        y = torch.zeros(batch, size, size, dtype=torch.long, device=device)
        return (x,), (y,)
    return make


def _torchvision_any(name):
    """A Spec for any builder of torchvision.models that trains on a fixed-shape batch:
    classification (224x224, 1000 classes), video (16 frames of 112x112, or of 224x224 for the
    models trained on that crop: S3D and MViT, whose shapes need it) and segmentation (224x224, 21
    classes, per-pixel cross entropy). None if torchvision has no such builder."""
    from torchvision import models
    if name in models.list_models(module=models.video):
        size = 224 if name in ("s3d", "mvit_v1_b", "mvit_v2_s") else 112
        return _torchvision(name, size=size, frames=16,
                            note=f"video: 16 frames of {size}x{size}")
    if name in models.list_models(module=models.segmentation):
        return _torchvision(name, loss=_segmentation_loss, inputs=_segmentation_inputs(224),
                            note="segmentation: 224x224, 21 classes, per-pixel cross entropy",
                            weights_backbone=None)  # no download: random initialisation
    for family in ("detection", "optical_flow", "quantization"):
        if name in models.list_models(module=getattr(models, family)):
            why = {"detection": "its training step takes boxes and its shapes depend on them",
                   "optical_flow": "its training step is a sequence of flow refinements over "
                                   "image pairs, not a fixed-shape batch",
                   "quantization": "quantized models are for inference, not training"}[family]
            raise ZooError(f"torchvision:{name} is a {family.replace('_', ' ')} model: {why}; "
                           f"export your own step with MODULE:CALLABLE instead")
    if name in models.list_models(module=models):
        return _torchvision(name, size=299 if name == "inception_v3" else 224)
    return None


def _specs():
    specs = [
        _torchvision("alexnet"),
        _torchvision("vgg11"),
        _torchvision("vgg16"),
        _torchvision("vgg19"),
        _torchvision("resnet18"),
        _torchvision("resnet50"),
        _torchvision("squeezenet1_0"),
        _torchvision("mobilenet_v2"),
        _torchvision("mnasnet0_5"),
        _torchvision("efficientnet_b0"),
        _torchvision("googlenet", loss=_aux_cross_entropy(0.3), aux_logits=True,
                     init_weights=False,
                     note="with its two auxiliary classifiers (loss weight 0.3)"),
        _torchvision("inception_v3", size=299, loss=_aux_cross_entropy(0.4), aux_logits=True,
                     init_weights=False, batch1={"aux_logits": False},
                     note="299x299, with its auxiliary classifier (loss weight 0.4) at batch 32; "
                          "without it at batch 1, where the classifier's BatchNorm over a 1x1 "
                          "map has one value per channel and PyTorch refuses to train it"),
        _torchvision("vit_b_16"),
        _torchvision("r3d_18", size=112, frames=16, note="video: 16 frames of 112x112"),
        Spec("transformer", "transformer", lambda d, b: Seq2Seq(d), _seq2seq_inputs, _mse,
             "nn.Transformer() defaults; source and target 256 x batch x 512, MSE loss"),
        Spec("bert-base", "transformer",
             lambda d, b: Encoder(30522, 512, 2, 768, 12, 12, 3072, d),
             _token_inputs(256, 30522), _token_cross_entropy,
             "BERT-base encoder (12 x 768, 12 heads), seq 256, MLM head over every token"),
        Spec("xlm-r-base", "transformer",
             lambda d, b: Encoder(250002, 514, 0, 768, 12, 12, 3072, d),
             _token_inputs(256, 250002), _token_cross_entropy,
             "XLM-R-base encoder (12 x 768, 250k vocabulary), seq 256, MLM head"),
        Spec("gpt2", "transformer", lambda d, b: Decoder(50257, 1024, 768, 12, 12, d),
             _token_inputs(1024, 50257), _token_cross_entropy,
             "GPT-2 small decoder (12 x 768, tied head), seq 1024"),
        Spec("gpt2-xl", "transformer", lambda d, b: Decoder(50257, 1024, 1600, 25, 48, d),
             _token_inputs(1024, 50257), _token_cross_entropy,
             "GPT-2 XL decoder (48 x 1600, 25 heads, 1.56 B parameters), seq 1024"),
    ]
    return {s.name: s for s in specs}


_SPECS = None


def specs():
    global _SPECS
    if _SPECS is None:
        _SPECS = _specs()
    return _SPECS


def names():
    return [f"{s.family}:{s.name}" for s in specs().values()]


FAMILIES = ("torchvision", "transformer")
USER_MODEL_HELP = ("MODULE:CALLABLE names your own model: CALLABLE, in an importable Python "
                   "module, is a tensorplan.zoo.Spec or a function of the batch size returning "
                   "one or returning (model, inputs, targets[, loss_fn])")


def _user_spec(name):
    """The Spec of 'MODULE:CALLABLE' (or 'py:MODULE:CALLABLE'), a user's own model."""
    import importlib
    module, _, attr = (name[3:] if name.startswith("py:") else name).partition(":")
    if not module or not attr:
        raise ZooError(f"'{name}' is not MODULE:CALLABLE. {USER_MODEL_HELP}")
    try:
        obj = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as e:
        raise ZooError(f"cannot load model '{name}': {e}. {USER_MODEL_HELP}") from None
    if isinstance(obj, Spec):
        return obj
    if not callable(obj):
        raise ZooError(f"'{name}' is neither a tensorplan.zoo.Spec nor callable. "
                       f"{USER_MODEL_HELP}")
    stem = attr.lower().replace("_", "-")

    def made(batch):
        try:
            return obj(batch)
        except TypeError:
            return obj()        # a function without arguments (a Spec factory)

    probe = made(1)
    if isinstance(probe, Spec):
        return probe
    if isinstance(probe, tuple) and len(probe) in (3, 4):
        def build(device, batch):
            model = made(batch)[0]
            return model.to(device) if device != "cpu" else model

        def inputs(batch, device):
            _, x, y, *_ = made(batch)
            as_tuple = lambda v: tuple(v) if isinstance(v, (list, tuple)) else (v,)
            return (tuple(t.to(device) for t in as_tuple(x)),
                    tuple(t.to(device) for t in as_tuple(y)))
        loss = probe[3] if len(probe) == 4 else None
        return Spec(stem, "user", build, inputs, loss, f"{name} (a user's model)")
    raise ZooError(f"'{name}' returned a {type(probe).__name__}. {USER_MODEL_HELP}")


def get(name):
    """The Spec for 'family:name' (any torchvision.models builder, or a transformer of the
    zoo), a bare zoo name, or 'MODULE:CALLABLE' (a user's own model)."""
    family, _, bare = name.partition(":")
    if not _ and name in specs():
        return specs()[name]
    if family == "torchvision":
        spec = specs().get(bare)
        if spec is not None and spec.family == "torchvision":
            return spec
        spec = _torchvision_any(bare)
        if spec is not None:
            return spec
        raise ZooError(f"unknown model '{name}': torchvision.models has no builder '{bare}'")
    if family == "transformer":
        spec = specs().get(bare)
        if spec is not None and spec.family == "transformer":
            return spec
        raise ZooError(f"unknown model '{name}' (transformers: "
                       f"{', '.join(n for n in names() if n.startswith('transformer:'))})")
    if family == "py" or (_ and family not in FAMILIES):
        return _user_spec(name)
    raise ZooError(f"unknown model '{name}': use torchvision:NAME (any torchvision.models "
                   f"builder), a zoo name ('list' prints them), or MODULE:CALLABLE "
                   f"({USER_MODEL_HELP})")


OPTIMIZERS = ("sgd", "adam", "adamw")


def optimizer_factory(kind, lr=None, momentum=None, weight_decay=None, foreach=None):
    """The zoo's optimizers: SGD (lr 0.01, momentum 0.9: one momentum buffer per parameter),
    Adam (lr 1e-3: two moments and a step counter per parameter) or AdamW (lr 1e-3, weight
    decay 0.01). lr, momentum (SGD only) and weight_decay replace the defaults."""
    settings = {}
    if lr is not None:
        settings["lr"] = lr
    if weight_decay is not None:
        settings["weight_decay"] = weight_decay
    if foreach is not None:
        settings["foreach"] = foreach
    if momentum is not None and kind != "sgd":
        raise ZooError(f"--momentum is an SGD setting, not {kind}'s")
    if kind == "sgd":
        settings = dict({"lr": 0.01, "momentum": 0.9 if momentum is None else momentum},
                        **settings)
        return lambda params: torch.optim.SGD(params, **settings)
    if kind == "adam":
        settings = dict({"lr": 1e-3}, **settings)
        return lambda params: torch.optim.Adam(params, **settings)
    if kind == "adamw":
        settings = dict({"lr": 1e-3}, **settings)
        return lambda params: torch.optim.AdamW(params, **settings)
    raise ZooError(f"unknown optimizer '{kind}' (expected one of {', '.join(OPTIMIZERS)})")


def graph_name(spec, batch, optimizer):
    return f"{spec.name}-b{batch}-{optimizer}"


def export(spec, batch, optimizer, *, gradients="keep", device="meta", replay=False,
           factory=None):
    """Exports the zoo model's training step at this batch size (traced on the meta device, or
    on a real one: then the model is built there and one step really runs)."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = spec.build(device, batch)
    inputs, targets = spec.inputs(batch, device)
    name = graph_name(spec, batch, optimizer)
    if gradients != "keep":
        name += f"-{gradients}"
    return trace.training_graph(model, inputs, spec.loss, factory or optimizer_factory(optimizer),
                                   targets=targets, name=name, device=device,
                                   gradients=gradients, replay=replay)
