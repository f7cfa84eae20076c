"""Hypothesis experiments: the verdict rules, the estimates, and `klad hypotheses` end to end."""

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.experiments.execute import Execution
from sim.experiments.hypotheses import Criterion, load_all, load_hypothesis, plan
from sim.experiments.study import HypothesesPlan, run_hypotheses
from sim.experiments.verdicts import combine, contrast_verdict, judge, judge_ranking
from sim.params import LEVER, REGISTRY, ParameterError

ROOT = Path(__file__).resolve().parent.parent

SMALL_SCENARIO = """
name = "small"
[params]
n_buyers = 1500
n_shops = 3
n_couriers = 36
n_labs = 2
policy_start_day = 20
"""

HYPOTHESIS = """
id = "{id}"
title = "A crackdown {word} sales"
source = "[test]"
claim = "test claim"
days = 60
replications = 6
seed = 3
window = 15   # a tiny test city's runs: short windows, forced
force = true
[quick]
days = 30
window = 7
replications = 2
samples = 4
[arms]
base = "scen/small.toml"
hot = {{ scenario = "scen/small.toml", policy = {{ detection_multiplier = 6.0 }} }}
[[tests]]
name = "sales"
effect = "hot - base"
metric = "transactions"
relative_to = "base"
expect = "{expect}"
margin = 0.1
[[tests]]
name = "buyers keep buying"
arm = "base"
metric = "transactions / orders"
expect = "above"
threshold = 0.0
role = "check"
"""

SENSITIVITY = """
[sensitivity]
scenario = "scen/small.toml"
output = "transactions"
samples = 4
expect = "certainty > severity"
[sensitivity.levers]
detection_multiplier = [0.5, 5.0]
severity_multiplier = [0.5, 3.0]
[sensitivity.groups]
certainty = ["detection_multiplier"]
severity = ["severity_multiplier"]
"""


def klad(*args):
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True, cwd=ROOT)


def folder(tmp_path, files: dict[str, str]) -> Path:
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "scen").mkdir(exist_ok=True)
    (tmp_path / "scen" / "small.toml").write_text(SMALL_SCENARIO)
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


# ------------------------------------------------------------------ the rules
@pytest.mark.parametrize(
    ("expect", "mean", "low", "high", "verdict"),
    [
        ("decrease", -20, -30, -10, "supported"),  # significant and beyond the margin (5)
        ("decrease", -3, -6, -1, "inconclusive"),  # significant but smaller than the margin, CI reaches it
        ("decrease", -1, -4, 2, "not supported"),  # a decrease of 5 is excluded
        ("decrease", 10, 5, 15, "not supported"),
        ("decrease", -8, -20, 4, "inconclusive"),
        ("decrease", -6, -9, -1, "inconclusive"),  # past zero, estimate past the margin, interval across it
        ("increase", 20, 10, 30, "supported"),
        ("increase", 1, -2, 4, "not supported"),
        ("no_decrease", 1, -4, 2, "supported"),
        ("no_decrease", -20, -30, -10, "not supported"),
        ("no_decrease", -8, -20, 4, "inconclusive"),
        ("no_decrease", -6, -9, -1, "inconclusive"),  # the same interval: neither verdict, whichever the claim
        ("no_increase", -1, -3, 4, "supported"),
        ("no_increase", 20, 10, 30, "not supported"),
        ("decrease", float("nan"), float("nan"), float("nan"), "inconclusive"),
    ],
)
def test_contrast_verdicts(expect, mean, low, high, verdict):
    assert contrast_verdict(expect, mean, low, high, 5.0) == verdict


