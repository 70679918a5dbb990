"""Name normalisation for screening: case, accents, punctuation, legal forms, numbers, Chinese.

No I/O beyond reading the packaged data file ``data/zh_names.json`` once. Legal forms in every
language rigour knows are removed with ``rigour.names.remove_org_types``; ordinals and number words
become digits through rigour's name symbols ("Seventh" = "7th" = "7"); person-name prefixes go with
``remove_person_prefixes``. Chinese runs are transliterated to pinyin (pypinyin), with the glosses,
places, brands and institution names that rigour lacks read from ``data/zh_names.json`` (each
section there names its source). Other scripts become ASCII (normality).

Import cost: one ``chiptrail screen`` must answer in milliseconds, so this module imports only
``rigour._core`` (the compiled functions behind ``rigour.names``; importing ``rigour.names`` itself
loads normality, ICU and chardet, about 100 ms) and imports normality, pypinyin and rigour's name
analysis on first use: a Latin-script name without numbers needs none of them. A test checks
that these calls give what the public ``rigour.names`` functions give.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from functools import lru_cache
from typing import Protocol

from rigour import _core as rigour_core

# Generic words rigour does not count as legal forms, dropped from both sides. "technology" words
# are dropped because the Chinese 科技/技术 are (docs/screening.md).
_GENERIC_WORDS = """
    co company companies corp corporation inc incorporated ltd limited llc llp lp plc gmbh mbh ag kg
    sa sas sarl srl spa sl bv nv ab as oy kk pte pvt private sdn bhd berhad tbk jsc ojsc cjsc pjsc
    oao zao ooo pao ao fze fzco fzc fzllc est wll the and of technology technologies tech group
"""
LEGAL_FORMS = frozenset(_GENERIC_WORDS.split())
"""Words dropped after rigour's org-type removal (short forms it leaves, and generic words)."""


_CASEFOLD = 4
"""``rigour.text.normalize.Normalize.CASEFOLD``: the alias table ``rigour.names.remove_org_types``
matches by default (and ``Cleanup.Noop`` = 0)."""


def remove_org_types(name: str) -> str:
    """``rigour.names.remove_org_types(name)``: legal forms in every language rigour knows removed
    (the casefolded input is assumed)."""
    return str(rigour_core.remove_org_types(name, _CASEFOLD, 0, ""))


@lru_cache(maxsize=1)
def _person_prefix_regex() -> re.Pattern[str]:
    # As rigour.names.prefix builds it from the same list.
    escaped = "|".join(re.escape(p) for p in rigour_core.person_name_prefixes_list())
    return re.compile(r"^\W*((%s)\.?\s+)*" % escaped, re.IGNORECASE | re.UNICODE)  # noqa: UP031


def remove_person_prefixes(name: str) -> str:
    """``rigour.names.remove_person_prefixes``: titles and honorifics (Mr, Dr, Sheikh ...) dropped
    from the head of a person's name."""
    return _person_prefix_regex().sub("", name)


@lru_cache(maxsize=65536)
def metaphone(token: str) -> str:
    """``rigour.text.phonetics.metaphone``: how a word sounds ("Omarow" ~ "Omar")."""
    return str(rigour_core.metaphone(token))


class Readings(Protocol):
    """Stored character readings that answer for pypinyin and ICU (``zh_readings.Readings``)."""

    def pinyin(self, run: str) -> str | None: ...

    def ascii_words(self, text: str) -> str | None: ...


_READINGS: list[Readings] = []


def use_readings(readings: Readings | None) -> None:
    """Read Chinese characters from ``readings`` (None: from pypinyin and ICU) in this process.

    The one-name CLI path sets the stored index's tables, which give what pypinyin and ICU give
    or nothing (then pypinyin and ICU are asked), so every result is the same either way.
    """
    _READINGS[:] = [] if readings is None else [readings]


def to_ascii(text: str) -> str:
    """``normality.ascii_text``: ICU transliteration to ASCII (imported for non-ASCII text only)."""
    if text.isascii():
        return text
    from normality import ascii_text

    return ascii_text(text) or ""


_ORG_WORD_FILES = ("org_words.json", "org_words_learned.json")
"""Hand-written glosses first (they win), then those ``benchmarks/learn_org_gloss.py`` learned."""
_RU_ENDINGS = (
    *("yaya",),
    *("ogo", "ego", "omu", "emu", "ykh", "ikh", "ymi", "imi", "aya", "oye", "iye", "yye", "uyu"),
    *("iya", "oe", "ye", "ie", "yy", "iy", "ii", "yi", "oy", "oi", "ey", "ei", "yu", "ya", "om"),
    *("em", "ym", "im", "ov", "ev", "a", "y", "i", "e", "o", "u"),
)
"""Russian case and gender endings as the lists transliterate them, longest first."""
_MIN_STEM = 5


def ru_stem(word: str) -> str:
    """``word`` without one Russian case or gender ending, if 5+ letters remain.

    A crude transliteration stemmer: "mekhanicheskikh", "mekhanicheskiy" and "mekhanicheskoe" all
    give "mekhanichesk"; "zona" stays "zona".
    """
    for ending in _RU_ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= _MIN_STEM:
            return word[: -len(ending)]
    return word


