"""Synthetic 应急专家库 of the demo county: who the command centre calls for advice, by field.

The county's plan names experts beside teams, equipment and materials; the names, employers,
positions and phone numbers here are made up (``source`` says so). Experts work in the county
seat (the 应急管理局, hospital, meteorological station, power supply company), at the
copper mine and in the industrial park, so a dispatcher sees who is near and who is far.
Own generator: the shared one's draws stay as they were.
"""

from __future__ import annotations

import numpy as np
from shapely.geometry import Point

from safemap.layers.demo.county import County
from safemap.layers.demo.identities import person, phone
from safemap.layers.demo.plan import Plan
from safemap.layers.demo.shapes import lonlat_to_xy

EXPERT_SOURCE = "synthetic: 虚构应急专家（姓名、单位、位置与电话为演示数据）"
SEED = 1818

#: (field, specialties, title, employer, lon, lat, available)
_EXPERTS: tuple[tuple[str, str, str, str, float, float, bool], ...] = (
    ("hazchem", "液氯、液氨泄漏处置与堵漏", "高级工程师", "裕民县应急管理局", 82.985, 46.203, True),
    ("hazchem", "油品储罐火灾与危化品储运", "工程师", "裕民县工业园区管委会", 83.030, 46.181, True),
    ("hazchem", "化工工艺安全（HAZOP）", "高级工程师", "塔城地区应急管理局（驻县）", 82.981, 46.205, False),
    ("fire", "储罐区灭火与冷却供水", "高级工程师", "裕民县消防救援大队", 82.990, 46.199, True),
    ("fire", "建筑火灾与人员搜救", "工程师", "裕民县消防救援大队", 82.990, 46.199, True),
    ("explosives", "民用爆炸物品储存与销毁", "高级工程师", "县公安局治安大队", 82.978, 46.207, True),
    ("mine", "非煤矿山通风与井下救援", "高级工程师", "铜矿安全环保部", 82.562, 45.637, True),
    ("mine", "露天矿山边坡稳定", "工程师", "裕民县自然资源局", 82.983, 46.206, True),
    ("tailings", "尾矿坝稳定与溃坝应急", "高级工程师", "铜矿尾矿库管理站", 82.575, 45.630, True),
    ("tailings", "地质灾害调查与监测", "工程师", "裕民县自然资源局", 82.983, 46.206, True),
    ("structure", "建筑结构安全鉴定", "高级工程师", "裕民县住房和城乡建设局", 82.987, 46.210, True),
    ("electric", "电网抢修与应急供电", "工程师", "国网裕民县供电公司", 82.995, 46.196, True),
    ("gas", "燃气管网与液化石油气", "工程师", "裕民县燃气公司", 82.972, 46.196, True),
    ("medical", "中毒救治与急诊", "主任医师", "裕民县人民医院", 82.980, 46.200, True),
    ("medical", "烧伤与创伤急救", "副主任医师", "裕民县人民医院", 82.980, 46.200, True),
    ("environment", "大气与水体应急监测", "工程师", "塔城地区生态环境局裕民分局", 82.976, 46.209, True),
    ("meteorology", "风场与暴雪预报", "高级工程师", "裕民县气象局", 82.968, 46.214, True),
    ("traffic", "危险货物道路运输与交通管制", "工程师", "裕民县交通运输局", 82.993, 46.207, True),
)


def add_experts(plan: Plan, county: County) -> None:
    """Draft the expert roster (their workplaces as points)."""
    plan.layers.setdefault("experts", [])
    rng = np.random.default_rng(SEED)
    for k, (field, specialties, title, employer, lon, lat, available) in enumerate(_EXPERTS):
        xy = lonlat_to_xy(lon, lat)
        plan.new(
            "experts",
            f"expert:{k:02d}",
            Point(xy),
            name=person(rng),
            township=county.township_at(xy),
            source=EXPERT_SOURCE,
            field=field,
            specialties=specialties,
            title=title,
            employer=employer,
            phone=phone(rng),
            available=available,
        )
