"""Transcripts for alignment: lines of words, each keeping what the user wrote and what is spoken.

`tokenize` turns a transcript into a `Transcript`: one `Line` per non-empty line of text (an
utterance), one `Word` per written word. A word keeps

* ``text``: the user's own spelling, with the punctuation around it removed ("Hello," -> "Hello",
  "$5" stays "$5"), and ``span``: its character range in the original text, so results can be shown
  on the user's words and written back where they came from;
* ``norm``: what is *spoken*, the string an aligner feeds a synthesiser or an acoustic model:
  lower case, punctuation removed except word-internal apostrophes ("don't", "o'clock"), numbers
  and symbols written out in English words. ``norm`` may hold several spoken parts separated by
  spaces ("42" -> "forty two", "well-known" -> "well known"); the word stays one word for the user.

Text normalisation follows the usual practice of forced aligners (the Montreal Forced Aligner and
Gentle spell out numbers and strip punctuation before looking words up; Sproat et al., "Normalization
of non-standard words", Computer Speech & Language 2001, classify the cases handled here: cardinals,
ordinals, years, decimals, money, percentages, times, symbols). Rules for English (``language="en"``):

* cardinals in American style without "and": "42" -> "forty two", "1,200" -> "one thousand two
  hundred", "-5" -> "minus five"; decimals digit by digit: "3.5" -> "three point five";
* a standalone four-digit number from 1100 to 2099 (no comma, sign, decimals or unit) is read as a
  year: "1999" -> "nineteen ninety nine", "1905" -> "nineteen oh five", "1900" -> "nineteen
  hundred", "2000"-"2009" -> "two thousand (n)", "2019" -> "twenty nineteen"; decades "1990s" ->
  "nineteen nineties";
* ordinals "1st", "22nd", "103rd", "4th" -> "first", "twenty second", ...;
* money: "$5" -> "five dollars", "$1" -> "one dollar", "$3.50" -> "three dollars fifty cents",
  "€", "£", "¥" likewise; before a scale word the unit moves after it ("$2 million" -> "two |
  million dollars");
* "%" -> "percent", "&" -> "and", "+" -> "plus", "@" -> "at", "=" -> "equals", "#5" -> "number five";
  times "3:30" -> "three thirty", "3:05" -> "three oh five", "3:00" -> "three o'clock";
* letters and digits mixed ("mp3") are split into their parts ("mp three"); dots between letters
  split abbreviations into letters ("u.s." -> "u s").

Hyphens, en dashes and slashes inside a word split it into spoken parts ("well-known", "and/or");
an em dash or "--" separates words, and a dash standing alone is dropped (nothing is said).
Fillers ("um", "uh", "erm", "mm", "hmm", and a few spelling variants; "er" in English, "äh" in
German, "euh" in French) are kept with ``filler=True``: they are spoken, and an aligner may make them
optional. Bracketed non-speech ("[laughter]", "(coughs)", "<noise>", "{breath}") becomes a word with
``nonspeech=True`` and an empty ``norm``: it is kept for the user's tier but nothing is aligned to it.
A token with nothing speakable in it (a lone "-", "...") is not a word.

**Other languages.** Only English has a number speller here. For any other ``language`` the norm is
lower case with punctuation removed, but digits, the decimal separators between them ("3,5", "3.5")
and the symbols "%", "&", "+", "$", "€", "£" are kept as written: eSpeak NG reads digits and those
symbols in the voice's own language, so the synthesiser of `studio.align.espeak` speaks them correctly,
and a dictionary-based aligner must expand them itself. (Measured with eSpeak NG 1.51: of its 141
language names, all read "1" except `DIGITS_UNSPOKEN` - Chuvash, Hebrew, Nogai, Quenya, Sindarin,
Turkmen and the Cherokee voice - which say nothing for a digit; write numbers out in words there.)
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - typing only
    from studio.core import IntervalTier

__all__ = [
    "DIGITS_UNSPOKEN",
    "Line",
    "Transcript",
    "Word",
    "tokenize",
    "spell_number",
    "spell_ordinal",
    "spell_year",
]

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen"
).split()
_TENS = "zero ten twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ["", "thousand", "million", "billion", "trillion", "quadrillion", "quintillion"]
_SCALE_WORDS = {"hundred", "thousand", "million", "billion", "trillion"}
_ORDINAL_IRREGULAR = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}
_CURRENCY = {"$": ("dollar", "dollars", "cent", "cents"), "€": ("euro", "euros", "cent", "cents"),
             "£": ("pound", "pounds", "penny", "pence"), "¥": ("yen", "yen", "", "")}  # fmt: skip
_SYMBOLS = {"%": "percent", "&": "and", "+": "plus", "@": "at", "=": "equals", "#": "number"}
_FILLERS_ALL = {"um", "umm", "uh", "uhh", "uhm", "erm", "mm", "mmm", "hmm", "hm", "mhm", "ehm"}
_FILLERS_LANG = {"en": {"er", "err"}, "de": {"äh", "ähm", "öhm"}, "fr": {"euh", "heu"}, "es": {"eh", "em"}}
_DIGITS_KEPT = set("%&+$€£")
#: espeak (1.51) language names whose voice says nothing for a digit
DIGITS_UNSPOKEN = frozenset({"chr-us-qaaa-x-west", "cv", "he", "nog", "qya", "sjn", "tk"})

_BRACKETS = r"\[[^\]\n]*\]|\([^)\n]*\)|<[^>\n]*>|\{[^}\n]*\}"
# a token: a bracketed group, or a run of characters up to whitespace, an opening bracket or an em dash
_TOKEN = re.compile(rf"(?P<ns>{_BRACKETS})|(?P<w>[^\s\[(<{{—]+)|(?P<x>\S)")
_EDGE = "\"'“”‘’„‚«»‹›.,;:!?¡¿…()[]{}<>—–-_*~`|\\/"
_INNER_SPLIT = re.compile(r"--+|[-‐‑–/]")  # "--" splits words before this; here hyphens and slashes


def spell_number(n: int) -> str:
    """An integer in English words, American style: 1205 -> "one thousand two hundred five"."""
    if n < 0:
        return "minus " + spell_number(-n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        t, o = divmod(n, 10)
        return _TENS[t] + ("" if o == 0 else " " + _ONES[o])
    if n < 1000:
        h, r = divmod(n, 100)
        return _ONES[h] + " hundred" + ("" if r == 0 else " " + spell_number(r))
    groups = []
    while n:
        n, g = divmod(n, 1000)
        groups.append(g)
    if len(groups) > len(_SCALES):
        # beyond the named scales: say the digits
        return " ".join(_ONES[int(d)] for d in str(sum(g * 1000**i for i, g in enumerate(groups))))
    parts = []
    for i in range(len(groups) - 1, -1, -1):
        if groups[i]:
            parts.append(spell_number(groups[i]) + (" " + _SCALES[i] if i else ""))
    return " ".join(parts)


def spell_ordinal(n: int) -> str:
    """21 -> "twenty first", 100 -> "one hundredth"."""
    words = spell_number(n).split()
    last = words[-1]
    if last in _ORDINAL_IRREGULAR:
        words[-1] = _ORDINAL_IRREGULAR[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return " ".join(words)


def spell_year(n: int) -> str:
    """A year as read in English: 1999 -> "nineteen ninety nine", 2005 -> "two thousand five"."""
    if not 1000 <= n <= 9999:
        return spell_number(n)
    hi, lo = divmod(n, 100)
    if 2000 <= n <= 2009:
        return spell_number(n)
    if lo == 0:
        return spell_number(n) if hi % 10 == 0 else spell_number(hi) + " hundred"
    if lo < 10:
        return spell_number(hi) + " oh " + _ONES[lo]
    return spell_number(hi) + " " + spell_number(lo)


def _plural(words: str) -> str:
    """ "nineteen ninety" -> "nineteen nineties" (decades: "1990s")."""
    head, _, last = words.rpartition(" ")
    if last.endswith("y"):
        last = last[:-1] + "ies"
    elif last.endswith(("x", "s")):
        last += "es"
    else:
        last += "s"
    return (head + " " + last).strip()


def _digits(s: str) -> str:
    return " ".join(_ONES[int(c)] for c in s)


_NUM = re.compile(
    r"^(?P<sign>[-−+]?)(?P<cur>[$€£¥]?)(?P<int>\d{1,3}(?:,\d{3})+|\d+)?(?:\.(?P<frac>\d+))?"
    r"(?P<suf>%|st|nd|rd|th|s|'s|[$€£¥])?$"
)
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")


def _money(whole: int | None, frac: str | None, sym: str) -> tuple[str, str]:
    """(amount words, unit words) for a currency amount; the unit is separate so it can move."""
    one, many, cent, cents = _CURRENCY[sym]
    if frac is not None and len(frac) == 2 and cent:
        c = int(frac)
        w = whole or 0
        if w == 0 and c:
            return spell_number(c), cent if c == 1 else cents
        amount = spell_number(w)
        unit = one if w == 1 else many
        if c:
            return amount, f"{unit} {spell_number(c)} {cent if c == 1 else cents}"
        return amount, unit
    if frac is not None:
        return spell_number(whole or 0) + " point " + _digits(frac), many
    return spell_number(whole or 0), one if whole == 1 else many


def _number_en(piece: str, standalone: bool) -> tuple[str, str] | None:
    """Spoken form of a numeric piece, as (words, unit that may move after a scale word), or None."""
    m = _TIME.match(piece)
    if m:
        h, mi = int(m.group(1)), int(m.group(2))
        if h <= 24 and mi < 60:
            if mi == 0:
                return spell_number(h) + " o'clock", ""
            return spell_number(h) + (" oh " + _ONES[mi] if mi < 10 else " " + spell_number(mi)), ""
    m = _NUM.match(piece)
    if not m or (m.group("int") is None and m.group("frac") is None):
        return None
    sign, cur, ip, frac, suf = (
        m.group("sign"),
        m.group("cur"),
        m.group("int"),
        m.group("frac"),
        m.group("suf"),
    )
    whole = int(ip.replace(",", "")) if ip is not None else None
    minus = "minus " if sign in ("-", "−") else ""
    if suf and suf in _CURRENCY:
        if cur:
            return None
        cur = suf
        suf = None
    if cur:
        if suf:
            return None
        amount, unit = _money(whole, frac, cur)
        return minus + amount, unit
    if suf in ("st", "nd", "rd", "th"):
        if whole is None or frac is not None:
            return None
        return minus + spell_ordinal(whole), ""
    if frac is not None:
        words = (spell_number(whole) + " " if whole is not None else "") + "point " + _digits(frac)
    elif (
        standalone
        and not sign
        and suf in (None, "s", "'s")
        and ip is not None
        and "," not in ip
        and (1100 <= whole <= 2099 or (suf and len(ip) == 4))
    ):
        words = spell_year(whole)
    elif ip is not None and len(ip) > 1 and ip.startswith("0") and "," not in ip:
        words = _digits(ip)  # "007", "0800": digit by digit
    else:
        words = spell_number(whole)
    if suf in ("s", "'s"):
        words = _plural(words)
    elif suf == "%":
        words += " percent"
    return minus + words, ""


def _speak_piece(piece: str) -> str:
    """Spoken form of an English piece of a word (no hyphens in it); "" if nothing is said."""
    num = _number_en(piece, standalone=True)
    if num is not None:
        return " ".join(x for x in num if x)
    out: list[str] = []
    # runs of letters (with inner apostrophes), digit groups, single symbols
    for m in re.finditer(r"\d+(?:[.,]\d+)*|[^\W\d_]+(?:'[^\W\d_]+)*|\S", piece):
        tok = m.group(0)
        if tok[0].isdigit():
            num = _number_en(tok, standalone=False)
            out.append(" ".join(x for x in num if x) if num else _digits(re.sub(r"\D", "", tok)))
        elif tok[0].isalpha():
            out.append(tok.lower())
        elif tok in _SYMBOLS:
            out.append(_SYMBOLS[tok])
        elif tok in _CURRENCY:
            out.append(_CURRENCY[tok][1])
        # any other character is punctuation: not spoken
    return " ".join(out)


@dataclass(frozen=True)
class Word:
    """A written word: the user's ``text`` at ``span`` (character offsets) of the transcript, and its
    spoken form ``norm`` (space-separated parts; empty for non-speech)."""

    text: str
    span: tuple[int, int]
    norm: str
    index: int
    line: int
    filler: bool = False
    nonspeech: bool = False

    @property
    def parts(self) -> list[str]:
        """The spoken parts of ``norm`` ("forty two" -> ["forty", "two"])."""
        return self.norm.split()

    @property
    def spoken(self) -> bool:
        return bool(self.norm)


@dataclass(frozen=True)
class Line:
    """One utterance: its text (as written), its span in the transcript, its words, and, for a line
    made from a tier interval, the interval's times and index in the tier."""

    text: str
    span: tuple[int, int]
    words: tuple[Word, ...]
    index: int
    start: float | None = None
    end: float | None = None
    source: int | None = None

    @property
    def norm(self) -> str:
        return " ".join(w.norm for w in self.words if w.norm)


