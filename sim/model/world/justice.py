"""From arrest to prison and back: forensic delay, absconding, conviction, release.

Synthetics need a forensic examination of about a month, and without it no
"arrest" measure can be applied, so suspects wait at large and some abscond
(108 on the wanted list) [001 L101-103]. A case with a forensic result ends in
conviction with ``conviction_probability``; a convicted person is incapacitated
for the part of the sentence served before parole (``time_served_share``
[001 L174]), or less after an amnesty, and then released. At day 0 the prisons
already hold the couriers convicted in the years before (``prison_fill``), so
releases flow from the first day and the prison population starts at its
stock-flow level.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import numpy as np

from sim.model.world.sanctions import OFFENCES, Offence, draw_sentences
from sim.params import Params


class Role(IntEnum):
    """Whom a case is against."""

    BUYER = 0
    COURIER = 1
    OPERATOR = 2
    LAB = 3


ROLE_NAMES = tuple(role.name.lower() for role in Role)


class CaseState(IntEnum):
    """Where a case stands."""

    PENDING = 0  # waiting for the forensic result, suspect at large
    PRISON = 1  # convicted, serving the sentence
    CLOSED = 2  # acquitted, absconded, or the sentence served


@dataclass
class Outcome:
    """What the justice system did today, by role."""

    convicted: np.ndarray = field(default_factory=lambda: np.zeros(len(Role), dtype=np.int64))
    not_convicted: int = 0  # cases closed today without conviction (acquitted or absconded), all roles
    absconded: int = 0  # suspects of any role who fled today
    absconded_rows: dict[int, np.ndarray] = field(default_factory=dict)
    acquitted_rows: dict[int, np.ndarray] = field(default_factory=dict)
    released_rows: dict[int, np.ndarray] = field(default_factory=dict)
    convicted_rows: dict[int, np.ndarray] = field(default_factory=dict)

    @property
    def decided(self) -> int:
        """Cases decided today (convicted, acquitted or absconded): what agents learn the chance of conviction from."""
        return int(self.convicted.sum()) + self.not_convicted


def served_days(years: np.ndarray, share: float) -> np.ndarray:
    """Days actually served of sentences of ``years``: the share served before parole, at least a day."""
    return np.maximum(1, np.round(years * share * 365.0)).astype(np.int64)


class Justice:
    """The ledger of open cases: one row per arrested person.

    Args:
        model: the market whose people the cases are against (``administer`` tells its rosters the outcomes).
    """

    def __init__(self, model: Any = None):
        self.model = model
        self.role = np.zeros(0, dtype=np.int8)
        self.person = np.zeros(0, dtype=np.int64)  # row in the role's roster, -1 if none
        self.code = np.zeros(0, dtype=np.int8)  # the offence, an ``Offence``
        self.due = np.zeros(0, dtype=np.int64)  # day the forensic result arrives
        self.release = np.zeros(0, dtype=np.int64)
        self.state = np.zeros(0, dtype=np.int8)
        self.wanted = 0  # suspects who absconded before their forensic result, to date

    def open_cases(
        self, role: Role, persons: np.ndarray, offences: np.ndarray | Offence, today: int, delay: int
    ) -> None:
        """Open a case for each arrested person; the forensic result is due after ``delay`` days.

        ``offences`` is one ``Offence`` for all, or one per person.
        """
        n = len(persons)
        if n == 0:
            return
        codes = np.broadcast_to(np.asarray(offences, dtype=np.int8), (n,))
        self.role = np.concatenate([self.role, np.full(n, role, dtype=np.int8)])
        self.person = np.concatenate([self.person, np.asarray(persons, dtype=np.int64)])
        self.code = np.concatenate([self.code, codes])
        self.due = np.concatenate([self.due, np.full(n, today + delay, dtype=np.int64)])
        self.release = np.concatenate([self.release, np.full(n, -1, dtype=np.int64)])
        self.state = np.concatenate([self.state, np.zeros(n, dtype=np.int8)])

    @property
    def offence(self) -> np.ndarray:
        """Each case's offence by name, a key of ``sanctions.SANCTIONS``."""
        return np.asarray(OFFENCES)[self.code]

    def imprison_at_start(self, role: Role, persons: np.ndarray, release: np.ndarray, codes: np.ndarray) -> None:
        """Day 0: people already serving sentences (for ``codes``, ``Offence`` codes), released on ``release``."""
        n = len(persons)
        self.role = np.concatenate([self.role, np.full(n, role, dtype=np.int8)])
        self.person = np.concatenate([self.person, np.asarray(persons, dtype=np.int64)])
        self.code = np.concatenate([self.code, np.asarray(codes, dtype=np.int8)])
        self.due = np.concatenate([self.due, np.zeros(n, dtype=np.int64)])
        self.release = np.concatenate([self.release, np.asarray(release, dtype=np.int64)])
        self.state = np.concatenate([self.state, np.full(n, CaseState.PRISON, dtype=np.int8)])

    def renumber(self, role: Role, remap: np.ndarray) -> None:
        """The people of ``role`` have new roster rows (``Roster.tidy``'s map; -1 stays -1)."""
        mine = self.role == role
        self.person[mine] = remap[self.person[mine]]

    def prisoners(self) -> np.ndarray:
        """People in prison now, by role."""
        return np.bincount(self.role[self.state == CaseState.PRISON], minlength=len(Role))

    def pending(self) -> int:
        """Suspects waiting for a forensic result."""
        return int((self.state == CaseState.PENDING).sum())

    def advance(self, today: int, p: Params, rng: np.random.Generator) -> Outcome:
        """Run one day of the justice system and report what changed."""
        out = Outcome()
        pending = np.flatnonzero(self.state == CaseState.PENDING)
        # Suspects at large while their forensic result is still pending may abscond.
        waiting = pending[self.due[pending] > today]
        flee = waiting[rng.random(len(waiting)) < p.abscond_rate]
        self.state[flee] = CaseState.CLOSED
        due = pending[(self.due[pending] <= today) & (self.state[pending] == CaseState.PENDING)]
        convict = rng.random(len(due)) < p.conviction_probability
        guilty, acquitted = due[convict], due[~convict]
        self.state[acquitted] = CaseState.CLOSED
        for code in np.unique(self.code[guilty]):  # in code order: the draw order is fixed
            rows = guilty[self.code[guilty] == code]
            years = draw_sentences(rng, p, Offence(code), len(rows))
            self.release[rows] = today + served_days(years, p.time_served_share)
        self.state[guilty] = CaseState.PRISON
        # An amnesty frees some prisoners early (none, by default: see amnesty_rate).
        if p.amnesty_rate > 0:
            held = np.flatnonzero(self.state == CaseState.PRISON)
            pardoned = held[rng.random(len(held)) < p.amnesty_rate / 365.0]
            self.release[pardoned] = today
        out.convicted = np.bincount(self.role[guilty], minlength=len(Role))
        out.not_convicted = len(acquitted) + len(flee)
        out.absconded = len(flee)
        self.wanted += out.absconded
        freed = np.flatnonzero((self.state == CaseState.PRISON) & (self.release <= today))
        self.state[freed] = CaseState.CLOSED
        for role in Role:
            out.absconded_rows[role] = self.person[flee[self.role[flee] == role]]
            out.acquitted_rows[role] = self.person[acquitted[self.role[acquitted] == role]]
            out.released_rows[role] = self.person[freed[self.role[freed] == role]]
            out.convicted_rows[role] = self.person[guilty[self.role[guilty] == role]]
        self._forget_closed()
        return out

    def administer(self) -> Outcome:
        """The model's day of justice (``advance``): each roster with a ``role`` (couriers, buyers) hears its cases.

        A roster's ``return_from_justice(acquitted, released, absconded)``
        takes back those set free, and its ``imprison(convicted)`` those
        convicted. The day's convictions go into the day's metrics.
        """
        m = self.model
        out = self.advance(m.day, m.p, m.stream("justice"))
        for roster in m.rosters():
            if roster.role is None:
                continue
            role = roster.role
            roster.return_from_justice(out.acquitted_rows[role], out.released_rows[role], out.absconded_rows[role])
            roster.imprison(out.convicted_rows[role])
        m.today.convictions = int(out.convicted.sum())
        m.today.set_by_role("convictions", out.convicted)
        return out

    def _forget_closed(self) -> None:
        if (self.state == CaseState.CLOSED).sum() > 256:
            keep = self.state != CaseState.CLOSED
            for name in ("role", "person", "code", "due", "release", "state"):
                setattr(self, name, getattr(self, name)[keep])
