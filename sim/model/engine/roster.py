"""Column storage for a role's agents, so that a day's behaviour runs in bulk.

Every agent of klad-sim is a ``mesa.Agent`` held in the model's AgentSets, but
its state lives in one NumPy array per variable in its role's ``Roster``; the
agent object reads and writes its own row through ``Column`` descriptors. The
roles' daily verbs (``lay_stashes``, ``decide_orders`` …) then update all agents
of a role at once, which keeps a 10,000-buyer city fast.

Since the arrays are the state, an agent's object is only a view of its row, and
it is made when first asked for: ``Roster.agents``, and the model's ``agents``
and ``agents_by_type``, create the objects of the rows added since they were
last asked. A run that never looks at agent objects (a sweep) does not pay for
building some 30,000 of them.
"""

from __future__ import annotations

from typing import Any

import mesa
import numpy as np

from sim.model.engine import kernels


class Roster:
    """One array per state variable of a role; row ``i`` belongs to ``agents[i]``.

    Args:
        model: the model the agents belong to.
        agent_class: the ``RosterAgent`` subclass created for each new row.
        fields: variable name -> (dtype, default value), or (dtype, default
            value, width) for a column of ``width`` values per agent.
    """

    def __init__(self, model: mesa.Model, agent_class: type[RosterAgent], fields: dict[str, tuple]):
        self.model = model
        self.agent_class = agent_class
        self.fields = fields
        self._rows = 0
        self._agents: list[RosterAgent] = []  # the agent objects of rows 0 .. len(_agents) - 1
        self._buffers: dict[str, np.ndarray] = {}  # spare capacity behind each column, so adding rows is cheap
        for name, (dtype, _, *width) in fields.items():
            setattr(self, name, np.zeros((0, *width), dtype=dtype))

    def __len__(self) -> int:
        return self._rows

    @property
    def agents(self) -> list[RosterAgent]:
        """The Mesa agent of each row, ``agents[i]`` for row ``i``; new rows' agents are made now."""
        for row in range(len(self._agents), self._rows):
            self._agents.append(self.agent_class(self.model, self, row))
        return self._agents

    def add(self, n: int, **values: Any) -> np.ndarray:
        """Append ``n`` agents with the given column values (scalars or arrays); return their rows."""
        start = self._rows
        for name, (dtype, default, *width) in self.fields.items():
            value = values.pop(name, default)
            column, buffer = getattr(self, name), self._buffers.get(name)
            # A column is a view of the first rows of its buffer; grow the buffer geometrically when full,
            # and copy the column in if a verb replaced it by a new array.
            if buffer is None or len(buffer) < start + n or column.base is not buffer:
                buffer = np.empty((max(64, 2 * (start + n)), *width), dtype=dtype)
                buffer[:start] = column
                self._buffers[name] = buffer
            buffer[start : start + n] = value
            setattr(self, name, buffer[: start + n])
        if values:
            raise KeyError(f"unknown {self.agent_class.__name__} fields: {sorted(values)}")
        self._rows = start + n
        return np.arange(start, start + n)

    def learn_from_peers(self, learning: np.ndarray, arrest_rate: float) -> None:
        """Move each learning agent's ``perceived_risk`` towards the arrest share it saw among its peers.

        ``learning`` is a mask of the rows that learn today. Each of them
        observes ``peers_observed`` peers, each arrested today with the true
        ``arrest_rate``; perceived risk moves ``learning_rate`` of the way to
        the observed share. Certainty is thus learned, never read.
        """
        p = self.model.p
        rate = min(1.0, arrest_rate)
        uniforms = self.model.rng.random(np.count_nonzero(learning) if rate > 0 else 0)  # none needed at rate 0
        kernels.learn_from_peers(uniforms, learning, self.perceived_risk, p.peers_observed, rate, p.learning_rate)


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
