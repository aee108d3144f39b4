"""Models defined outside tensorplan, named on the command line as MODULE:CALLABLE."""

import torch
from torch import nn
from torch.nn import functional as F


def tiny_mlp(batch):
    """(model, inputs, targets, loss_fn) of a two-layer perceptron with dropout."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 4))
    return model, torch.zeros(batch, 16), torch.zeros(batch, dtype=torch.long), F.cross_entropy


def not_a_model(batch):
    return "nothing"
