"""Qt-free session model: media references, tiers, annotations, alignments; evented; undoable."""

from .annotations import Interval, Point, new_id
from .commands import (
    AddAnnotation,
    AddMedia,
    AddTier,
    DeleteAnnotation,
    MergeIntervals,
    MoveBoundary,
    MoveTier,
    Relabel,
    RemoveMedia,
    RemoveTier,
    RenameTier,
    ReplaceAnnotation,
    SetAlignment,
    SetCurveValues,
    SetMediaOffset,
    SetMetadata,
    SetTierProperty,
    SplitInterval,
)
from .session import Alignment, ControlledVocabulary, MediaRef, Session, VocabularyEntry, WarpPath
from .tiers import CurveTier, IntervalTier, PointTier, Tier
from .undo import Command, MacroCommand, UndoStack, command_from_dict

__all__ = [
    "Interval", "Point", "new_id",
    "Tier", "IntervalTier", "PointTier", "CurveTier",
    "Session", "MediaRef", "ControlledVocabulary", "VocabularyEntry", "WarpPath", "Alignment",
    "Command", "MacroCommand", "UndoStack", "command_from_dict",
    "AddAnnotation", "DeleteAnnotation", "ReplaceAnnotation", "Relabel", "MoveBoundary",
    "SplitInterval", "MergeIntervals", "AddTier", "RemoveTier", "RenameTier", "MoveTier",
    "SetTierProperty", "SetMediaOffset", "AddMedia", "RemoveMedia", "SetCurveValues",
    "SetMetadata", "SetAlignment",
]
