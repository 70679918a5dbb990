"""Chinese readings stored with the screening index: a query needs neither pypinyin nor ICU.

Loading pypinyin's phrase dictionary and ICU's transliterators costs a fresh ``chiptrail screen``
several hundred milliseconds. ``build_tables`` (run when the index is built) asks both libraries,
once per character they know, and stores what a query needs:

- ``zh_chars`` (sorted), ``zh_pinyin`` and ``zh_ascii``: each character's pypinyin reading
  (``lazy_pinyin``, plain style) and its ICU ASCII reading (``normality.ascii_text``); "" where a
  character's reading depends on its neighbours (ICU's context rules, e.g. 重 before 庆) or is not
  a plain word.
- ``zh_phrases``: every phrase of pypinyin's dictionary whose reading differs from its
  characters' own readings (e.g. 银行 is "yinhang", 行 alone "xing").

``Readings.pinyin`` gives what ``lazy_pinyin`` gives for a run of characters when the table
answers: pypinyin cuts a run into dictionary phrases and single characters and reads a phrase
from its dictionary, a character from its table; when no phrase that reads differently occurs in
the run, every cut reads as its characters do. Otherwise, or for a character the table lacks, it
returns None and the caller asks pypinyin. ``Readings.ascii_words`` does the same for ICU where
only the words matter (``screening._surface``). Pure at query time: reads the index's sections.
"""

from __future__ import annotations

import os
import re
import sys
from functools import lru_cache

from chiptrail.parties.packed import Packed, StringTable, sorted_keys

PHRASE_MAX = "zh_phrase_max"
"""The index metadata key: the longest phrase in ``zh_phrases``."""
LIBRARIES = "zh_libraries"
"""The index metadata key: ``library_stamp()`` when the tables were built."""
_DIST = re.compile(r"(pypinyin|pyicu)-[^-]+\.dist-info", re.IGNORECASE)

_WORD = re.compile(r"[a-z]+")
_ICU_LETTERS = re.compile(r"[a-zA-Z]+")
_ASCII_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,()-&'/")
"""ASCII characters ICU keeps as they are (symbols such as ``$`` it removes; ``_`` is a word
character that ``_surface`` keeps): a text with others goes to ICU."""
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_SECTIONS = ("zh_chars", "zh_pinyin", "zh_ascii", "zh_phrases")


def library_stamp() -> str:
    """The installed pypinyin and PyICU releases and ICU's version ("" when one is not found):
    tables built under another stamp are not used. Costs about as much as importing PyICU."""
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            m = _DIST.fullmatch(name)
            if m:
                found.setdefault(m.group(1).lower(), name)
        if len(found) == 2:
            break
    if len(found) < 2:
        return ""
    import icu

    return f"{found['pypinyin']} {found['pyicu']} ICU {icu.ICU_VERSION}"


def _icu_context_chars() -> set[str]:
    """Characters of ICU Han-Latin rules that are not one character class to one reading (rules
    with a context, ``{重}' '?庆 > chóng``): their ICU reading depends on their neighbours."""
    from icu import Transliterator

    rules = str(Transliterator.createInstance("Han-Latin").toRules(False))
    found: set[str] = set()
    for rule in rules.split(";"):
        left, arrow, _ = rule.partition(">")
        if not arrow:
            continue
        rest = re.sub(r"\[[^\]]*\]", "", left).strip()
        if rest and (_HAN.search(rest) or "{" in rest or "}" in rest):
            found.update(_HAN.findall(rule))
    return found


@lru_cache(maxsize=1)
def build_tables() -> dict[str, list[str]]:
    """The four string tables (see the module docstring), from pypinyin and ICU as installed."""
    from normality import ascii_text
    from pypinyin import lazy_pinyin
    from pypinyin.constants import PHRASES_DICT, PINYIN_DICT

    context = _icu_context_chars()
    chars: dict[str, tuple[str, str]] = {}
    for code in PINYIN_DICT:
        char = chr(code)
        if not _HAN.fullmatch(char):
            continue
        got = lazy_pinyin(char)
        pinyin = got[0] if len(got) == 1 and _WORD.fullmatch(got[0]) else ""
        icu = "" if char in context else ascii_text(char)
        icu = icu if _ICU_LETTERS.fullmatch(icu) else ""
        if pinyin or icu:
            chars[char] = (pinyin, icu)
    phrases = [p for p in PHRASES_DICT if lazy_pinyin(p) != [chars.get(c, ("", ""))[0] for c in p]]
    keys = sorted_keys(list(chars))
    return {
        "zh_chars": keys,
        "zh_pinyin": [chars[c][0] for c in keys],
        "zh_ascii": [chars[c][1] for c in keys],
        "zh_phrases": sorted_keys(phrases),
    }


class Readings:
    """The stored tables of one index (``build_tables``), read as a query needs them."""

    __slots__ = ("_ascii", "_chars", "_longest", "_packed", "_phrases", "_pinyin", "libraries")

    def __init__(self, packed: Packed) -> None:
        self._packed = packed
        self._chars: StringTable | None = None
        self.libraries = str(packed.meta.get(LIBRARIES, ""))
        """``library_stamp()`` when the tables were built ("": none to use)."""

    def _open(self) -> StringTable:
        # On first use: a Latin-script query reads none of it.
        if self._chars is None:
            packed = self._packed
            self._pinyin = packed.strings("zh_pinyin")
            self._ascii = packed.strings("zh_ascii")
            self._phrases = packed.strings("zh_phrases", whole=True)
            self._longest = int(packed.meta[PHRASE_MAX])
            self._chars = packed.strings("zh_chars")
        return self._chars

    def _row(self, char: str) -> int:
        return self._open().find(char)

    def pinyin(self, run: str) -> str | None:
        """``"".join(lazy_pinyin(run))`` for a run of Chinese characters, or None when the
        tables cannot say (a character they lack, or a phrase that reads differently)."""
        out: list[str] = []
        for char in run:
            row = self._row(char)
            reading = self._pinyin[row] if row >= 0 else ""
            if not reading:
                return None
            out.append(reading)
        for i in range(len(run) - 1):
            for j in range(i + 2, min(len(run), i + self._longest) + 1):
                if self._phrases.find(run[i:j]) >= 0:
                    return None
        return "".join(out)

    def ascii_words(self, text: str) -> str | None:
        """A text whose words (split at anything but letters and digits, casefolded) are those of
        ``normality.ascii_text(text)``, or None when the tables cannot say: a character that is
        neither Chinese in the table nor plain ASCII. ICU writes a space before a Chinese
        syllable that follows a letter or another syllable, and none after it."""
        out: list[str] = []
        wordy = False  # the previous character was a letter or a Chinese syllable
        for char in text:
            if char in _ASCII_SAFE:
                out.append(char)
                wordy = char.isalpha()
                continue
            row = self._row(char) if _HAN.fullmatch(char) else -1
            reading = self._ascii[row] if row >= 0 else ""
            if not reading:
                return None
            out.append(" " + reading if wordy else reading)
            wordy = True
        return "".join(out)
