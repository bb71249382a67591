"""Settings every test shares."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def no_terminal_size_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests see no ``COLUMNS``/``LINES``: output widths must not depend on who runs them.

    pytest-xdist's workers set ``COLUMNS=80``, under which the headless tables (``$COLUMNS`` or
    160 columns off a terminal) wrapped and their tests failed with ``-n``; a shell that
    exports ``COLUMNS`` did the same.
    """
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)
    yield
