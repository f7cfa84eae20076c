"""Fuzz: malformed scenario and experiment files end in exit 2, one line on stderr, no traceback, nothing written.

``cases()`` makes the same cases from ``SEED`` every time: each category of
mistake (wrong types, bad bounds, broken files, ``extends`` gone wrong, too
large a sweep or city ...) with values drawn at random. Each case runs the
``klad`` entry point in this process (``klad run`` for a scenario, ``klad
sweep`` for an experiment), which is what keeps 200-odd cases fast.
"""

from __future__ import annotations

import json
import math
import os
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sim.app.start import main
from sim.experiments.execute import available_memory
from sim.experiments.replications import run_memory
from sim.io.config import MAX_EXTENDS, MAX_FILE_BYTES
from sim.params import REGISTRY, SHARES

SEED = 17
DATA = Path(__file__).resolve().parent / "data"

SCENARIO = {"name": "fuzz", "params": {"n_buyers": 600, "n_shops": 2, "n_couriers": 16, "n_labs": 1}}
EXPERIMENT = {
    "name": "fuzz sweep", "design": "latin", "samples": 4, "days": 20, "window": 10, "burn_in": 0, "force": True,
    "outputs": ["grams_sold"], "uncertainties": {"price_elasticity": [0.3, 1.0]},
    "levers": {"severity_multiplier": [0.5, 2.0]}, "fixed": {"n_buyers": 500, "n_shops": 2, "n_labs": 1},
}  # fmt: skip


@dataclass
class Case:
    """One malformed input: its category, the command's kind, the files (name -> text or bytes) and extras."""

    category: str
    kind: str  # "scenario" (klad run) or "experiment" (klad sweep)
    files: dict[str, str | bytes]
    special: dict[str, str] = field(default_factory=dict)  # name -> "folder", "fifo", "broken link", "device"
    target: str = "main.toml"  # the file named on the command line


