"""The one parameter registry of klad-sim, and the loading of scenario files.

Every number the model uses is declared here exactly once, with its unit, its
allowed range and its source. Sources cite the documents in ``../shared/sources``
by file-name prefix and line (``[001 L180]``); a value that no source gives is
marked ``assumption:`` with the reason. Each parameter is either a policy
*lever* (what policy sets), an *uncertainty* (what we do not know) or
*structural* (the size and shape of a run). Scenarios and experiments only set
values; documentation is generated from this table (``klad params``).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LEVER = "lever"
UNCERTAINTY = "uncertainty"
STRUCTURAL = "structural"


class ParameterError(ValueError):
    """A parameter value or scenario file that cannot be used, with a message for people."""


@dataclass(frozen=True)
class Param:
    """One model parameter: its single definition."""

    name: str
    default: Any
    unit: str
    low: float | None
    high: float | None
    kind: str
    source: str
    doc: str
    choices: tuple[str, ...] | None = None

    @property
    def type(self) -> type:
        """The Python type of the parameter's values."""
        return type(self.default)

    def allowed(self) -> str:
        """Describe the allowed values in words, for error messages and docs."""
        if self.choices:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.type is bool:
            return "true or false"
        kind = "an integer" if self.type is int else "a number"
        return f"{kind} in [{self.low:g}, {self.high:g}]"

    def check(self, value: Any, where: str = "") -> Any:
        """Return ``value`` converted to this parameter's type, or raise ParameterError."""
        prefix = f"{where}: " if where else ""
        bad = f"{prefix}parameter '{self.name}' = {value!r} is invalid: allowed is {self.allowed()}"
        if self.type is bool:
            if not isinstance(value, bool):
                raise ParameterError(bad + f" (got {type(value).__name__})")
            return value
        if self.type is str:
            if not isinstance(value, str) or value not in (self.choices or ()):
                raise ParameterError(bad)
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParameterError(bad + f" (got {type(value).__name__})")
        if self.type is int:
            if isinstance(value, float) and not value.is_integer():
                raise ParameterError(bad + " (got a fraction)")
            value = int(value)
        else:
            value = float(value)
        if not (self.low <= value <= self.high):
            raise ParameterError(bad)
        return value


def _p(name, default, unit, low, high, kind, source, doc, choices=None) -> Param:
    return Param(name, default, unit, low, high, kind, source, doc, choices)