def test_the_rule_is_symmetric_and_the_odd_prints_it():
    """Both verdicts need the whole interval on one side of the margin; docs/ODD.md's table is RULE."""
    from sim.experiments.verdicts import RULE

    for expect, negation in (("decrease", "no_decrease"), ("increase", "no_increase")):
        for low in np.linspace(-12, 12, 25):
            for width in (0.5, 3.0, 9.0):
                claim = contrast_verdict(expect, 0.0, low, low + width, 5.0)
                swapped = {"supported": "not supported", "not supported": "supported"}.get(claim, claim)
                assert contrast_verdict(negation, 0.0, low, low + width, 5.0) == swapped
                mirror = "increase" if expect == "decrease" else "decrease"
                assert contrast_verdict(mirror, 0.0, -low - width, -low, 5.0) == claim
    text = (Path(__file__).resolve().parents[1] / "docs" / "ODD.md").read_text(encoding="utf-8")
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0] in RULE:
            rows[cells[0]] = cells[1:]
    assert set(rows) == set(RULE)
    for expect, cells in rows.items():
        words = [c.replace("−", "-").replace("lies ", "") for c in cells]
        printed = {"supported": words[0], "not supported": words[1], "inconclusive": words[2]}
        for side, verdict in RULE[expect].items():
            assert printed[verdict].endswith(side.split()[1]) and side.split()[0] in printed[verdict], (expect, side)


def test_a_failed_check_makes_the_hypothesis_inconclusive():
    ok = {"role": "test", "verdict": "supported"}
    assert combine([ok, ok]) == "supported"
    assert combine([ok, {"role": "test", "verdict": "not supported"}]) == "not supported"
    assert combine([ok, {"role": "test", "verdict": "inconclusive"}]) == "inconclusive"
    assert combine([ok, {"role": "check", "verdict": "not supported"}]) == "inconclusive"


def _summary(values: dict[str, list[float]]) -> dict[str, pd.DataFrame]:
    return {arm: pd.DataFrame({"grams_sold": v, "orders": [10.0] * len(v)}) for arm, v in values.items()}


def test_contrasts_are_paired_by_replication():
    # Replication noise is shared between arms: unpaired, the CI would include 0; paired, it does not.
    base = [100.0, 200.0, 300.0, 400.0]
    summary = _summary({"a": base, "b": [x - 10 + d for x, d in zip(base, [0.5, -0.5, 0.3, -0.3], strict=True)]})
    test = Criterion("t", "contrast", "decrease", metric="grams_sold", effect="b - a", margin=0.01, relative_to="a")
    row = judge(test, summary)
    assert row["estimate"] == pytest.approx(-10.0)
    assert row["ci_high"] < 0 and row["relative"] == pytest.approx(-10 / 250)
    assert row["verdict"] == "supported"


def test_interaction_and_ratio_metrics():
    summary = _summary({"a": [100, 100, 100], "b": [90, 91, 89], "c": [95, 95, 95], "d": [70, 71, 69]})
    test = Criterion("i", "contrast", "decrease", metric="grams_sold", effect="(d - b) - (c - a)", margin=0.0)
    row = judge(test, summary)
    assert row["estimate"] == pytest.approx(-15.0)  # prevention removes 20 with coordination, 5 without
    level = Criterion("r", "level", "below", metric="grams_sold / orders", arm="a", threshold=11.0)
    row = judge(level, summary)
    assert row["estimate"] == pytest.approx(10.0) and row["verdict"] == "supported"


def test_ranking_by_total_index_intervals():
    table = pd.DataFrame(
        [("y", "A", "ST", 0.6, 0.05), ("y", "B", "ST", 0.2, 0.05)], columns=["output", "parameter", "index", "value",
                                                                            "conf"]
    )  # fmt: skip
    table["ci_low"], table["ci_high"] = table["value"] - table["conf"], table["value"] + table["conf"]
    a_over_b = Criterion("r", "ranking", "greater", metric="y", effect="A > B")
    assert judge_ranking(a_over_b, table)["verdict"] == "supported"
    b_over_a = Criterion("r", "ranking", "greater", metric="y", effect="B > A")
    assert judge_ranking(b_over_a, table)["verdict"] == "not supported"
    table.loc[1, "conf"] = 0.5
    table["ci_low"], table["ci_high"] = table["value"] - table["conf"], table["value"] + table["conf"]
    assert judge_ranking(a_over_b, table)["verdict"] == "inconclusive"


