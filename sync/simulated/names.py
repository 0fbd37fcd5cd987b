"""Word lists for the synthetic market: short names, industries, areas and controllers.

A short name is a two-character head plus a two-character tail that belongs to the stock's
industry (华信 + 电气 → 华信电气). Heads are handed out per industry without repetition, so
every name in a universe is unique, and a rename (改名) swaps the tail for the industry's other
tail, which keeps it unique too. Everything here is plain data plus pure lookups.
"""

from __future__ import annotations

# (character, pinyin) for the first and second character of a head: 32 × 24 = 768 heads.
_FIRST = (
    "华hua 中zhong 东dong 金jin 新xin 恒heng 海hai 天tian 长chang 国guo 宏hong 安an 瑞rui 嘉jia "
    "永yong 星xing 博bo 凯kai 鼎ding 正zheng 广guang 北bei 南nan 宁ning 西xi 益yi 泰tai 隆long "
    "福fu 德de 鸿hong 万wan"
).split()
_SECOND = (
    "信xin 达da 通tong 源yuan 润run 丰feng 盛sheng 远yuan 联lian 和he 创chuang 兴xing 峰feng "
    "锦jin 阳yang 辰chen 晨chen 亿yi 科ke 祥xiang 美mei 方fang 光guang 宇yu"
).split()
HEADS = tuple((a[0] + b[0], a[1:], b[1:]) for a in _FIRST for b in _SECOND)  # (chars, py1, py2)

# industry (Tushare wording), then two tails: (chars, initials, English).
INDUSTRIES = (
    ("电气设备", ("电气", "dq", "Electric"), ("电工", "dg", "Electrical Works")),
    ("元器件", ("电子", "dz", "Electronics"), ("精电", "jd", "Precision Electronics")),
    ("半导体", ("微电", "wd", "Microelectronics"), ("芯业", "xy", "Semiconductor")),
    ("软件服务", ("软件", "rj", "Software"), ("信息", "xx", "Information")),
    ("通信设备", ("通信", "tx", "Communication"), ("通讯", "tx", "Telecom Equipment")),
    ("化工原料", ("化工", "hg", "Chemical"), ("化学", "hx", "Chemicals")),
    ("化学制药", ("药业", "yy", "Pharmaceutical"), ("制药", "zy", "Pharma")),
    ("生物制药", ("生物", "sw", "Biotech"), ("生科", "sk", "Life Sciences")),
    ("医疗保健", ("医疗", "yl", "Medical"), ("健康", "jk", "Healthcare")),
    ("中成药", ("中药", "zy", "Traditional Medicine"), ("本草", "bc", "Herbal")),
    ("汽车配件", ("汽配", "qp", "Auto Parts"), ("车业", "cy", "Automotive")),
    ("专用机械", ("机械", "jx", "Machinery"), ("装备", "zb", "Equipment")),
    ("机械基件", ("精工", "jg", "Precision Works"), ("精密", "jm", "Precision")),
    ("电器仪表", ("仪表", "yb", "Instruments"), ("仪器", "yq", "Apparatus")),
    ("建筑工程", ("建设", "js", "Construction"), ("建工", "jg", "Engineering")),
    ("水泥", ("水泥", "sn", "Cement"), ("建材", "jc", "Building Materials")),
    ("普钢", ("钢铁", "gt", "Steel"), ("钢业", "gy", "Iron and Steel")),
    ("小金属", ("资源", "zy", "Resources"), ("金属", "js", "Metals")),
    ("铝", ("铝业", "ly", "Aluminium"), ("铝材", "lc", "Aluminium Products")),
    ("煤炭开采", ("煤业", "my", "Coal"), ("能源", "ny", "Energy")),
    ("火力发电", ("电力", "dl", "Power"), ("热电", "rd", "Thermal Power")),
    ("新型电力", ("新能", "xn", "New Energy"), ("光能", "gn", "Solar")),
    ("环境保护", ("环保", "hb", "Environmental"), ("环境", "hj", "Environment")),
    ("食品", ("食品", "sp", "Foods"), ("乳业", "ry", "Dairy")),
    ("白酒", ("酒业", "jy", "Liquor"), ("酿酒", "nj", "Distillery")),
    ("服饰", ("服饰", "fs", "Apparel"), ("服装", "fz", "Garments")),
    ("纺织", ("纺织", "fz", "Textile"), ("织造", "zz", "Weaving")),
    ("家用电器", ("电器", "dq", "Appliances"), ("家电", "jd", "Home Appliances")),
    ("塑料", ("塑业", "sy", "Plastics"), ("塑胶", "sj", "Plastic Products")),
    ("造纸", ("纸业", "zy", "Paper"), ("造纸", "zz", "Paper Making")),
    ("影视音像", ("影视", "ys", "Film"), ("传媒", "cm", "Media")),
    ("出版业", ("出版", "cb", "Publishing"), ("文化", "wh", "Culture")),
    ("区域地产", ("地产", "dc", "Real Estate"), ("置业", "zy", "Property")),
    ("证券", ("证券", "zq", "Securities"), ("投资", "tz", "Investment")),
    ("银行", ("银行", "yh", "Bank"), ("农商", "ns", "Rural Commercial Bank")),
    ("仓储物流", ("物流", "wl", "Logistics"), ("储运", "cy", "Storage")),
    ("港口", ("港务", "gw", "Port"), ("港口", "gk", "Harbour")),
    ("航空", ("航空", "hk", "Airlines"), ("航发", "hf", "Aero")),
    ("公路", ("高速", "gs", "Expressway"), ("路桥", "lq", "Road and Bridge")),
    ("百货", ("百货", "bh", "Department Store"), ("商业", "sy", "Commerce")),
    ("农业综合", ("农业", "ny", "Agriculture"), ("农发", "nf", "Agri Development")),
    ("饲料", ("饲料", "sl", "Feed"), ("牧业", "my", "Husbandry")),
    ("IT设备", ("科技", "kj", "Technology"), ("数码", "sm", "Digital")),
    ("互联网", ("网络", "wl", "Internet"), ("数科", "sk", "Digital Tech")),
    ("旅游服务", ("旅游", "ly", "Tourism"), ("酒店", "jd", "Hotels")),
    ("石油开采", ("石油", "sy", "Petroleum"), ("油气", "yq", "Oil and Gas")),
    ("汽车整车", ("汽车", "qc", "Motor"), ("客车", "kc", "Bus")),
    ("化纤", ("化纤", "hx", "Chemical Fibre"), ("新材", "xc", "New Materials")),
)

