"""Synthetic speech with exact word and phone timings, from the eSpeak NG library (ctypes, no subprocess).

A transcript aligner that works by synthesis (TTS + DTW, in the manner of aeneas, Pettarin 2017, and of
the "synthesise then warp" aligners before it, e.g. Malfrère & Dutoit 1997) needs speech whose word and
phone boundaries are *known*: the synthetic audio is warped onto the recording and its boundaries are
carried across the path. eSpeak NG (https://github.com/espeak-ng/espeak-ng) is small, speaks ~100
languages, and reports, for every phoneme it generates, the sample at which it starts.

**Binding.** ``libespeak-ng.so.1`` is loaded with ctypes and initialised once, in synchronous mode
(``AUDIO_OUTPUT_SYNCHRONOUS``: `espeak_Synth` returns when the text has been spoken; the samples and the
events arrive through the synth callback in the calling thread) with ``espeakINITIALIZE_PHONEME_EVENTS``
(one ``espeakEVENT_PHONEME`` per phoneme) and ``espeakINITIALIZE_PHONEME_IPA`` (their names in IPA), and
``espeakINITIALIZE_DONT_EXIT`` (a missing data directory is an error, not ``exit()``). The library keeps
global state (current voice, parameters, the callback, its buffers) and is not thread-safe, so every call
into it holds one module lock; two threads that synthesise at once are served one after the other and get
what each would get alone (without the lock the process crashes). Every voice load queues an event in the
library's fixed-size event list that only synthesis empties; after some 50 loads without synthesis (e.g.
`phonemes` in many languages) the first phone events of the next utterance were dropped, so each load is
followed by an empty synthesis that flushes them. The structures follow ``speak_lib.h`` of eSpeak NG 1.49-1.52 (the
header is not installed with the runtime package, so they are declared here).

**Repeatability.** espeak's wave generator modulates the pitch with a "flutter" whose phase runs on from
one call to the next, and the first utterance after initialisation starts from its own state, so the same
text spoken twice moved by up to ~11 ms at phone boundaries (measured over 20 interleaved calls per
voice). Each voice is therefore loaded from a private copy of its voice file (``espeak-ng-data/lang/...``
plus its variant from ``voices/!v``) with ``flutter 0`` appended (`espeak_SetVoiceByFile`), and one
throw-away word is spoken at initialisation. Word and phone spans are then identical from call to call
(en, de, fr, es; en-us still varies by <= 1 ms); the samples differ slightly, because espeak's noise
source is libc ``rand()``, which this module leaves alone. Voices whose files cannot be copied (mbrola)
are loaded as they are.

**Timing.** Each event carries ``sample``, the index of the output sample where it happens (the same
clock as ``audio_position``, which is rounded to milliseconds; ``sample`` is exact), and
``text_position``, the 1-based character index (``espeakCHARS_UTF8`` counts characters, not bytes) of
the word it belongs to. A phone lasts from its event to the next phoneme event (or the end of the
audio). Pauses are phoneme events with an empty IPA name; they belong to no word. A word spans its
phones: from the start of its first phone to the end of its last, so consecutive words of a line
touch unless espeak put a pause between them, and pauses stay outside words. (``espeakEVENT_WORD``
events are not used for the spans: espeak emits several for one written number, one spurious word
at the end of a clause, and after punctuation its text position can point at the preceding
separator; the phones' positions are the reliable ones.)

**Word mapping.** The input is one string per word (or a text, split on whitespace); the words of a
line are joined by single spaces and spoken in one `espeak_Synth` call, so each word occupies a known
character range and every event's text position names exactly one of them. A word may itself contain
spaces (``"forty two"``, the spoken form of one written word): all its parts map back to it. A word
with nothing to say (no letter, digit or read symbol such as "%": a lone "-" or ".") is not given to
espeak, which would otherwise attach the next word's events to it; it gets a zero-length span at the
end of the previous word and ``spoken=False``. Phones are named by the phoneme events' IPA names; a
modifier that espeak emits as an event of its own (Russian palatalisation "ʲ") is joined to its phone,
and language switch markers ("(en)") are dropped, so the symbols are those of `phonemes`.

**Lines.** Each line is synthesised by its own call, and ``line_gap`` seconds of digital silence are
put between consecutive lines, so an utterance boundary in the transcript is a clean pause in the
synthetic audio (the recording usually pauses there too, and DTW can absorb the difference).

`phonemes` gives a word's IPA phones from ``espeak_TextToPhonemes`` (stress marks removed, language
switches such as ``(en)`` dropped), in the same symbols the phoneme events carry.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import re
import tempfile
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .text import Transcript

__all__ = ["Synthesis", "SynthPhone", "SynthWord", "phonemes", "synthesize", "voices", "sample_rate"]

# speak_lib.h constants
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_PHONEME_EVENTS = 0x0001
_INIT_PHONEME_IPA = 0x0002
_INIT_DONT_EXIT = 0x8000
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_EVENT_LIST_TERMINATED = 0
_EVENT_END = 5
_EVENT_PHONEME = 7
_EVENT_SAMPLERATE = 8
_PARAM_RATE = 1
_PARAM_PITCH = 3
_EE_OK = 0
_EE_NOT_FOUND = 2
_PHONEMES_IPA = 0x02

RATE_RANGE = (80, 450)  # words per minute espeak can speak without its sonic speed-up
PITCH_RANGE = (0, 100)
_STRESS = str.maketrans("", "", "ˈˌ")
_SWITCH = re.compile(r"\([a-z0-9-]+\)")  # a language switch marker in a phoneme name: "(en)"
_READ_SYMBOLS = set("%&$€£¥+@#=")


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


class _Voice(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_void_p),  # (priority byte, language string\0)* \0
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


_Callback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


@dataclass(frozen=True)
class SynthWord:
    """One input word in the synthetic audio: [start, end) in seconds, its index in the input."""

    start: float
    end: float
    index: int
    line: int
    text: str
    spoken: bool = True


@dataclass(frozen=True)
class SynthPhone:
    """One phone: [start, end) in seconds, its IPA symbol (stress marks removed), the index of its word."""

    start: float
    end: float
    symbol: str
    word: int


@dataclass
class Synthesis:
    """Synthetic speech and where each input word and phone lies in it.

    ``lines[k]`` is the (start, end) of line k's audio (its own leading/trailing pauses included; the
    ``line_gap`` silence between lines is outside every line).
    """

    samples: np.ndarray  # float32 mono in [-1, 1)
    sample_rate: int
    words: list[SynthWord]
    phones: list[SynthPhone]
    lines: list[tuple[float, float]] = field(default_factory=list)
    voice: str = "en"

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate


class _Espeak:
    """The loaded library, initialised once; all use goes through `lock`."""

    def __init__(self) -> None:
        path = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            try:
                lib = ctypes.CDLL("libespeak-ng.so.1")
            except OSError as e:
                raise RuntimeError(
                    "eSpeak NG is not installed (libespeak-ng.so.1 not found); install the espeak-ng package"
                ) from e
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetSynthCallback.argtypes = [_Callback]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))
        lib.espeak_ListVoices.argtypes = [ctypes.c_void_p]
        lib.espeak_SetVoiceByFile.restype = ctypes.c_int
        lib.espeak_SetVoiceByFile.argtypes = [ctypes.c_char_p]
        lib.espeak_GetCurrentVoice.restype = ctypes.POINTER(_Voice)
        lib.espeak_GetCurrentVoice.argtypes = []
        lib.espeak_Info.restype = ctypes.c_char_p
        lib.espeak_Info.argtypes = [ctypes.POINTER(ctypes.c_char_p)]
        lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int, ctypes.c_int]
        # buffer of 500 ms per callback: the event list holds 500 * 200 / 1000 + 20 = 120 events per buffer
        rate = lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 500, None, _INIT_PHONEME_EVENTS | _INIT_PHONEME_IPA | _INIT_DONT_EXIT
        )
        if rate <= 0:
            raise RuntimeError(f"eSpeak NG failed to initialise (error {rate}); is espeak-ng-data installed?")
        self.lib = lib
        self.sample_rate = rate
        self.voice: str | None = None
        path = ctypes.c_char_p()
        self.version = (lib.espeak_Info(ctypes.byref(path)) or b"").decode()
        self.data = Path((path.value or b"").decode())
        self._voice_dir = tempfile.TemporaryDirectory(prefix="studio-espeak-")  # removed at exit
        self.steady: dict[str, bool] = {}  # voice -> whether it was loaded without pitch flutter
        self._chunks: list[np.ndarray] = []
        self._events: list[tuple[int, int, int, str]] = []
        self._callback = _Callback(self._collect)  # kept referenced for the library's lifetime
        lib.espeak_SetSynthCallback(self._callback)
        # the very first utterance after initialisation starts from a different wave-generator state
        # than every later one (measured: a few ms longer); speak once so that all calls are alike
        self.set_voice("en")
        self.speak("a", 175, 50)

    def _collect(self, wav, n, events) -> int:
        if n > 0 and wav:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:
            e = events[i]
            if e.type == _EVENT_PHONEME:
                name = bytes(e.id.string).split(b"\0", 1)[0].decode("utf-8", "replace")
                self._events.append((e.type, e.text_position, e.sample, name))
            elif e.type == _EVENT_END:
                self._events.append((e.type, e.text_position, e.sample, ""))
            i += 1
        return 0

    def set_voice(self, voice: str) -> None:
        if not isinstance(voice, str) or not voice.strip():
            raise ValueError(f"voice must be a non-empty string, got {voice!r}")
        if voice == self.voice:
            return
        # a voice name, file identifier or language with its own file ("en", "gmw/en", "en+f3"); else a
        # language that only appears in a voice's language list ("en-gb", "no", "zh")
        err = self.lib.espeak_SetVoiceByName(voice.encode("utf-8"))
        if err == _EE_NOT_FOUND:
            ident = _voice_table(self.lib).get(voice.strip().lower())
            if ident is not None:
                err = self.lib.espeak_SetVoiceByName(ident.encode("utf-8"))
        if err != _EE_OK:
            self.voice = None  # espeak may have changed state partway; set it again next time
            if err == _EE_NOT_FOUND:
                raise ValueError(
                    f"unknown espeak voice {voice!r}; studio.align.espeak.voices() lists the "
                    f"{len(_voice_table(self.lib))} available ones (e.g. en, en-us, de, fr, es)"
                )
            raise RuntimeError(f"espeak could not load voice {voice!r} (error {err})")
        self.steady[voice] = self._load_steady()
        # every voice load queues an espeakEVENT_SAMPLERATE in the library's fixed-size event list, which
        # is only emptied by synthesis: after a dozen loads without synthesis (phonemes() in several
        # languages) the first phoneme events of the next utterance were silently dropped. Speaking an
        # empty text delivers (and here discards) the queued events.
        self.speak("", 175, 50)
        self.voice = voice

    def _load_steady(self) -> bool:
        """Reload the current voice from a copy of its file(s) with ``flutter 0``; False if impossible.

        espeak's wave generator modulates the pitch with a "flutter" whose phase runs on from one call to
        the next, so the same text spoken twice differs by up to a pitch period (~10 ms) at each phone
        boundary. Without flutter the output depends on the input alone."""
        cur = self.lib.espeak_GetCurrentVoice()
        ident = cur.contents.identifier.decode("utf-8") if cur and cur.contents.identifier else ""
        base, _, variant = ident.partition("+")
        files = [self.data / "lang" / base]
        if variant:
            files.append(self.data / "voices" / "!v" / variant)
        try:
            parts = [files[0].read_text("utf-8")]
            if variant:  # a variant's own name/language lines would rename the voice
                lines = files[1].read_text("utf-8").splitlines()
                parts.append("\n".join(x for x in lines if not x.strip().startswith(("name", "language"))))
        except (OSError, UnicodeDecodeError):
            return False  # an mbrola voice, or a data layout this binding does not know
        path = Path(self._voice_dir.name) / ident.replace("/", "_").replace("+", "_")
        path.write_text("\n".join(parts) + "\nflutter 0\n", "utf-8")
        return self.lib.espeak_SetVoiceByFile(str(path).encode("utf-8")) == _EE_OK

    def speak(self, text: str, rate: int, pitch: int) -> tuple[np.ndarray, list[tuple[int, int, int, str]]]:
        """Samples (int16) and the (type, text_position, sample, name) events of one utterance."""
        self.lib.espeak_SetParameter(_PARAM_RATE, rate, 0)
        self.lib.espeak_SetParameter(_PARAM_PITCH, pitch, 0)
        self._chunks, self._events = [], []
        data = text.encode("utf-8")
        err = self.lib.espeak_Synth(data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        if err != _EE_OK:
            raise RuntimeError(f"espeak_Synth failed (error {err})")
        chunks, events = self._chunks, self._events
        self._chunks, self._events = [], []
        wav = np.concatenate(chunks) if chunks else np.zeros(0, np.int16)
        return wav, events


_lock = threading.RLock()
_engine: _Espeak | None = None


def _get() -> _Espeak:
    global _engine
    if _engine is None:
        _engine = _Espeak()
    return _engine


def sample_rate() -> int:
    """espeak's output rate (22050 Hz for its own voices)."""
    with _lock:
        return _get().sample_rate


