"""The parameter registry and scenario loading reject bad input with a clear message."""

import dataclasses

import pytest

import sim
from sim.io.config import load_scenario
from sim.params import REGISTRY, ParameterError, Params, resolve


def test_defaults_resolve_and_every_parameter_is_documented():
    full = resolve()
    assert set(full) == set(REGISTRY) | {"policy"}
    for p in REGISTRY.values():
        assert p.kind in ("lever", "uncertainty", "structural"), p.name
        assert p.source.strip(), p.name
        if p.type in (int, float):
            assert p.low <= p.default <= p.high, p.name
        if p.choices:
            assert p.default in p.choices


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"no_such_parameter": 1}, ["unknown parameter", "no_such_parameter"]),
        ({"n_buyers": "many"}, ["n_buyers", "'many'", "an integer in [50, 2e+06]"]),
        ({"n_buyers": 10.5}, ["n_buyers", "fraction"]),
        ({"conviction_probability": 1.5}, ["conviction_probability", "1.5", "[0, 1]"]),
        ({"buyer_imprisonment": 1}, ["buyer_imprisonment", "true or false"]),
        ({"targeting_mode": "quotas"}, ["targeting_mode", "'balanced'", "'statistics'"]),
        ({"batch_min": 30, "batch_max": 20}, ["batch_min", "batch_max"]),
        ({"share_patrol": 0.9, "share_cyber": 0.5}, ["add up to 1.7", "at most 1"]),
        ({"policy": {"n_buyers": 5}}, ["not a policy lever"]),
    ],
)
def test_bad_values_name_parameter_value_and_allowed_range(values, words):
    with pytest.raises(ParameterError) as err:
        sim.KladMarket(values, rng=1)
    for word in words:
        assert word in str(err.value)


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_scenario_extends_and_policy(tmp_path):
    write(tmp_path, "base.toml", 'name = "base"\n[params]\nn_buyers = 2000\npolicy_start_day = 10\n')
    child = write(
        tmp_path, "child.toml", 'extends = "base.toml"\n[params]\nn_shops = 4\n[policy]\nseverity_multiplier = 2.0\n'
    )
    s = load_scenario(child)
    assert (s.params.n_buyers, s.params.n_shops, s.params.policy_start_day) == (2000, 4, 10)
    assert s.policy == {"severity_multiplier": 2.0}
    assert s.name == "child" and s.source == child


@pytest.mark.parametrize(
    ("files", "words"),
    [
        ({"a.toml": 'extends = "b.toml"', "b.toml": 'extends = "a.toml"'}, ["cycle", "a.toml -> b.toml -> a.toml"]),
        ({"a.toml": "[params\nn_buyers = 3"}, ["a.toml", "TOML syntax error"]),
        ({"a.toml": 'extends = "missing.toml"'}, ["missing.toml", "not found"]),
        ({"a.toml": "[params]\nsentence = 3"}, ["a.toml [params]", "unknown parameter 'sentence'"]),
        ({"a.toml": "[params]\nn_buyers = -3"}, ["a.toml [params]", "n_buyers", "-3"]),
        ({"a.toml": "colour = 3"}, ["unknown key 'colour'"]),
    ],
)
def test_bad_scenario_files(tmp_path, files, words):
    for name, text in files.items():
        write(tmp_path, name, text)
    with pytest.raises(ParameterError) as err:
        load_scenario(tmp_path / "a.toml")
    for word in words:
        assert word in str(err.value)


def test_every_shipped_scenario_loads():
    from pathlib import Path

    scenarios = sorted(Path(__file__).parent.parent.joinpath("scenarios").glob("*.toml"))
    assert len(scenarios) >= 10
    for path in scenarios:
        assert load_scenario(path).name


# ------------------------------------------------------------------ priors
def test_priors_hold_their_defaults_and_bad_priors_are_refused():
    from sim.params import _load_registry

    with_prior = [p for p in REGISTRY.values() if p.prior is not None]
    assert len(with_prior) >= 25
    for p in with_prior:
        assert p.kind == "uncertainty" and p.prior.low <= p.default <= p.prior.high, p.name
        assert p.low <= p.prior.low < p.prior.high <= p.high and p.prior.source
        assert p.prior.scale == "linear" or p.prior.low > 0
    base = 'default = 0.5\nunit = "x"\nrange = [0.0, 1.0]\nkind = "uncertainty"\nsource = "s"\ndoc = "d"\n'
    assert _load_registry("[a]\n" + base + 'prior = { range = [0.1, 0.9], scale = "log", source = "why" }')[
        "a"].prior.scale == "log"  # fmt: skip
    for bad, words in [
        ('prior = { range = [0.6, 0.9], scale = "linear", source = "why" }', "outside the prior"),
        ('prior = { range = [0.0, 0.9], scale = "log", source = "why" }', "range above 0"),
        ('prior = { range = [0.1, 2.0], scale = "linear", source = "why" }', "invalid"),
        ('prior = { range = [0.1, 0.9], scale = "linear", source = " " }', "source must say"),
        ("prior = { range = [0.1, 0.9] }", "give {"),
        ('prior = { range = [0.9, 0.1], scale = "linear", source = "why" }', "low < high"),
    ]:
        with pytest.raises(ParameterError, match=words):
            _load_registry("[a]\n" + base + bad)
    lever = base.replace('"uncertainty"', '"lever"')
    with pytest.raises(ParameterError, match="only a numeric uncertainty"):
        _load_registry("[a]\n" + lever + 'prior = { range = [0.1, 0.9], scale = "linear", source = "why" }')


def test_a_prior_is_drawn_uniformly_on_its_scale():
    import numpy as np

    unit = (np.arange(10_000) + 0.5) / 10_000
    log = REGISTRY["ad_reach"].prior
    values = log.from_unit(unit)
    assert values.min() >= log.low and values.max() <= log.high
    assert np.median(values) == pytest.approx((log.low * log.high) ** 0.5, rel=1e-3)  # geometric middle
    whole = REGISTRY["mirror_delay"].prior.from_unit(unit, whole=True)
    assert set(np.unique(whole)) == set(range(0, 8)) and np.bincount(whole).min() >= 1240


def test_the_fields_of_params_are_written_from_the_registry():
    from sim.params import FIELDS_FILE, fields_source

    assert FIELDS_FILE.read_text(encoding="utf-8") == fields_source(), "run `python -m sim.params` (or make docs)"
    assert [f.name for f in dataclasses.fields(Params)] == list(REGISTRY)
    assert Params() == Params.of() and all(getattr(Params(), n) == p.default for n, p in REGISTRY.items())
