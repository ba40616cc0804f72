"""A small off-grid microgrid design model: the energy-system problem behind the demo data.

An island site with an hourly load, solar and wind resource over four representative weeks (one
per season, each weighted to a full year) is supplied by PV, wind turbines, a battery and a diesel
generator. Dispatch is the usual rule-based merit order: renewables first, surplus charges the
battery, a deficit is met by the battery, then diesel; what is left is unserved. Everything is
vectorised over designs (or over uncertain samples), so a pymoo population or a Monte Carlo batch
is one call, about 20 ms.

- ``synthetic_site(seed)``: deterministic load and resource series (no data files).
- ``simulate(site, design, ...)``: annual energy flows, cost, CO2 and KPIs of designs.
- ``MicrogridProblem``: the pymoo problem (2 objectives: annual cost, CO2; or 3 with unserved
  energy as its own objective).
- ``expansion_milp(site)``: the same site as a HiGHS capacity-expansion MILP (integer unit
  counts, hourly dispatch over four representative days).

The numbers (costs, fuel use, emission factor) are round, plausible values for such a site, not
data about a real one.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

HOURS_PER_WEEK = 168
WEEKS = 4  # one per season
HOURS_PER_YEAR = 8760.0
DESIGN_NAMES = ("pv_kw", "wind_kw", "battery_kwh", "diesel_kw")
DESIGN_LOWER = np.array([0.0, 0.0, 0.0, 0.0])
DESIGN_UPPER = np.array([3000.0, 2000.0, 8000.0, 600.0])


@dataclass(frozen=True)
class Site:
    """Hourly series of the representative weeks: load (kW) and capacity factors (0..1)."""

    load_kw: np.ndarray
    pv_cf: np.ndarray
    wind_cf: np.ndarray

    @property
    def hour_weight(self) -> float:
        """Hours of the year each modelled hour stands for."""
        return HOURS_PER_YEAR / self.load_kw.size


@dataclass(frozen=True)
class Economics:
    """Costs and technical constants; annual costs use the capital recovery factor."""

    pv_capex: float = 900.0  # $/kW
    wind_capex: float = 1400.0  # $/kW
    battery_capex: float = 350.0  # $/kWh
    diesel_capex: float = 500.0  # $/kW
    om_fraction: float = 0.02  # of capex per year
    fuel_price: float = 1.2  # $/litre
    litres_per_kwh: float = 0.28  # diesel generator at typical part load
    co2_kg_per_litre: float = 2.68
    discount_rate: float = 0.07
    lifetime_years: int = 20
    value_of_lost_load: float = 5.0  # $/kWh unserved (used when the cost includes it)
    battery_c_rate: float = 0.25  # power / energy
    battery_efficiency: float = 0.92  # one way

    @property
    def capital_recovery_factor(self):
        r, n = self.discount_rate, self.lifetime_years
        return r * (1 + r) ** n / ((1 + r) ** n - 1)


def synthetic_site(seed: int = 2024) -> Site:
    """Four representative weeks (winter, spring, summer, autumn) of a windy island: a load with
    daily and weekly shape, clear-sky solar with cloudiness, and autocorrelated wind (AR(1) speed
    through a turbine power curve). Deterministic for a given ``seed``."""
    rng = np.random.default_rng(seed)
    hours = np.arange(HOURS_PER_WEEK * WEEKS)
    hour_of_day = hours % 24
    day = hours // 24
    week = hours // HOURS_PER_WEEK
    season_load = np.array([1.15, 0.95, 1.05, 1.0])[week]  # heating in winter, cooling in summer
    daily = 0.75 + 0.35 * np.exp(-((hour_of_day - 19) ** 2) / 8) + 0.2 * np.exp(-((hour_of_day - 8) ** 2) / 6)
    weekend = np.where(day % 7 >= 5, 0.92, 1.0)
    load = 240.0 * season_load * daily * weekend * (1 + 0.05 * rng.standard_normal(hours.size))

    day_length = np.array([9.0, 12.5, 15.0, 11.5])[week]
    elevation = np.clip(np.cos(np.pi * (hour_of_day + 0.5 - 12.5) / day_length), 0, None)
    clouds = np.repeat(rng.beta(4, 2, size=day.max() + 1), 24)[: hours.size]
    pv_cf = np.clip(0.85 * elevation * clouds * np.array([0.7, 1.0, 1.1, 0.85])[week], 0, 1)

    speed = np.empty(hours.size)
    mean_speed = np.array([8.0, 6.5, 5.5, 7.0])[week]
    level = 0.0
    for t in range(hours.size):  # AR(1): wind comes in multi-hour spells
        level = 0.93 * level + 0.37 * rng.standard_normal()
        speed[t] = max(0.0, mean_speed[t] * (1 + 0.45 * level))
    wind_cf = np.clip((speed - 3.0) / (12.0 - 3.0), 0, 1) ** 1.8
    wind_cf[speed > 25.0] = 0.0
    return Site(load_kw=load, pv_cf=pv_cf, wind_cf=wind_cf)


def simulate(
    site: Site,
    pv_kw,
    wind_kw,
    battery_kwh,
    diesel_kw,
    economics: Economics = Economics(),
    *,
    load_scale=1.0,
    wind_scale=1.0,
) -> dict[str, np.ndarray]:
    """Hourly rule-based dispatch of designs; every argument broadcasts (designs or samples).

    Returns annual figures, each an array: ``load_kwh``, ``served_kwh``, ``unserved_kwh``,
    ``diesel_kwh``, ``curtailed_kwh``, ``capex`` ($), ``annual_cost`` ($/year, without lost
    load), ``annual_cost_with_lost_load``, ``co2_t`` (tonnes/year), ``renewable_fraction``
    (share of served energy not from diesel), ``self_sufficiency`` (served / load),
    ``unserved_pct``.
    """
    pv, wind, capacity, diesel, load_scale, wind_scale = np.broadcast_arrays(
        *(np.asarray(v, dtype=np.float64) for v in (pv_kw, wind_kw, battery_kwh, diesel_kw, load_scale, wind_scale))
    )
    power = capacity * economics.battery_c_rate
    eta = economics.battery_efficiency
    soc = 0.5 * capacity
    diesel_kwh = np.zeros_like(pv)
    unserved = np.zeros_like(pv)
    curtailed = np.zeros_like(pv)
    load_total = np.zeros_like(pv)
    # Only the battery's state is sequential, but this plain loop over hours (each step vectorised
    # over designs) measured faster than precomputing hours x designs matrices around it.
    for load, sun, breeze in zip(site.load_kw, site.pv_cf, site.wind_cf):
        demand = load * load_scale
        net = demand - pv * sun - wind * breeze * wind_scale
        surplus = np.maximum(-net, 0.0)
        charge = np.minimum(np.minimum(surplus, power), (capacity - soc) / eta)
        soc = soc + charge * eta
        deficit = np.maximum(net, 0.0)
        discharge = np.minimum(np.minimum(deficit, power), soc * eta)
        soc = soc - discharge / eta
        rest = deficit - discharge
        generated = np.minimum(rest, diesel)
        diesel_kwh += generated
        unserved += rest - generated
        curtailed += surplus - charge
        load_total += demand
    weight = site.hour_weight
    load_kwh, diesel_kwh, unserved, curtailed = (a * weight for a in (load_total, diesel_kwh, unserved, curtailed))
    served = load_kwh - unserved
    capex = (
        pv * economics.pv_capex + wind * economics.wind_capex
        + capacity * economics.battery_capex + diesel * economics.diesel_capex
    )
    fuel_litres = diesel_kwh * economics.litres_per_kwh
    annual_cost = capex * (economics.capital_recovery_factor + economics.om_fraction) + fuel_litres * economics.fuel_price
    return {
        "load_kwh": load_kwh,
        "served_kwh": served,
        "unserved_kwh": unserved,
        "diesel_kwh": diesel_kwh,
        "curtailed_kwh": curtailed,
        "capex": capex,
        "annual_cost": annual_cost,
        "annual_cost_with_lost_load": annual_cost + unserved * economics.value_of_lost_load,
        "co2_t": fuel_litres * economics.co2_kg_per_litre / 1000.0,
        "renewable_fraction": np.where(served > 0, 1.0 - diesel_kwh / np.where(served > 0, served, 1.0), 0.0),
        "self_sufficiency": served / load_kwh,
        "unserved_pct": 100.0 * unserved / load_kwh,
    }


def economics_with(**changes) -> Economics:
    """``Economics`` with some fields changed (Monte Carlo samples use it)."""
    return replace(Economics(), **changes)


def _problem_class():
    # pymoo is imported only by code that optimises, not by code that merely simulates.
    from pymoo.core.problem import Problem

    class MicrogridProblem(Problem):
        """Size PV (kW), wind (kW), battery (kWh) and diesel (kW) for the site.

        Two objectives: annual cost including lost load at the value of lost load ($/year) and
        CO2 (t/year). Three objectives (``n_obj=3``): annual cost without lost load, CO2 and
        unserved energy (% of load) as its own objective.
        """

        def __init__(self, site: Site, n_obj: int = 2, economics: Economics = Economics()):
            if n_obj not in (2, 3):
                raise ValueError(f"n_obj={n_obj!r}: MicrogridProblem has 2 or 3 objectives")
            super().__init__(n_var=4, n_obj=n_obj, xl=DESIGN_LOWER, xu=DESIGN_UPPER)
            self.site = site
            self.economics = economics

        def _evaluate(self, X, out, *args, **kwargs):
            result = simulate(self.site, X[:, 0], X[:, 1], X[:, 2], X[:, 3], self.economics)
            if self.n_obj == 2:
                out["F"] = np.column_stack([result["annual_cost_with_lost_load"], result["co2_t"]])
            else:
                out["F"] = np.column_stack([result["annual_cost"], result["co2_t"], result["unserved_pct"]])

    return MicrogridProblem


def microgrid_problem(site: Site, n_obj: int = 2, economics: Economics = Economics()):
    """A ``MicrogridProblem`` (pymoo ``Problem``) for ``site``; see its docstring."""
    return _problem_class()(site, n_obj, economics)


# ------------------------------------------------------------------------------------------ MILP

# Candidate units: (name, unit size, capex per unit of size); counts are integers.
MILP_UNITS = (
    ("pv_block_100kw", 100.0, 900.0),
    ("wind_turbine_250kw", 250.0, 1400.0),
    ("battery_container_500kwh", 500.0, 350.0),
    ("genset_100kw", 100.0, 500.0),
)
MILP_MAX_UNITS = (30, 8, 16, 6)
MILP_DAYS = (2, 10, 16, 25)  # one day from each representative week (season)


def expansion_milp(site: Site, economics: Economics = Economics(), *, co2_cap_t: float = 400.0):
    """Capacity expansion as a HiGHS MILP: integer unit counts, hourly dispatch over four days.

    Minimises annualised capex and O&M plus fuel (scaled to a year), with lost load at the value
    of lost load, under an annual CO2 cap. Returns ``(highs, unit_variables)``: the model, ready
    to solve, and the four integer count variables (PV blocks, turbines, battery containers,
    gensets).
    """
    import highspy

    h = highspy.Highs()
    h.silent()
    h.setOptionValue("mip_rel_gap", 1e-6)
    h.setOptionValue("random_seed", 1)
    hours = np.concatenate([np.arange(24) + 24 * d for d in MILP_DAYS])
    weight = HOURS_PER_YEAR / hours.size
    annuity = economics.capital_recovery_factor + economics.om_fraction
    units = [
        h.addIntegral(lb=0, ub=limit, obj=size * capex * annuity, name=name)
        for (name, size, capex), limit in zip(MILP_UNITS, MILP_MAX_UNITS)
    ]
    n_pv, n_wind, n_battery, n_genset = units
    pv_size, wind_size, battery_size, genset_size = (u[1] for u in MILP_UNITS)
    fuel_cost = economics.litres_per_kwh * economics.fuel_price * weight
    co2_per_kwh = economics.litres_per_kwh * economics.co2_kg_per_litre / 1000.0 * weight
    eta = economics.battery_efficiency
    diesel_hours = []
    for k, t in enumerate(hours):
        renewable = h.addVariable(lb=0, name=f"renewable_{k}")
        diesel = h.addVariable(lb=0, obj=fuel_cost, name=f"diesel_{k}")
        charge = h.addVariable(lb=0, name=f"charge_{k}")
        discharge = h.addVariable(lb=0, name=f"discharge_{k}")
        soc = h.addVariable(lb=0, name=f"soc_{k}")
        unserved = h.addVariable(lb=0, obj=economics.value_of_lost_load * weight, name=f"unserved_{k}")
        h.addConstr(renewable <= site.pv_cf[t] * pv_size * n_pv + site.wind_cf[t] * wind_size * n_wind)
        h.addConstr(diesel <= genset_size * n_genset)
        h.addConstr(charge <= battery_size * economics.battery_c_rate * n_battery)
        h.addConstr(discharge <= battery_size * economics.battery_c_rate * n_battery)
        h.addConstr(soc <= battery_size * n_battery)
        h.addConstr(renewable + diesel + discharge + unserved - charge == float(site.load_kw[t]))
        if k % 24 == 0:  # each day starts half full and must end at least half full
            h.addConstr(soc == 0.5 * battery_size * n_battery + eta * charge - discharge / eta)
        else:
            h.addConstr(soc == previous + eta * charge - discharge / eta)
        if k % 24 == 23:
            h.addConstr(soc >= 0.5 * battery_size * n_battery)
        previous = soc
        diesel_hours.append(diesel)
    h.addConstr(sum(diesel_hours) * co2_per_kwh <= co2_cap_t)
    return h, units