@dataclass(frozen=True)
class Transcript:
    """Lines of words; ``text`` is the transcript the spans refer to."""

    text: str
    lines: tuple[Line, ...]
    language: str = "en"

    @property
    def words(self) -> list[Word]:
        return [w for line in self.lines for w in line.words]

    @property
    def spoken_words(self) -> list[Word]:
        """The words that have something to say (not non-speech)."""
        return [w for w in self.words if w.norm]

    def __iter__(self) -> Iterator[Word]:
        return iter(self.words)

    def __len__(self) -> int:
        return sum(len(line.words) for line in self.lines)

    def to_text(self) -> str:
        """The lines as written, one per line (blank lines and surrounding spaces dropped)."""
        return "\n".join(line.text for line in self.lines)

    def norm_text(self) -> str:
        """The spoken form, one line per line."""
        return "\n".join(line.norm for line in self.lines)

    @classmethod
    def from_tier(cls, tier: IntervalTier, language: str = "en") -> Transcript:
        """One line per interval with a non-blank label (in tier order), keeping its times in
        ``Line.start``/``end`` and its index in ``Line.source``, so each line's words can be aligned
        within its interval. The transcript text is the labels joined by newlines (a label's own line
        breaks become spaces)."""
        language = _language(language)
        labels: list[str] = []
        meta: list[tuple[float, float, int]] = []
        for i, iv in enumerate(tier):
            label = iv.label.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
            if label.strip():
                labels.append(label)
                meta.append((iv.start, iv.end, i))
        if not labels:
            raise ValueError(f"the transcript has no words (tier {tier.name!r} has no labelled interval)")
        text = "\n".join(labels)
        lines: list[Line] = []
        offset = 0
        n = 0
        for (start, end, i), label in zip(meta, labels):
            line = _tokenize_line(label, offset, len(lines), n, language)
            if line is not None:  # a label of punctuation only has no words
                lines.append(Line(line.text, line.span, line.words, line.index, start, end, i))
                n += len(line.words)
            offset += len(label) + 1
        if not lines:
            raise ValueError(f"the transcript has no words (tier {tier.name!r})")
        return cls(text, tuple(lines), language)


