"""Textual's private parts used by meshtui: a DataTable's cell store and update counter.

Why: :meth:`DataTable.update_cell` repaints the whole table. The services table receives
watch events for thousands of rows, most of them off screen, so it writes the cells itself
and refreshes only the changed rows that are in view (``widgets/tables.py``). The writing
half has no public API: it is exactly what ``update_cell`` does before its ``refresh()``.

The app takes snapshots from the cluster-access thread without ever blocking it: it needs the
app's event loop and thread (``App.call_from_thread`` waits for the answer). Tests read the
notifications an app showed, and the app benchmark feeds keys through the driver (as a
terminal does), and read the screen's rows as drawn; none of these has a public accessor.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable
from typing import Any

from textual.app import App
from textual.driver import Driver
from textual.notifications import Notification
from textual.widgets import DataTable


def write_cells(table: DataTable, row_key: str, cells: Iterable[tuple[str, Any]]) -> None:
    """Set cells of one row (column key, value) without repainting anything.

    The caller refreshes the row's region. Bumping the update counter is what makes every
    row drawn later be drawn anew: DataTable keys its render caches by it.
    """
    row = table._data[row_key]  # keyed by RowKey/ColumnKey, which compare equal to their strings
    for column_key, value in cells:
        row[column_key] = value
    table._update_count += 1


def event_loop(app: App[Any]) -> asyncio.AbstractEventLoop | None:
    """The loop ``app`` runs on (``None`` before it runs and after it stopped)."""
    return app._loop


def on_app_thread(app: App[Any]) -> bool:
    """Whether the caller runs on ``app``'s own thread (then no thread hop is needed)."""
    return threading.get_ident() == app._thread_id


def notifications(app: App[Any]) -> list[Notification]:
    """The notifications ``app`` currently shows (oldest first)."""
    return list(app._notifications)


def driver(app: App[Any]) -> Driver:
    """The running app's driver (``send_message`` delivers an event as the terminal would)."""
    running = app._driver
    if running is None:
        raise RuntimeError("the app is not running: it has no driver")
    return running


def screen_strips(app: App[Any]) -> list[Any]:
    """What the terminal shows now, one :class:`textual.strip.Strip` per row (tests assert
    the screen's text and colours; the compositor has no public accessor)."""
    return list(app.screen._compositor.render_strips())


def screen_lines(app: App[Any]) -> list[str]:
    """The screen's rows as plain text."""
    return [strip.text for strip in screen_strips(app)]


def resume_only_after_suspend(app: App[Any]) -> bool:
    """Make the Linux driver's SIGCONT handler resume the terminal only after its own SIGTSTP.

    Why: when the terminal hangs up (an SSH session to the bastion closed, tmux killed) the
    kernel sends SIGHUP *and* SIGCONT. Textual's driver treats every SIGCONT as "back from
    ctrl+z" and starts application mode again — a second output thread while the first still
    owns the queue the shutdown writes to — so the exit that SIGHUP started blocked for ever in
    ``WriterThread.write`` (seen: apps left running for hours after their tmux was killed).
    The driver's ``_must_signal_resume`` is set by its own SIGTSTP handler before it stops the
    process; a SIGCONT without it is not a resume. ``False`` when there is no such driver.
    """
    import signal

    running = getattr(app, "_driver", None)
    if running is None or not hasattr(running, "_must_signal_resume"):
        return False
    original = signal.getsignal(signal.SIGCONT)
    if not callable(original):
        return False

    def on_sigcont(signum: int, frame: Any) -> None:
        if running._must_signal_resume:
            original(signum, frame)

    signal.signal(signal.SIGCONT, on_sigcont)
    return True
