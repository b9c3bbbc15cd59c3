"""Consent by category: what a report may carry out of the cluster, decided by the customer.

Pure. The chart value `hub.share` (env `OUTPOST_HUB_SHARE`) lists the categories that may leave:
- `health`: Ready, reason and counts of DataPlanes, Tenants and Applications, and the outcome
  of each preflight check of the Bundle checked last;
- `usage`: what tenants request, and the signed usage records for billing;
- `owners`: the people and groups named as tenant owners;
- `versions`: the bundle and agent versions, and the licence in force (its state, expiry and
  entitlement use such as tenants used/allowed): what the vendor delivered and what runs of it;
- `support`: support bundles uploaded to the hub.
A report carries only allowed categories and names the ones withheld, so the vendor can tell a
withheld field from a missing one. The default shares health, usage and versions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

CATEGORIES = ("health", "usage", "owners", "versions", "support")
DEFAULT_SHARE = frozenset({"health", "usage", "versions"})


def parse_share(text: str) -> frozenset[str]:
    """Categories from a comma-separated list; ValueError naming an unknown one."""
    items = {item.strip() for item in text.split(",") if item.strip()}
    unknown = sorted(items - set(CATEGORIES))
    if unknown:
        raise ValueError(
            f"unknown consent categories {unknown}; use any of {', '.join(CATEGORIES)}"
        )
    return frozenset(items)


def withheld(share: Iterable[str]) -> list[str]:
    """The categories not shared, in their fixed order."""
    allowed = set(share)
    return [c for c in CATEGORIES if c not in allowed]


def apply(doc: Mapping[str, Any], share: frozenset[str]) -> dict[str, Any]:
    """The report document with every field of a withheld category removed, and `consent` set."""
    out = dict(doc)
    if "versions" not in share:
        out["bundle"], out["agent_version"], out["license"] = None, None, None
    if "usage" not in share:
        out["usage"] = []
        out["summary"] = {k: v for k, v in (out.get("summary") or {}).items() if k != "usage"}
        out["tenants"] = [_without(t, "usage") for t in out.get("tenants") or ()]
    if "health" not in share:
        out["summary"] = {k: v for k, v in (out.get("summary") or {}).items() if k == "usage"}
        out["dataplanes"], out["applications"] = [], []
        out["tenants"] = [_without(t, "ready", "reason") for t in out.get("tenants") or ()]
        out["preflight"] = None
    if "owners" not in share:
        out["tenants"] = [_without(t, "owner") for t in out.get("tenants") or ()]
    out["consent"] = {"shared": [c for c in CATEGORIES if c in share],
                      "withheld": withheld(share)}  # fmt: skip
    return out


def _without(entry: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k not in keys}
