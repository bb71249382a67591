"""CPython's cyclic collector during a headless command's imports: off, then frozen past them.

A headless answer is mostly start-up: importing aiohttp, the kubernetes client's REST layer and
kubeconfig loader, cryptography and meshtui's own modules allocates enough to set off dozens of
young and a few older collections that find nothing (classes, functions and modules live until
exit), about 40 ms of the ~450 ms of CPU a seed ``meshtui services -o json`` took then. :func:`pause` stops
them; :func:`resume` then freezes what the imports made (``gc.freeze()``: no collection walks
those objects again) and restores the thresholds.

Threshold 0 rather than ``gc.disable()``: the access layer's own start-up pause
(``tui.kube.watch.GC_PAUSE``) reads ``gc.isenabled()`` to know whether to re-enable it.

:func:`freeze_at_exit`: the same at the other end. The interpreter's shutdown collects every
object still alive (the answer's views, the layer's caches, interned names): at 64 clusters x
2,000 services that walk took ~0.5 s of a ~4.5 s ``meshtui services``, after the answer was out.
"""

from __future__ import annotations

import atexit
import gc

_saved: tuple[int, int, int] | None = None
_freeze_at_exit = False


def pause() -> None:
    """No automatic collection until :func:`resume` (a second call changes nothing)."""
    global _saved
    if _saved is None:
        _saved = gc.get_threshold()
        gc.set_threshold(0, *_saved[1:])


def resume(*, freeze: bool = True) -> None:
    """Collect automatically again; with ``freeze``, everything alive now is left out of every
    later collection (call it once the imports are done). Nothing happens when not paused."""
    global _saved
    if _saved is None:
        return
    if freeze:
        gc.freeze()
    gc.set_threshold(*_saved)
    _saved = None


def paused() -> bool:
    return _saved is not None


def freeze_at_exit() -> None:
    """Freeze everything alive when the interpreter exits (registered once per process).

    ``gc.freeze()`` is constant-time: the shutdown's collections then walk nothing the command
    made. What it gives up is finalizers of objects left in reference cycles at exit, which
    Python never promises to run; ``atexit`` handlers registered earlier (the kubeconfig
    loader's temporary certificate files) still run after it, stdout and stderr are still flushed.
    """
    global _freeze_at_exit
    if not _freeze_at_exit:
        _freeze_at_exit = True
        atexit.register(gc.freeze)
