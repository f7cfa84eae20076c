"""Column storage for a role's agents, so that a day's behaviour runs in bulk.

Every agent of klad-sim is a ``mesa.Agent`` held in the model's AgentSets, but
its state lives in one NumPy array per variable in its role's ``Roster``: the
role's daily verbs (``lay_stashes``, ``decide_orders`` ...) update all agents of
a role at once, which keeps a 10,000-buyer city fast. The agent objects are
*views*: an agent reads and writes its own row, and has one attribute per
field of its role's schema (``fields``, declared once on the agent class), so
a view is complete by construction.

A view is made when first asked for (``Roster.agents``, ``Roster.agent(row)``
and the model's ``agents`` and ``agents_by_type``), so a run that never looks at
agent objects (a sweep) does not pay for building some 30,000 of them.

Agents leave the market the same way in every role: a row whose state says it
has left (``departed``) loses its Mesa agent at the end of the day
(``Roster.tidy``), and once departed rows are many they are dropped from the
arrays (compaction), so that a day's cost follows the living market, not its
history. Each row keeps a ``uid`` for life: its identity in records, whatever
its row number becomes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import mesa
import numpy as np

#: Departed rows are dropped from the arrays once they are at least this many ...
COMPACT_MIN_ROWS = 1024
#: ... and at least this share of all rows; whether they are is looked at every this many days.
COMPACT_SHARE = 0.25
COMPACT_EVERY = 30


@dataclass(frozen=True)
class Field:
    """One state variable of a role: its array type, the value of a new row, and what it means.

    ``width`` makes a 2-D column: the name of the ``Params`` attribute that gives
    the number of values per agent.
    """

    dtype: Any
    default: Any
    doc: str
    width: str | None = None


class Column:
    """Descriptor that exposes one roster column as an agent attribute."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, agent: RosterAgent | None, owner: type) -> Any:
        if agent is None:
            return self
        value = getattr(agent.roster, self.name)[agent.row]
        return value.tolist() if isinstance(value, np.ndarray) else value.item()

    def __set__(self, agent: RosterAgent, value: Any) -> None:
        getattr(agent.roster, self.name)[agent.row] = value


class RosterAgent(mesa.Agent):
    """A Mesa agent whose state is one row of its role's roster: a view, with one attribute per field.

    Subclasses declare their role's schema as ``fields`` (name -> ``Field``);
    the attributes are made from it, so the view always shows every field.
    """

    fields: ClassVar[dict[str, Field]] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.fields = {"uid": Field(np.int64, -1, "identity for life (records use it)"), **cls.fields}
        for name in cls.fields:
            column = Column()
            column.__set_name__(cls, name)
            setattr(cls, name, column)

    def __init__(self, model: mesa.Model, roster: Roster, row: int):
        super().__init__(model)
        self.roster = roster
        self.row = row