def _voice_table(lib) -> dict[str, str]:
    """Language name -> identifier of the voice file that speaks it best (lowest priority number)."""
    ptr = lib.espeak_ListVoices(None)
    best: dict[str, tuple[int, str]] = {}
    i = 0
    while ptr[i]:
        v = ptr[i].contents
        ident = (v.identifier or b"").decode("utf-8", "replace")
        if v.languages and ident:
            # (priority byte, language\0) pairs, terminated by a zero priority byte
            j = 0
            while True:
                prio = ctypes.c_ubyte.from_address(v.languages + j).value
                if prio == 0:
                    break
                lang = ctypes.string_at(v.languages + j + 1)
                name = lang.decode("utf-8", "replace").lower()
                if name not in best or prio < best[name][0]:
                    best[name] = (prio, ident)
                j += len(lang) + 2
        i += 1
    return {name: ident for name, (_, ident) in best.items()}


def voices() -> list[str]:
    """The language names espeak's voices answer to ("en", "en-us", "de", "fr", "es", ...), sorted.

    Each is a valid ``voice`` for `synthesize` and `phonemes`; so are voice file identifiers
    ("gmw/en"), voice names ("English (Great Britain)") and variants ("en+f3")."""
    with _lock:
        return sorted(_voice_table(_get().lib))


