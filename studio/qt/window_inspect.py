"""The window's Align ▸ Inspect alignment: the alignment inspector dock, a view of a stored alignment.

A mixin of `MainWindow`. What the dock shows is always one of the session's stored alignments
(`session.alignments`): the time map of two recordings ("Align two recordings" stores it, kind
"streams") or a transcript tier against its recording (kind "transcript": stored when the
inspector first opens it, its warp built from the tier's word times). A combo at the top picks
which. Building the view (features of both sides, the cost image) and re-aligning between pins run
on the device worker.

The combo also offers, for the transcript tier, its CTC posterior view ("‹tier› ↔ recording (CTC
posteriors)", key ``ctc:<tier>``): the bundled CTC model's posteriors of the tier's letters over
the recording's frames with the forced path, computed as `studio.align.ctc_aligner` computes them
(`ctc_transcript_view_task`, a device-worker job). The aligned tiers do not record which method
made them, so it is offered for any transcript tier. It is a view only, not a stored alignment:
pins and re-alignment belong to the DTW views, so the Re-align button is off (its tooltip says why).

Every edit is a session command, so it is on the one undo stack and in the autosave journal:
adding, moving or removing a pin stores the pins in the alignment's attrs (`SetAlignment`, warp
unchanged); "Re-align between pins" stores the new warp and its pins (`SetAlignment`) and, for a
transcript, moves the word boundaries the re-solved segments changed (`MoveBoundary`, linked), all in
one undo step. The dock listens to `session.alignment_changed` and shows the stored pins and path
again, so undo and redo move the inspector too.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QComboBox, QDockWidget, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ..core.commands import MoveBoundary, SetAlignment
from ..core.session import Alignment, WarpPath
from ..core.tiers import CurveTier, IntervalTier

if TYPE_CHECKING:
    from ..core.session import MediaRef, Session
    from .main_window import MainWindow

HOP = 0.01
_PLAY = 0.6  # seconds heard on each side of a click
_EPS = 0.005  # the least gap kept between moved word boundaries (s)


def tier_fingerprint(tier: Any, media: Any) -> str:
    """A short digest of a transcript tier's labelled intervals (labels and media times): a stored
    transcript alignment keeps the one it was made from, to see that the tier changed since."""
    import hashlib
    import json

    rows = [
        (a.label, round(float(media.to_media_time(a.start)), 4), round(float(media.to_media_time(a.end)), 4))
        for a in tier
        if a.label.strip()
    ]
    return hashlib.sha1(json.dumps(rows).encode()).hexdigest()[:16]


def spoken_parts(label: str) -> list[str]:
    """The espeak words of an annotation's label (what the aligners synthesize)."""
    from ..align.text import tokenize

    return [p for ln in tokenize(label).lines for w in ln.words if w.spoken for p in w.parts]


