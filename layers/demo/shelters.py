"""Emergency shelters (应急避难场所) and warning contacts (预警联系人) of the demo county — all synthetic.

Shelters sit where a county like 裕民 would designate them: the playgrounds and gyms of the
county seat's schools, its sports centre and the square by the county government, and
each township's central school. Capacities follow the usual 1.5–2 m² of usable ground per
person for short stays, rounded. Warning contacts are one person per school,
kindergarten, hospital and nursing home (its principal or duty office), one village or
community head per settlement, and the duty office of each township. Names, phones and
e-mails are made up (phones in Tacheng's 0901 area, e-mails under the reserved
``.example`` domain); every record says ``synthetic`` in ``source``.

Nothing here draws from the demo's shared random generator — it has its own, seeded
apart — so adding shelters leaves every other demo feature as it was.
"""

from __future__ import annotations

import numpy as np
from shapely.geometry import Point

from safemap.layers.demo.county import County
from safemap.layers.demo.identities import person, phone
from safemap.layers.demo.plan import Draft, Plan
from safemap.layers.demo.shapes import lonlat_to_xy

SHELTER_SOURCE = "synthetic: 虚构应急避难场所（位置、容量与设施为演示数据，非县政府公布的避难场所名录）"
CONTACT_SOURCE = "synthetic: 虚构预警联系人（姓名、电话与邮箱均为演示数据，不对应真实人员）"
EMAIL_DOMAIN = "yumin-demo.example"
SEED = 12_2021

#: County-seat shelters: (protected-target key it lies at, name, kind, capacity, area m², facilities, offset m).
TOWN_SHELTERS: tuple[tuple[str, str, str, int, float, str, tuple[float, float]], ...] = (
    (
        "pt:town:15_8",
        "裕民县第一中学操场应急避难场所",
        "school",
        3000,
        5400.0,
        "应急供水、照明、厕所、广播",
        (0.0, -70.0),
    ),
    ("pt:town:3_2", "裕民县第二中学操场应急避难场所", "school", 2500, 4500.0, "应急供水、照明、厕所", (0.0, -70.0)),
    ("pt:town:15_3", "裕民县第一小学操场应急避难场所", "school", 1500, 2700.0, "应急供水、照明、厕所", (0.0, -60.0)),
    (
        "pt:town:0_8",
        "一六一团中学体育馆应急避难场所",
        "stadium",
        1800,
        3200.0,
        "室内、供暖、应急供水、照明",
        (0.0, -60.0),
    ),
    (
        "pt:town:9_5",
        "县政府广场应急避难场所",
        "square",
        4000,
        7000.0,
        "应急供水、照明、广播、医疗救护点",
        (0.0, -140.0),
    ),
    ("pt:p2:school", "裕民县职业技术学校应急避难场所", "school", 2000, 3600.0, "室内、供暖、宿舍、食堂", (0.0, -80.0)),
)
TOWNSHIP_SHELTER_CAPACITY = 800
VULNERABLE = {
    "school": "principal",
    "kindergarten": "principal",
    "hospital": "hospital_duty",
    "nursing_home": "hospital_duty",
}


def _centre(d: Draft) -> Point:
    g = d.geom
    return g if isinstance(g, Point) else g.representative_point()


def _at(d: Draft, county: County) -> Point:
    """A draft's point in metres (real features are stored in lon/lat)."""
    p = _centre(d)
    return Point(lonlat_to_xy(p.x, p.y)) if d.lonlat else p


def add_shelters(plan: Plan, county: County) -> None:
    """Shelters in the county seat and at each township's central school."""
    for key, name, kind, capacity, area, facilities, (dx, dy) in TOWN_SHELTERS:
        at = _at(plan.get(key), county)
        plan.new(
            "shelters",
            f"shelter:{key}",
            Point(at.x + dx, at.y + dy),
            name=name,
            kind=kind,
            capacity=capacity,
            area_m2=area,
            facilities=facilities,
            township=county.township_at((at.x, at.y)),
            address=f"{plan.get(key).props['name']}内",
            available=True,
            source=SHELTER_SOURCE,
        )
    for t in county.townships:
        key = f"pt:{t.code}:1"
        try:
            school = plan.get(key)
        except KeyError:
            continue
        at = _at(school, county)
        plan.new(
            "shelters",
            f"shelter:{t.code}",
            Point(at.x, at.y - 50.0),
            name=f"{school.props['name']}应急避难场所",
            kind="school",
            capacity=TOWNSHIP_SHELTER_CAPACITY,
            area_m2=1500.0,
            facilities="应急供水、照明、厕所",
            township=t.name,
            address=f"{school.props['name']}内",
            available=True,
            source=SHELTER_SOURCE,
        )


def add_warning_contacts(plan: Plan, county: County) -> None:
    """One contact per vulnerable target, per settlement and per township (see the module docstring)."""
    rng = np.random.default_rng(SEED)
    n = 0

    def email() -> str:
        nonlocal n
        n += 1
        return f"contact{n:03d}@{EMAIL_DOMAIN}"

    for d in plan.of("protected_targets"):
        role = VULNERABLE.get(str(d.props.get("category")))
        if role is None:
            continue
        draft = plan.new(
            "warning_contacts",
            f"contact:{d.key}",
            _at(d, county),
            name=person(rng),
            organisation=d.props["name"],
            role=role,
            phone=phone(rng),
            email=email(),
            township=d.props.get("township"),
            source=CONTACT_SOURCE,
        )
        draft.refs["target_id"] = d.key
    for d in plan.of("settlements"):
        draft = plan.new(
            "warning_contacts",
            f"contact:{d.key}",
            _at(d, county),
            name=person(rng),
            organisation=f"{d.props['name']}（村/社区委员会）",
            role="village_head",
            phone=phone(rng),
            email=email() if d.props.get("kind") != "village" else None,
            township=d.props.get("township"),
            source=CONTACT_SOURCE,
        )
        draft.refs["settlement_id"] = d.key
    for t in county.townships:
        plan.new(
            "warning_contacts",
            f"contact:township:{t.code}",
            Point(t.seat),
            name=f"{t.name}应急值班室",
            organisation=f"{t.name}人民政府",
            role="township_duty",
            phone=phone(rng),
            email=email(),
            township=t.name,
            source=CONTACT_SOURCE,
        )
