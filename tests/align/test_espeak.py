"""eSpeak NG synthesis through ctypes: word and phone spans, voices, unicode, errors, threads."""

from __future__ import annotations

import difflib
import shutil
import subprocess
import threading

import numpy as np
import pytest

from studio.align.espeak import phonemes, sample_rate, synthesize, voices
from studio.align.text import tokenize

SENTENCE = "the quick brown fox jumps over the lazy dog"


def assert_same(a, b) -> None:
    """The same speech: identical word and phone spans, the same waveform up to espeak's noise source
    (its aspiration/frication noise comes from libc rand(), whose state this module does not touch)."""
    assert a.words == b.words and a.phones == b.phones and a.lines == b.lines
    assert len(a.samples) == len(b.samples)
    assert np.corrcoef(a.samples, b.samples)[0, 1] > 0.98


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0


def cut(s, a: float, b: float) -> np.ndarray:
    return s.samples[int(round(a * s.sample_rate)) : int(round(b * s.sample_rate))]


def test_words_are_monotonic_cover_the_speech_and_hold_its_energy():
    lines = ["the quick brown fox", "jumps over the lazy dog", "and runs away"]
    s = synthesize("\n".join(lines), line_gap=0.4)
    assert s.sample_rate == sample_rate() == 22050
    assert s.samples.dtype == np.float32 and s.samples.ndim == 1
    assert [w.text for w in s.words] == " ".join(lines).split()
    assert [w.index for w in s.words] == list(range(12))
    assert [w.line for w in s.words] == [0] * 4 + [1] * 5 + [2] * 3
    assert all(w.spoken for w in s.words)
    for a, b in zip(s.words, s.words[1:]):
        assert a.start < a.end <= b.start
    assert len(s.lines) == 3
    for k, (a, b) in enumerate(s.lines):
        mine = [w for w in s.words if w.line == k]
        # the words of a line cover its speech: only espeak's short lead-in and final pause are outside
        assert mine[0].start - a < 0.05 and b - mine[-1].end < 0.1
        for w, nxt in zip(mine, mine[1:]):
            assert w.end == nxt.start  # no pause inside these lines: the words touch
    gaps = [(s.lines[k][1], s.lines[k + 1][0]) for k in range(2)]
    assert all(b - a == pytest.approx(0.4, abs=1 / s.sample_rate) for a, b in gaps)
    assert s.duration == pytest.approx(s.lines[-1][1])
    # energy: every word is loud, the line gaps and the tails after each line are (near) silent
    quiet = max(rms(cut(s, a, b)) for a, b in gaps)
    tails = max(
        rms(cut(s, [w for w in s.words if w.line == k][-1].end, b)) for k, (_, b) in enumerate(s.lines)
    )
    loud = min(rms(cut(s, w.start, w.end)) for w in s.words)
    assert loud > 0.03 and quiet < 1e-4 and tails < 0.2 * loud


def test_phones_lie_inside_their_words_and_tile_them():
    s = synthesize(SENTENCE)
    assert s.phones
    for w in s.words:
        mine = [p for p in s.phones if p.word == w.index]
        assert mine, w
        assert mine[0].start == w.start and mine[-1].end == w.end
        for p, q in zip(mine, mine[1:]):
            assert p.start < p.end == q.start
        assert all(w.start <= p.start < p.end <= w.end for p in mine)
    assert [p.word for p in s.phones] == sorted(p.word for p in s.phones)
    # the phones of a word are the ones espeak's dictionary gives it
    by_word = {w.text: [p.symbol for p in s.phones if p.word == w.index] for w in s.words}
    for word in ["quick", "brown", "fox", "jumps", "lazy", "dog"]:
        assert by_word[word] == phonemes(word)


def test_a_word_lasts_the_same_in_the_same_context():
    """A word's span does not depend on the rest of the sentence beyond its neighbours (±10 %).

    Alone, a word is not the same length: espeak stresses an isolated word and lengthens the last
    syllable of a clause (measured for the words of SENTENCE: 0.45x-1.15x), so the comparison is
    made between two sentences that give the word the same neighbours and stress."""
    pairs = [
        ("the quick brown fox jumps", "yesterday a quick brown fox jumps over the lazy dog", "brown"),
        ("we saw a yellow submarine today", "the yellow submarine", "yellow"),
        ("she said hello to everyone", "he said hello to everyone here", "hello"),
        ("the old man sat down quietly", "then the old man sat down", "man"),
    ]
    for a, b, word in pairs:
        da = [w.end - w.start for w in synthesize(a).words if w.text == word][0]
        db = [w.end - w.start for w in synthesize(b).words if w.text == word][0]
        assert da == pytest.approx(db, rel=0.1), word
    alone = synthesize(["brown"]).words[0]
    assert 0.1 < alone.end - alone.start < 1.0 and alone.start < 0.05