def _lines_of(words: str | Transcript | Sequence[str] | Sequence[Sequence[str]]) -> list[list[str]]:
    if isinstance(words, Transcript):
        # one entry per transcript word, so indices match Transcript.words; non-speech has norm ""
        lines = [[w.norm for w in line.words] for line in words.lines]
        if not any(_speakable(w) for line in lines for w in line):
            raise ValueError("nothing to synthesize: the transcript has no spoken words")
        return lines
    if isinstance(words, str):
        lines = [line.split() for line in words.splitlines()]
        lines = [line for line in lines if line]
    else:
        items = list(words)
        if items and all(isinstance(w, str) for w in items):
            lines = [items]
        elif all(not isinstance(w, str) and isinstance(w, Sequence) for w in items):
            lines = [list(line) for line in items]
            for k, line in enumerate(lines):
                if not all(isinstance(w, str) for w in line):
                    raise ValueError(f"line {k}: words must be strings")
        else:
            raise ValueError("words must be a text, a list of words or a list of lines (lists of words)")
    if not any(lines):
        raise ValueError("nothing to synthesize: the text has no words")
    n = 0
    for line in lines:
        for w in line:
            if not w.strip():
                raise ValueError(f"word {n} is empty")
            if "\n" in w or "\r" in w:
                raise ValueError(f"word {n} ({w!r}) contains a line break")
            n += 1
    return lines