# Tushare `area` values with rough weights (listed companies per region).
AREAS = (
    ("广东", 450),
    ("深圳", 400),
    ("浙江", 700),
    ("江苏", 690),
    ("北京", 460),
    ("上海", 420),
    ("山东", 300),
    ("福建", 170),
    ("安徽", 170),
    ("四川", 170),
    ("湖北", 140),
    ("湖南", 145),
    ("河南", 110),
    ("辽宁", 80),
    ("江西", 85),
    ("河北", 75),
    ("陕西", 75),
    ("重庆", 75),
    ("天津", 70),
    ("新疆", 60),
    ("吉林", 50),
    ("山西", 45),
    ("云南", 45),
    ("广西", 40),
    ("黑龙江", 40),
    ("甘肃", 35),
    ("内蒙", 30),
    ("海南", 35),
    ("贵州", 35),
    ("西藏", 22),
    ("宁夏", 15),
    ("青海", 10),
)

# (act_ent_type, weight); the name of the controller depends on the type.
CONTROLLER_TYPES = (("民营企业", 55), ("地方国企", 25), ("中央国企", 12), ("外资企业", 3), ("无", 5))
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = (
    "伟",
    "芳",
    "敏",
    "静",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "杰",
    "涛",
    "明",
    "超",
    "建华",
    "志强",
    "晓东",
    "海燕",
    "国庆",
    "立新",
    "文斌",
    "卫东",
    "红梅",
    "振华",
    "春生",
)
_FOREIGN = ("Smith Holdings", "Tanaka Industries", "Kim Partners", "Müller Beteiligungen", "Lee Family Trust")

HEAD_PERMUTATION = 385  # coprime with 768: spreads consecutive serials over the head list


def head_for(serial: int, industry: int) -> tuple[str, str, str]:
    """The `serial`-th head handed out in `industry` (unique for serial < 768)."""
    return HEADS[(HEAD_PERMUTATION * serial + 131 * industry) % len(HEADS)]


def short_name(head: str, industry: int, tail: int, st: str = "") -> str:
    """e.g. ``short_name('华信', 0, 0, '*ST') == '*ST华信电气'``."""
    return f"{st}{head}{INDUSTRIES[industry][1 + tail][0]}"


def cnspell(head_pinyin: tuple[str, str], industry: int, tail: int, st: str = "") -> str:
    """Pinyin initials as Tushare's `cnspell` (lower case, ST prefix kept): ``*sthxdq``."""
    return f"{st.lower()}{head_pinyin[0][0]}{head_pinyin[1][0]}{INDUSTRIES[industry][1 + tail][1]}"


def full_name(head: str, industry: int) -> str:
    return f"{short_name(head, industry, 0)}股份有限公司"


def english_name(head_pinyin: tuple[str, str], industry: int) -> str:
    return f"{(head_pinyin[0] + head_pinyin[1]).capitalize()} {INDUSTRIES[industry][1][2]} Co.,Ltd."


def controller(kind: str, area: str, pick: float) -> str | None:
    """Actual controller's name for a controller type; `pick` in [0, 1) chooses among names."""
    if kind == "民营企业":
        index = int(pick * len(_SURNAMES) * len(_GIVEN))
        return _SURNAMES[index % len(_SURNAMES)] + _GIVEN[index // len(_SURNAMES) % len(_GIVEN)]
    if kind == "地方国企":
        return f"{area}国资委"
    if kind == "中央国企":
        return "国务院国有资产监督管理委员会"
    if kind == "外资企业":
        return _FOREIGN[int(pick * len(_FOREIGN))]
    return None