class InspectMixin:
    """Align ▸ Inspect alignment (see the module doc)."""

    # -- choosing what to show ------------------------------------------------------------------
    def act_inspect_alignment(self: MainWindow) -> None:
        self._inspector()
        key = self._suggested_inspect_key()
        if key is None:
            self.show_status("inspecting needs two aligned recordings, or a recording and a transcript tier")
            return
        self._refresh_inspect_choices(key)
        self.inspector_dock.show()
        self.inspector_dock.raise_()
        self._load_inspect(key)

    def _suggested_inspect_key(self: MainWindow) -> str | None:
        s = self.session
        cur = self.current_tier()
        if isinstance(cur, CurveTier) and cur.name in s.alignments:  # the time map's curve tier
            return f"alignment:{cur.name}"
        streams = [n for n, a in s.alignments.items() if a.attrs.get("kind") == "streams"]
        if streams:  # the latest time map of two recordings; the combo offers the others
            return f"alignment:{streams[-1]}"
        tier = self._transcript_tier()
        if tier is None:
            return None
        if tier.attrs.get("aligned_method") == "ctc":  # aligned by CTC: its posteriors and forced path
            return f"ctc:{tier.name}"
        stored = self._stored_transcript(tier.name)
        return f"alignment:{stored}" if stored else f"tier:{tier.name}"

    def _transcript_tier(self: MainWindow) -> IntervalTier | None:
        if not any(m.kind in ("audio", "video") for m in self.session.media):
            return None
        cur = self.current_tier()
        if isinstance(cur, IntervalTier) and any(a.label.strip() for a in cur):
            return cur
        tiers = [t for t in self.session.interval_tiers() if any(a.label.strip() for a in t)]
        return next((t for t in tiers if t.name.startswith("words")), tiers[0] if tiers else None)

    def _stored_transcript(self: MainWindow, tier: str) -> str | None:
        return next(
            (
                n
                for n, a in self.session.alignments.items()
                if a.attrs.get("kind") == "transcript" and a.attrs.get("tier") == tier
            ),
            None,
        )

    @staticmethod
    def _tier_words(tier: IntervalTier) -> list[tuple[str, list[str]]]:
        """(annotation id, espeak words) of the tier's spoken annotations, in time order."""
        out = []
        for a in tier:
            parts = spoken_parts(a.label) if a.label.strip() else []
            if parts:
                out.append((a.id, parts))
        return out

    def _refresh_inspect_choices(self: MainWindow, key: str | None = None) -> None:
        combo = self.inspector_choice
        key = key or combo.currentData()
        combo.blockSignals(True)
        combo.clear()
        for name, al in self.session.alignments.items():
            kind = al.attrs.get("kind")
            if kind in ("streams", "transcript"):
                what = "two recordings" if kind == "streams" else "transcript ↔ recording"
                combo.addItem(f"{name}   ({what})", f"alignment:{name}")
        tier = self._transcript_tier()
        if tier is not None and self._stored_transcript(tier.name) is None:
            combo.addItem(
                f"{tier.name} ↔ recording   (transcript tier, not inspected yet)", f"tier:{tier.name}"
            )
        if key is not None and combo.findData(key) < 0 and key.startswith("tier:"):
            combo.addItem(f"{key[5:]} ↔ recording   (transcript tier)", key)
        ctc = [f"ctc:{tier.name}"] if tier is not None else []
        if key is not None and key.startswith("ctc:") and key not in ctc and self.session.has_tier(key[4:]):
            ctc.append(key)
        for k in ctc:
            combo.addItem(f"{k[4:]} ↔ recording   (CTC posteriors)", k)
        combo.setCurrentIndex(max(combo.findData(key), 0) if key is not None else 0)
        combo.blockSignals(False)

    def _on_inspect_choice(self: MainWindow, _index: int) -> None:
        key = self.inspector_choice.currentData()
        if key:
            self._load_inspect(key)

    # -- building the view ----------------------------------------------------------------------
    def _media_named(self: MainWindow, name: str) -> MediaRef | None:
        return next((m for m in self.session.media if m.name == name), None)

    def _load_inspect(self: MainWindow, key: str) -> None:
        from ..align.inspect import stream_view_task, transcript_view_task

        s = self.session
        kind, _, name = key.partition(":")
        if kind == "ctc":
            self._load_ctc_view(key, name)
            return
        al = s.alignments.get(name) if kind == "alignment" else None
        if kind == "alignment" and al is None:
            self.inspector.clear(f"no alignment named {name!r}")
            return
        if al is not None and al.attrs.get("kind") == "streams":
            ma, mb = (
                self._media_named(al.attrs.get("a", al.warp.source)),
                self._media_named(al.attrs.get("b", al.warp.target)),
            )
            if ma is None or mb is None:
                self.inspector.clear(f"{name}: its recordings are no longer in the session")
                return
            ctx = {"key": key, "name": name, "kind": "streams", "a": ma.name, "b": mb.name,
                   "hop": float(al.attrs.get("hop", HOP))}  # fmt: skip
            task = stream_view_task(
                ma.path, mb.path, al.warp.pairs, hop=ctx["hop"], label_a=ma.name, label_b=mb.name
            )
        else:
            tier_name = al.attrs.get("tier") if al is not None else name
            media_name = al.attrs.get("media") if al is not None else None
            tier = s.tier(tier_name) if s.has_tier(tier_name) else None
            media = self._media_named(media_name) if media_name else next(
                (m for m in s.media if m.kind in ("audio", "video")), None
            )  # fmt: skip
            words = self._tier_words(tier) if isinstance(tier, IntervalTier) else []
            if media is None or not words:
                self.inspector.clear("inspecting needs a recording and a tier with the transcript")
                return
            ids = [i for i, _ in words]
            times = [(float(media.to_media_time(tier.get(i).start)), float(media.to_media_time(tier.get(i).end)))
                     for i in ids]  # fmt: skip
            ctx = {"key": key, "name": name if al is not None else f"{tier_name} ↔ {media.name}",
                   "kind": "transcript", "a": media.name, "tier": tier_name, "ids": ids, "hop": HOP}  # fmt: skip
            # edited since it was stored (words moved, relabelled, added): its path no longer says where
            # the words are, so it is made again from the tier's times (and stored: one undo step)
            ctx["fingerprint"] = tier_fingerprint(tier, media)
            ctx["stale"] = (
                al is not None and al.attrs.get("tier_fingerprint", ctx["fingerprint"]) != ctx["fingerprint"]
            )
            task = transcript_view_task(
                media.path, [p for _, p in words], pairs=None if al is None or ctx["stale"] else al.warp.pairs,
                times=times, hop=HOP, label_a=media.name, label_b=f"espeak ({tier_name})",
            )  # fmt: skip

        def done(result: Any) -> None:
            if self.session is not s:
                return
            view, spans = result if ctx["kind"] == "transcript" else (result, None)
            ctx["spans"] = spans
            self._insp_ctx = ctx
            self.inspector.message = ""
            self.inspector.set_view(view)
            self._update_realign_button()
            if ctx["kind"] == "transcript" and ctx.get("stale") and al is not None:
                refreshed = dataclasses.replace(
                    al,
                    warp=WarpPath(view.path * ctx["hop"], al.warp.source, al.warp.target),
                    attrs={
                        **al.attrs,
                        "pins": [],
                        "aligned_pins": [],
                        "tier_fingerprint": ctx["fingerprint"],
                    },
                )
                cmd = SetAlignment(al.name, refreshed)
                cmd.text = f"Refresh {al.name} from {ctx['tier']}"
                s.undo_stack.push(cmd)
                self.inspector.message = (
                    f"{ctx['tier']} changed since it was inspected: the path follows its words again"
                )
            if al is None:  # first look at this tier: store it, so its edits have something to change
                stored = Alignment(
                    ctx["name"], WarpPath(view.path * ctx["hop"], ctx["a"], f"espeak ({ctx['tier']})"),
                    method="inspector",
                    attrs={"kind": "transcript", "tier": ctx["tier"], "media": ctx["a"], "hop": ctx["hop"],
                           "pins": [], "aligned_pins": [], "tier_fingerprint": ctx["fingerprint"]},
                )  # fmt: skip
                cmd = SetAlignment(stored.name, stored)
                cmd.text = f"Inspect {ctx['tier']} against {ctx['a']}"
                s.undo_stack.push(cmd)
                ctx["key"] = f"alignment:{stored.name}"
                self._refresh_inspect_choices(ctx["key"])
            self._restore_inspector()

        self._insp_ctx = None
        self.inspector.clear("building the view…")
        self._update_realign_button()
        self.inspect_job = self.device_worker.submit(
            task,
            name="Inspect alignment",
            group="inspect",
            on_result=done,
            on_error=lambda m, d: self.dialogs.error("Inspecting failed", m, d),
        )

    def _load_ctc_view(self: MainWindow, key: str, tier_name: str) -> None:
        """The CTC posterior view of a transcript tier (see the module doc), built on the device worker."""
        from ..align.inspect import ctc_transcript_view_task

        s = self.session
        tier = s.tier(tier_name) if s.has_tier(tier_name) else None
        words = self._tier_words(tier) if isinstance(tier, IntervalTier) else []
        media = self._media_named(str(tier.attrs.get("aligned_to", ""))) if tier is not None else None
        media = media or next((m for m in s.media if m.kind in ("audio", "video")), None)
        if media is None or not words:
            self.inspector.clear("the CTC view needs a recording and a tier with the transcript")
            return
        ctx = {"key": key, "name": None, "kind": "ctc", "a": media.name, "tier": tier_name,
               "ids": [i for i, _ in words], "hop": None}  # fmt: skip
        path, parts = media.path, [p for _, p in words]

        def done(result: Any) -> None:
            if self.session is not s:
                return
            view, owner = result
            view.label_b = f"{tier_name}: the model's units"
            ctx["owner"], ctx["hop"] = owner, view.hx
            self._insp_ctx = ctx
            self.inspector.message = ""
            self.inspector.set_view(view)
            self._update_realign_button()

        self._insp_ctx = None
        self.inspector.clear("running the CTC model…")
        self._update_realign_button()
        self.inspect_job = self.device_worker.submit(
            lambda device: ctc_transcript_view_task(path, parts, device=device, label_a=media.name),
            name="Inspect CTC posteriors",
            group="inspect",
            on_result=done,
            on_error=lambda m, d: self.dialogs.error("Inspecting failed", m, d),
        )

    def _update_realign_button(self: MainWindow) -> None:
        """Re-align is for the DTW views of stored alignments; off (saying why) for a CTC view."""
        ctx, button = self._insp_ctx, self.inspector_realign_button
        if ctx is not None and ctx["kind"] == "ctc":
            button.setEnabled(False)
            button.setToolTip(
                "Pins and re-alignment are for the DTW (cost) views. A CTC view shows the acoustic "
                "model's posteriors and its forced path, which pins do not change: align the tier "
                "again (Align transcript) to change it."
            )
        else:
            button.setEnabled(ctx is not None)
            button.setToolTip("Solve the alignment again between the pins (R)")

    # -- the dock -------------------------------------------------------------------------------
    def _inspector(self: MainWindow) -> Any:
        if getattr(self, "inspector", None) is None:
            from .inspector import AlignmentInspector

            self.inspector = AlignmentInspector()
            self._insp_ctx: dict[str, Any] | None = None
            self._insp_session: Session | None = None
            panel = QWidget()
            bar = QHBoxLayout()
            bar.setContentsMargins(6, 4, 6, 0)
            bar.addWidget(QLabel("Alignment:"))
            self.inspector_choice = QComboBox()
            self.inspector_choice.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
            self.inspector_choice.currentIndexChanged.connect(self._on_inspect_choice)
            bar.addWidget(self.inspector_choice, 1)
            self.inspector_realign_button = QPushButton("Re-align between pins")
            self.inspector_realign_button.setToolTip("Solve the alignment again between the pins (R)")
            self.inspector_realign_button.clicked.connect(self._inspector_realign)
            bar.addWidget(self.inspector_realign_button)
            lay = QVBoxLayout(panel)
            lay.setContentsMargins(0, 0, 0, 0)
            lay.setSpacing(2)
            lay.addLayout(bar)
            lay.addWidget(self.inspector, 1)
            self.inspector_dock = QDockWidget("Alignment inspector", self)
            self.inspector_dock.setObjectName("InspectorDock")
            self.inspector_dock.setWidget(panel)
            self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.inspector_dock)
            self._insp_play_b = QTimer(self)
            self._insp_play_b.setSingleShot(True)
            self._insp_play_b.timeout.connect(self._inspector_play_b)
            self.inspector.play_requested.connect(self._inspector_play)
            self.inspector.realign_requested.connect(self._inspector_realign)
            self.inspector.pins_edited.connect(self._inspector_pins_edited)
            self.view.playhead_changed.connect(self._inspector_follow)
            self.session_changed.connect(lambda _s: self._inspect_bind())
            self._inspect_bind()
            self._update_realign_button()
        return self.inspector

    def _inspect_bind(self: MainWindow) -> None:
        """Listen to the current session's alignments (and no longer to the previous one's)."""
        old = self._insp_session
        if old is self.session:
            return
        if old is not None:
            old.alignment_changed.disconnect(self._inspect_alignment_changed)
            self._insp_ctx = None
            self.inspector.clear()
            self._update_realign_button()
        self._insp_session = self.session
        self.session.alignment_changed.connect(self._inspect_alignment_changed)
        self._refresh_inspect_choices()

    def _inspect_alignment_changed(self: MainWindow, _session: Any, name: str) -> None:
        ctx = self._insp_ctx
        self._refresh_inspect_choices(ctx["key"] if ctx else None)
        if ctx is not None and ctx["kind"] != "ctc" and name == ctx["name"]:
            self._restore_inspector()

    def _restore_inspector(self: MainWindow) -> None:
        """Show the stored alignment's pins and path (after an edit, an undo or a redo)."""
        from ..align.inspect import warp_to_path
        from .inspector import InspectorState

        ctx, insp = self._insp_ctx, self.inspector
        assert ctx is not None
        al = self.session.alignments.get(ctx["name"])
        if al is None:
            insp.clear(f"{ctx['name']} is no longer stored (undone); redo brings it back")
            return
        if insp.view is None:  # cleared by an undo, back by a redo: build the view again
            self._load_inspect(ctx["key"])
            return
        v = insp.view
        path = warp_to_path(al.warp.pairs, ctx["hop"], v.n, v.m)

        def pins(key: str) -> tuple[tuple[float, float], ...]:
            return tuple((float(a), float(b)) for a, b in al.attrs.get(key, []))

        if pins("pins") != tuple(insp.pins) or not np.array_equal(path, v.path):
            insp.restore(InspectorState(pins("pins"), path, pins("aligned_pins")))

    # -- playing and the linked cursor ----------------------------------------------------------
    def _inspector_play(self: MainWindow, a: float, b: float) -> None:
        ctx = self._insp_ctx
        ma = self._media_named(ctx["a"]) if ctx else None
        if ma is None:
            return
        t = float(ma.to_session_time(a))
        self.play_range(t, t + _PLAY)
        self._insp_pending_b = None
        if ctx["kind"] == "streams":  # then B where it matches
            mb = self._media_named(ctx["b"])
            if mb is not None:
                self._insp_pending_b = float(mb.to_session_time(b))
                self._insp_play_b.start(int((_PLAY + 0.1) * 1000))

    def _inspector_play_b(self: MainWindow) -> None:
        tb = getattr(self, "_insp_pending_b", None)
        if tb is not None:
            self.play_range(tb, tb + _PLAY)

    def _inspector_follow(self: MainWindow, t: float) -> None:
        ctx = self._insp_ctx
        if ctx is None or self.inspector.view is None or not self.inspector_dock.isVisible():
            return
        ma = self._media_named(ctx["a"])
        if ma is not None:
            self.inspector.set_cursor_a(float(ma.to_media_time(t)))

    # -- edits as session commands --------------------------------------------------------------
    def _inspector_pins_edited(self: MainWindow, pins: list) -> None:
        ctx = self._insp_ctx
        al = self.session.alignments.get(ctx["name"]) if ctx else None
        if al is None:
            return
        new = dataclasses.replace(al, attrs={**al.attrs, "pins": [[float(a), float(b)] for a, b in pins]})
        cmd = SetAlignment(al.name, new)
        cmd.text = f"Pins of {al.name}"
        self.session.undo_stack.push(cmd)

    def _inspector_realign(self: MainWindow) -> None:
        ctx, insp = self._insp_ctx, self.inspector
        if ctx is not None and ctx["kind"] == "ctc":
            self.show_status("a CTC view has no pins to re-align between: pins are for the DTW views")
            return
        al = self.session.alignments.get(ctx["name"]) if ctx else None
        if al is None or insp.view is None:
            self.show_status("nothing to re-align: inspect an alignment first")
            return
        s = self.session

        def done(result: Any) -> None:
            if self.session is not s or s.alignments.get(ctx["name"]) is not al or self._insp_ctx is not ctx:
                self.show_status("the alignment changed while re-aligning: result dropped")
                return
            self._store_realign(ctx, al, result)

        self.inspect_realign_job = self.device_worker.submit(
            insp.realign_task(),
            name="Re-align between pins",
            group="inspect-realign",
            on_result=done,
            on_error=lambda m, d: self.dialogs.error("Re-alignment failed", m, d),
        )

    def _store_realign(self: MainWindow, ctx: dict[str, Any], al: Alignment, result: Any) -> None:
        """One undo step: the new warp and pins (and, for a transcript, the moved word boundaries)."""
        from ..align.inspect import path_to_warp_pairs

        v, hop = self.inspector.view, ctx["hop"]
        pins = [[float(v.a_time(i)), float(v.b_time(j))] for i, j in result.pins]
        new = dataclasses.replace(
            al,
            warp=WarpPath(path_to_warp_pairs(result.path, hop), al.warp.source, al.warp.target),
            attrs={**al.attrs, "pins": pins, "aligned_pins": pins},
        )
        n = len(result.segments)
        msg = f"re-aligned {len(result.recomputed)} of {n} segment{'s' * (n != 1)}"
        moves = self._word_moves(ctx, dataclasses.replace(v, path=result.path), result, pins)
        followers = self._time_map_followers(al, new) if ctx["kind"] == "streams" else []
        with self.session.undo_stack.macro("Re-align between pins"):
            for cmd in [*moves, *followers]:
                self.session.undo_stack.push(cmd)
            if moves:  # the tier as the moves left it: what this path describes
                tier, media = self.session.tier(ctx["tier"]), self._media_named(ctx["a"])
                if media is not None:
                    new = dataclasses.replace(
                        new, attrs={**new.attrs, "tier_fingerprint": tier_fingerprint(tier, media)}
                    )
            self.session.undo_stack.push(SetAlignment(al.name, new))
        self.inspector.message = msg + (
            f", {len(moves)} word boundaries moved" if ctx["kind"] == "transcript" else ""
        )
        self.inspector.update()

    def _time_map_followers(self: MainWindow, old: Alignment, new: Alignment) -> list[Any]:
        """What follows a re-aligned time map in the same undo step: its curve tier ("B at A", the
        alignment's name, if it is still a curve of this map) takes the new B times, and a recording
        playing along this map (its warp made from it) takes the new map."""
        import numpy as np

        from ..align.sync import follow_map
        from ..core.commands import SetCurveValues, SetMediaWarp
        from ..core.tiers import CurveTier

        out: list[Any] = []
        s = self.session
        if s.has_tier(new.name):
            curve = s.tier(new.name)
            tm = curve.attrs.get("time_map") if isinstance(curve, CurveTier) else None
            if isinstance(tm, dict) and curve.rate:
                a_times = np.arange(len(curve)) / curve.rate
                out.append(
                    SetCurveValues(curve.name, new.warp.map(a_times), rate=curve.rate, start=curve.start)
                )
        a = self._media_named(new.warp.source)
        tag = f"time map {old.name}"
        for m in s.media:
            if a is not None and m.warp is not None and m.warp.source == tag:
                warp, offset = follow_map(a, new.warp, tag)
                out.append(SetMediaWarp(m.path, warp, offset=offset))
        return out

    def _word_moves(
        self: MainWindow, ctx: dict[str, Any], view: Any, result: Any, pins: list
    ) -> list[MoveBoundary]:
        """The boundary moves that put the words of the re-solved segments where the new path maps
        their synthetic spans (a boundary on a pin's B frame goes to the pin's A time exactly)."""
        from ..align.inspect import words_in_segments

        if ctx["kind"] != "transcript" or not self.session.has_tier(ctx["tier"]):
            return []
        media = self._media_named(ctx["a"])
        tier = self.session.tier(ctx["tier"])
        if media is None:
            return []
        hop = ctx["hop"]

        def to_rec(b: float) -> tuple[float, bool]:
            near = [pa for pa, pb in pins if abs(pb - b) <= hop / 2 + 1e-9]
            return (float(near[0]), True) if near else (view.a_at(b), False)

        moved = set(words_in_segments(ctx["spans"], result.segments, result.recomputed, hop))
        # old session time -> (annotation id, edge) and where the words sharing it want it
        edges: dict[float, tuple[str, str]] = {}
        wants: dict[float, list[tuple[float, bool]]] = {}
        for k, ann_id in enumerate(ctx["ids"]):
            if ann_id not in tier:
                continue
            ann = tier.get(ann_id)
            for old, syn, edge in (
                (ann.start, ctx["spans"][k][0], "start"),
                (ann.end, ctx["spans"][k][1], "end"),
            ):
                edges.setdefault(old, (ann_id, edge))
                if k in moved:
                    rec, pinned = to_rec(syn)
                    wants.setdefault(old, []).append((float(media.to_session_time(rec)), pinned))

        def where(old: float) -> float:
            w = wants.get(old)
            if not w:
                return old
            pinned = [t for t, p in w if p]  # a pinned boundary goes to its pin; else between the words
            return pinned[0] if pinned else float(np.mean([t for t, _ in w]))

        olds = sorted(edges)
        news = [where(o) for o in olds]
        fixed = [news[q] == olds[q] for q in range(len(olds))]
        for q in range(1, len(olds)):  # keep the order: moved boundaries give way to fixed ones
            if not fixed[q]:
                news[q] = max(news[q], news[q - 1] + _EPS)
        for q in range(len(olds) - 2, -1, -1):
            if not fixed[q]:
                news[q] = min(news[q], news[q + 1] - _EPS)
        change = [(o, n) for o, n in zip(olds, news) if abs(n - o) > 1e-6]
        # left moves from the left, then right moves from the right: no boundary crosses another
        order = sorted((c for c in change if c[1] < c[0]), key=lambda c: c[0])
        order += sorted((c for c in change if c[1] > c[0]), key=lambda c: -c[0])
        return [MoveBoundary(tier.name, *edges[o], n, linked=True) for o, n in order]