def _tokenize_line(raw: str, offset: int, line_index: int, first: int, language: str) -> Line | None:
    fillers = _FILLERS_ALL | _FILLERS_LANG.get(language, set())
    raw_words: list[tuple[str, int, int, str, bool, bool]] = []  # text, s, e, norm, filler, nonspeech
    units: list[str] = []  # a movable currency unit per word
    for m in _TOKEN.finditer(raw):
        s, e = m.span()
        if m.group("ns"):
            raw_words.append((m.group(0), s, e, "", False, True))
            units.append("")
            continue
        tok = m.group(0)
        for sub in re.finditer(r"(?:(?!--)[^—])+", tok):  # "--" and "—" separate words
            ss = s + sub.start()
            text = sub.group(0)
            lead = len(text) - len(text.lstrip(_EDGE))
            # keep a leading sign or currency glued to a number ("-5", "$5"); keep "#5"
            if lead and text[lead - 1 : lead] in "-−" and text[lead : lead + 1].isdigit():
                lead -= 1
            core = text[lead:].rstrip(_EDGE)
            if not core:
                continue
            if text[lead + len(core) : lead + len(core) + 1] == "." and re.fullmatch(
                r"(?:[^\W\d_]\.)+[^\W\d_]", core
            ):
                core += "."  # "U.S." keeps its last dot
            cs = ss + lead
            ce = cs + len(core)
            norm, unit = _normalize_word(core, language)
            if not norm:
                continue
            is_filler = norm in fillers
            raw_words.append((core, cs, ce, norm, is_filler, False))
            units.append(unit)
    # a currency unit moves after a following scale word: "$2 million" -> "two" + "million dollars"
    for j in range(len(raw_words)):
        if units[j] and j + 1 < len(raw_words) and raw_words[j + 1][3] in _SCALE_WORDS and not units[j + 1]:
            units[j + 1], units[j] = units[j], ""
    words: list[Word] = []
    for (text, s, e, norm, filler, ns), unit in zip(raw_words, units):
        norm = f"{norm} {unit}" if unit else norm
        words.append(Word(text, (offset + s, offset + e), norm, first + len(words), line_index, filler, ns))
    if not words:
        return None
    stripped = raw.strip()
    lead = len(raw) - len(raw.lstrip())
    return Line(stripped, (offset + lead, offset + lead + len(stripped)), tuple(words), line_index)


