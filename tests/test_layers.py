"""The package's layers: imports only go downwards (app -> reporting -> experiments -> model -> io -> params).

The bottom layer is the registry of parameters (``sim/params.py``, with the fields of ``Params`` generated from it
in ``sim/params_fields.py``) and the declaration of timed events
(``sim/timeline.py``): what a scenario may set.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SIM = Path(__file__).resolve().parent.parent / "sim"
#: Each layer may import its own and the layers after it in this list.
LAYERS = ("app", "reporting", "experiments", "model", "io", "params")


def layer(module: str) -> str | None:
    """The layer of a module ``sim.x.y`` (None for the package's face, ``sim`` and ``sim.__main__``)."""
    parts = module.split(".")
    if len(parts) < 2 or parts[1] in ("__init__", "__main__"):
        return None
    return "params" if parts[1] in ("params", "params_fields", "timeline") else parts[1]


def imports(path: Path) -> set[str]:
    """The ``sim`` modules a file imports, anywhere in it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sim"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("sim"))
    return found


def type_checking_imports(path: Path) -> set[str]:
    """The ``sim`` modules a file imports only under ``if TYPE_CHECKING:``."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            for inner in node.body:
                if isinstance(inner, ast.ImportFrom) and inner.module and inner.module.startswith("sim"):
                    found.add(inner.module)
    return found


MODULES = sorted(p for p in SIM.rglob("*.py") if p.name not in ("__init__.py", "__main__.py") or p.parent != SIM)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SIM)))
def test_imports_only_go_downwards(path):
    module = "sim." + ".".join(path.relative_to(SIM).with_suffix("").parts)
    mine = layer(module)
    assert mine in LAYERS, f"{module} is in no layer"
    upward = [m for m in imports(path) if layer(m) is not None and LAYERS.index(layer(m)) < LAYERS.index(mine)]
    assert not upward, f"{module} ({mine}) imports from a higher layer: {upward}"


def test_every_layer_is_a_subpackage():
    assert {p.name for p in SIM.iterdir() if p.is_dir() and (p / "__init__.py").exists()} == set(LAYERS) - {"params"}


def test_no_module_imports_itself_through_others():
    """No import cycle between the package's modules, counting the imports made inside functions.

    Imports under ``if TYPE_CHECKING:`` are left out: they name a type for the type checker and never run.
    """
    graph = {}
    for path in SIM.rglob("*.py"):
        parts = path.relative_to(SIM).with_suffix("").parts
        module = ".".join(("sim", *parts[:-1])) if parts[-1] == "__init__" else ".".join(("sim", *parts))
        graph[module] = {m for m in imports(path) if m != module} - type_checking_imports(path)
    graph = {m: {i for i in found if i in graph} for m, found in graph.items()}

    def reaches(start, goal, seen):
        for nxt in graph[start]:
            if nxt == goal:
                return True
            if nxt not in seen:
                seen.add(nxt)
                if reaches(nxt, goal, seen):
                    return True
        return False

    cycles = sorted(m for m in graph if reaches(m, m, set()))
    assert not cycles, f"modules in an import cycle: {cycles}"


#: The project's rule: a function reads as a few named steps, in at most 80 lines (from ``def``, docstring included).
LONGEST_FUNCTION = 80


def test_no_function_is_longer_than_80_lines():
    """Every function and method in ``sim/``, nested ones too, counted from its ``def`` line to its last."""
    long = []
    for path in sorted(SIM.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > LONGEST_FUNCTION:
                    long.append(f"{path.relative_to(SIM.parent)}:{node.lineno} {node.name} ({lines} lines)")
    assert not long, f"functions over {LONGEST_FUNCTION} lines (split them into named steps): {long}"


#: The model's parts that own state, by the attribute the market and the verbs reach them through, and the
#: module that owns each. A part changes another's state only through that part's methods.
OWNERS = {
    "buyers": "roles/buyers.py", "couriers": "roles/couriers.py", "shops": "roles/shops.py", "labs": "roles/labs.py",
    "police": "roles/police.py", "city": "world/city.py", "stashes": "world/stashes.py",
    "justice": "world/justice.py", "beliefs": "deterrence.py",
}  # fmt: skip


def _written_owner(target: ast.expr) -> str | None:
    """The part whose attribute an assignment target writes (``m.shops.leads[i]``: shops), if it names one."""
    while isinstance(target, ast.Subscript):
        target = target.value
    if not isinstance(target, ast.Attribute):
        return None
    base = target.value
    return base.id if isinstance(base, ast.Name) else base.attr if isinstance(base, ast.Attribute) else None


def test_each_part_of_the_model_writes_only_its_own_state():
    """No verb of one role assigns to another role's arrays (``m.shops.leads += ...``): it calls the owner."""
    wrong = []
    for path in sorted((SIM / "model").rglob("*.py")):
        own = path.relative_to(SIM / "model").as_posix()
        for node in ast.walk(ast.parse(path.read_text())):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
                node, ast.AugAssign) else []  # fmt: skip
            for target in targets:
                for one in target.elts if isinstance(target, ast.Tuple) else [target]:
                    owner = _written_owner(one)
                    if owner in OWNERS and OWNERS[owner] != own:
                        wrong.append(f"{own}:{node.lineno} writes {ast.unparse(one)}")
    assert not wrong, wrong