def load_org_words(
    files: tuple[str, ...] = _ORG_WORD_FILES,
) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
    """(word -> gloss, Russian stem -> gloss) from the packaged ``files``, earlier ones winning."""
    table: dict[str, str] = {}
    stems: dict[str, str] = {}
    russian: set[str] = set()
    for name in files:
        path = os.path.join(os.path.dirname(__file__), "data", name)
        if not os.path.exists(path):
            continue
        with open(path, "rb") as f:
            doc = json.loads(f.read().decode("utf-8"))
        for key, section in doc.items():
            if isinstance(section, dict):
                for w, g in section.get("words", {}).items():
                    table.setdefault(w, g)
                    if key.startswith("ru"):
                        russian.add(w)
                for st, g in section.get("stems", {}).items():
                    stems.setdefault(st, g)

    def resolve(word: str) -> list[str]:  # "sistemy" -> "systems" -> "system"
        out = table.get(word)
        return [word] if out is None else [w for part in out.split() for w in resolve(part)]

    # A Russian word's other case forms gloss as it does, where its stem says one thing only.
    by_stem: dict[str, set[str]] = {}
    for w in russian:
        by_stem.setdefault(ru_stem(w), set()).add(" ".join(resolve(w)))
    for st, gs in by_stem.items():
        if len(gs) == 1 and len(st) >= _MIN_STEM:
            stems.setdefault(st, next(iter(gs)))
    return (
        {k: tuple(resolve(k)) for k in table},
        {k: tuple(w for part in g.split() for w in resolve(part)) for k, g in stems.items()},
    )


ORG_WORDS, ORG_STEMS = load_org_words()
"""Words of organisation names written as the lists' English names write them ("zavod" ->
"plant", "trading" -> "trade"; ``data/org_words.json``, each section with its source, and
``data/org_words_learned.json``), and Russian stems glossed likewise ("mekhanichesk" ->
"mechanical": any case form of a glossed Russian word)."""


def _gloss(tokens: list[str]) -> list[str]:
    out: list[str] = []
    for t in tokens:
        gloss = ORG_WORDS.get(t)
        if gloss is None and t.isalpha():
            gloss = ORG_STEMS.get(ru_stem(t))
        out.extend(gloss or (t,))
    return out


def _load_zh() -> dict[str, dict[str, str]]:
    # A file beside this module (importlib.resources costs ~10 ms of imports for the same bytes).
    with open(os.path.join(os.path.dirname(__file__), "data", "zh_names.json"), "rb") as f:
        text = f.read().decode("utf-8")
    doc = json.loads(text)
    return {k: v["words"] for k, v in doc.items() if isinstance(v, dict)}


_ZH = _load_zh()
ZH_DROP: tuple[str, ...] = tuple(sorted(_ZH["drop"], key=len, reverse=True))
"""Chinese legal forms and generic words dropped before transliteration (longest first)."""
ZH_GLOSS: dict[str, str] = dict(_ZH["gloss"])
"""Generic Chinese words glossed in English, as the lists write them."""
ZH_PLACES: dict[str, str] = dict(_ZH["places"])
"""Places in pinyin; left out of the "core" form (English list names often drop the city)."""
ZH_BRANDS: dict[str, str] = {
    **{k: v.lower() for k, v in _ZH["brands"].items()},
    **{k: v.lower() for k, v in _ZH["names"].items()},
}
"""Brands that are not transliterations (浪潮 is "Inspur") and full names of institutions and
state groups (西北工业大学 is "Northwestern Polytechnical University"), as the lists write them."""

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_NON_WORD = re.compile(r"[^\w]+|_")
_DICT_WORDS = sorted({*ZH_DROP, *ZH_GLOSS, *ZH_BRANDS, *ZH_PLACES}, key=len, reverse=True)
_PLAIN, _GLOSSED, _CORE, _CORE_NO_PLACE = range(4)


def ascii_words(text: str) -> str:
    """``to_ascii(text)`` where only its words matter (``screening._surface``): from the stored
    readings when they answer (``use_readings``), else ICU."""
    if _READINGS and not text.isascii():
        found = _READINGS[0].ascii_words(text)
        if found is not None:
            return found
    return to_ascii(text)


def _pinyin(text: str) -> str:
    """Pinyin of a run of Chinese characters, one word: from the stored readings when they answer
    (``use_readings``), else pypinyin, imported on first use: its phrase dictionary costs a few
    hundred ms to load, which a Latin-script screen need not pay."""
    if _READINGS:
        found = _READINGS[0].pinyin(text)
        if found is not None:
            return found
    from pypinyin import lazy_pinyin

    return "".join(lazy_pinyin(text))


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
        return _pinyin(word)
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
            out.append(_pinyin(pending))
            pending = ""
        i += len(word)
        written = _dictionary_word(word, mode)
        if written:
            out.append(written)
    if pending:
        out.append(_pinyin(pending))
    return out


