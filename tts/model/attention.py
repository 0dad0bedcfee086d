"""Location-sensitive attention (Chorowski et al. 2015), as used by Tacotron 2 and Coqui's Tacotron.

At every decoder step a small network scores each encoder state against the decoder's query and
against convolved features of where attention already went (previous and cumulative weights); a
softmax over real symbols turns the scores into weights, whose weighted sum is the context vector.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class LocationSensitiveAttention(nn.Module):
    """Additive attention with location features; stateless (weights are passed in and out)."""

    def __init__(
        self,
        query_dim: int,
        memory_dim: int,
        attention_dim: int,
        location_filters: int,
        location_kernel_size: int,
    ) -> None:
        super().__init__()
        self.query_layer = nn.Linear(query_dim, attention_dim, bias=False)
        self.memory_layer = nn.Linear(memory_dim, attention_dim, bias=False)
        self.location_conv = nn.Conv1d(
            2, location_filters, location_kernel_size,
            padding=(location_kernel_size - 1) // 2, bias=False,
        )
        self.location_layer = nn.Linear(location_filters, attention_dim, bias=False)
        self.score = nn.Linear(attention_dim, 1, bias=True)

    def process_memory(self, memory: torch.Tensor) -> torch.Tensor:
        """Project encoder outputs once per utterance. [B, T_text, memory_dim] -> [B, T_text, attention_dim]."""
        return self.memory_layer(memory)

    def forward(
        self,
        query: torch.Tensor,
        memory: torch.Tensor,
        processed_memory: torch.Tensor,
        previous_weights: torch.Tensor,
        cumulative_weights: torch.Tensor,
        mask: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One attention step.

        query [B, query_dim], memory [B, T_text, memory_dim], processed_memory [B, T_text, attention_dim],
        previous/cumulative weights [B, T_text], mask [B, T_text] (True at real symbols)
        -> (context [B, memory_dim], weights [B, T_text]).
        """
        location = torch.stack((previous_weights, cumulative_weights), dim=1)  # [B, 2, T_text]
        location = self.location_conv(location).transpose(1, 2)  # [B, T_text, filters]
        energies = self.score(torch.tanh(
            self.query_layer(query).unsqueeze(1) + processed_memory + self.location_layer(location)
        )).squeeze(2)  # [B, T_text]
        energies = energies.masked_fill(~mask, torch.finfo(energies.dtype).min)
        weights = F.softmax(energies, dim=1)
        context = torch.bmm(weights.unsqueeze(1), memory).squeeze(1)  # [B, memory_dim]
        return context, weights