@pytest.mark.parametrize(
    "voice, text",
    [
        ("en", "good morning how are you"),
        ("de", "guten Morgen wie geht es dir"),
        ("fr", "bonjour comment allez vous"),
        ("es", "buenos días cómo estás"),
    ],
)
def test_voices(voice, text):
    assert voice in voices()
    s = synthesize(text, voice=voice)
    assert s.voice == voice and len(s.words) == len(text.split())
    assert all(w.spoken and w.end - w.start > 0.04 for w in s.words)
    for w in s.words:
        # connected speech may differ a little from the word alone (Spanish "buenos [ð]ías")
        said = [p.symbol for p in s.phones if p.word == w.index]
        assert difflib.SequenceMatcher(None, said, phonemes(w.text, voice)).ratio() > 0.7, w.text
    assert min(rms(cut(s, w.start, w.end)) for w in s.words) > 0.03


def test_a_word_with_digits_and_a_word_of_several_parts():
    s = synthesize(["I", "paid", "42", "forty two", "dollars"])
    assert [w.text for w in s.words] == ["I", "paid", "42", "forty two", "dollars"]
    digits, spelled = s.words[2], s.words[3]
    assert digits.spoken and spelled.spoken
    # both say "forty two" and both are one word; espeak's number reading differs in one vowel only
    assert len([p for p in s.phones if p.word == 2]) == len([p for p in s.phones if p.word == 3])
    assert digits.end - digits.start == pytest.approx(spelled.end - spelled.start, rel=0.25)
    assert [p.symbol for p in s.phones if p.word == 4] == phonemes("dollars")


def test_unicode_words_map_by_characters_not_bytes():
    # multi-byte characters before a word must not shift its events onto a neighbour
    words = ["Grüße", "aus", "Köln", "überall", "Straße", "ja"]
    s = synthesize(words, voice="de")
    for w in s.words:
        assert [p.symbol for p in s.phones if p.word == w.index] == phonemes(w.text, "de"), w.text
    s = synthesize(["привет", "мир", "как", "дела"], voice="ru")  # palatalised phones come whole: "rʲ"
    for w in s.words:
        assert [p.symbol for p in s.phones if p.word == w.index] == phonemes(w.text, "ru"), w.text
    s = synthesize(["naïve", "café", "crème", "brûlée"], voice="fr")
    assert all(w.spoken for w in s.words)
    assert [p.word for p in s.phones][-1] == 3


def test_voices_lists_every_language_the_cli_lists_and_each_loads():
    names = voices()
    assert names == sorted(set(names)) and {"en", "en-us", "en-gb", "de", "fr", "es"} <= set(names)
    cli = shutil.which("espeak-ng")
    if cli:  # the CLI's "Language" column, an independent listing of the same voices
        out = subprocess.run([cli, "--voices"], capture_output=True, text=True, check=True).stdout
        assert {line.split()[1].lower() for line in out.splitlines()[1:]} <= set(names)
    for name in names:  # every listed name is accepted as a voice
        phonemes("a", name)


def test_errors():
    with pytest.raises(ValueError, match="unknown espeak voice 'xx-nowhere'"):
        synthesize("hello", voice="xx-nowhere")
    with pytest.raises(ValueError, match="unknown espeak voice"):
        phonemes("hello", voice="zz-nowhere")
    synthesize("hello", voice="en")  # the library is still usable after a failed voice
    with pytest.raises(ValueError, match="no words"):
        synthesize("  \n ")
    with pytest.raises(ValueError, match="word 1 is empty"):
        synthesize(["a", " ", "b"])
    with pytest.raises(ValueError, match="no words"):
        synthesize([[], []])
    with pytest.raises(ValueError, match="no spoken words"):
        synthesize(tokenize("[music] (applause)"))
    with pytest.raises(ValueError, match="rate"):
        synthesize("hello", rate=1000)
    with pytest.raises(ValueError, match="pitch"):
        synthesize("hello", pitch=-1)
    with pytest.raises(ValueError, match="line_gap"):
        synthesize("hello", line_gap=float("nan"))
    with pytest.raises(ValueError, match="non-empty word"):
        phonemes(" ")