# ------------------------------------------------------------------ the shipped files
def test_shipped_hypotheses_load_and_share_runs():
    hyps = load_all(ROOT / "experiments" / "hypotheses")
    assert [h.id for h in hyps] == [f"H{i}" for i in range(1, 8)]
    for h in hyps:
        assert h.tests or h.sensitivity
        assert any(t.role == "test" for t in h.tests) or h.sensitivity
        h.use(quick=True)
    runs = plan(hyps)
    per_hypothesis = sum(len(h.arms) * h.settings["replications"] for h in hyps)
    assert len(runs) < per_hypothesis  # the baseline (and the crackdown of H6/H7) run once for all


# ------------------------------------------------------------------ end to end
@pytest.mark.slow
def test_klad_hypotheses_verdicts_come_from_the_runs(tmp_path):
    # The same experiment judged against two opposite expectations: the runs decide which one holds.
    files = {
        "A.toml": HYPOTHESIS.format(id="A", word="cuts", expect="decrease") + SENSITIVITY,
        "B.toml": HYPOTHESIS.format(id="B", word="raises", expect="increase"),
    }
    src = folder(tmp_path / "hyp", files)
    out = tmp_path / "out"
    res = klad("hypotheses", "--folder", str(src), "--out", str(out), "--workers", "2", "--quiet")
    assert res.returncode == 0, res.stderr
    assert "expected time" in res.stderr
    table = pd.read_csv(out / "results.csv")
    verdicts = table.drop_duplicates("hypothesis").set_index("hypothesis")["hypothesis_verdict"]
    assert table.query("hypothesis == 'A' and kind == 'contrast'")["verdict"].iloc[0] == "supported"
    assert verdicts["A"] in ("supported", "inconclusive")  # the ranking on 4 base samples may not separate
    assert verdicts["B"] == "not supported"
    assert set(table.query("hypothesis == 'A'")["kind"]) == {"contrast", "level", "ranking"}
    report = (out / "report.md").read_text()
    for word in ("## A:", "## B:", "[test]", "Verdict:", "figures/A.png", "ST(certainty)", "transactions"):
        assert word in report
    assert (out / "figures" / "A.png").stat().st_size > 10_000
    assert (out / "manifest.json").exists()

    # Rerun without --resume: refused; with it: nothing new is run and the results are the same.
    res = klad("hypotheses", "--folder", str(src), "--out", str(out), "--quiet")
    assert res.returncode == 2 and "--resume" in res.stderr
    before = {p.name: p.stat().st_mtime_ns for p in (out / "runs").iterdir()}
    res = klad("hypotheses", "--folder", str(src), "--out", str(out), "--resume", "--workers", "1", "--quiet")
    assert res.returncode == 0, res.stderr
    assert before == {p.name: p.stat().st_mtime_ns for p in (out / "runs").iterdir()}
    pd.testing.assert_frame_equal(table, pd.read_csv(out / "results.csv"))

    # More replications on resume: the ones on disk are kept and only the new ones run.
    res = klad("hypotheses", "--folder", str(src), "--out", str(out), "--resume", "--reps", "7", "--quiet")
    assert res.returncode == 0, res.stderr
    after = {p.name: p.stat().st_mtime_ns for p in (out / "runs").iterdir()}
    assert len(after) > len(before) and all(after[name] == t for name, t in before.items())
    judged = pd.read_csv(out / "results.csv").query("kind in ('contrast', 'level')")
    assert (judged["n"] == 7).all()