# fmt: off
REGISTRY: dict[str, Param] = {p.name: p for p in [
    # --- Run structure ------------------------------------------------------
    _p("n_buyers", 10_000, "buyers", 50, 2_000_000, STRUCTURAL,
       "assumption: one large city's active users; >50% of consumers live in Astana, Almaty "
       "and Almaty region [001 L137], so one such city holds roughly a fifth of them",
       "Active buyers at day 0."),
    _p("national_scale_factor", 5.0, "country/city", 1.0, 20.0, STRUCTURAL,
       "[001 L137] >50% of consumers come from Astana, Almaty and Almaty region; "
       "one of these cities is about 1/5 of the national market",
       "Multiply city totals by this to compare with national figures (reporting only; no effect on the run)."),
    _p("grid_width", 8, "districts", 2, 64, STRUCTURAL,
       "assumption: 8x8 districts resolve hot spots yet keep patrol allocation simple",
       "City grid width."),
    _p("grid_height", 8, "districts", 2, 64, STRUCTURAL,
       "assumption: see grid_width", "City grid height."),
    _p("demand_concentration", 1.2, "Zipf exponent", 0.0, 3.0, UNCERTAINTY,
       "[001 L137] demand concentrates in a few places; exponent is an assumption",
       "How unevenly buyers' homes are spread over districts (0 = even)."),
    _p("n_shops", 10, "shops", 1, 500, STRUCTURAL,
       "assumption: city sales / 0.71 bn KZT per shop-year [001 L139: 25.6 bn over 36 shops]",
       "Shops (operators with a storefront) at day 0."),
    _p("n_labs", 6, "labs", 1, 100, STRUCTURAL,
       "assumption: city demand (~1 kg/day) over several small artisanal labs [001 L175], so one raid is no drought",
       "Clandestine labs at day 0."),
    _p("n_couriers", 240, "couriers", 1, 50_000, STRUCTURAL,
       "assumption: stashes per day / (15 stashes per batch [001 L180] x working share)",
       "Couriers employed at day 0."),
    _p("candidate_pool", 8_000, "people per 10,000 buyers", 10, 1_000_000, UNCERTAINTY,
       "assumption: young people reached by job ads [001 L41, L121]; ~30 per working courier",
       "People in the courier candidate pool at day 0."),
    _p("candidate_inflow", 20.0, "people/day per 10,000 buyers", 0.0, 10_000.0, UNCERTAINTY,
       "assumption: pool renewal that keeps it near candidate_pool (= inflow / exit rate)",
       "New candidates entering the courier pool each day."),
    _p("candidate_exit_rate", 0.0025, "1/day", 0.0, 0.1, UNCERTAINTY,
       "assumption: candidates age out of the pool (or find other work) in about a year",
       "Daily hazard of leaving the pool."),
    _p("policy_start_day", 365, "day", 0, 100_000, STRUCTURAL,
       "assumption: the default city settles within about 300 days; a year of burn-in precedes a shock",
       "Day on which the scenario's policy levers switch on."),

    # --- Goods and prices ---------------------------------------------------
    _p("stash_grams", 0.5, "g/stash", 0.05, 10.0, UNCERTAINTY,
       "assumption: a dose is ~0.2 g (4,000 KZT at 20,000 KZT/g [001 L175]); a stash holds 2-3 doses",
       "Grams in one retail stash."),
    _p("reference_price", 20_000.0, "KZT/g", 1_000.0, 200_000.0, UNCERTAINTY,
       "[001 L175] 'a gram of this drug costs 20 thousand tenge'", "Retail price at baseline cost."),
    _p("wholesale_price", 1_500.0, "KZT/g", 100.0, 50_000.0, UNCERTAINTY,
       "[001 L175] the lab earns about 1.5 million per kilogram sold on the street for 20 million",
       "Bulk price a lab charges a shop at baseline."),
    _p("courier_pay", 2_000.0, "KZT/stash", 100.0, 100_000.0, UNCERTAINTY,
       "[001 L180] 'They are paid 2,000 tenge per bookmark'", "Starting pay per stash laid."),
    _p("price_adjust_rate", 0.05, "1/day", 0.0, 1.0, UNCERTAINTY,
       "assumption: shops move a twentieth of the way to their target price per day",
       "Speed at which retail price moves to its target."),
    _p("scarcity_markup", 1.0, "price share per unmet share", 0.0, 10.0, UNCERTAINTY,
       "assumption: a shop that cannot serve half its orders asks 50% more", "Scarcity price response."),
    _p("cost_passthrough", 0.6, "elasticity", 0.0, 2.0, UNCERTAINTY,
       "assumption: partial pass-through of unit cost (wholesale + risk pay) to retail",
       "Elasticity of retail price to unit cost."),
    _p("max_pay_share", 0.5, "share of stash revenue", 0.05, 1.0, UNCERTAINTY,
       "assumption: a shop pays a courier at most half of what the stash sells for",
       "Ceiling on pay per stash as a share of its retail price."),
    _p("pay_raise_rate", 0.02, "1/day", 0.0, 0.5, UNCERTAINTY,
       "assumption: shops raise courier pay 2% a day while vacancies stay open",
       "Daily pay raise with unfilled vacancies (risk premium)."),

    # --- Buyers ---------------------------------------------------------------
    _p("order_rate", 0.2, "orders/buyer/day", 0.01, 3.0, UNCERTAINTY,
       "assumption: a user orders a stash every five days on average",
       "Mean daily ordering probability at the reference price and no risk."),
    _p("price_elasticity", 0.6, "-dlnQ/dlnP", 0.0, 3.0, UNCERTAINTY,
       "assumption: illicit-drug demand is inelastic (literature range 0.3-1)", "Mean price elasticity of ordering."),
    _p("buyer_risk_aversion", 1.0, "dimensionless", 0.0, 10.0, UNCERTAINTY,
       "assumption: expected sanction cost weighs like its money value",
       "Weight of expected sanction cost in ordering."),
    _p("search_success", 0.5, "probability", 0.0, 1.0, UNCERTAINTY,
       "assumption: a buyer without a working storefront finds one half the time when all are open",
       "Chance a searching buyer finds an open storefront, scaled by the open share."),
    _p("known_storefronts", 3, "storefronts", 1, 8, UNCERTAINTY,
       "assumption: users keep a few shops bookmarked", "How many storefronts a buyer remembers."),
    _p("quit_rate", 0.0015, "1/day", 0.0, 0.1, UNCERTAINTY,
       "assumption: spontaneous quitting, a user career of ~2 years", "Daily quitting hazard."),
    _p("relapse_rate", 0.002, "1/day", 0.0, 0.1, UNCERTAINTY,
       "assumption: a former user relapses within ~18 months on average", "Daily relapse hazard of a former user."),
    _p("recovery_rate", 0.002, "1/day", 0.0, 0.1, UNCERTAINTY,
       "assumption: a former user leaves the at-risk population in ~18 months", "Daily hazard of lasting recovery."),
    _p("initiation_rate", 9.5, "new buyers/day per 10,000 buyers", 0.0, 100_000.0, UNCERTAINTY,
       "assumption: balances the net outflow quit_rate*n_buyers*recovery/(relapse+recovery) "
       "= 7.5/day at 10,000 buyers, divided by ~0.8 availability in the settled market",
       "New users per day at full availability and baseline advertising."),
    _p("fine_kzt", 50_000.0, "KZT", 0.0, 10_000_000.0, UNCERTAINTY,
       "[000 L297-299] typical art. 296 part 1 sentence: a fine of 50,000 KZT",
       "Fine for a buyer caught with a small amount."),
    _p("buyer_detection", 0.0007, "1/(officer-day)", 0.0, 1.0, UNCERTAINTY,
       "assumption: about 2 buyer arrests a day in the city, ~3,500 a year nationally with the scale factor",
       "Chance per patrol officer in the district that a pickup ends in arrest."),
    _p("registered_share", 0.2, "share", 0.0, 1.0, STRUCTURAL,
       "[001 L194] the actual number of users is 5 times the registered one",
       "Share of users known to authorities (reporting only; no effect on the run)."),

    # --- Couriers -------------------------------------------------------------
    _p("batch_min", 10, "stashes", 1, 100, UNCERTAINTY, "[001 L180] couriers take 10-15-20 stashes", "Smallest batch."),
    _p("batch_max", 20, "stashes", 1, 100, UNCERTAINTY, "[001 L180] couriers take 10-15-20 stashes", "Largest batch."),
    _p("work_share", 0.6, "days worked/day", 0.05, 1.0, UNCERTAINTY,
       "assumption: couriers work about four days a week", "Share of days a hired courier lays stashes."),
    _p("reservation_wage", 6_000.0, "KZT/day", 0.0, 1_000_000.0, UNCERTAINTY,
       "assumption: a young worker's legal daily earnings (a cook 'cannot support the family' [001 L174])",
       "Median daily legal income of a candidate."),
    _p("wage_dispersion", 0.6, "log sd", 0.0, 3.0, UNCERTAINTY,
       "assumption: desperation varies widely among candidates [001 L174, L180]",
       "Spread (lognormal sigma) of reservation wages."),
    _p("discount_factor_mean", 0.6, "per year", 0.05, 0.999, UNCERTAINTY,
       "assumption: the young discount the future heavily (couriers are 'all youth' [001 L180])",
       "Mean annual discount factor of candidates."),
    _p("discount_factor_sd", 0.15, "per year", 0.0, 0.5, UNCERTAINTY,
       "assumption: heterogeneity of time preference", "Spread of annual discount factors."),
    _p("prison_year_cost", 1.0, "reservation-years", 0.0, 100.0, UNCERTAINTY,
       "assumption: a prison year costs what a year of legal income is worth",
       "Disutility of one prison year in units of a year's reservation income."),
    _p("courier_risk_aversion", 1.0, "dimensionless", 0.0, 10.0, UNCERTAINTY,
       "assumption: risk-neutral on average; individuals drawn around it", "Mean weight of expected punishment."),
    _p("prior_courier_risk", 0.003, "1/working day", 0.0, 0.5, UNCERTAINTY,
       "assumption: newcomers believe arrests are rare ('easy money' [001 L180])",
       "Initial perceived daily arrest probability of a courier."),
    _p("prior_conviction", 0.5, "probability", 0.0, 1.0, UNCERTAINTY,
       "assumption: before observing any case, a conviction is thought a coin toss",
       "Initial perceived chance that an arrest ends in conviction."),
    _p("learning_rate", 0.05, "1/observation", 0.0, 1.0, UNCERTAINTY,
       "assumption: perceived risk moves 5% of the way to each day's observation",
       "Weight of a new observation in perceived risk."),
    _p("peers_observed", 10, "peers", 1, 1_000, UNCERTAINTY,
       "assumption: a courier hears of arrests among about ten peers", "Peers whose arrests an agent observes."),
    _p("target_income", 1_500_000.0, "KZT", 0.0, 1e9, UNCERTAINTY,
       "assumption: 'easy money' for a purchase, then quit [001 L180]", "Mean income after which a courier quits."),
    _p("ad_reach", 0.05, "share/day", 0.0, 1.0, UNCERTAINTY,
       "assumption: job ads [001 L121] reach a twentieth of the pool each day",
       "Share of candidates seeing an ad daily."),
    _p("return_after_release", 0.3, "probability", 0.0, 1.0, UNCERTAINTY,
       "assumption: some released couriers return to the pool", "Chance a released courier rejoins the pool."),
    _p("courier_detection", 0.00015, "1/(officer-day)", 0.0, 1.0, UNCERTAINTY,
       "assumption: chance per patrol officer in the district that one placement is seen",
       "Street detection of a courier at one placement."),
    _p("stash_detection", 0.0005, "1/(officer-day)", 0.0, 1.0, UNCERTAINTY,
       "assumption: daily chance per patrol officer that a hidden stash is found",
       "Street detection of a stash lying in a district."),
    _p("bad_placement", 0.04, "probability", 0.0, 1.0, UNCERTAINTY,
       "assumption: a few stashes are badly placed or taken by others ('not found' disputes [001 L109-127])",
       "Chance a stash is lost (badly placed or stolen)."),

    # --- Shops ----------------------------------------------------------------
    _p("abroad_share", 0.7, "share", 0.0, 1.0, UNCERTAINTY,
       "[001 L147, L179] organizers 'are abroad'; no curator imprisoned",
       "Share of operators abroad (never arrestable)."),
    _p("visibility_growth", 0.01, "1/day", 0.0, 1.0, UNCERTAINTY,
       "assumption: advertising (online, graffiti [001 L109-127]) builds visibility slowly",
       "Daily growth of storefront visibility towards 1."),
    _p("mirror_delay", 3, "days", 0, 365, UNCERTAINTY,
       "[001 L147] 'new sites appear quickly'; blocked storefronts reappear within days",
       "Days from blocking to the mirror's opening."),
    _p("mirror_cost", 500_000.0, "KZT", 0.0, 1e10, UNCERTAINTY,
       "assumption: a new bot/channel and its advertising", "Cost of opening a mirror."),
    _p("mirror_retention", 0.7, "share", 0.0, 1.0, UNCERTAINTY,
       "assumption: most customers follow a shop to its mirror", "Share of a shop's buyers who find its mirror."),
    _p("shop_start_cash", 20_000_000.0, "KZT", 0.0, 1e12, UNCERTAINTY,
       "assumption: a month of turnover at 0.71 bn/year [001 L139]", "Cash of a new shop."),
    _p("shop_entry_rate", 0.01, "1/day", 0.0, 1.0, UNCERTAINTY,
       "assumption: a market whose shops earn their starting cash monthly attracts a new shop every ~100 days",
       "Daily chance of shop entry per unit of (monthly return on starting cash + unmet share of orders)."),
    _p("shop_fixed_cost", 200_000.0, "KZT/day", 0.0, 1e9, UNCERTAINTY,
       "assumption: advertising, bots, drop accounts (~10% of turnover)", "Daily running cost of a shop."),
    _p("ground_days", 1.5, "days", 0.2, 30.0, UNCERTAINTY,
       "assumption: shops keep about a day and a half of orders hidden in the city",
       "Stashes kept on the ground, in days of expected orders."),
    _p("stock_days", 7.0, "days", 1.0, 90.0, UNCERTAINTY,
       "assumption: shops buy a week of bulk at a time", "Bulk reorder size in days of sales."),

    # --- Labs -----------------------------------------------------------------
    _p("lab_capacity", 250.0, "g/day", 1.0, 100_000.0, UNCERTAINTY,
       "[001 L175] one lab sold 4 kg a week (~570 g/day); mean set so that the largest (x1.5) stay under it",
       "Mean lab production capacity."),
    _p("lab_stock_days", 14.0, "days", 1.0, 365.0, UNCERTAINTY,
       "assumption: an artisanal lab stops cooking when it holds two weeks of output unsold",
       "Unsold stock, in days of capacity, at which a lab stops producing."),
    _p("precursor_interval", 7, "days", 1, 365, UNCERTAINTY,
       "assumption: weekly shipments; precursors come by dead drop from curators abroad [001 L175]",
       "Days between precursor shipments to a lab."),
    _p("lab_entry_delay", 21, "days", 1, 1_000, UNCERTAINTY,
       "assumption: an artisanal lab is quick to set up ('very easy to cook' [001 L179]): three weeks",
       "Delay before a new lab produces."),
    _p("lab_entry_rate", 0.05, "1/day", 0.0, 1.0, UNCERTAINTY,
       "assumption: unmet bulk demand starts a new lab set-up every ~50 days",
       "Daily chance of a lab set-up when bulk demand goes unmet."),

    # --- Police and justice: levers -------------------------------------------
    _p("sanction_regime", "2025_law", "", None, None, LEVER,
       "[001 L87-95] 2025 law; [001 L173] pre-2025 practice of 10-14 years for stash-layers",
       "Sanction table in force.", ("2025_law", "pre2025_practice")),
    _p("large_quantity", 5.0, "g", 0.0, 1000.0, UNCERTAINTY,
       "assumption: a courier caught with 10 or more stashes (5 g; 1 g is already criminal [001 L87]) "
       "is charged with a large quantity ([001 L173, L180]: long terms for a 'large volume')",
       "Grams on a caught courier from which the large-quantity sentence applies."),
    _p("severity_multiplier", 1.0, "x sentence", 0.0, 5.0, LEVER,
       "assumption: 1 = the sanction table as written", "Multiplier on every prison term."),
    _p("buyer_imprisonment", False, "", None, None, LEVER,
       "[000 L297-299] buyers get a fine today; tightened penalties imprison them",
       "Imprison buyers (art. 296) instead of fining them."),
    _p("police_budget", 100.0, "officer-days/day", 0.0, 100_000.0, LEVER,
       "assumption: a city's drug-control staff after the halving of the committee [001 L65]",
       "Officer-days per day spent on drug control."),
    _p("share_patrol", 0.55, "share", 0.0, 1.0, LEVER,
       "assumption: street work dominates today ('fight established only with actual sales' [001 L179])",
       "Budget share on street patrol."),
    _p("share_cyber", 0.15, "share", 0.0, 1.0, LEVER,
       "assumption: monitoring is a small unit (AFM staff and a few trained agents [001 L137; 004])",
       "Budget share on cyber monitoring and blocking."),
    _p("share_investigation", 0.2, "share", 0.0, 1.0, LEVER,
       "assumption: the halved drug department [001 L65] still runs case investigations",
       "Budget share on investigating leads."),
    _p("share_labs", 0.1, "share", 0.0, 1.0, LEVER,
       "assumption: lab and precursor work is new and small [001 L95]",
       "Budget share on labs and precursors."),
    _p("targeting_mode", "balanced", "", None, None, LEVER,
       "[000 L245] police focus on 'artificially increasing' statistics",
       "Where patrol goes: 'balanced' half by demand, half by where stashes were found and buyers arrested; "
       "'statistics' by buyer pickups, spending most patrol time on buyer arrests.", ("balanced", "statistics")),
    _p("buyer_stop_share", 0.2, "share", 0.0, 1.0, UNCERTAINTY,
       "assumption: in balanced policing a fifth of patrol time goes to stopping buyers",
       "Share of patrol time spent on buyers in 'balanced' mode."),
    _p("statistics_stop_share", 0.8, "share", 0.0, 1.0, UNCERTAINTY,
       "[000 L245] work 'for the sake of statistics' chases easy buyer arrests",
       "Share of patrol time spent on buyers in 'statistics' mode."),
    _p("detection_multiplier", 1.0, "x", 0.0, 10.0, LEVER,
       "assumption: 1 = today's street detection technique", "Multiplier on street detection of couriers and stashes."),
    _p("digital_analytics", 0.1, "0..1", 0.0, 1.0, LEVER,
       "[003 L75] digital crime solved in 43% vs 67% conventional: analytics are weak today",
       "Level of digital analytics (crypto tracing, OSINT, phone data)."),
    _p("digital_courier_detection", 0.004, "1/working day", 0.0, 0.5, UNCERTAINTY,
       "assumption: at full analytics and cyber effort, a courier's digital trail gives ~0.4%/day",
       "Daily digital detection of a courier at digital_analytics = 1 and 15 cyber officers."),
    _p("storefront_detection", 0.01, "1/(officer-day)", 0.0, 1.0, UNCERTAINTY,
       "[001 L137] 875 resources and ~300 channels blocked in half a year nationally",
       "Daily chance per cyber officer of detecting a fully visible storefront."),
    _p("block_delay", 14, "days", 0, 365, LEVER,
       "[001 L147] blocking 'is lengthy and time-consuming'", "Days from detecting a storefront to blocking it."),
    _p("coordination", 0.1, "0..1", 0.0, 1.0, LEVER,
       "[001 L65, L207] agencies weakly coordinated after the reform", "Sharing of leads between agencies."),
    _p("lead_probability", 0.02, "probability", 0.0, 1.0, UNCERTAINTY,
       "[001 L126] compartmentalisation: participants have no direct contact",
       "Chance an arrested courier yields a usable lead to the operator at zero coordination/analytics."),
    _p("lead_boost", 10.0, "x", 1.0, 100.0, UNCERTAINTY,
       "assumption: full coordination and analytics multiply lead yield up to ten-fold",
       "Lead-yield multiplier at coordination = digital_analytics = 1."),
    _p("investigation_rate", 0.0005, "1/(officer-day x lead)", 0.0, 1.0, UNCERTAINTY,
       "assumption: one lead worked by 20 investigators identifies its target in ~100 days",
       "Identification hazard per lead per investigating officer."),
    _p("lead_half_life", 90.0, "days", 1.0, 3650.0, UNCERTAINTY,
       "assumption: a lead (phone, wallet, chat) goes stale in months as the shop rotates accounts",
       "Half-life of an unworked lead."),
    _p("lab_link", 0.5, "probability", 0.0, 1.0, UNCERTAINTY,
       "assumption: half the leads on a shop also point to its supplying lab (bulk-stash coordinates [001 L109-127])",
       "Chance a lead on a shop is also a lead on its lab."),
    _p("forensic_delay", 30, "days", 0, 365, LEVER,
       "[001 L101] forensic testing of synthetics takes about a month", "Days from arrest to forensic result."),
    _p("abscond_rate", 0.003, "1/day", 0.0, 1.0, LEVER,
       "[001 L101-103] no arrest measure without expertise; 108 suspects wanted nationally: ~9% of suspects "
       "flee during a 30-day wait",
       "Daily chance a suspect waiting for forensics absconds."),
    _p("conviction_probability", 0.67, "probability", 0.0, 1.0, LEVER,
       "[003 L75] 67% solved for conventional crime (43% for digital)",
       "Chance a case with forensic result ends in conviction."),
    _p("precursor_interdiction", 0.05, "probability", 0.0, 1.0, LEVER,
       "[001 L95, L175] precursors move freely by dead drop; control is new",
       "Chance a precursor shipment is intercepted."),
    _p("lab_detection", 0.0001, "1/(officer-day)", 0.0, 1.0, UNCERTAINTY,
       "assumption: without leads, ten lab officers find a given lab in about three years",
       "Daily lab detection per lab officer."),
    _p("prevention", 0.0, "0..1", 0.0, 1.0, LEVER,
       "[001 L194] prevention systems are required; none today", "Share by which prevention lowers initiation."),
    _p("treatment", 0.0, "0..1", 0.0, 1.0, LEVER,
       "[000 Table 2] compulsory treatment is rare today", "Chance an arrested buyer is treated instead of fined."),
    _p("treatment_effect", 0.5, "probability", 0.0, 1.0, UNCERTAINTY,
       "assumption: half of treated users stop", "Chance a treated buyer quits (and relapses at half the rate)."),
]}
# fmt: on

