"""Name normalisation for screening: case, accents, punctuation, legal forms, Chinese script.

No I/O. Chinese runs are transliterated to pinyin (pypinyin); other scripts to ASCII (normality).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from normality import ascii_text
from pypinyin import lazy_pinyin

# Legal-form and generic words dropped from both sides (after lower-casing, punctuation removed).
# "technology" words are dropped because the Chinese 科技/技术 are (see docs/screening.md).
_LEGAL_WORDS = """
    co company companies corp corporation inc incorporated ltd limited llc llp lp plc gmbh mbh ag kg
    sa sas sarl srl spa sl bv nv ab as oy kk pte pvt private sdn bhd berhad tbk jsc ojsc cjsc pjsc
    oao zao ooo pao ao fze fzco fzc fzllc est wll the and of technology technologies tech group
"""
LEGAL_FORMS = frozenset(_LEGAL_WORDS.split())

# Chinese legal forms and generic words dropped before transliteration (longest first).
ZH_DROP = (
    "股份有限公司",
    "有限责任公司",
    "有限公司",
    "集团",
    "科技",
    "技术",
    "公司",
    "股份",
)

# Generic Chinese words glossed in English, as the lists write them.
ZH_GLOSS = {
    "人工智能": "artificial intelligence",
    "微电子": "microelectronics",
    "半导体": "semiconductor",
    "集成电路": "integrated circuit",
    "研究院": "research institute",
    "研究所": "institute",
    "计算机": "computer",
    "电子": "electronic",
    "信息": "information",
    "产业": "industry",
    "工业": "industry",
    "实业": "industrial",
    "国际": "international",
    "通信": "communication",
    "智能": "intelligent",
    "网络": "network",
    "软件": "software",
    "大学": "university",
    "航空": "aviation",
    "航天": "aerospace",
    "贸易": "trading",
    "控股": "holdings",
    "光电": "optoelectronic",
    "仪器": "instrument",
    "设备": "equipment",
    "物流": "logistics",
    "数据": "data",
    "中国": "china",
    "制造": "manufacturing",
    "数字": "digital",
    "存储": "memory",
    "国防": "national defense",
    "研究": "research",
    "工程": "engineering",
    "科学": "science",
    "系统": "systems",
    "材料": "materials",
    "机械": "machinery",
    "重工": "heavy industry",
    "船舶": "shipbuilding",
    "芯片": "chip",
}

# Places, written in pinyin (pypinyin reads 长/重/厦 wrongly without context); dropped in the
# "core" form because English list names often leave the city out or put it in brackets.
ZH_PLACES = {
    "哈尔滨": "harbin",
    "北京": "beijing",
    "上海": "shanghai",
    "深圳": "shenzhen",
    "杭州": "hangzhou",
    "广州": "guangzhou",
    "天津": "tianjin",
    "南京": "nanjing",
    "武汉": "wuhan",
    "成都": "chengdu",
    "西安": "xian",
    "重庆": "chongqing",
    "苏州": "suzhou",
    "合肥": "hefei",
    "青岛": "qingdao",
    "厦门": "xiamen",
    "无锡": "wuxi",
    "长沙": "changsha",
    "大连": "dalian",
    "珠海": "zhuhai",
    "东莞": "dongguan",
    "香港": "hong kong",
}

# Brand names that are not transliterations (浪潮 is "Inspur", not "Langchao").
ZH_BRANDS = {
    "中芯国际": "smic",
    "中科曙光": "sugon",
    "科大讯飞": "iflytek",
    "海康威视": "hikvision",
    "摩尔线程": "moore threads",
    "比特大陆": "bitmain",
    "长江存储": "yangtze memory",
    "新华三": "h3c",
    "寒武纪": "cambricon",
    "浪潮": "inspur",
    "中兴": "zte",
    "海光": "hygon",
    "曙光": "sugon",
    "算能": "sophgo",
    "壁仞": "biren",
    "商汤": "sensetime",
    "旷视": "megvii",
    "云从": "cloudwalk",
    "依图": "yitu",
    "长鑫": "changxin",
    "飞腾": "phytium",
    "申威": "sunway",
    "大疆": "dji",
    "奇虎": "qihoo",
    "紫光": "unisplendour",
}

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_NON_WORD = re.compile(r"[^\w]+|_")
_DICT_WORDS = sorted({*ZH_DROP, *ZH_GLOSS, *ZH_BRANDS, *ZH_PLACES}, key=len, reverse=True)
_PLAIN, _GLOSSED, _CORE, _CORE_NO_PLACE = range(4)


def has_cjk(text: str) -> bool:
    """True when ``text`` contains Chinese characters."""
    return _CJK.search(text) is not None


def _dictionary_word(word: str, mode: int) -> str | None:
    """How a dictionary word is written in a form (None: left out)."""
    if word in ZH_DROP:
        return None
    if word in ZH_PLACES:
        return None if mode == _CORE_NO_PLACE else ZH_PLACES[word]
    if mode == _PLAIN:
        return "".join(lazy_pinyin(word))
    if word in ZH_BRANDS:
        return ZH_BRANDS[word]
    return ZH_GLOSS[word] if mode == _GLOSSED else None


def _cjk_run_words(run: str, mode: int) -> list[str]:
    """Split a run of Chinese characters into words: dictionary words first, pinyin for the rest."""
    out: list[str] = []
    pending = ""
    i = 0
    while i < len(run):
        word = next((w for w in _DICT_WORDS if run.startswith(w, i)), None)
        if word is None:
            pending += run[i]
            i += 1
            continue
        if pending:
            out.append("".join(lazy_pinyin(pending)))
            pending = ""
        i += len(word)
        written = _dictionary_word(word, mode)
        if written:
            out.append(written)
    if pending:
        out.append("".join(lazy_pinyin(pending)))
    return out


def _transliterate(text: str, mode: int) -> str:
    def repl(m: re.Match[str]) -> str:
        return " " + " ".join(_cjk_run_words(m.group(0), mode)) + " "

    text = _CJK.sub(repl, text)
    if not text.isascii():
        text = ascii_text(text) or ""
    return text


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = text.replace("&", " and ")
    text = text.replace("'", "").replace("\u2019", "").replace(".", "")
    tokens = _NON_WORD.sub(" ", text).split()
    kept = [t for t in tokens if t not in LEGAL_FORMS]
    return " ".join(kept or tokens)


def normalise_name(name: str) -> str:
    """The canonical screening form of ``name``: lower-case ASCII words, legal forms removed.

    Chinese characters become pinyin (one word per run between dictionary words); glossed words
    are not translated here (see ``name_forms``). Idempotent: ``normalise_name(normalise_name(x))
    == normalise_name(x)``. When a name is nothing but legal forms, they are kept.
    """
    return _normalise(name, _PLAIN)


@lru_cache(maxsize=65536)
def _normalise(name: str, mode: int) -> str:
    text = unicodedata.normalize("NFKC", name)
    text = _transliterate(text, mode)
    return _clean(text)


def name_forms(name: str) -> tuple[str, ...]:
    """Every normalised form to match ``name`` by.

    A Latin-script name has one form. A Chinese name has up to four: pinyin; generic words glossed
    in English and known brands named as the lists name them (浪潮 → inspur); the core (brands and
    pinyin only, generic words left out); the core without places (北京, 上海 ...).
    """
    plain = _normalise(name, _PLAIN)
    if not has_cjk(name):
        return (plain,) if plain else ()
    core_no_place = _normalise(name, _CORE_NO_PLACE)
    # A core made of places only ("北京电子" -> "beijing") would match any Beijing entry.
    core = (_normalise(name, _CORE), core_no_place) if core_no_place else ()
    forms = (plain, _normalise(name, _GLOSSED), *core)
    return tuple(f for f in dict.fromkeys(forms) if f)
