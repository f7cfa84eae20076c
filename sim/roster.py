"""Column storage for a role's agents, so that a day's behaviour runs in bulk.

Every agent of klad-sim is a ``mesa.Agent`` held in the model's AgentSets, but
its state lives in one NumPy array per variable in its role's ``Roster``; the
agent object reads and writes its own row through ``Column`` descriptors. The
roles' daily verbs (``lay_stashes``, ``decide_orders`` …) then update all agents
of a role at once, which keeps a 10,000-buyer city fast.
"""

from __future__ import annotations

from typing import Any

import mesa
import numpy as np


class Roster:
    """One array per state variable of a role; row ``i`` belongs to ``agents[i]``.

    Args:
        model: the model the agents belong to.
        agent_class: the ``RosterAgent`` subclass created for each new row.
        fields: variable name -> (dtype, default value).
    """

    def __init__(self, model: mesa.Model, agent_class: type[RosterAgent], fields: dict[str, tuple]):
        self.model = model
        self.agent_class = agent_class
        self.fields = fields
        self.agents: list[RosterAgent] = []
        self._buffers: dict[str, np.ndarray] = {}  # spare capacity behind each column, so adding rows is cheap
        for name, (dtype, _) in fields.items():
            setattr(self, name, np.zeros(0, dtype=dtype))

    def __len__(self) -> int:
        return len(self.agents)

    def add(self, n: int, **values: Any) -> np.ndarray:
        """Append ``n`` agents with the given column values (scalars or arrays); return their rows."""
        start = len(self.agents)
        for name, (dtype, default) in self.fields.items():
            value = values.pop(name, default)
            column, buffer = getattr(self, name), self._buffers.get(name)
            # A column is a view of the first rows of its buffer; grow the buffer geometrically when full,
            # and copy the column in if a verb replaced it by a new array.
            if buffer is None or len(buffer) < start + n or column.base is not buffer:
                buffer = np.empty(max(64, 2 * (start + n)), dtype=dtype)
                buffer[:start] = column
                self._buffers[name] = buffer
            buffer[start : start + n] = value
            setattr(self, name, buffer[: start + n])
        if values:
            raise KeyError(f"unknown {self.agent_class.__name__} fields: {sorted(values)}")
        rows = np.arange(start, start + n)
        for i in rows:
            self.agents.append(self.agent_class(self.model, self, int(i)))
        return rows


    def learn_from_peers(self, rows: np.ndarray, arrest_rate: float) -> None:
        """Move each agent's ``perceived_risk`` towards the arrest share it saw among its peers.

        Each agent observes ``peers_observed`` peers, each arrested today with
        the true ``arrest_rate``; perceived risk moves ``learning_rate`` of the
        way to the observed share. Certainty is thus learned, never read.
        """
        p, rng = self.model.p, self.model.rng
        k = p["peers_observed"]
        seen = rng.binomial(k, min(1.0, arrest_rate), len(rows)) / k
        self.perceived_risk[rows] += p["learning_rate"] * (seen - self.perceived_risk[rows])


class Column:
    """Descriptor that exposes one roster column as an agent attribute."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, agent: RosterAgent | None, owner: type) -> Any:
        if agent is None:
            return self
        return getattr(agent.roster, self.name)[agent.row].item()

    def __set__(self, agent: RosterAgent, value: Any) -> None:
        getattr(agent.roster, self.name)[agent.row] = value


class RosterAgent(mesa.Agent):
    """A Mesa agent whose state is one row of its role's roster."""

    def __init__(self, model: mesa.Model, roster: Roster, row: int):
        super().__init__(model)
        self.roster = roster
        self.row = row