def test_quick_uses_fewer_runs(tmp_path):
    src = folder(tmp_path / "hyp", {"A.toml": HYPOTHESIS.format(id="A", word="raises", expect="increase")})
    full, quick = load_hypothesis(src / "A.toml"), load_hypothesis(src / "A.toml").use(quick=True)
    assert len(plan([quick])) == 4 and len(plan([full])) == 12
    assert {r.days for r in plan([quick])} == {30}


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (('effect = "hot - base"', 'effect = "hot - cold"'), ["effect", "'cold' is not an arm"]),
        (('metric = "transactions"', 'metric = "arrests_of_bosses"'), ["'arrests_of_bosses' is not a model metric"]),
        (('expect = "increase"', 'expect = "bigger"'), ["'expect' = 'bigger'", "decrease"]),
        (("detection_multiplier = 6.0", "price_elasticity = 0.5"), ["'price_elasticity' is not a policy lever"]),
        (("detection_multiplier = 6.0", "detection_multiplier = 60.0"), ["detection_multiplier", "[0, 10]"]),
        (('base = "scen/small.toml"', 'base = "nowhere.toml"'), ["[arms] base", "not found"]),
        (("replications = 6", "replications = 1"), ["'replications' = 1", "from 2"]),
        (("replications = 6", "replications = 6\nmax_replications = 4"), ["max_replications = 4", "below"]),
        (("[[tests]]", "[[testz]]"), ["unknown key 'testz'"]),
    ],
)
def test_bad_hypothesis_files_one_line_exit_2(tmp_path, change, words):
    text = HYPOTHESIS.format(id="A", word="raises", expect="increase").replace(*change, 1)
    src = folder(tmp_path / "hyp", {"A.toml": text})
    out = tmp_path / "out"
    res = klad("hypotheses", "--folder", str(src), "--out", str(out), "--quiet")
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    last = res.stderr.strip().splitlines()[-1]
    assert "A.toml" in last
    for word in words:
        assert word in last
    assert not out.exists()


def test_a_horizon_shorter_than_the_summary_window_is_refused(tmp_path):
    src = folder(tmp_path / "hyp", {"A.toml": HYPOTHESIS.format(id="A", word="raises", expect="increase")})
    res = klad("hypotheses", "--folder", str(src), "--horizon", "5", "--out", str(tmp_path / "o"))
    assert res.returncode == 2 and "--horizon 5: allowed is from the summary window's 15 days" in res.stderr
    h = load_hypothesis(src / "A.toml").use(quick=False, horizon=40, seed=9, replications=3)
    assert h.settings["days"] == h.start - 1 + 40 and h.seed == 9 and h.settings["replications"] == 3


def test_unknown_hypothesis_id(tmp_path):
    src = folder(tmp_path / "hyp", {"A.toml": HYPOTHESIS.format(id="A", word="raises", expect="increase")})
    res = klad("hypotheses", "--folder", str(src), "--only", "H9", "--out", str(tmp_path / "o"))
    assert res.returncode == 2 and "no hypothesis H9" in res.stderr


def test_ratio_with_zero_denominator_is_missing_not_infinite():
    summary = {"a": pd.DataFrame({"grams_sold": [1.0, 2.0, 3.0], "orders": [0.0, 1.0, 1.0]})}
    row = judge(Criterion("r", "level", "above", metric="grams_sold / orders", arm="a", threshold=0.0), summary)
    assert row["n"] == 2 and math.isfinite(row["estimate"]) and np.isclose(row["estimate"], 2.5)


# ------------------------------------------------------------------ flips
def test_every_hypothesis_names_a_flip_within_the_registry_ranges():
    for h in load_all(ROOT / "experiments" / "hypotheses"):
        assert set(h.flips) == {"supported", "not_supported"}, h.id
        assert all(len(text) > 40 for text in h.flip_text.values()), h.id
        for values in h.flips.values():
            for name, value in values.items():
                assert REGISTRY[name].kind != LEVER  # a flip changes what we do not know, not the policy
                REGISTRY[name].check(value, h.id)
        flipped = h.under("not_supported")
        for params in flipped.arms.values():  # in every arm
            assert all(params[key] == value for key, value in h.flips["not_supported"].items())
        assert flipped.setting == "not_supported" and not h.setting  # (the original is unchanged)