SHARES = ("share_patrol", "share_cyber", "share_investigation", "share_labs")


def defaults() -> dict[str, Any]:
    """Return the default value of every parameter."""
    return {name: p.default for name, p in REGISTRY.items()}


def levers() -> list[str]:
    """Names of the policy levers."""
    return [n for n, p in REGISTRY.items() if p.kind == LEVER]


def validate(values: dict[str, Any], where: str = "", *, levers_only: bool = False) -> dict[str, Any]:
    """Check a mapping of parameter values; return the converted values.

    Args:
        values: parameter names and values to check.
        where: file (and table) the values came from, for the error message.
        levers_only: reject anything that is not a policy lever.

    Raises:
        ParameterError: on an unknown name, a wrong type or an out-of-range value.
    """
    prefix = f"{where}: " if where else ""
    out = {}
    for name, value in values.items():
        if name not in REGISTRY:
            raise ParameterError(f"{prefix}unknown parameter '{name}' (see `klad params` for the list)")
        if levers_only and REGISTRY[name].kind != LEVER:
            raise ParameterError(
                f"{prefix}'{name}' is not a policy lever; allowed in [policy] are: {', '.join(levers())}"
            )
        out[name] = REGISTRY[name].check(value, where)
    return out


def resolve(params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Merge validated overrides onto the defaults and check cross-parameter rules.

    ``params`` may hold a ``policy`` sub-dict of lever values that switch on at
    ``policy_start_day``.
    """
    params = dict(params or {})
    policy = params.pop("policy", {}) or {}
    full = defaults()
    full.update(validate(params))
    full["policy"] = validate(policy, "policy", levers_only=True)
    for table in (full, {**full, **full["policy"]}):
        _check_cross_rules(table)
    return full


def _check_cross_rules(values: dict[str, Any]) -> None:
    if values["batch_min"] > values["batch_max"]:
        raise ParameterError(
            f"parameter 'batch_min' = {values['batch_min']} exceeds 'batch_max' = {values['batch_max']}"
        )
    total = sum(values[s] for s in SHARES)
    if total > 1.0 + 1e-9:
        raise ParameterError(f"police budget shares {', '.join(SHARES)} add up to {total:g}; allowed is at most 1")


def load_scenario(path: str | Path) -> dict[str, Any]:
    """Read a scenario TOML file, following ``extends``, and return its resolved parameters.

    A scenario file has optional top-level ``name``, ``description`` and
    ``extends`` (a path relative to the file), a ``[params]`` table of values in
    force from day 0 and a ``[policy]`` table of lever values that switch on at
    ``policy_start_day``.

    Raises:
        ParameterError: with the file and key, on any problem.
    """
    merged, meta = _read_chain(Path(path), [])
    try:
        resolved = resolve({**merged["params"], "policy": merged["policy"]})
    except ParameterError as exc:
        raise ParameterError(f"{path}: {exc}") from None
    name = meta.get("name", Path(path).stem)
    if not isinstance(name, str):
        raise ParameterError(f"{path}: 'name' = {name!r} is invalid: allowed is a string")
    resolved["scenario_name"] = name
    return resolved


def int_setting(where: str, data: dict, key: str, default: int | None, low: int) -> int:
    """An integer setting of a TOML file, at least ``low``; a ParameterError naming file and key otherwise."""
    value = data.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ParameterError(f"{where}: '{key}' = {value!r} is invalid: allowed is an integer >= {low}")
    return value


def read_toml(path: Path) -> dict:
    """Parse a TOML file; any unreadable or malformed file is a ParameterError naming it."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ParameterError(f"{path}: TOML syntax error: {exc}") from None
    except UnicodeDecodeError:
        raise ParameterError(f"{path}: not a UTF-8 text file") from None
    except OSError as exc:
        raise ParameterError(f"{path}: cannot be read ({exc.strerror})") from None


_TOP_KEYS = {"name", "description", "extends", "params", "policy"}


def _read_chain(path: Path, seen: list[Path]) -> tuple[dict[str, dict], dict]:
    path = path.resolve()
    if path in seen:
        chain = " -> ".join(p.name for p in [*seen, path])
        raise ParameterError(f"{seen[-1]}: 'extends' makes a cycle: {chain}")
    if not path.is_file():
        where = f"{seen[-1]}: 'extends'" if seen else "scenario"
        raise ParameterError(f"{where}: file not found: {path}")
    data = read_toml(path)
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise ParameterError(
            f"{path}: unknown top-level key '{sorted(unknown)[0]}'; allowed are {', '.join(sorted(_TOP_KEYS))}"
        )
    for table in ("params", "policy"):
        if not isinstance(data.get(table, {}), dict):
            raise ParameterError(f"{path}: '{table}' must be a table ([{table}])")
    params = validate(data.get("params", {}), f"{path} [params]")
    policy = validate(data.get("policy", {}), f"{path} [policy]", levers_only=True)
    if "extends" in data:
        if not isinstance(data["extends"], str):
            raise ParameterError(f"{path}: 'extends' must be a file name string")
        parent, _ = _read_chain(path.parent / data["extends"], [*seen, path])
        params = {**parent["params"], **params}
        policy = {**parent["policy"], **policy}
    return {"params": params, "policy": policy}, data