def _normalize_word(core: str, language: str) -> tuple[str, str]:
    """(norm, movable unit) of one written word without its surrounding punctuation."""
    core = unicodedata.normalize("NFC", core).replace("’", "'")
    if language != "en":
        # keep digits with their separators and the symbols espeak reads; drop other punctuation
        out = []
        for m in re.finditer(r"\d+(?:[.,:]\d+)*|[^\W\d_]+(?:'[^\W\d_]+)*|\S", core):
            tok = m.group(0)
            if tok[0].isdigit() or tok[0].isalpha() or tok in _DIGITS_KEPT:
                out.append(tok.lower())
        return " ".join(out), ""
    whole = _number_en(core, standalone=True)
    if whole is not None:
        return whole
    spoken: list[str] = []
    for p in _INNER_SPLIT.split(core):
        p = p.strip(_EDGE.replace("'", ""))
        if not p:
            continue
        if re.fullmatch(r"(?:[^\W\d_]\.)+[^\W\d_]?\.?", p):  # an abbreviation with dots: letter by letter
            spoken.extend(c.lower() for c in p if c.isalpha())
        elif words := _speak_piece(p):
            spoken.append(words)
    return " ".join(spoken), ""


def _language(language: str) -> str:
    if not isinstance(language, str) or not language.strip():
        raise ValueError(f"language must be a language code such as 'en', got {language!r}")
    return language.strip().lower().replace("_", "-").split("-")[0]


def tokenize(text: str, language: str = "en") -> Transcript:
    """Lines and words of a transcript, with each word's spoken form (see the module docstring)."""
    if not isinstance(text, str):
        raise ValueError(f"the transcript must be a string, got {type(text).__name__}")
    language = _language(language)
    lines: list[Line] = []
    offset = 0
    n = 0
    for raw in text.splitlines(keepends=True):
        body = raw.rstrip("\r\n")
        line = _tokenize_line(body, offset, len(lines), n, language)
        if line is not None:
            lines.append(line)
            n += len(line.words)
        offset += len(raw)
    if not lines:
        raise ValueError("the transcript has no words")
    return Transcript(text, tuple(lines), language)