@pytest.mark.slow
@pytest.mark.parametrize("hid", [f"H{i}" for i in range(1, 8)])
def test_each_verdict_can_go_both_ways(hid, tmp_path):
    """The two settings of a hypothesis's [flip] table give opposite verdicts (quick runs).

    Without the structural alternatives, the rankings and the details, which decide no verdict (a ranking that
    would is refused: ``test_a_ranking_is_left_out_only_where_it_decides_nothing``; the rest come out the same:
    ``test_details_are_left_out_with_the_arms_only_they_use_and_the_verdict_is_the_same``).
    """
    (h,) = [h for h in load_all(ROOT / "experiments" / "hypotheses") if h.id == hid]
    h.use(quick=True)
    for setting, expected in (("supported", "supported"), ("not_supported", "not supported")):
        flipped = h.under(setting)
        plan = HypothesesPlan(tmp_path / setting, alternatives=False, rankings=False, details=False)
        verdicts = run_hypotheses([flipped], plan, Execution(2)).verdicts
        verdict = verdicts.details[hid].verdict
        assert verdict == expected, f"{hid} under {setting}: {verdict}\n{verdicts.table.to_string()}"


def test_a_ranking_is_left_out_only_where_it_decides_nothing(tmp_path):
    decides = SENSITIVITY  # a ranking's role is "test" unless it says otherwise
    src = folder(
        tmp_path / "hyp",
        {
            "A.toml": HYPOTHESIS.format(id="A", word="cuts", expect="decrease") + decides,
            "D.toml": HYPOTHESIS.format(id="D", word="cuts", expect="decrease")
            + SENSITIVITY.replace('expect = "certainty', 'role = "detail"\nexpect = "certainty'),
        },
    )
    (a,) = [h.use(quick=True) for h in load_all(src) if h.id == "A"]
    with pytest.raises(ParameterError, match="A: its ranking decides the verdict"):
        run_hypotheses([a], HypothesesPlan(tmp_path / "a", rankings=False))
    assert not (tmp_path / "a").exists()  # refused before anything ran
    (d,) = [h.use(quick=True) for h in load_all(src) if h.id == "D"]
    full = run_hypotheses([d], HypothesesPlan(tmp_path / "full")).verdicts
    lean = run_hypotheses([d], HypothesesPlan(tmp_path / "lean", rankings=False)).verdicts
    ranking = "ST of certainty > severity for transactions"
    assert ranking in set(full.table["test"]) and not (tmp_path / "lean" / "sensitivity").exists()
    kept = full.table[full.table["test"] != ranking].reset_index(drop=True)
    columns = list(lean.table.columns)  # (the ranking's own columns left out)
    pd.testing.assert_frame_equal(kept[columns], lean.table)
    assert full.details["D"].verdict == lean.details["D"].verdict


#: A detail test on an arm of its own (``mild``), which no deciding test uses.
DETAIL = """
[[tests]]
name = "a milder crackdown"
role = "detail"
effect = "mild - base"
metric = "transactions"
relative_to = "base"
expect = "decrease"
margin = 0.1
"""


def with_a_detail(hid: str) -> str:
    """The test hypothesis ``hid`` with a third arm, ``mild``, used by a detail test only."""
    text = HYPOTHESIS.format(id=hid, word="cuts", expect="decrease").replace(
        "[[tests]]", 'mild = { scenario = "scen/small.toml", policy = { detection_multiplier = 2.0 } }\n[[tests]]', 1
    )
    return text + DETAIL


def test_details_are_left_out_with_the_arms_only_they_use_and_the_verdict_is_the_same(tmp_path):
    src = folder(tmp_path / "hyp", {"E.toml": with_a_detail("E")})
    (h,) = [h.use(quick=True) for h in load_all(src)]
    lean_h = h.without_details()
    assert set(lean_h.arms) == {"base", "hot"} and "a milder crackdown" not in {t.name for t in lean_h.tests}
    assert set(h.arms) == {"base", "hot", "mild"}  # (the original is unchanged)
    full = run_hypotheses([h], HypothesesPlan(tmp_path / "full")).verdicts
    lean = run_hypotheses([h], HypothesesPlan(tmp_path / "lean", details=False)).verdicts
    assert len(list((tmp_path / "lean" / "runs").glob("*.parquet"))) < len(
        list((tmp_path / "full" / "runs").glob("*.parquet"))
    )
    kept = full.table[full.table["role"] != "detail"].reset_index(drop=True)
    pd.testing.assert_frame_equal(kept[list(lean.table.columns)], lean.table)
    assert full.details["E"].verdict == lean.details["E"].verdict