def test_input_forms_and_rate():
    text = synthesize("one two\nthree four")
    lines = synthesize([["one", "two"], ["three", "four"]])
    assert_same(text, lines)
    one_line = synthesize(["one", "two", "three", "four"])
    assert len(one_line.lines) == 1 and one_line.duration < text.duration
    slow, fast = synthesize(SENTENCE, rate=120), synthesize(SENTENCE, rate=300)
    assert slow.duration > 1.8 * fast.duration
    assert [p.symbol for p in slow.phones] == [p.symbol for p in fast.phones]
    high = synthesize(SENTENCE, pitch=90)
    assert not np.array_equal(high.samples[: len(synthesize(SENTENCE).samples)], synthesize(SENTENCE).samples)


def test_threads_get_what_they_would_get_alone():
    jobs = [
        ("the quick brown fox jumps over the lazy dog\nand runs away", "en"),
        ("guten Morgen wie geht es", "de"),
    ]
    alone = [synthesize(t, voice=v) for t, v in jobs]
    results: dict[tuple[int, int], object] = {}
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            for r in range(4):
                results[(k, r)] = synthesize(jobs[k][0], voice=jobs[k][1])
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert len(results) == 8
    for (k, _), s in results.items():
        assert_same(s, alone[k])


def test_repeatable_across_calls_and_voice_changes():
    """Without pitch flutter (see the module docstring) the same text gives the same spans every time,
    whatever was spoken before; with espeak's default flutter they moved by up to ~11 ms."""
    first = {v: synthesize(t, voice=v) for v, t in [("en", SENTENCE), ("de", "guten Morgen wie geht es dir")]}
    for v in ["fr", "en", "es", "de", "en"]:
        synthesize("bonjour hola hello", voice=v)
        again = synthesize(
            SENTENCE if v == "en" else "guten Morgen wie geht es dir", voice="en" if v == "en" else "de"
        )
        assert_same(again, first["en" if v == "en" else "de"])


def test_many_voice_changes_without_synthesis_lose_no_events():
    # each voice load queues an event in espeak's fixed-size list (120 entries here); unflushed, enough
    # of them pushed the first phoneme events of the next utterance out of it
    for voice in ["de", "fr", "es", "it", "nl", "pl", "en-us"] * 22:
        phonemes("zwei", voice)
    s = synthesize(SENTENCE)
    assert [p.symbol for p in s.phones if p.word == 0] == phonemes("the")
    assert s.words[0].start < 0.03


def test_words_with_nothing_to_say():
    s = synthesize([["hello", "-", "world", "."], ["...", "—"], ["again"]])
    assert [w.spoken for w in s.words] == [True, False, True, False, False, False, True]
    hello, dash, world, dot, _, _, again = s.words
    assert dash.start == dash.end == hello.end and dot.start == dot.end == world.end
    # the words around a dash keep their own phones
    assert [p.symbol for p in s.phones if p.word == 2] == phonemes("world")
    assert s.lines[1][0] == s.lines[1][1]  # a line with nothing to say has no audio
    assert s.words[4].start == s.words[4].end and again.start > world.end
    pct = synthesize(["fifty", "%"])
    assert pct.words[1].spoken and pct.words[1].end - pct.words[1].start > 0.2


def test_a_transcript_is_spoken_word_for_word():
    tr = tokenize("Um, I paid $5 [laughter] for it.\n\n(coughs)\nBye—bye!")
    s = synthesize(tr)
    assert [w.text for w in s.words] == [w.norm for w in tr.words]
    assert [w.index for w in s.words] == [w.index for w in tr.words]
    assert [w.line for w in s.words] == [w.line for w in tr.words]
    assert [w.spoken for w in s.words] == [not w.nonspeech for w in tr.words]
    assert len(s.lines) == len(tr.lines) == 3 and s.lines[1][0] == s.lines[1][1]
    five = tr.words[3]
    assert five.text == "$5" and [p.symbol for p in s.phones if p.word == 3] == phonemes("five dollars")
    assert synthesize([["one"], [], ["two"]]).lines[1][0] == synthesize([["one"], [], ["two"]]).lines[1][1]
