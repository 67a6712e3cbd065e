# Makes the Praat-written TextGrids in this folder. Run from this folder:
#   praat --run make_textgrids.praat
# (Praat 6.3.07 from Debian.) Labels cover a doubled quote, a newline, non-ASCII text and
# a whitespace-only label; tiers are two interval tiers and one point tier (TextTier).
Create TextGrid: 0, 2.5, "words phones events", "events"
selectObject: "TextGrid words_phones_events"
Insert boundary: 1, 0.35
Insert boundary: 1, 1.2
Insert boundary: 1, 2.05
Set interval text: 1, 2, "say ""hi"""
Set interval text: 1, 3, "naïve café ŋ"
Set interval text: 1, 4, "two" + newline$ + "lines"
Insert boundary: 2, 0.35
Insert boundary: 2, 0.6
Insert boundary: 2, 0.9
Insert boundary: 2, 1.2
Set interval text: 2, 2, "s"
Set interval text: 2, 3, "eɪ"
Set interval text: 2, 4, " "
Insert point: 3, 0.5, "click"
Insert point: 3, 1.75, "ʔ"
Insert point: 3, 2.2, ""
# UTF-16 (Praat's default "try ASCII, then UTF-16"): the labels need it.
Text writing preferences: "try ASCII, then UTF-16"
Save as text file: "praat_long_utf16.TextGrid"
Save as short text file: "praat_short_utf16.TextGrid"
Save as chronological text file: "praat_chronological_utf16.TextGrid"
Text writing preferences: "UTF-8"
Save as text file: "praat_long_utf8.TextGrid"
Save as short text file: "praat_short_utf8.TextGrid"
Save as chronological text file: "praat_chronological_utf8.TextGrid"
# An ASCII-only grid, which "try ASCII" writes as plain ASCII.
Create TextGrid: 0, 1, "ascii", ""
Insert boundary: 1, 0.25
Set interval text: 1, 1, "a"
Set interval text: 1, 2, "b"
Text writing preferences: "try ASCII, then UTF-16"
Save as text file: "praat_long_ascii.TextGrid"