# ------------------------------------------------- chains, alternatives, regime
ALTERNATIVES = """
targets = "{targets}"
regime = ["failed_orders", "storefront_blocks"]
[[chain]]
mechanism = "patrol arrests couriers and buyers"
code = "BuyerRoster.arrest"
source = "[test]"
[[alternatives]]
name = "blind"
assumption = "patrol sees pickups"
alternative = "patrol sees no pickup, stash or courier"
values = {{ buyer_detection = 0.0, stash_detection = 0.0, courier_detection = 0.0 }}
source = "a test"
"""


def _with_alternatives(extra: str = "") -> str:
    text = HYPOTHESIS.format(id="B", word="raises", expect="increase")
    targets = ROOT / "scenarios" / "data" / "kazakhstan.toml"
    return text.replace("[quick]", ALTERNATIVES.format(targets=targets) + extra + "\n[quick]", 1)


@pytest.mark.slow
def test_klad_hypotheses_runs_each_structural_alternative_and_holds_arms_to_the_regime(tmp_path):
    src = folder(tmp_path / "hyp", {"B.toml": _with_alternatives()})
    out = tmp_path / "out"
    res = klad("hypotheses", "--quick", "--folder", str(src), "--out", str(out), "--workers", "2", "--quiet")
    assert res.returncode == 0, res.stderr
    assert "1 structural alternatives" in res.stderr and "under blind" in res.stdout
    alt = pd.read_csv(out / "alternatives.csv", keep_default_na=False)
    assert list(alt["alternative"]) == ["defaults", "blind"]
    assert "outside_regime" in alt.columns  # each alternative's arms against the regime, as the defaults'
    defaults, blind = alt["estimate"]
    assert defaults < 0 and abs(blind) < abs(defaults)  # a blind patrol's crackdown cuts nothing
    regime = pd.read_csv(out / "regime.csv")
    assert set(regime["arm"]) == {"base", "hot"} and set(regime["target"]) == {"failed_orders", "storefront_blocks"}
    assert set(regime["outcome"]) <= {"inside", "straddles", "outside"}
    report = (out / "report.md").read_text()
    for words in (
        "What decides the verdict, in order",
        "`BuyerRoster.arrest`",
        "Structural alternatives",
        "patrol sees no pickup",
        "Each arm against the market's regime",
        "failed_orders [0, 0.283]",
        "| verdict | arms outside the regime |",  # each alternative's arms held to the regime too
    ):
        assert words in report, words
    from sim.reporting.numbers import block

    generated = block("out", tmp_path)  # the block docs/hypotheses.md shows of such a run: one row per alternative
    assert "| B | the defaults |" in generated and "| B | `blind`: patrol sees no pickup" in generated
    res = klad("hypotheses", "--quick", "--folder", str(src), "--out", str(tmp_path / "o2"), "--no-alternatives",
               "--quiet")  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert not (tmp_path / "o2" / "alternatives.csv").exists() and "structural" not in res.stderr


