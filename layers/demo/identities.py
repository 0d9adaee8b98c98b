"""Synthetic identities for demo records: credit codes, people, phone numbers, company names.

Everything here is made up; the formats are real (GB 32100-2015 credit codes with a
valid GB 11714 organisation code inside, Tacheng's 0901 area code).
"""

from __future__ import annotations

import numpy as np

from safemap.layers.checks import CREDIT_ALPHABET, credit_code_check_char

REGION_CODE = "654225"
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
# Letters a GB 32100 organisation code may use (the credit alphabet without digits).
_ORG_LETTERS = CREDIT_ALPHABET[10:]


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_HAN_SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐韩冯于董萧程曹袁邓许傅沈曾彭吕"
_HAN_GIVEN = _words(
    "伟 芳 娜 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 秀兰 霞 "
    "平 刚 建华 建国 志强 海燕 红梅 玉兰 新疆 国庆 卫东 春生 立新 "
    "文博 子豪 晓东 雪梅 振华 德胜 永福 亚军"
)
_KAZAKH_GIVEN = _words(
    "叶尔兰 努尔兰 阿斯哈尔 别克 加娜尔 古丽娜尔 阿依古丽 哈力木拉提 "
    "叶尔波力 马合沙提 巴合提亚尔 沙吾列 阿尔达克 库兰 吐尔逊 塔斯肯 "
    "木拉提 达吾列提 阿依江 赛力克 居马别克 努尔兰别克 热依汗 玛依拉 "
    "别尔克 叶尔江 胡安 阿曼 哈力别克 克孜尔古丽"
)

#: Made-up trade names (字号) for demo enterprises; none is meant to be a real company.
TRADE_NAMES: tuple[str, ...] = _words(
    "巴尔鲁克 塔斯特 哈拉布拉 江格斯 吉也克 新地 天山 金穗 丰源 绿原 "
    "恒通 鑫达 瑞丰 宏远 昌盛 兴业 北疆 西域 雪峰 玉泉 阿尔泰 博达 "
    "众合 华信 永安 嘉禾 银河 金桥 万通 鼎盛 广源 晨光 福瑞 安泰 德隆 "
    "润丰 富民 康达 宇通 凯旋 泰和 恒源 盛达 聚丰 诚信 新源 远航 腾飞 "
    "兴盛 和顺 金山 银川 明珠 草原 牧歌 胡杨 云杉 白桦 红柳 沙枣 雪莲 "
    "天马 金鹰 祥和 顺达 利民 惠农 长青 永固 坤泰 乾元 宏图 华盛 锦程 "
    "同心"
)


def _org_code(body: str) -> str:
    """Append the GB 11714 check character to an 8-character organisation code body."""
    total = sum(CREDIT_ALPHABET.index(c) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return body + ("X" if check == 10 else "0" if check == 11 else str(check))


def credit_code(rng: np.random.Generator, *, individual: bool = False) -> str:
    """Return a synthetic unified social credit code (GB 32100-2015) registered in 裕民县.

    Parameters
    ----------
    rng
        Random generator.
    individual
        An individual business (个体工商户, type ``92``) instead of a company (``91``).

    Returns
    -------
    str
        18 characters with a valid check character; region part ``654225``.
    """
    if rng.random() < 0.6:
        # Codes issued since 2015 by market regulation start their org part with "MA".
        tail = "".join(rng.choice(list("0123456789" + _ORG_LETTERS), 6))
        body = "MA" + tail
    else:
        body = "".join(rng.choice(list("0123456789"), 8))
    first17 = ("92" if individual else "91") + REGION_CODE + _org_code(body)
    return first17 + credit_code_check_char(first17)


def person(rng: np.random.Generator) -> str:
    """Return a synthetic person's name (Han or Kazakh, as in 裕民县's population)."""
    if rng.random() < 0.55:
        given, father = rng.choice(_KAZAKH_GIVEN, 2, replace=False)
        return f"{given}·{father}"
    return str(rng.choice(list(_HAN_SURNAMES))) + str(rng.choice(_HAN_GIVEN))


def phone(rng: np.random.Generator) -> str:
    """Return a synthetic landline in Tacheng's 0901 area (not a real subscriber)."""
    return f"0901-65{int(rng.integers(10000, 99999)):05d}"


class TradeNames:
    """Hands out distinct made-up trade names (字号), combining two once the list is used up."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self._order = [TRADE_NAMES[i] for i in rng.permutation(len(TRADE_NAMES))]
        self._used: set[str] = set()

    def next(self) -> str:
        """Return a trade name not handed out before."""
        while self._order:
            name = self._order.pop()
            if name not in self._used:
                self._used.add(name)
                return name
        while True:
            a, b = self._rng.choice(TRADE_NAMES, 2, replace=False)
            name = f"{a[:1]}{b[:1]}"
            if name not in self._used:
                self._used.add(name)
                return name