class Roster:
    """One array per field of a role; row ``i`` is one agent, whose view is ``agent(i)``.

    A role's roster names its ``agent_class`` (whose ``fields`` are the
    columns) and how its agents leave: a ``gone_state`` of their ``state``
    column, or else an ``active`` column that turns false.

    Args:
        model: the model the agents belong to.
    """

    agent_class: ClassVar[type[RosterAgent]]
    gone_state: ClassVar[int | None] = None
    #: Whether departed rows are dropped from the arrays: for the roles of thousands (buyers, couriers). The
    #: few rows of shops and labs stay, so that a sum over them adds the same numbers in the same order.
    compacts = False
    #: The ``justice.Role`` whose cases name rows of this roster: the day of justice hands it their outcomes
    #: (``return_from_justice``, ``imprison``). None for a role whose cases name no row (operators, chemists).
    role: ClassVar[int | None] = None

    def __init__(self, model: mesa.Model):
        self.model = model
        agent_class = self.agent_class
        self._widths = {name: (getattr(model.p, f.width),) if f.width else () for name, f in agent_class.fields.items()}
        self._rows = 0
        self._days = 0  # tidy() calls: one a day
        self._next_uid = 0
        self._views: dict[int, RosterAgent] = {}  # row -> its Mesa agent, for the rows asked for
        self._viewed = 0  # rows below this have their view made, unless departed
        self._buffers: dict[str, np.ndarray] = {}  # spare capacity behind each column, so adding rows is cheap
        for name, field in agent_class.fields.items():
            setattr(self, name, np.zeros((0, *self._widths[name]), dtype=field.dtype))

    if TYPE_CHECKING:

        def __getattr__(self, name: str) -> np.ndarray:
            """A column of the role's schema (``shops.visibility``): an array, set in ``__init__`` from ``fields``."""
            ...

        def __setattr__(self, name: str, value: np.ndarray) -> None:
            """A column of the role's schema set whole (``self.stock += grams``)."""
            ...

    def __len__(self) -> int:
        return self._rows

    def departed(self) -> np.ndarray:
        """Mask of the rows whose agents have left the market."""
        if self.gone_state is not None:
            return self.state == self.gone_state
        return ~self.active

    # ---------------------------------------------------------------- views
    @property
    def agents(self) -> list[RosterAgent]:
        """The Mesa agents of the rows still in the market, in row order; views of new rows are made now."""
        self._make_views()
        return [self._views[row] for row in sorted(self._views)]

    def agent(self, row: int) -> RosterAgent:
        """The Mesa agent of one row (made now if needed)."""
        self._make_views()
        if row not in self._views:
            raise KeyError(f"{self.agent_class.__name__} row {row} has left the market")
        return self._views[row]

    def _make_views(self) -> None:
        if self._viewed == self._rows:
            return
        departed = self.departed()
        for row in range(self._viewed, self._rows):
            if not departed[row]:
                self._views[row] = self.agent_class(self.model, self, row)
        self._viewed = self._rows

    # ------------------------------------------------------------ new rows
    def add(self, n: int, **values: Any) -> np.ndarray:
        """Append ``n`` agents with the given column values (scalars or arrays); return their rows."""
        start = self._rows
        values["uid"] = np.arange(self._next_uid, self._next_uid + n)
        self._next_uid += n
        for name, field in self.agent_class.fields.items():
            value = values.pop(name, field.default)
            width = self._widths[name]
            column, buffer = getattr(self, name), self._buffers.get(name)
            # A column is a view of the first rows of its buffer; grow the buffer geometrically when full,
            # and copy the column in if a verb replaced it by a new array.
            if buffer is None or len(buffer) < start + n or column.base is not buffer:
                buffer = np.empty((max(64, 2 * (start + n)), *width), dtype=field.dtype)
                buffer[:start] = column
                self._buffers[name] = buffer
            buffer[start : start + n] = value
            setattr(self, name, buffer[: start + n])
        if values:
            raise KeyError(f"unknown {self.agent_class.__name__} fields: {sorted(values)}")
        self._rows = start + n
        return np.arange(start, start + n)

    # ------------------------------------------------------------- leaving
    def tidy(self) -> np.ndarray | None:
        """End of day: departed agents leave Mesa's AgentSets; many departed rows leave the arrays.

        Returns:
            ``None`` if the rows stay as they are, else the new row of every old
            row (-1 for a dropped one), for whoever refers to rows of this roster.
        """
        self._days += 1
        look = self.compacts and self._days % COMPACT_EVERY == 0
        if not (self._views or look):
            return None
        departed = self.departed()
        for row in [row for row in self._views if departed[row]]:
            self._views.pop(row).remove()
        gone = int(np.count_nonzero(departed)) if look else 0
        if gone == 0 or gone < COMPACT_MIN_ROWS or gone < COMPACT_SHARE * self._rows:
            return None
        return self._compact(~departed)

    def _compact(self, keep: np.ndarray) -> np.ndarray:
        """Keep only the ``keep`` rows, in order; return old row -> new row (-1: dropped)."""
        remap = np.full(self._rows + 1, -1, dtype=np.int64)  # the extra last slot maps -1 (no row) to -1
        kept = np.flatnonzero(keep)
        remap[kept] = np.arange(len(kept))
        for name in self.agent_class.fields:
            setattr(self, name, getattr(self, name)[kept])  # a copy: the next add() makes a new buffer
        self._rows = len(kept)
        views = {}
        for row, view in self._views.items():
            view.row = int(remap[row])
            views[view.row] = view
        self._views = views
        self._viewed = int(remap[: self._viewed].max(initial=-1)) + 1
        return remap
