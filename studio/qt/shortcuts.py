"""Every command of the window with its menu, keys and help text — one table.

The window builds its menus and QActions from `ACTIONS` (handler: ``MainWindow.act_<id>``), the
Help ▸ Keyboard shortcuts dialog lists it, and `python -m studio.qt.shortcuts` writes
docs/shortcuts.md (a test checks that file is current). Keys follow the tools annotators know:
ELAN (segmentation by keystroke during playback), Praat (Tab plays, boundary editing), Aegisub
(commit-and-next).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

__all__ = ["Action", "ACTIONS", "MENUS", "markdown", "by_id"]


@dataclass(frozen=True)
class Action:
    id: str
    menu: str
    text: str
    keys: tuple[str, ...] = ()
    help: str = ""
    checkable: bool = False


MENUS = ("File", "Edit", "Annotate", "Align", "Models", "View", "Play", "Help")

A = Action
ACTIONS: tuple[Action, ...] = (
    # File
    A("new", "File", "&New session", ("Ctrl+N",), "Start an empty session."),
    A("open", "File", "&Open…", ("Ctrl+O",), "Open a session, annotation file (EAF, TextGrid, …) or media file."),
    A("import_annotations", "File", "&Import annotations…", ("Ctrl+I",), "Add the tiers of an annotation file."),
    A("add_media", "File", "Add &media…", ("Ctrl+Shift+M",), "Add an audio or video file to the session."),
    A("save", "File", "&Save", ("Ctrl+S",), "Save (a .studio session, or the annotation file it came from)."),
    A("save_as", "File", "Save &as…", ("Ctrl+Shift+S",), "Save the session to a new .studio file."),
    A("export", "File", "&Export…", ("Ctrl+E",), "Write the tiers to ELAN, Praat, SRT, WebVTT, CSV, RTTM, CTM…"),
    A("quit", "File", "&Quit", ("Ctrl+Q",), "Close Studio (asks before losing changes)."),
    # Edit
    A("undo", "Edit", "&Undo", ("Ctrl+Z",), "Undo the last edit (a whole boundary drag is one step)."),
    A("redo", "Edit", "&Redo", ("Ctrl+Shift+Z", "Ctrl+Y"), "Redo."),
    A("find", "Edit", "&Find…", ("Ctrl+F",), "Search labels across tiers (text or regular expression)."),
    A("find_next", "Edit", "Find &next", ("F3",), "Jump to the next match."),
    A("find_previous", "Edit", "Find pre&vious", ("Shift+F3",), "Jump to the previous match."),
    A("new_tier", "Edit", "New &tier…", ("Ctrl+T",), "Add an interval tier."),
    A("new_point_tier", "Edit", "New &point tier…", (), "Add a point tier."),
    A("rename_tier", "Edit", "Rena&me tier…", (), "Rename the current tier."),
    A("delete_tier", "Edit", "&Delete tier", (), "Remove the current tier (undoable)."),
    # Annotate
    A("create", "Annotate", "&Create interval / point", ("Return",),
      "Interval from the selection on the current tier (a point at the playhead on a point tier); "
      "during playback: mark a segment boundary (ELAN-style, reaction lag subtracted)."),
    A("edit_label", "Annotate", "&Edit label", ("F2",), "Edit the selected annotation's label inline "
      "(Enter commits, Ctrl+Enter commits and goes to the next, Esc cancels, completion from the vocabulary)."),
    A("split", "Annotate", "&Split at playhead", ("S",), "Split the interval under the playhead."),
    A("merge", "Annotate", "&Merge with next", ("M",), "Merge the selected interval with the next one."),
    A("delete", "Annotate", "&Delete annotation", ("Delete", "Backspace"), "Delete the selected annotation."),
    A("start_to_playhead", "Annotate", "Move s&tart to playhead", ("Ctrl+[",), "Move the selected interval's start."),
    A("end_to_playhead", "Annotate", "Move e&nd to playhead", ("Ctrl+]",), "Move the selected interval's end."),
    A("next_annotation", "Annotate", "Next annotation", ("Tab",), "Select and play the next annotation (Praat)."),
    A("previous_annotation", "Annotate", "Previous annotation", ("Shift+Tab",), "Select and play the previous one."),
    A("tier_up", "Annotate", "Tier above", ("Up",), "Make the tier above current."),
    A("tier_down", "Annotate", "Tier below", ("Down",), "Make the tier below current."),
    A("snap", "Annotate", "Snap &boundaries", ("Ctrl+Shift+B",),
      "Snap dragged boundaries to other tiers, zero crossings and video frames (hold Shift to drag freely).", True),
    # View
    A("zoom_in", "View", "Zoom &in", ("Ctrl+=", "Ctrl++"), "Show less time (Ctrl+wheel zooms at the pointer)."),
    A("zoom_out", "View", "Zoom &out", ("Ctrl+-",), "Show more time."),
    A("zoom_all", "View", "Show &all", ("Ctrl+0",), "Show the whole recording."),
    A("zoom_selection", "View", "Zoom to &selection", ("Ctrl+Shift+0",), "Fit the selection (or the selected annotation)."),
    A("follow", "View", "&Follow playhead", ("F",), "Page the view along during playback.", True),
    A("show_spectrogram", "View", "Spectro&gram", (), "Show the spectrogram track.", True),
    A("show_pitch", "View", "&Pitch", (), "Draw pitch on the spectrogram.", True),
    A("show_intensity", "View", "&Intensity", (), "Draw intensity on the spectrogram.", True),
    A("add_feature", "View", "Add feature &curve…", (), "Compute a feature (RMS, onset, MFCC…) and show it as a track."),
    A("jobs", "View", "Cancel background &jobs", ("Ctrl+Shift+.",), "Stop running decoding and analysis jobs."),
    # Align
    A("align_transcript", "Align", "&Align transcript…", ("Ctrl+L",),
      "Align a transcript (typed, or a tier) to the recording: word and phone tiers with confidences."),
    A("show_review", "Align", "&Review queue", ("Ctrl+Shift+R",),
      "The words the aligner (or a model) was least sure of, lowest confidence first.", True),
    A("next_low_confidence", "Align", "Next &low-confidence word", ("F8",),
      "Select and play the next word of the review queue."),
    A("previous_low_confidence", "Align", "Previous low-confidence word", ("Shift+F8",),
      "Select and play the previous word of the review queue."),
    A("realign_around", "Align", "Re-align &neighbours", ("Ctrl+Shift+L",),
      "After moving a word's start to where it belongs: re-align the words around it, that boundary held."),
    A("realign_on_move", "Align", "Re-align on &boundary move", (),
      "When on, moving a boundary of an aligned tier (one with confidences) re-aligns the words around it.", True),
    A("inspect_alignment", "Align", "&Inspect alignment", ("Ctrl+Shift+I",),
      "A stored alignment (two recordings, or a transcript tier against its recording): cost image, path, pins, re-align."),
    A("align_recordings", "Align", "Align two &recordings…", (),
      "The time map from one recording to another (DTW, soft-DTW, CTW, GCTW, deep CTW on log-mel); B can follow it."),
    A("align_tiers", "Align", "Align two &tiers…", (),
      "Match two tiers' annotations (by labels or by time): A's labels on B's times, with what matched and what did not."),
    A("media_offsets", "Align", "Media &offsets and timing…", (),
      "See, type or compute how the session's recordings line up: offsets, drift, time maps."),
    A("show_models", "Models", "&Models panel", ("Ctrl+Shift+T",),
      "Train models on the annotated part of a tier, compare them, predict the rest.", True),
    A("train_models", "Models", "&Train on annotations", (),
      "Train the models checked in the Models panel on the annotated part (or the selection)."),
    A("predict_rest", "Models", "&Predict the rest", (),
      "The chosen model's labels for the rest of the recording, with confidences, as a new tier."),
    A("accept_annotation", "Models", "&Accept annotation", ("Ctrl+Return",),
      "The selected (predicted or aligned) annotation is right: confidence 1; then the next least certain."),
    A("live_predictions", "Models", "&Live predictions…", (),
      "Run a model live: on the recording as it plays, or on the microphone and camera, with the latency."),
    A("show_jobs", "View", "Jobs &panel", ("Ctrl+J",),
      "Background jobs: progress, time left, cancel; a failed job's error and traceback.", True),
    # Play
    A("play", "Play", "&Play / pause", ("Space",), "Play from the playhead, or pause."),
    A("play_selection", "Play", "Play &selection", ("Shift+Space",), "Play the selection (or selected annotation)."),
    A("loop", "Play", "&Loop", ("L",), "Loop the play range.", True),
    A("slower", "Play", "Slo&wer", ("[",), "Playback rate down (0.5× at least; pitch is kept)."),
    A("faster", "Play", "&Faster", ("]",), "Playback rate up (2× at most)."),
    A("frame_back", "Play", "Frame &back", ("Left",), "Step back one video frame (10 ms without video)."),
    A("frame_forward", "Play", "Frame f&orward", ("Right",), "Step forward one video frame."),
    A("back_second", "Play", "Back 1 s", ("Shift+Left",), "Move the playhead back one second."),
    A("forward_second", "Play", "Forward 1 s", ("Shift+Right",), "Move the playhead forward one second."),
    A("previous_boundary", "Play", "Previous &boundary", ("Ctrl+Left",), "Jump to the previous boundary of the current tier."),
    A("next_boundary", "Play", "&Next boundary", ("Ctrl+Right",), "Jump to the next boundary of the current tier."),
    A("go_start", "Play", "Go to start", ("Home",), "Playhead to the start."),
    A("go_end", "Play", "Go to end", ("End",), "Playhead to the end."),
    # Help
    A("shortcuts", "Help", "&Keyboard shortcuts", ("F1",), "This list."),
    A("about", "Help", "&About Studio", (), "Version and licences."),
)  # fmt: skip

MOUSE = (
    ("Click", "Set the playhead; on an annotation, select it"),
    ("Drag on the canvas", "Select a time span (Shift+click extends it)"),
    ("Drag a boundary", "Move it (snaps; hold Shift to move freely; Esc cancels; one undo step)"),
    ("Double-click an annotation", "Edit its label"),
    ("Wheel / Shift+wheel", "Scroll in time / scroll faster"),
    ("Ctrl+wheel", "Zoom at the pointer"),
    ("Right-click a track header", "Move, hide, resize tracks"),
    ("Drop files on the window", "Open sessions, annotations and media"),
)


def by_id(action_id: str) -> Action:
    for a in ACTIONS:
        if a.id == action_id:
            return a
    raise KeyError(action_id)


def markdown() -> str:
    lines = [
        "# Keyboard shortcuts",
        "",
        "Generated from `studio/qt/shortcuts.py` (`python -m studio.qt.shortcuts > docs/shortcuts.md`);",
        "the same table is in the window under Help ▸ Keyboard shortcuts (F1).",
        "",
    ]
    for menu in MENUS:
        lines += [f"## {menu}", "", "| Keys | Command | What it does |", "|---|---|---|"]
        for a in ACTIONS:
            if a.menu == menu:
                keys = ", ".join(f"`{k}`" for k in a.keys) or "—"
                lines.append(f"| {keys} | {a.text.replace('&', '')} | {a.help} |")
        lines.append("")
    lines += ["## Mouse", "", "| Gesture | What it does |", "|---|---|"]
    lines += [f"| {g} | {d} |" for g, d in MOUSE]
    lines += [
        "",
        "## While editing a label",
        "",
        "| Keys | What it does |",
        "|---|---|",
        "| `Enter` | Commit |",
        "| `Ctrl+Enter` | Commit, select the next annotation, play it and edit its label (Aegisub) |",
        "| `Tab` / `Shift+Tab` | Commit and go to the next / previous annotation |",
        "| `Esc` | Cancel the edit |",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(markdown())
