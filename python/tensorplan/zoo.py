"""The model zoo: the models of the OLLA/MODeL paper plus larger transformers, each with the
inputs, targets and loss of one training step.

Names: ``torchvision:<name>`` for torchvision models, ``transformer:<name>`` for transformers
built here from ``torch.nn`` modules; a bare name (``resnet50``, ``bert-base``) works too.
Transformers are built directly on the meta device (no memory, no initialisation), which makes
GPT-2 XL (1.56 B parameters) cheap to export.
"""

from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F


class ZooError(Exception):
    """Unknown model name or bad arguments."""


@dataclass
class Spec:
    name: str                           # file name stem, e.g. "resnet50"
    family: str                         # "torchvision" or "transformer"
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
                 **kwargs):
    """batch1: keyword arguments that replace kwargs at batch size 1."""
    def build(device, batch):
        import torchvision
        if frames:
            ctor = getattr(torchvision.models.video, name)
        else:
            ctor = getattr(torchvision.models, name)
        args = dict(kwargs, **(batch1 or {})) if batch == 1 else kwargs
        model = ctor(weights=None, **args)
        return model.to(device) if device != "cpu" else model
    return Spec(name, "torchvision", build, _image_inputs(size, frames=frames), loss, note)


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


def get(name):
    """The Spec for 'family:name', a bare name, or 'py:MODULE:ATTR' (a Spec, or a function
    returning one, defined in an importable Python module: a user's own model)."""
    if name.startswith("py:"):
        import importlib
        module, _, attr = name[3:].partition(":")
        try:
            obj = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as e:
            raise ZooError(f"cannot load model '{name}': {e}") from None
        spec = obj() if callable(obj) and not isinstance(obj, Spec) else obj
        if not isinstance(spec, Spec):
            raise ZooError(f"'{name}' is not a tensorplan.zoo.Spec")
        return spec
    family, _, bare = name.rpartition(":")
    spec = specs().get(bare)
    if spec is None or (family and family != spec.family):
        raise ZooError(f"unknown model '{name}' (known: {', '.join(names())})")
    return spec


def optimizer_factory(kind):
    """The zoo's optimizers: SGD (lr 0.01, momentum 0.9: one momentum buffer per parameter) or
    Adam (lr 1e-3: two moments and a step counter per parameter)."""
    if kind == "sgd":
        return lambda params: torch.optim.SGD(params, lr=0.01, momentum=0.9)
    if kind == "adam":
        return lambda params: torch.optim.Adam(params, lr=1e-3)
    raise ZooError(f"unknown optimizer '{kind}' (expected sgd or adam)")


def graph_name(spec, batch, optimizer):
    return f"{spec.name}-b{batch}-{optimizer}"


def export(spec, batch, optimizer):
    """Exports the zoo model's training step at this batch size (traced on the meta device)."""
    from . import export as exporter
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = spec.build("meta", batch)
    inputs, targets = spec.inputs(batch, "meta")
    return exporter.training_graph(model, inputs, spec.loss, optimizer_factory(optimizer),
                                   targets=targets, name=graph_name(spec, batch, optimizer))