@pytest.mark.parametrize(
    ("extra", "change", "words"),
    [
        ("", ("buyer_detection = 0.0", "order_ratez = 0.0"), ["alternatives[0] values", "'order_ratez'"]),
        ("", ("buyer_detection = 0.0", "detection_multiplier = 2.0"), ["'detection_multiplier' is a policy lever"]),
        ("", ("buyer_detection = 0.0", "buyer_detection = 2.0"), ["buyer_detection", "[0, 1]"]),
        ("", ('name = "blind"', 'name = "blind eye"'), ["alternatives[0]", "plain name"]),
        ("", ('regime = ["failed_orders", "storefront_blocks"]', 'regime = ["price"]'), ["regime", "'price'"]),
        ("", ('code = "BuyerRoster.arrest"', 'coda = "x"'), ["chain[0]", "coda"]),
    ],
)
def test_bad_chains_alternatives_and_regimes_are_one_line_errors(tmp_path, extra, change, words):
    src = folder(tmp_path / "hyp", {"B.toml": _with_alternatives(extra).replace(*change, 1)})
    res = klad("hypotheses", "--folder", str(src), "--out", str(tmp_path / "out"), "--quiet")
    assert res.returncode == 2, res.stderr
    last = res.stderr.strip().splitlines()[-1]
    assert "Traceback" not in res.stderr and "B.toml" in last
    for word in words:
        assert word in last, last
    assert not (tmp_path / "out").exists()


def test_an_alternative_sets_its_values_in_every_arm_and_drops_the_ranking(tmp_path):
    src = folder(tmp_path / "hyp", {"B.toml": _with_alternatives() + SENSITIVITY})
    h = load_hypothesis(src / "B.toml")
    other = h.alternative_of(h.alternatives[0])
    assert other.id == "B-blind" and other.alternative == "blind" and other.sensitivity is None
    assert all(p["buyer_detection"] == 0.0 and p["courier_detection"] == 0.0 for p in other.arms.values())
    assert all(p["buyer_detection"] > 0 for p in h.arms.values())  # the original is untouched
    assert not any(t.kind == "ranking" for t in other.tests)


def test_regime_table_reads_each_arm_as_validation_reads_a_target():
    from sim.experiments.hypotheses import Hypothesis, outside_regime, regime_table
    from sim.experiments.targets import load_targets

    targets = {t.id: t for t in load_targets(ROOT / "scenarios" / "data" / "kazakhstan.toml").targets}
    h = Hypothesis.__new__(Hypothesis)
    h.regime = [targets["failed_orders"]]
    h.arms = {"calm": {"national_scale_factor": 5.0}, "dark": {"national_scale_factor": 5.0}}
    summary = {  # failed share = unmet / orders: about 10% in one arm, about 60% in the other
        "calm": pd.DataFrame({"unmet_orders": [10.0, 11.0, 9.0], "orders": [100.0, 100.0, 100.0]}),
        "dark": pd.DataFrame({"unmet_orders": [60.0, 62.0, 58.0], "orders": [100.0, 100.0, 100.0]}),
    }
    table = regime_table(h, summary).set_index("arm")
    assert table.loc["calm", "outcome"] == "inside" and table.loc["dark", "outcome"] == "outside"
    assert table.loc["dark", "mean"] == pytest.approx(0.6)
    assert outside_regime(table.reset_index()) == {"dark": ["failed_orders"]}


def test_every_chain_names_code_that_exists():
    """A chain's code names (Class.method, module.function, a file) must exist, so renaming one breaks this test."""
    import importlib
    import re

    import sim.model.market as market
    from sim.model.roles import buyers, couriers, labs, police, shops

    owners = {"KladMarket": market.KladMarket, "BuyerRoster": buyers.BuyerRoster, "Police": police.Police,
              "CourierRoster": couriers.CourierRoster, "LabRoster": labs.LabRoster, "ShopRoster": shops.ShopRoster,
              "deterrence": importlib.import_module("sim.model.deterrence"),
              "Beliefs": importlib.import_module("sim.model.deterrence").Beliefs}  # fmt: skip
    seen = 0
    for h in load_all(ROOT / "experiments" / "hypotheses"):
        for c in h.chain:
            code = re.sub(r"\(.*?\)", "", c["code"])
            for name in (x.strip() for x in code.split(",")):
                if "/" in name:
                    assert (ROOT / name).is_file(), (h.id, name)
                    continue
                owner, attr = name.split(".")
                assert hasattr(owners[owner], attr), (h.id, name)
                seen += 1
            for param in re.findall(r"\((\w+)", c["code"]):
                assert param in REGISTRY, (h.id, param)
    assert seen >= 10