def synthesize(
    words: str | Transcript | Sequence[str] | Sequence[Sequence[str]],
    voice: str = "en",
    rate: int = 175,
    pitch: int = 50,
    line_gap: float = 0.3,
) -> Synthesis:
    """Speak `words` with espeak and return the audio with each word's and phone's span.

    `words`: a text (one line per line, words split on whitespace), a list of words (one line), a
    list of lines, each a list of words (an empty line gives a zero-length line), or a `Transcript`
    (each word's ``norm`` is spoken; ``SynthWord.index`` is then the index in ``Transcript.words``, and
    non-speech words are ``spoken=False``). Words are numbered 0.. across lines in reading order; a word
    may contain spaces (all its parts count as that word). `voice`: see `voices`; `rate` in words per
    minute (80-450), `pitch` 0-100; `line_gap`: seconds of silence inserted between lines.
    """
    lines = _lines_of(words)
    if (
        isinstance(rate, bool)
        or not isinstance(rate, (int, np.integer))
        or not (RATE_RANGE[0] <= rate <= RATE_RANGE[1])
    ):
        raise ValueError(
            f"rate must be an integer in {RATE_RANGE[0]}..{RATE_RANGE[1]} words per minute, got {rate!r}"
        )
    if (
        isinstance(pitch, bool)
        or not isinstance(pitch, (int, np.integer))
        or not (PITCH_RANGE[0] <= pitch <= PITCH_RANGE[1])
    ):
        raise ValueError(f"pitch must be an integer in {PITCH_RANGE[0]}..{PITCH_RANGE[1]}, got {pitch!r}")
    if not np.isfinite(line_gap) or line_gap < 0:
        raise ValueError(f"line_gap must be a finite number of seconds >= 0, got {line_gap!r}")
    with _lock:
        eng = _get()
        eng.set_voice(voice)
        sr = eng.sample_rate
        gap = np.zeros(int(round(line_gap * sr)), np.int16)
        pieces: list[np.ndarray] = []
        out_words: list[SynthWord] = []
        out_phones: list[SynthPhone] = []
        line_spans: list[tuple[float, float]] = []
        offset = 0  # samples before this line
        first = 0  # index of the line's first word
        for k, line in enumerate(lines):
            if k:
                pieces.append(gap)
                offset += len(gap)
            said = [w for w in line if _speakable(w)]
            if said:
                wav, events = eng.speak(" ".join(said), int(rate), int(pitch))
            else:
                wav, events = np.zeros(0, np.int16), []
            spans = _line_spans(line, events, len(wav))
            pieces.append(wav)
            for j, (text, (a, b, ok)) in enumerate(zip(line, spans[0])):
                out_words.append(SynthWord((offset + a) / sr, (offset + b) / sr, first + j, k, text, ok))
            for a, b, sym, j in spans[1]:
                out_phones.append(SynthPhone((offset + a) / sr, (offset + b) / sr, sym, first + j))
            line_spans.append((offset / sr, (offset + len(wav)) / sr))
            offset += len(wav)
            first += len(line)
    samples = (np.concatenate(pieces).astype(np.float32) / 32768.0) if pieces else np.zeros(0, np.float32)
    return Synthesis(samples, sr, out_words, out_phones, line_spans, voice)


