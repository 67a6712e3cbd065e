"""Media tests write their caches (decoded audio, envelopes, frame indexes) into a tmp folder."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _media_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUDIO_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