def _transliterate(text: str, mode: int) -> str:
    def repl(m: re.Match[str]) -> str:
        return " " + " ".join(_cjk_run_words(m.group(0), mode)) + " "

    text = _CJK.sub(repl, text)
    return to_ascii(text)


_NUMBER_WORDS = frozenset(
    """one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen
    sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety
    hundred thousand first second third fourth fifth sixth seventh eighth ninth tenth eleventh
    twelfth thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth
    thirtieth fortieth fiftieth hundredth thousandth""".split()  # noqa: SIM905
)
_NUMBER_HINT = re.compile(r"^\d+(st|nd|rd|th|e|ieme|yy|iy|oy|aya|go)?$")
_PLAIN_NUMBER = re.compile(r"^(0|[1-9]\d{0,17})$")
"""A number rigour writes as itself ("150" stays "150"; "0150" becomes "150"; past 2**63 - 1 it
writes 9223372036854775807)."""


def _numbers(tokens: tuple[str, ...]) -> tuple[str, ...]:
    """Ordinals and number words as digits, by rigour's numeric name symbols ("seventh" -> "7")."""
    # rigour's analysis costs ~0.1-0.3 s on first use: only names with number-like words other
    # than plain numbers (which it leaves as they are) pay it.
    if not any(
        t in _NUMBER_WORDS or (_NUMBER_HINT.match(t) and not _PLAIN_NUMBER.match(t)) for t in tokens
    ):
        return tokens
    return _numbers_by_rigour(tokens)


@lru_cache(maxsize=65536)
def _numbers_by_rigour(tokens: tuple[str, ...]) -> tuple[str, ...]:
    from rigour.names import NameTypeTag, SymbolCategory, analyze_names

    names = analyze_names(
        NameTypeTag.ORG, [" ".join(tokens)], phonetics=False, consolidate=False, rewrite=False
    )
    digits: dict[str, str] = {}
    for name in names:
        for span in name.spans:
            if span.symbol.category == SymbolCategory.NUMERIC and len(span.parts) == 1:
                digits[span.parts[0].form] = str(span.symbol.id)
    return tuple(digits.get(t, t) for t in tokens)


def _words(text: str) -> list[str]:
    text = text.replace("&", " and ")
    text = text.replace("'", "").replace("\u2019", "").replace(".", "")
    return _NON_WORD.sub(" ", text).split()


def _clean(text: str, person: bool = False, gloss: bool = False) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    if person:
        text = remove_person_prefixes(text)
    tokens = _words(text)
    # rigour's org types (every language it knows: "obshchestvo s ogranichennoi ...", "sdn bhd")
    # are matched on the cleaned words (then, with ``gloss``, organisation words glossed: "zavod"
    # -> "plant"); repeated until nothing changes, so the result is a fixpoint.
    stripped = " ".join(tokens)
    for _ in range(6):
        words = _words(remove_org_types(stripped))
        again = " ".join(_gloss(words) if gloss else words)
        if again == stripped:
            break
        stripped = again
    kept = [t for t in stripped.split() if t not in LEGAL_FORMS]
    return " ".join(_numbers(tuple(kept or tokens)))


def normalise_name(name: str, *, person: bool = False) -> str:
    """The canonical screening form of ``name``: lower-case ASCII words, legal forms removed.

    Chinese characters become pinyin (one word per run between dictionary words); glossed words
    are not translated here (see ``name_forms``). Ordinals and number words become digits. With
    ``person``, titles and honorifics (Mr, Dr, Sheikh ...) are removed. Idempotent:
    ``normalise_name(normalise_name(x)) == normalise_name(x)``. When a name is nothing but legal
    forms, they are kept.
    """
    return _normalise(name, _PLAIN, person)


@lru_cache(maxsize=65536)
def _normalise(name: str, mode: int, person: bool = False, gloss: bool = False) -> str:
    text = unicodedata.normalize("NFKC", name)
    text = _transliterate(text, mode)
    return _clean(text, person, gloss)


def name_forms(name: str, *, person: bool = False) -> tuple[str, ...]:
    """Every normalised form to match ``name`` by.

    A Latin-script name has one form, and a second when it has organisation words the lists also
    write in English (``ORG_WORDS``: "Zavod Iskra" is "zavod iskra" and "plant iskra"; the form as
    written keeps typos matchable). A Chinese name has up to four: pinyin; generic words glossed
    in English and known brands named as the lists name them (浪潮 → inspur); the core (brands and
    pinyin only, generic words left out); the core without places (北京, 上海 ...).
    """
    plain = _normalise(name, _PLAIN, person)
    if not has_cjk(name):
        glossed = _normalise(name, _PLAIN, person, gloss=True) if plain else ""
        return tuple(f for f in dict.fromkeys((plain, glossed)) if f)
    core_no_place = _normalise(name, _CORE_NO_PLACE)
    # A core made of places only ("北京电子" -> "beijing") would match any Beijing entry.
    core = (_normalise(name, _CORE), core_no_place) if core_no_place else ()
    forms = (plain, _normalise(name, _GLOSSED), *core)
    return tuple(f for f in dict.fromkeys(forms) if f)