def _speakable(word: str) -> bool:
    """Whether espeak has anything to say for `word`: a letter or digit, or a symbol it reads."""
    return any(c.isalnum() or c in _READ_SYMBOLS for c in word)


def _is_modifier(symbol: str) -> bool:
    """A symbol of modifier letters only (ʲ, ʰ, ː, ...): espeak emits some as events of their own."""
    return all(unicodedata.category(c) in ("Lm", "Sk", "Mn") for c in symbol)


def _line_spans(
    line: list[str], events: list[tuple[int, int, int, str]], n_samples: int
) -> tuple[list[tuple[int, int, bool]], list[tuple[int, int, str, int]]]:
    """Word spans (start, end, spoken) and phones (start, end, symbol, word) in samples, for one line.

    Only the speakable words (`_speakable`) were given to espeak, joined by single spaces."""
    sent = [j for j, w in enumerate(line) if _speakable(w)]
    ends = []
    pos = 0
    for j in sent:
        pos += len(line[j])
        ends.append(pos)  # exclusive end of the j-th sent word in the text espeak got
        pos += 1

    def word_at(text_position: int) -> int:
        q = text_position - 1  # 0-based character index
        for k, e in enumerate(ends):
            if q < e:
                return sent[k]  # inside the word, or on the separator before it
        return sent[-1]

    # phones: each lasts until the next phoneme event (or the end of the audio); language switch
    # markers such as "(en)" are not phones and do not end one
    marks = [
        (s, name.translate(_STRESS), tp)
        for typ, tp, s, name in events
        if typ == _EVENT_PHONEME and not _SWITCH.fullmatch(name)
    ]
    phones: list[tuple[int, int, str, int]] = []
    for i, (s, symbol, tp) in enumerate(marks):
        e = marks[i + 1][0] if i + 1 < len(marks) else n_samples
        s, e = min(max(s, 0), n_samples), min(max(e, 0), n_samples)
        if not symbol or e <= s:
            continue  # a pause, or a phone that produced no audio
        j = word_at(tp)
        if _is_modifier(symbol) and phones and phones[-1][3] == j and phones[-1][1] == s:
            ps, _, psym, _ = phones[-1]
            phones[-1] = (ps, e, psym + symbol, j)  # "r" + "ʲ" -> "rʲ", as phonemes() writes it
            continue
        phones.append((s, e, symbol, j))
    words: list[tuple[int, int, bool]] = []
    for j in range(len(line)):
        mine = [p for p in phones if p[3] == j]
        words.append((mine[0][0], mine[-1][1], True) if mine else (-1, -1, False))
    # unspoken words: zero length at the end of the previous spoken word (or the start of the next)
    for j in range(len(words)):
        if words[j][2]:
            continue
        prev = next((words[i][1] for i in range(j - 1, -1, -1) if words[i][2]), None)
        nxt = next((words[i][0] for i in range(j + 1, len(words)) if words[i][2]), None)
        t = prev if prev is not None else (nxt if nxt is not None else 0)
        words[j] = (t, t, False)
    return words, phones


