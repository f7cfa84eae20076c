"""How the model's rules are compiled.

A day of the 10,000-buyer city is a few dozen small array operations per role;
written as NumPy expressions, most of its time went on the overhead of each
operation, not on arithmetic. The busiest rules are therefore written as plain
loops over a role's arrays and compiled by Numba: each lives beside its role
(``sim.model.roles``) and *is* the rule, the one the model runs, the Python API
calls and the tests test. Their randomness comes in as arrays of uniforms drawn
by the caller from the model's generator (NumPy draws them faster than a
compiled loop would), so a run stays a function of its seed. Compiled code is
cached on disk (``cache=True``), so only the first run on a machine compiles it.
"""

from __future__ import annotations

import numba

#: Decorator of a compiled rule.
jit = numba.njit(cache=True, nogil=True)
#: Decorator of a small rule that other compiled rules call once per agent: compiled into each caller, so
#: that the call does not copy (and count references to) the arrays it is given on every agent.
inline = numba.njit(cache=True, nogil=True, inline="always")
