"""Adapters for the private parts of third-party libraries that meshtui cannot do without.

One module per library (``textual_private``, ``kubernetes_private``, ``asyncio_private``; and
``kubernetes_import``, which must run before ``kubernetes`` is first imported):
every private attribute or undocumented internal that product code, tests or benchmarks reach
into goes through a function here, nowhere else. Why: a new release may rename any of them
without notice; with all of them in one small module per library, ``tests/test_compat.py``
checks each one on the installed versions and fails naming what is gone, instead of a pane
that quietly stops updating or a token that is no longer redacted. The upper bounds in
``pyproject.toml`` stop at the next major release for the same reason.

This package imports nothing of meshtui's, and its ``__init__`` nothing at all (each module
imports its own library, so using one does not load the others).
"""