# ------------------------------------------------------------------ TOML
def value(v) -> str:
    """A Python value as TOML."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # a TOML basic string (\\uXXXX escapes are TOML too)
    if isinstance(v, list):
        return "[" + ", ".join(value(x) for x in v) + "]"
    return "{ " + ", ".join(f"{json.dumps(k)} = {value(x)}" for k, x in v.items()) + " }"


def toml(data: dict) -> str:
    """A file: plain keys first, then one [table] per dict and [[name]] per list of dicts."""
    lines, tables = [], []
    for k, v in data.items():
        if isinstance(v, dict):
            tables += [f"[{k}]", *(f"{json.dumps(a)} = {value(b)}" for a, b in v.items())]
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            for item in v:
                tables += [f"[[{k}]]", *(f"{json.dumps(a)} = {value(b)}" for a, b in item.items())]
        else:
            lines.append(f"{json.dumps(k)} = {value(v)}")
    return "\n".join([*lines, *tables]) + "\n"


def edited(base: dict, **changes) -> dict:
    """``base`` with top-level keys changed (a value of ``...`` removes the key)."""
    out = json.loads(json.dumps(base))
    for k, v in changes.items():
        if v is ...:
            out.pop(k, None)
        else:
            out[k] = v
    return out


# ------------------------------------------------------------------ values
def junk(rng: random.Random):
    """A value of a random wrong kind."""
    return rng.choice([5, -3, 1.5, True, "text", "", [1, 2], ["a"], {"a": 1}, float("nan"), float("inf"), [], {}])


def bad_param_value(rng: random.Random, name: str):
    """A value that the parameter ``name`` does not allow."""
    p = REGISTRY[name]
    if p.type is bool:
        return rng.choice([1, 0, "true", "yes", 1.0, [True]])
    if p.type is str:
        return rng.choice(["nonsense", 5, True, "", [p.default]])
    options = ["many", True, float("nan"), float("inf"), -float("inf"), [p.low], {"v": 1}]
    if p.high is not None:
        options.append(p.high * 10 + 1)
    if p.low is not None:
        options.append(p.low - 1 if p.low > 0 or p.type is int else -abs(p.high) - 1)
    if p.type is int:
        options.append(p.low + 0.5)
    return rng.choice(options)


def garbage_toml(rng: random.Random) -> str:
    pieces = ["[params", 'name = "unclosed', "= = =", "[params]\nn_buyers = 1\nn_buyers = 2", "a.b = 1\na = 2",
              "[[events]\nday = 1", "x = [1, 2", "key = 1 2", "\"\" = ", "[a]\n[a]", "name = 'x' # \n = 1",
              "n = 0x", "d = 1979-13-45", "s = \"\\q\"", "[params.]", "t = {a = 1,}"]  # fmt: skip
    return rng.choice(pieces) + "\n" + "".join(rng.choice("[]=\"'{},.#\n abc123") for _ in range(rng.randint(0, 30)))


# ------------------------------------------------------------------ scenario cases
def scenario_cases(rng: random.Random) -> list[Case]:
    cases: list[Case] = []

    def add(category: str, data: dict | str | bytes, **extra) -> None:
        text = toml(data) if isinstance(data, dict) else data
        files = {"main.toml": text, **extra.pop("files", {})}
        cases.append(Case(category, "scenario", files, **extra))

    keys = {"name": [5, True, [1], {"a": 1}, "", "two\nlines", "x" * 300, "tab\there"],
            "description": [5, [], True, "x" * 20_000, "nul\u0000"],
            "extends": [5, True, [], {"a": 1}, ""], "window": ["x", -1, 0, 1.5, True, 10**6],
            "burn_in": [-1, "x", 2.5, 10**7], "record": ["shops", 5, ["x"], [1], {"a": 1}],
            "params": [5, "x", [1], True], "policy": [5, "x", [1]], "events": [5, "x", [1], {"day": 1}]}  # fmt: skip
    for key, values in keys.items():  # the first value of each is always in, then two at random
        for v in [values[0], *rng.sample(values[1:], 2)]:
            add("scenario: wrong type of a top-level key", edited(SCENARIO, **{key: v}))
    for _ in range(6):
        word = rng.choice(["colour", "param", "Params", "polciy", "seed", "days", "model", "extend"])
        add("scenario: unknown key", edited(SCENARIO, **{word: rng.choice([1, "x", {"a": 1}])}))
    for _ in range(4):
        word = rng.choice(["nb_buyers", "buyers", "N_buyers", "courier_wage", "severity", "shares"])
        add("scenario: unknown parameter", edited(SCENARIO, params={word: rng.choice([1, 0.5, "x"])}))
        lever_not = rng.choice([n for n, p in REGISTRY.items() if p.kind != "lever"])
        add("scenario: not a lever in [policy]", edited(SCENARIO, policy={lever_not: REGISTRY[lever_not].default}))
    for name in rng.sample(sorted(REGISTRY), 24):
        add("scenario: bad parameter value", edited(SCENARIO, params={name: bad_param_value(rng, name)}))
    for _ in range(4):
        low = rng.randint(11, 100)
        add("scenario: cross-parameter rule", edited(SCENARIO, params={"batch_min": low, "batch_max": low - 1}))
        shares = dict(zip(SHARES, [round(rng.uniform(0.3, 1.0), 2) for _ in SHARES], strict=True))
        shares[SHARES[0]] = 0.9
        add("scenario: cross-parameter rule", edited(SCENARIO, params=shares))
        policy = {SHARES[0]: 0.8, SHARES[1]: round(rng.uniform(0.25, 1.0), 2)}
        add("scenario: cross-parameter rule", edited(SCENARIO, policy=policy))
    for _ in range(10):
        add("scenario: TOML syntax", garbage_toml(rng))
    for _ in range(3):
        add("encoding: not UTF-8", bytes(rng.randrange(128, 256) for _ in range(40)))
    add("encoding: UTF-16", toml(SCENARIO).encode("utf-16"))
    add("encoding: NUL byte", b'name = "a\x00b"\n')
    add("encoding: BOM then garbage", b"\xef\xbb\xbf[params\n")
    add("encoding: BOM then a bad value", b"\xef\xbb\xbf" + toml(edited(SCENARIO, window="x")).encode())
    bad_events = [{"day": 1, "action": "explode"}, {"day": -1, "action": "crackdown"}, {"action": "crackdown"},
                  {"day": "x", "action": "raid_labs", "all": True}, {"day": 5, "action": "raid_labs", "all": True,
                  "largest": 2}, {"day": 5, "action": "arrest_wave", "couriers": 1.5}, {"day": 5, "action": "set",
                  "params": {"n_buyers": 5}}, {"day": 1e9, "action": "close_shops", "all": True},
                  {"day": 5, "action": "crackdown", "police_multiplier": float("nan"), "duration": 3}]  # fmt: skip
    for event in rng.sample(bad_events, 6):
        add("scenario: bad event", edited(SCENARIO, events=[event]))
    # extends gone wrong
    add("extends: a cycle", {"extends": "b.toml"}, files={"b.toml": toml({"extends": "main.toml"})})
    add("extends: itself", {"extends": "main.toml"})
    add("extends: a missing file", {"extends": "nowhere.toml"})
    add("extends: a NUL in the name", {"extends": "a\u0000b.toml"})
    add("extends: a name of 5,000 characters", {"extends": "x" * 4096})
    add("extends: a name of 5,000 characters", edited(SCENARIO, extends="y" * 5000))
    add("extends: a folder", {"extends": "folder"}, special={"folder": "folder"})
    add("extends: a named pipe", {"extends": "pipe"}, special={"pipe": "fifo"})
    add("extends: a device", {"extends": "/dev/zero"})
    add("extends: a broken link", {"extends": "link.toml"}, special={"link.toml": "broken link"})
    add("extends: a malformed file", {"extends": "b.toml"}, files={"b.toml": garbage_toml(rng)})
    add("extends: a file with a bad value", {"extends": "b.toml"}, files={"b.toml": toml({"window": "x"})})
    deep = MAX_EXTENDS + rng.randint(1, 20)
    add(
        "extends: a chain too deep",
        {"extends": "f1.toml"},
        files={f"f{i}.toml": toml({"extends": f"f{i + 1}.toml"}) for i in range(1, deep)} | {f"f{deep}.toml": ""},
    )
    add(
        "extends: a chain too deep",
        {"extends": "g1.toml"},
        files={f"g{i}.toml": toml({"extends": f"g{i + 1}.toml"}) for i in range(1, 1200)},
    )
    # the file itself
    big = MAX_FILE_BYTES + rng.randint(1, 4096)
    add("file: too large", toml(SCENARIO) + "#" * big)
    add("file: a huge name", toml(edited(SCENARIO, name="n" * (MAX_FILE_BYTES // 2))))
    for kind in ("folder", "fifo", "broken link"):
        cases.append(Case(f"file: a {kind}", "scenario", {}, special={"main.toml": kind}))
    cases.append(Case("file: missing", "scenario", {}))
    cases.append(Case("file: a device", "scenario", {}, target="/dev/zero"))
    city = {"n_buyers": 2_000_000, "candidate_pool": 1_000_000}
    if run_memory(city, 5)[0] > (available_memory() or math.inf):
        add("memory: a city too large for this machine", edited(SCENARIO, params=city))
    return cases


# ------------------------------------------------------------------ experiment cases
def experiment_cases(rng: random.Random) -> list[Case]:
    cases: list[Case] = []

    def add(category: str, data: dict | str | bytes) -> None:
        cases.append(Case(category, "experiment", {"main.toml": toml(data) if isinstance(data, dict) else data}))

    def varied(bounds, table="uncertainties", name="price_elasticity") -> dict:
        return edited(EXPERIMENT, **{table: {name: bounds}})

    bounds = [[1.0, 0.3], [0.5, 0.5], ["0.3", "1.0"], [float("nan"), 1.0], [0.3, float("inf")], [0.3, 0.6, 0.9],
              [0.3], 0.5, [True, False], [0.3, 9.0], [-1.0, 0.5], {"low": 0.3, "high": 1.0}, [], "0.3-1.0",
              [[0.3], [1.0]]]  # fmt: skip
    for b in bounds:
        add("experiment: bad bounds", varied(b))
    for b in rng.sample(bounds[:9], 5):
        add("experiment: bad bounds (another model)", edited(varied(b, name="x"), model="loud_model:model"))
    for table in ("uncertainties", "levers", "fixed", "groups"):
        for v in [5, [1, 2], *rng.sample(["x", True, 1.5], 2)]:
            add("experiment: a table of the wrong type", edited(EXPERIMENT, **{table: v}))
    sizes = [{"samples": 10**12}, {"samples": 0}, {"samples": -4}, {"replications": 10**9},
             {"design": "sobol", "samples": 2**19, "second_order": True}, {"days": 0}, {"days": 10**9},
             {"replications": 0}, {"chunk_size": 0}, {"seed": -1}, {"seed": 1.5}, {"seed": "x"},
             {"samples": 2**20, "replications": 2}]  # fmt: skip
    for change in sizes:
        add("experiment: size out of range", edited(EXPERIMENT, **change))
    designs = [{"design": "fast", "samples": 8}, {"design": "fast", "samples": rng.choice([16, 33, 64])},
               {"design": "sobol", "samples": 6},
               {"design": "sobol", "samples": rng.choice([3, 5, 100, 1000])}, {"design": "morris", "samples": 1},
               {"design": "morris", "samples": 4, "num_levels": 3}, {"design": "magic"}, {"design": 5},
               {"design": "latin", "groups": {"a": ["price_elasticity"], "b": ["severity_multiplier"]}},
               {"design": "sobol", "samples": 8, "groups": {"a": ["price_elasticity", "severity_multiplier"]}},
               {"num_levels": 1}]  # fmt: skip
    for change in designs:
        add("experiment: design too small or unknown", edited(EXPERIMENT, **change))
    for name, levels in (("sanction_regime", ["2025_law", "pre2025_practice"]), ("targeting_mode", ["balanced"]),
                         ("buyer_imprisonment", [True, False])):  # fmt: skip
        data = edited(EXPERIMENT, design="grid", levers={name: levels})
        add("experiment: a grid over a parameter that is not a number", data)
    add("experiment: a grid with one level", edited(EXPERIMENT, design="grid", levers={"severity_multiplier": [1.0]}))
    for model in [5, "", "no_colon", "nowhere:f", "os.path:nope", "sim:__version__", "json:dumps", "math:sin",
                  "a b:c", "sim.experiments.sweep:DESIGNS", "../x:y", "sim.experiments.sweep:nothing"]:  # fmt: skip
        add("experiment: a bad model", edited(varied([0.0, 1.0], name="x"), model=model))
    types = [{"name": 5}, {"name": ""}, {"name": "x" * 500}, {"second_order": "false"}, {"second_order": 0},
             {"outputs": []}, {"outputs": "grams_sold"}, {"outputs": [1]}, {"outputs": ["nope"]},
             {"outputs": ["grams_sold", "grams_sold"]}, {"force": "yes"}, {"window": 5, "force": False},
             {"window": 30}, {"burn_in": -1}, {"events": 5}, {"events": [{"day": 1, "action": "nope"}]},
             {"colour": "red"}, {"model": ["a:b"]}]  # fmt: skip
    for change in types:
        add("experiment: wrong type of a key", edited(EXPERIMENT, **change))
    fixed = [{"nope": 1}, {"n_buyers": -5}, {"batch_min": 30, "batch_max": 10}, {"share_patrol": 0.9,
             "share_cyber": 0.5}, {"n_buyers": "many"}, {"price_elasticity": 0.5}]  # fmt: skip
    for change in fixed:
        add("experiment: bad [fixed]", edited(EXPERIMENT, fixed={**EXPERIMENT["fixed"], **change}))
    add(
        "experiment: a corner breaks a rule",
        edited(EXPERIMENT, levers={"share_patrol": [0.2, 0.9]}, fixed={**EXPERIMENT["fixed"], "share_cyber": 0.3}),
    )
    add(
        "experiment: a corner breaks a rule",
        edited(EXPERIMENT, uncertainties={"batch_min": [5, 30]}, fixed={**EXPERIMENT["fixed"], "batch_max": 20}),
    )
    add(
        "experiment: both tables",
        edited(EXPERIMENT, levers={"x": [0, 1]}, uncertainties={"x": [0, 1]}, model="loud_model:model"),
    )
    add("experiment: nothing varied", edited(EXPERIMENT, uncertainties={}, levers={}))
    add("experiment: in the wrong table", edited(EXPERIMENT, uncertainties={}, levers={"price_elasticity": [0.3, 1]}))
    add("experiment: an event number that names no event", varied([380, 420], "levers", "events.0.day"))
    for _ in range(8):
        add("experiment: TOML syntax", garbage_toml(rng))
    add("encoding: not UTF-8", bytes(rng.randrange(128, 256) for _ in range(60)))
    add("encoding: UTF-16", toml(EXPERIMENT).encode("utf-16"))
    add("encoding: BOM then a bad value", b"\xef\xbb\xbf" + toml(edited(EXPERIMENT, samples="x")).encode())
    add("file: too large", toml(EXPERIMENT) + "#" * (MAX_FILE_BYTES + 1))
    city = {"n_buyers": [1_000_000, 2_000_000], "candidate_pool": [500_000, 1_000_000]}
    if run_memory({"n_buyers": 2_000_000, "candidate_pool": 1_000_000}, 20)[0] > (available_memory() or math.inf):
        add("memory: a sweep's largest city too large", edited(EXPERIMENT, uncertainties=city, fixed={}))
    return cases


def cases() -> list[Case]:
    rng = random.Random(SEED)
    return scenario_cases(rng) + experiment_cases(rng)


CASES = cases()


def test_the_generator_is_large_and_covers_every_category():
    assert len(CASES) >= 200
    counts = Counter(c.category.split(":")[0] for c in CASES)
    assert {"scenario", "extends", "file", "encoding", "experiment"} <= set(counts)
    assert [c.files for c in cases()] == [c.files for c in CASES]  # seeded: the same cases every time


def make(case: Case, folder: Path) -> Path:
    for name, content in case.files.items():
        path = folder / name
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content, encoding="utf-8")
    for name, kind in case.special.items():
        path = folder / name
        if kind == "folder":
            path.mkdir()
        elif kind == "fifo":
            os.mkfifo(path)
        elif kind == "broken link":
            path.symlink_to(folder / "gone.toml")
    return folder / case.target


@pytest.mark.parametrize("case", CASES, ids=[f"{i}-{c.category}" for i, c in enumerate(CASES)])
def test_malformed_input_is_one_line_exit_2_and_nothing_written(case, tmp_path, capsys, monkeypatch):
    marker = tmp_path / "imported"
    monkeypatch.setenv("KLAD_LOUD_MARKER", str(marker))
    monkeypatch.syspath_prepend(str(DATA))
    inputs = tmp_path / "in"
    inputs.mkdir()
    target = make(case, inputs)
    before = sorted(inputs.rglob("*"))
    out = tmp_path / "out"
    if case.kind == "scenario":
        argv = ["run", str(target), "--days", "5", "--reps", "1", "--window", "5", "--force", "--workers", "1"]
    else:
        argv = ["sweep", str(target), "--workers", "1"]
    code = main([*argv, "--quiet", "--out", str(out)])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("klad: error: "), err
    assert "Traceback" not in err and len(lines[0]) <= 1100
    assert not out.exists()
    assert sorted(inputs.rglob("*")) == before
    assert not marker.exists()  # a model is imported only once everything else in the file is right