def phonemes(word: str, voice: str = "en") -> list[str]:
    """The IPA phones espeak says for `word` (a word or a short phrase), stress marks removed.

    The symbols are those of `Synthesis.phones`; language switches that espeak inserts for foreign
    words (``(en)``) are dropped."""
    if not isinstance(word, str) or not word.strip():
        raise ValueError(f"phonemes() needs a non-empty word, got {word!r}")
    with _lock:
        eng = _get()
        eng.set_voice(voice)
        buf = ctypes.create_string_buffer(word.encode("utf-8"))
        ptr = ctypes.c_void_p(ctypes.addressof(buf))
        out: list[str] = []
        mode = _PHONEMES_IPA | (ord("_") << 8)  # "_" between phonemes
        while ptr.value:
            res = eng.lib.espeak_TextToPhonemes(ctypes.byref(ptr), _CHARS_UTF8, mode)
            if res is None:
                break
            for chunk in res.decode("utf-8", "replace").split():
                for ph in chunk.split("_"):
                    ph = ph.translate(_STRESS)
                    while "(" in ph and ")" in ph:  # language switch markers such as "(en)"
                        a = ph.index("(")
                        b = ph.index(")", a)
                        ph = ph[:a] + ph[b + 1 :]
                    if ph:
                        out.append(ph)
    return out
