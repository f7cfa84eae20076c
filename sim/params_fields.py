"""The fields of ``sim.params.Params``: generated from ``sim/registry.toml`` by ``python -m sim.params``.

Do not edit by hand: change the registry and write this file anew (``make docs`` does both).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class ParamFields:
    """Every parameter of ``sim/registry.toml``, typed, with its default (``Params`` adds the checks)."""

    #: Active buyers at day 0. (buyers; structural)
    n_buyers: int = 10_000

    #: Multiply city totals by this to compare with national figures (reporting only; no effect on the run).
    #: (country/city; structural)
    national_scale_factor: float = 5.0

    #: City grid width. (districts; structural)
    grid_width: int = 8

    #: City grid height. (districts; structural)
    grid_height: int = 8

    #: How unevenly buyers' homes are spread over districts (0 = even). (Zipf exponent; uncertainty)
    demand_concentration: float = 1.2

    #: Shops (operators with a storefront) at day 0. (shops; structural)
    n_shops: int = 10

    #: Clandestine labs at day 0. (labs; structural)
    n_labs: int = 6

    #: Couriers employed at day 0. (couriers; structural)
    n_couriers: int = 240

    #: People in the courier candidate pool at day 0. (people per 10,000 buyers; uncertainty)
    candidate_pool: int = 8000

    #: New candidates entering the courier pool each day. (people/day per 10,000 buyers; uncertainty)
    candidate_inflow: float = 20.0

    #: Daily hazard of leaving the pool. (1/day; uncertainty)
    candidate_exit_rate: float = 0.0025

    #: Day on which the scenario's policy levers switch on. (day; structural)
    policy_start_day: int = 365

    #: Grams in one retail stash. (g/stash; uncertainty)
    stash_grams: float = 0.5

    #: Retail price at baseline cost. (KZT/g; uncertainty)
    reference_price: float = 20000.0

    #: Bulk price a lab charges a shop at baseline. (KZT/g; uncertainty)
    wholesale_price: float = 1500.0

    #: Starting pay per stash laid. (KZT/stash; uncertainty)
    courier_pay: float = 2000.0

    #: Speed at which retail price moves to its target. (1/day; uncertainty)
    price_adjust_rate: float = 0.05

    #: Scarcity price response. (price share per unmet share; uncertainty)
    scarcity_markup: float = 1.0

    #: Elasticity of retail price to unit cost. (elasticity; uncertainty)
    cost_passthrough: float = 0.6

    #: Ceiling on pay per stash as a share of its retail price. (share of stash revenue; uncertainty)
    max_pay_share: float = 0.5

    #: Daily pay raise with unfilled vacancies (risk premium). (1/day; uncertainty)
    pay_raise_rate: float = 0.02

    #: Mean daily ordering probability at the reference price and no risk. (orders/buyer/day; uncertainty)
    order_rate: float = 0.2

    #: Mean price elasticity of ordering. (-dlnQ/dlnP; uncertainty)
    price_elasticity: float = 0.6

    #: How many KZT of full price one KZT of perceived expected sanction cost adds when a buyer decides to order
    #: (times his price elasticity). (KZT per KZT of expected sanction; uncertainty)
    buyer_risk_aversion: float = 1.0

    #: Chance a searching buyer finds an open storefront, scaled by the open share. (probability; uncertainty)
    search_success: float = 0.5

    #: How many storefronts a buyer remembers. (storefronts; uncertainty)
    known_storefronts: int = 3

    #: Storefronts a new buyer knows when he starts (drawn by visibility). (storefronts; uncertainty)
    first_storefronts: int = 2

    #: A buyer picks among the open storefronts he knows with chance proportional to (smoothed orders + 1) to this
    #: power. (exponent; uncertainty)
    size_preference: float = 1.0

    #: Elasticity of the quitting hazard to the retail price relative to the reference price. (-dln(quit
    #: hazard)/dlnP; uncertainty)
    use_price_elasticity: float = 0.5

    #: How many KZT of full price one KZT of perceived expected arrest cost per order adds in the quitting hazard:
    #: quit_rate x (full price / reference price) ** use_price_elasticity. (KZT per KZT of expected sanction;
    #: uncertainty)
    use_risk_response: float = 1.0

    #: Daily quitting hazard. (1/day; uncertainty)
    quit_rate: float = 0.0015

    #: Daily relapse hazard of a former user. (1/day; uncertainty)
    relapse_rate: float = 0.002

    #: Daily hazard of lasting recovery. (1/day; uncertainty)
    recovery_rate: float = 0.002

    #: New users per day at full availability and baseline advertising. (new buyers/day per 10,000 buyers;
    #: uncertainty)
    initiation_rate: float = 9.0

    #: Elasticity of initiation to the open storefronts' advertising (their visibility, relative to day 0).
    #: (dln(initiation)/dln(advertising); uncertainty)
    ad_elasticity: float = 0.25

    #: Fine for a buyer caught with a small amount. (KZT; uncertainty)
    fine_kzt: float = 50000.0

    #: A buyer's daily income: what a year in prison costs him (times prison_year_cost) when buyers are imprisoned.
    #: (KZT/day; uncertainty)
    buyer_income: float = 3000.0

    #: A buyer's annual discount factor for prison years: what a term of several years is worth to him today when
    #: buyers are imprisoned (the candidates' is discount_factor_mean). (per year; uncertainty)
    buyer_discount_factor: float = 0.36

    #: Mean prison term of an imprisoned buyer when buyers are imprisoned (buyer_imprisonment); terms are drawn
    #: between half and one and a half times it, times severity_multiplier. (years; uncertainty)
    buyer_prison_years: float = 2.0

    #: How the weight of an arrest's cost flattens: a cost of x order prices is weighed as (1 - exp(-s x)) / s, at
    #: most 1/s (0: as x). (1/order price; uncertainty)
    arrest_cost_saturation: float = 0.0

    #: Chance per patrol officer in the district that a pickup ends in arrest. (1/(officer-day); uncertainty)
    buyer_detection: float = 0.0007

    #: Share of users known to authorities (reporting only; no effect on the run). (share; structural)
    registered_share: float = 0.2

    #: Smallest batch. (stashes; uncertainty)
    batch_min: int = 10

    #: Largest batch. (stashes; uncertainty)
    batch_max: int = 20

    #: Share of days a hired courier lays stashes. (days worked/day; uncertainty)
    work_share: float = 0.6

    #: Median daily legal income of a candidate. (KZT/day; uncertainty)
    reservation_wage: float = 6000.0

    #: Spread (lognormal sigma) of reservation wages. (log sd; uncertainty)
    wage_dispersion: float = 0.6

    #: Mean annual discount factor of candidates. (per year; uncertainty)
    discount_factor_mean: float = 0.6

    #: Spread of annual discount factors. (per year; uncertainty)
    discount_factor_sd: float = 0.15

    #: Time constant with which couriers and buyers learn a change of the sentences in force (0: at once). (days;
    #: uncertainty)
    law_learning_days: int = 90

    #: Disutility of one prison year in units of a year's income: a courier candidate's reservation wage, a buyer's
    #: buyer_income. (years of income; uncertainty)
    prison_year_cost: float = 1.0

    #: Mean weight of expected punishment. (dimensionless; uncertainty)
    courier_risk_aversion: float = 1.0

    #: Initial perceived daily arrest probability of a courier. (1/working day; uncertainty)
    prior_courier_risk: float = 0.003

    #: Initial perceived chance that an arrest ends in conviction. (probability; uncertainty)
    prior_conviction: float = 0.5

    #: Weight of a new observation in perceived risk. (1/observation; uncertainty)
    learning_rate: float = 0.05

    #: Peers whose arrests an agent observes. (peers; uncertainty)
    peers_observed: int = 10

    #: Mean income after which a courier quits. (KZT; uncertainty)
    target_income: float = 1500000.0

    #: Share of candidates seeing an ad daily. (share/day; uncertainty)
    ad_reach: float = 0.05

    #: Chance a released courier rejoins the pool. (probability; uncertainty)
    return_after_release: float = 0.3

    #: Share by which a released courier's reservation wage falls. (share; uncertainty)
    record_wage_penalty: float = 0.3

    #: Share of a prison sentence actually served (early release on parole). (share of the sentence; uncertainty)
    time_served_share: float = 0.75

    #: Yearly chance that a prisoner is released early by an amnesty. (1/year; uncertainty)
    amnesty_rate: float = 0.0

    #: Scales the couriers in prison at day 0: this share of the city's expected courier convictions a day, over the
    #: time served. (share of the estimated stock-flow level; uncertainty)
    prison_fill: float = 0.76

    #: Street detection of a courier at one placement. (1/(officer-day); uncertainty)
    courier_detection: float = 0.00015

    #: Street detection of a stash lying in a district. (1/(officer-day); uncertainty)
    stash_detection: float = 0.0005

    #: Chance a stash is lost (badly placed or stolen). (probability; uncertainty)
    bad_placement: float = 0.04

    #: Share of operators abroad (never arrestable). (share; uncertainty)
    abroad_share: float = 0.7

    #: Daily growth of storefront visibility towards 1. (1/day; uncertainty)
    visibility_growth: float = 0.01

    #: Channels (bot, channel, site) a shop sells through at once; it is dark only while all are blocked, and each
    #: is found and blocked on its own. (channels; uncertainty)
    storefronts_per_shop: int = 1

    #: Cyber officer-days one block takes: the unit blocks at most its officer-days over this a day (the longest due
    #: first), and the officer-days spent blocking do not monitor the next day (0: no bound). (officer-days;
    #: uncertainty)
    officer_days_per_block: float = 0.0

    #: Days from blocking to the mirror's opening. (days; uncertainty)
    mirror_delay: int = 3

    #: Cost of opening a mirror. (KZT; uncertainty)
    mirror_cost: float = 500000.0

    #: Share of a shop's buyers who find its mirror (the others forget the shop): the one cost of a block to the
    #: shop's customers. (share; uncertainty)
    mirror_retention: float = 0.7

    #: Advertising reach (visibility) of a mirror relative to the blocked storefront. (share; uncertainty)
    mirror_visibility: float = 1.0

    #: Cash of a new shop. (KZT; uncertainty)
    shop_start_cash: float = 20000000.0

    #: Daily chance of shop entry per unit of expected margin: incumbents' monthly return on starting cash plus the
    #: unmet share of orders, above entry_hurdle (none below it). (1/day; uncertainty)
    shop_entry_rate: float = 0.01

    #: Monthly return on starting cash that incumbents must exceed before a new shop enters. (monthly return on
    #: starting cash; uncertainty)
    entry_hurdle: float = 2.1

    #: Daily share of a shop's cash above its reserve (shop_start_cash) that the owner withdraws. (1/day;
    #: uncertainty)
    owner_withdrawal: float = 0.05

    #: Days in a row of negative smoothed profit after which a shop closes (and of no sales after which a lab
    #: closes). (days; uncertainty)
    exit_patience: int = 60

    #: Daily running cost of a shop. (KZT/day; uncertainty)
    shop_fixed_cost: float = 200000.0

    #: Stashes kept on the ground, in days of expected orders. (days; uncertainty)
    ground_days: float = 1.5

    #: Bulk reorder size in days of sales. (days; uncertainty)
    stock_days: float = 7.0

    #: Mean lab production capacity. (g/day; uncertainty)
    lab_capacity: float = 250.0

    #: Unsold stock, in days of capacity, at which a lab stops producing. (days; uncertainty)
    lab_stock_days: float = 14.0

    #: Days between precursor shipments to a lab. (days; uncertainty)
    precursor_interval: int = 7

    #: Delay before a new lab produces. (days; uncertainty)
    lab_entry_delay: int = 21

    #: Daily chance of a lab set-up per tenth of bulk demand left unmet (capped at 1). (1/day; uncertainty)
    lab_entry_rate: float = 0.05

    #: Bulk a day that shops can buy from outside the city for what their labs could not deliver. (g/day per 10,000
    #: buyers; uncertainty)
    import_capacity: float = 200.0

    #: Bulk price of imported product. (KZT/g; uncertainty)
    import_price: float = 3000.0

    #: Sanction table in force. (; lever)
    sanction_regime: Literal["2025_law", "pre2025_practice"] = "2025_law"

    #: Grams on a caught courier from which the large-quantity sentence applies. (g; uncertainty)
    large_quantity: float = 5.0

    #: Multiplier on every prison term. (x sentence; lever)
    severity_multiplier: float = 1.0

    #: Imprison buyers (art. 296) instead of fining them. (; lever)
    buyer_imprisonment: bool = False

    #: Officer-days per day spent on drug control. (officer-days/day; lever)
    police_budget: float = 100.0

    #: Budget share on street patrol. (share; lever)
    share_patrol: float = 0.55

    #: Budget share on cyber monitoring and blocking. (share; lever)
    share_cyber: float = 0.15

    #: Budget share on investigating leads. (share; lever)
    share_investigation: float = 0.2

    #: Budget share on labs and precursors. (share; lever)
    share_labs: float = 0.1

    #: Where patrol goes: 'balanced' half by demand, half by where stashes were found and buyers arrested;
    #: 'statistics' by buyer pickups, spending most patrol time on buyer arrests. (; lever)
    targeting_mode: Literal["balanced", "statistics"] = "balanced"

    #: Share of patrol time spent on buyers in 'balanced' mode. (share; uncertainty)
    buyer_stop_share: float = 0.2

    #: Share of patrol time spent on buyers in 'statistics' mode. (share; uncertainty)
    statistics_stop_share: float = 0.8

    #: Multiplier on street detection of couriers and stashes. (x; lever)
    detection_multiplier: float = 1.0

    #: Level of digital analytics (crypto tracing, OSINT, phone data). (0..1; lever)
    digital_analytics: float = 0.1

    #: Share of an arrested courier's stashes still on the ground that his phone shows analysts at full analytics
    #: (digital_analytics 1); the share read is digital_analytics times it. Apart from digital_analytics, which also
    #: raises the tracing of couriers, so that the two ways analytics act are two assumptions. (share; uncertainty)
    phone_stash_share: float = 1.0

    #: Daily digital detection of a courier at digital_analytics = 1 and 15 cyber officers. (1/working day;
    #: uncertainty)
    digital_courier_detection: float = 0.004

    #: Daily chance per cyber officer of detecting a fully visible storefront. (1/(officer-day); uncertainty)
    storefront_detection: float = 0.01

    #: Days from detecting a storefront to blocking it. (days; lever)
    block_delay: int = 14

    #: Sharing of leads between agencies. (0..1; lever)
    coordination: float = 0.1

    #: Chance an arrested courier yields a usable lead to the operator at zero coordination/analytics. (probability;
    #: uncertainty)
    lead_probability: float = 0.02

    #: Lead-yield multiplier at coordination = digital_analytics = 1. (x; uncertainty)
    lead_boost: float = 10.0

    #: Multiplier on the daily digital tracing of a courier with a previous conviction, at coordination = 1 (1 + (x
    #: - 1) x coordination). (x; uncertainty)
    known_offender_detection: float = 3.0

    #: Share by which prevention, at full coordination, also lowers the relapse of former users. (share;
    #: uncertainty)
    prevention_reach: float = 0.5

    #: Identification hazard per lead per investigating officer. (1/(officer-day x lead); uncertainty)
    investigation_rate: float = 0.0005

    #: Half-life of an unworked lead. (days; uncertainty)
    lead_half_life: float = 90.0

    #: Chance a lead on a shop is also a lead on its lab. (probability; uncertainty)
    lab_link: float = 0.5

    #: Days from arrest to forensic result. (days; lever)
    forensic_delay: int = 30

    #: Daily chance a suspect waiting for forensics absconds. (1/day; lever)
    abscond_rate: float = 0.003

    #: Chance a case with forensic result ends in conviction. (probability; lever)
    conviction_probability: float = 0.67

    #: Chance a precursor (or import) shipment is intercepted at today's lab and precursor police effort (10
    #: officer-days); more officer-days intercept more (1 - (1 - p)^(effort / 10)). (probability; lever)
    precursor_interdiction: float = 0.05

    #: Chance an import shipment is intercepted at today's lab and precursor police effort (scaled like
    #: precursor_interdiction). (probability; lever)
    import_interdiction: float = 0.05

    #: Daily lab detection per lab officer. (1/(officer-day); uncertainty)
    lab_detection: float = 0.0001

    #: Share by which prevention lowers initiation. (0..1; lever)
    prevention: float = 0.0

    #: Chance an arrested buyer is treated instead of fined. (0..1; lever)
    treatment: float = 0.0

    #: Chance a treated buyer quits (and relapses at half the rate). (probability; uncertainty)
    treatment_effect: float = 0.5

    #: What one officer-day of drug-control work costs the state (pay and overheads): the police item, times the
    #: officer-days spent (effort_* columns). (KZT/officer-day; uncertainty)
    cost_officer_day: float = 25000.0

    #: What one year of one prisoner costs the state: the prison item, times the prisoner-years of every role
    #: (prisoners_* columns); also what a day in pre-trial custody costs (the custody item). (KZT/prisoner-year;
    #: uncertainty)
    cost_prisoner_year: float = 1800000.0

    #: Analysts and digital tools (crypto tracing, OSINT, phone data) a year at full analytics: the analytics item
    #: is digital_analytics times this. (KZT/year at digital_analytics = 1; uncertainty)
    cost_analytics: float = 200000000.0

    #: Interagency coordination (liaison staff, joint plans, a shared database) a year at full coordination: the
    #: coordination item is coordination times this. (KZT/year at coordination = 1; uncertainty)
    cost_coordination: float = 100000000.0

    #: What a prevention programme costs per person it reaches in a year: the prevention item is prevention x
    #: prevention_cohort x n_buyers / 10,000 x this. (KZT/person reached; uncertainty)
    cost_prevention_person: float = 30000.0

    #: People prevention at full strength (prevention = 1) reaches each year, per 10,000 buyers: a share prevention
    #: of them is reached. (people/year per 10,000 buyers; uncertainty)
    prevention_cohort: float = 35000.0

    #: What treating one arrested buyer costs (a course): the treatment item is buyers_treated times this.
    #: (KZT/buyer treated; uncertainty)
    cost_treatment: float = 1000000.0

    #: Street detection technique a year for each unit detection_multiplier rises above today's 1: the detection
    #: item. (KZT/year per unit of detection_multiplier above 1; uncertainty)
    cost_detection: float = 250000000.0

    #: Forensic equipment and experts a year for each day forensic_delay is cut below today's value: the forensics
    #: item. (KZT/year per day of forensic delay cut; uncertainty)
    cost_forensic_day: float = 4000000.0

    #: Staff a year for each day block_delay is cut below today's value, so that found storefronts are blocked
    #: sooner: the blocking item. (KZT/year per day of block_delay cut; uncertainty)
    cost_block_day: float = 2500000.0

    #: Border and customs inspection a year for each unit the larger of precursor_interdiction and
    #: import_interdiction rises above its today's value (the same checkpoints stop both): the border item.
    #: (KZT/year per unit of interdiction above today's; uncertainty)
    cost_border: float = 500000000.0

    #: What one conviction costs the courts and prosecutors: the courts item is convictions times this.
    #: (KZT/conviction; uncertainty)
    cost_conviction: float = 300000.0

    #: Share of users aged 17-26 (reporting only; no effect on the run). (share; structural)
    young_user_share: float = 0.425

    #: Share of users under 18 (reporting only; no effect on the run). (share; structural)
    minor_user_share: float = 0.25
