"""Who must be warned: the people answering for every school, hospital, village and enterprise inside a zone.

The zone comes as :class:`Band` s — a label (e.g. ``AEGL-3``, ``重伤区``) and a geometry
in lon/lat — so this module does not depend on how incidents store their zones. For the
bands chosen, :func:`find_recipients` collects, most urgent first:

1. protected targets inside (schools, kindergartens, hospitals and nursing homes before
   the others), through the ``warning_contacts`` linked to them;
2. settlements inside, through their contacts (村/社区负责人, 网格员);
3. enterprises inside: their safety officer and phone (``enterprises.contact/phone``)
   and any contacts linked to them;
4. the duty contacts of every township the bands reach (contacts with a township and no
   link).

A school, hospital, kindergarten, nursing home or settlement inside with no registered
contact is still listed (no phone, no e-mail): the call list tells the dispatcher to send
someone. Ordinary targets without a contact (homes, shops) are not listed one by one — the
village or community head and the township duty office answer for them — but are returned
apart (``uncovered``) with their people. Each feature is put in the
innermost band that holds it. A person reachable at one phone or
e-mail is listed once, under the most urgent thing they answer for. Bands are given
innermost (most severe) first, the order incident zones store them in, as the exposure
lists (``api/services/exposure.py``) read them too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

from safemap.layers.enums import CONTACT_ROLE, TARGET_CATEGORY
from safemap.layers.store import FeatureStore

#: Protected-target categories warned first.
VULNERABLE = frozenset({"school", "kindergarten", "hospital", "nursing_home"})
#: Priority of each kind of recipient (smaller first).
PRIORITY = {"vulnerable": 0, "target": 1, "settlement": 2, "enterprise": 3, "township": 4}
NO_CONTACT = "未登记联系人"


@dataclass(frozen=True)
class Band:
    """One band of a hazard zone: its label and its area (shapely, lon/lat)."""

    label: str
    geometry: BaseGeometry
    threshold: str | None = None


@dataclass
class Recipient:
    """One person (or one place without a registered person) to warn."""

    name: str
    organisation: str | None
    role: str
    role_label: str
    phone: str | None
    email: str | None
    band: str
    target_layer: str | None
    target_id: int | None
    population: int | None
    priority: int
    township: str | None = None

    @property
    def reachable(self) -> bool:
        """Whether there is a phone or an e-mail to reach them at."""
        return bool(self.phone or self.email)

    def as_dict(self) -> dict[str, Any]:
        """JSON form (with ``reachable``)."""
        return {**asdict(self), "reachable": self.reachable}


def _band_of(bands: Sequence[Band], geom: BaseGeometry) -> str | None:
    """Label of the innermost band ``geom`` touches (bands come innermost first, as zones store them)."""
    for band in bands:
        if band.geometry.intersects(geom):
            return band.label
    return None


def _inside(store: FeatureStore, layer: str, bands: Sequence[Band], area: BaseGeometry) -> list[tuple[dict, str]]:
    """Rows of ``layer`` inside ``area`` with the band each falls in."""
    page = store.query(layer, bbox=tuple(area.bounds), limit=None, count=False, children=False)  # type: ignore[arg-type]
    out = []
    shapely.prepare(area)
    for row, geom in zip(page.rows, page.geometries, strict=True):
        if geom is None or not area.intersects(geom):
            continue
        band = _band_of(bands, geom)
        if band is not None:
            out.append((row, band))
    return out


def _contacts(store: FeatureStore) -> list[dict[str, Any]]:
    return store.query("warning_contacts", limit=None, count=False, children=False).rows


def _from_contact(c: dict[str, Any], band: str, layer: str | None, fid: int | None, pop: Any, prio: int) -> Recipient:
    return Recipient(
        name=c["name"],
        organisation=c.get("organisation"),
        role=c["role"],
        role_label=str(CONTACT_ROLE.label(c["role"])),
        phone=c.get("phone"),
        email=c.get("email"),
        band=band,
        target_layer=layer,
        target_id=fid,
        population=pop,
        priority=prio,
        township=c.get("township"),
    )


def _placeholder(row: dict[str, Any], band: str, layer: str, prio: int) -> Recipient:
    return Recipient(
        name=row["name"],
        organisation=row["name"],
        role="none",
        role_label=NO_CONTACT,
        phone=None,
        email=None,
        band=band,
        target_layer=layer,
        target_id=int(row["id"]),
        population=row.get("population"),
        priority=prio,
        township=row.get("township"),
    )


def find_recipients(
    store: FeatureStore, bands: Sequence[Band], uncovered: list[dict[str, Any]] | None = None
) -> list[Recipient]:
    """Everyone to warn for ``bands`` (see the module docstring), most urgent first.

    Parameters
    ----------
    store
        The feature store.
    bands
        The chosen bands of the zone (lon/lat geometries), innermost first.
    uncovered
        When given, receives the ordinary protected targets inside (homes, markets, offices)
        with no contact of their own: they are reached through their settlement's and
        township's contacts, and listed here so the dispatcher sees how many people that is.

    Returns
    -------
    list[Recipient]
        Ordered by priority, band (innermost first), then name; one entry per phone/e-mail.
    """
    if not bands:
        return []
    area = shapely.union_all([b.geometry for b in bands])
    if area.is_empty:
        return []
    contacts = _contacts(store)
    by_link: dict[tuple[str, int], list[dict[str, Any]]] = {}
    duty: dict[str, list[dict[str, Any]]] = {}
    for c in contacts:
        for field, layer in (("target_id", "protected_targets"), ("settlement_id", "settlements")):
            if c.get(field) is not None:
                by_link.setdefault((layer, int(c[field])), []).append(c)
        if c.get("enterprise_id") is not None:
            by_link.setdefault(("enterprises", int(c["enterprise_id"])), []).append(c)
        if all(c.get(f) is None for f in ("target_id", "settlement_id", "enterprise_id")) and c.get("township"):
            duty.setdefault(str(c["township"]), []).append(c)
    order = {b.label: k for k, b in enumerate(bands)}
    found: list[Recipient] = []
    for row, band in _inside(store, "protected_targets", bands, area):
        prio = PRIORITY["vulnerable" if row.get("category") in VULNERABLE else "target"]
        linked = by_link.get(("protected_targets", int(row["id"])), [])
        for c in linked:
            found.append(_from_contact(c, band, "protected_targets", int(row["id"]), row.get("population"), prio))
        if not linked and prio == PRIORITY["vulnerable"]:
            r = _placeholder(row, band, "protected_targets", prio)
            r.organisation = f"{row['name']}（{TARGET_CATEGORY.label(row.get('category'))}）"
            found.append(r)
        elif not linked and uncovered is not None:
            uncovered.append(
                {"id": int(row["id"]), "name": row["name"], "band": band, "population": row.get("population")}
            )
    for row, band in _inside(store, "settlements", bands, area):
        linked = by_link.get(("settlements", int(row["id"])), [])
        for c in linked:
            found.append(
                _from_contact(c, band, "settlements", int(row["id"]), row.get("population"), PRIORITY["settlement"])
            )
        if not linked:
            found.append(_placeholder(row, band, "settlements", PRIORITY["settlement"]))
    for row, band in _inside(store, "enterprises", bands, area):
        fid = int(row["id"])
        if row.get("contact") or row.get("phone"):
            found.append(
                Recipient(
                    name=row.get("contact") or NO_CONTACT,
                    organisation=row["name"],
                    role="safety_officer",
                    role_label=str(CONTACT_ROLE.label("safety_officer")),
                    phone=row.get("phone"),
                    email=None,
                    band=band,
                    target_layer="enterprises",
                    target_id=fid,
                    population=row.get("employees"),
                    priority=PRIORITY["enterprise"],
                    township=row.get("township"),
                )
            )
        for c in by_link.get(("enterprises", fid), []):
            found.append(_from_contact(c, band, "enterprises", fid, row.get("employees"), PRIORITY["enterprise"]))
        if not (row.get("contact") or row.get("phone")) and ("enterprises", fid) not in by_link:
            found.append(
                _placeholder({**row, "population": row.get("employees")}, band, "enterprises", PRIORITY["enterprise"])
            )
    for row, band in _inside(store, "townships", bands, area):
        for c in duty.get(str(row["name"]), []):
            found.append(_from_contact(c, band, "townships", int(row["id"]), None, PRIORITY["township"]))
    found.sort(key=lambda r: (r.priority, order.get(r.band, 99), r.organisation or "", r.name))
    return _dedupe(found)


def _dedupe(found: list[Recipient]) -> list[Recipient]:
    """Keep the first (most urgent) entry per phone / e-mail; places without either stay."""
    seen: set[str] = set()
    out = []
    for r in found:
        keys = {k for k in (r.phone and f"p:{_digits(r.phone)}", r.email and f"e:{r.email.lower()}") if k}
        if keys and keys & seen:
            continue
        seen |= keys
        out.append(r)
    return out


def _digits(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())


__all__ = ["Band", "Recipient", "find_recipients"]
