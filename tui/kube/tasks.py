"""Stopping tasks for sure.

On Python 3.11, a cancellation that arrives while ``asyncio.wait_for`` / ``asyncio.timeout``
fire at the same moment can be swallowed (the task sees a timeout or a result instead), and a
loop that handles timeouts then simply carries on. ``stop()`` must not hang on such a task, so
it cancels again until everything has ended (bounded: a task that still refuses is reported).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from tui.kube.redact import log


async def cancel_and_wait(tasks: Iterable[asyncio.Task[object]], *, rounds: int = 50) -> None:
    """Cancel ``tasks`` and wait until all have ended, cancelling again every 0.1 s."""
    pending = {t for t in tasks if not t.done()}
    for _ in range(rounds):
        if not pending:
            return
        for task in pending:
            task.cancel()
        done, pending = await asyncio.wait(pending, timeout=0.1)
        for task in done:
            if not task.cancelled():
                task.exception()  # retrieved: a failure was logged where it happened
    if pending:
        log.error("tasks still running after %d cancellations: %s", rounds, [t.get_name() for t in pending])
