"""Models the exporter must refuse with one clear message (used through the CLI as
`py:untraceable_models:<name>`)."""

import torch
from torch import nn

from tensorplan.zoo import Spec


class Gate(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(8, 8)

    def forward(self, x):
        h = self.proj(x)
        if h.mean() > 0:                     # data-dependent control flow
            h = torch.relu(h)
        return h


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.gate = Gate()
        self.out = nn.Linear(8, 2)

    def forward(self, x):
        return self.out(self.gate(x))


def _inputs(batch, device):
    return ((torch.zeros(batch, 8, device=device),),
            (torch.zeros(batch, dtype=torch.long, device=device),))


data_dependent = Spec("data-dependent", "test", lambda device, batch: Net().to(device), _inputs,
                      torch.nn.functional.cross_entropy)
