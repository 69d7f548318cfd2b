"""The monthly cost of a GPU node group: always-on on-demand against Spot + autoscaling.

Two ways to serve one daily load profile ``load[h]`` (requests/s in hour ``h`` of the day)
with GPU nodes that each serve ``capacity`` requests/s, kept at most ``utilisation`` busy:

* **on-demand, always on**: sized for the peak, day and night::

      n_peak = ceil(max_h load[h] / (capacity · utilisation))
      cost_od = n_peak · price_od · H                      (H = 730 hours in a month)

* **Spot + autoscaling**: each hour the autoscaler keeps just the nodes that hour needs
  (never fewer than ``min_nodes``); ``baseline`` of them are on-demand (they survive a Spot
  reclaim), the rest are Spot, spread over several instance types::

      n[h]    = max(min_nodes, ceil(load[h] / (capacity · utilisation)))
      cost_sp = (H / 24) · Σ_h [ min(baseline, n[h]) · price_od + (n[h] - baseline)⁺ · price_spot ]

  ``price_spot`` is the mean Spot price of the instance types (the fleet's
  price-capacity-optimised allocation spreads nodes over them; an equal spread is this
  model's assumption), and ``price_od`` is the cheapest on-demand type of the list, so the
  comparison never flatters Spot by pricing on-demand with a dear type.

  saving % = 100 · (1 − cost_sp / cost_od)

The prices are a snapshot in ``data/aws_gpu_prices.yaml`` with their sources and date, read
by :func:`load_prices`; the figure is a model, not a bill.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ai_roadmap.errors import RoadmapError

HOURS_PER_MONTH = 730.0  # AWS's own convention for monthly estimates (8 760 h / 12)
PRICE_FILE = "aws_gpu_prices.yaml"


@dataclass(frozen=True)
class InstancePrice:
    """One GPU instance type: its hourly prices and Spot interruption band."""

    name: str
    gpu: str
    on_demand_usd_h: float
    spot_usd_h: float
    interruption_band: str
    interruptions_per_month: float  # the band's upper edge


@dataclass(frozen=True)
class PriceBook:
    """The price snapshot: instance types, fixed cluster costs, where and when it was read."""

    region: str
    as_of: str
    read_on: str | None
    sources: dict[str, str]
    instances: dict[str, InstancePrice]
    eks_control_plane_usd_h: float
    system_node_usd_h: float


def load_prices(path: Path | None = None) -> PriceBook:
    """The price book in ``path`` (default: the packaged snapshot), checked field by field."""
    import yaml

    if path is None:
        text = resources.files("ai_roadmap.mlops").joinpath("data", PRICE_FILE).read_text()
        where = f"the packaged {PRICE_FILE}"
    else:
        if not path.is_file():
            raise RoadmapError(f"price file {path} does not exist: give a YAML like {PRICE_FILE}")
        text, where = path.read_text(), str(path)
    try:
        raw = yaml.safe_load(text)
        bands = {str(k): float(v) for k, v in raw["band_upper_rate_per_month"].items()}
        instances = {name: _instance(name, item, bands) for name, item in raw["instances"].items()}
        book = PriceBook(
            region=str(raw["region"]),
            as_of=str(raw["as_of"]),
            read_on=None if raw.get("read_on") is None else str(raw["read_on"]),
            sources={str(k): str(v) for k, v in raw["sources"].items()},
            instances=instances,
            eks_control_plane_usd_h=float(raw["eks_control_plane_usd_h"]),
            system_node_usd_h=float(raw["system_node"]["on_demand_usd_h"]),
        )
    except (KeyError, TypeError, ValueError, AttributeError, yaml.YAMLError) as e:
        raise RoadmapError(f"{where} is not a valid price book ({type(e).__name__}: {e})") from None
    return book


def _instance(name: str, item: dict[str, Any], bands: dict[str, float]) -> InstancePrice:
    band = str(item["interruption_band"])
    if band not in bands:
        raise ValueError(f"{name}: interruption_band {band!r} is not one of {sorted(bands)}")
    price = InstancePrice(
        name=name,
        gpu=str(item["gpu"]),
        on_demand_usd_h=float(item["on_demand_usd_h"]),
        spot_usd_h=float(item["spot_usd_h"]),
        interruption_band=band,
        interruptions_per_month=bands[band],
    )
    if not 0 < price.spot_usd_h <= price.on_demand_usd_h:
        raise ValueError(f"{name}: need 0 < spot_usd_h <= on_demand_usd_h")
    return price


def nodes_for(load_rps: float, capacity_rps: float, utilisation: float, min_nodes: int) -> int:
    """Nodes that keep each one at most ``utilisation`` busy: ceil(load / (capacity · u))."""
    # round first: 2.0000000001 nodes from float noise must not become 3
    need = math.ceil(round(load_rps / (capacity_rps * utilisation), 9))
    return max(min_nodes, need)


@dataclass(frozen=True)
class Fleet:
    """How the GPU node group is sized and bought."""

    capacity_rps: float  # requests/s one GPU node serves at 100 % busy
    utilisation: float  # the autoscaler's target: nodes kept at most this busy
    min_nodes: int  # the autoscaler never goes below this
    on_demand_baseline: int  # nodes of the Spot plan bought on-demand all the same


@dataclass(frozen=True)
class CostBreakdown:
    """Monthly GPU cost of the two plans and the hourly node counts behind them."""

    on_demand_nodes: int
    hourly_nodes: list[int]  # n[h] of the Spot plan
    hourly_spot_nodes: list[int]  # (n[h] - baseline)⁺
    on_demand_usd_month: float
    spot_usd_month: float
    on_demand_price_usd_h: float
    spot_price_usd_h: float

    @property
    def saving_pct(self) -> float:
        return 100.0 * (1.0 - self.spot_usd_month / self.on_demand_usd_month)


def monthly_costs(
    load_rps: list[float], fleet: Fleet, on_demand_usd_h: float, spot_usd_h: float
) -> CostBreakdown:
    """Both plans' monthly GPU cost for a 24-hour profile (the formulas in the module doc)."""
    if len(load_rps) != 24 or min(load_rps) < 0:
        raise RoadmapError("the load profile needs 24 hourly request rates, none negative")
    size = [nodes_for(x, fleet.capacity_rps, fleet.utilisation, fleet.min_nodes) for x in load_rps]
    peak = max(size)
    base = [min(fleet.on_demand_baseline, n) for n in size]
    spot = [n - b for n, b in zip(size, base, strict=True)]
    day = sum(b * on_demand_usd_h + s * spot_usd_h for b, s in zip(base, spot, strict=True))
    return CostBreakdown(
        on_demand_nodes=peak,
        hourly_nodes=size,
        hourly_spot_nodes=spot,
        on_demand_usd_month=peak * on_demand_usd_h * HOURS_PER_MONTH,
        spot_usd_month=day * HOURS_PER_MONTH / 24.0,
        on_demand_price_usd_h=on_demand_usd_h,
        spot_price_usd_h=spot_usd_h,
    )


def fleet_prices(book: PriceBook, types: list[str]) -> tuple[float, float, float]:
    """(cheapest on-demand price, mean Spot price, mean interruptions/month) of ``types``."""
    unknown = [t for t in types if t not in book.instances]
    if unknown or not types:
        raise RoadmapError(
            f"instance types {unknown or types} are not in the price book; "
            f"choose among {', '.join(book.instances)}"
        )
    items = [book.instances[t] for t in types]
    return (
        min(x.on_demand_usd_h for x in items),
        sum(x.spot_usd_h for x in items) / len(items),
        sum(x.interruptions_per_month for x in items) / len(items),
    )
