"""``meshtui --demo``: the simulated ClusterMesh in this process, read like any real cluster.

:class:`DemoSource` *is* a :class:`~tui.kube.source.KubeSource` (so the app, its curl loops and
every other caller see the very same API: exec, manifests, access checks) whose ``start()``
first starts the simulator (:class:`tui.sim.mesh.SimThread`, its own loop in a daemon thread)
and then reads the kubeconfig it wrote. Everything heavy — importing aiohttp and the
simulator, making CAs, listing — happens inside ``start()``, off the UI thread, after the
first frame; ``stop()`` stops the watches first, then the simulator, and joins both threads.

The simulator keeps its normal, realistic delays (pods take a moment to become Ready, agents
take the sync delay to realize a change) so the demo behaves like a cluster, not a mock.

This module is the only way product code reaches the simulator (an import contract in
``pyproject.toml`` holds it): the app through :class:`DemoSource` and :func:`demo_scenario`,
the headless commands through :func:`start_simulator`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tui.kube.source import KubeSource

if TYPE_CHECKING:
    from tui.kube.settings import HubSettings
    from tui.sim.mesh import SimThread as SimThread
    from tui.sim.scenario import Scenario


class DemoError(ValueError):
    """A scenario that cannot be used, or a simulator that did not start (the message says why)."""


def is_builtin_scenario(name: str) -> bool:
    """``name`` is one of the simulator's built-in scenarios (``tui/sim/scenarios/NAME.yaml``,
    the names :func:`tui.sim.scenario.builtin_names` lists, which ``load`` prefers to a file).

    Answered from the folder alone, without importing the scenario loader and yaml (~40 ms):
    ``--demo`` hands a built-in name to the simulator, which loads it after the first frame.
    """
    import tui.sim  # the package only: its ``__init__`` imports nothing

    for folder in tui.sim.__path__:
        with contextlib.suppress(OSError):
            if f"{name}.yaml" in os.listdir(os.path.join(folder, "scenarios")):
                return True
    return False


def builtin_scenarios() -> list[tuple[str, str]]:
    """(name, first comment line) of each built-in scenario, from the files alone: ``--help``
    must not import the simulator or yaml."""
    import tui.sim  # the package only: its ``__init__`` imports nothing

    out: dict[str, str] = {}
    for folder in tui.sim.__path__:
        directory = os.path.join(folder, "scenarios")
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue
        for name in names:
            if not name.endswith(".yaml"):
                continue
            out.setdefault(name[:-5], _first_sentence(os.path.join(directory, name)))
    return sorted(out.items())


def _first_sentence(path: str, limit: int = 400) -> str:
    """The first sentence of a scenario file's leading comment, at most ``limit`` characters."""
    words: list[str] = []
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if not line.startswith("#"):
                    break
                words.append(line.lstrip("#").strip())
    except OSError:
        return ""
    text = " ".join(w for w in words if w)
    end = text.find(". ")
    text = text[: end + 1] if end >= 0 else text
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def demo_scenario(name: str) -> Scenario | str:
    """What the app's ``--demo --scenario NAME`` hands to :class:`DemoSource`.

    A built-in name as it is (loaded after the first frame); a file (or a typo) is read and
    checked now, so a bad one exits with its reason. Raises :class:`DemoError`.
    """
    if is_builtin_scenario(name):
        return name
    from tui.sim.scenario import ScenarioError, load

    try:
        return load(name)
    except ScenarioError as exc:
        raise DemoError(str(exc)) from None


def start_simulator(name: str) -> SimThread:
    """The simulator of a headless command's ``--demo``, running in its own thread.

    The scenario (and its Cilium settings) is checked before anything starts. Raises
    :class:`DemoError`.
    """
    from tui.sim.cilium import settings_of
    from tui.sim.mesh import SimThread
    from tui.sim.scenario import ScenarioError, load

    try:
        scenario = load(name)
        settings_of(scenario)
    except ScenarioError as exc:
        raise DemoError(f"--scenario: {exc}") from None
    try:
        return SimThread(scenario).start()
    except (RuntimeError, TimeoutError, OSError) as exc:
        raise DemoError(f"the simulator did not start: {exc}") from None


class DemoSource(KubeSource):
    """A ``KubeSource`` over a simulator it starts (in ``start()``) and stops (in ``stop()``).

    ``scenario`` is a built-in name, a scenario file, or a loaded
    :class:`~tui.sim.scenario.Scenario`; ``sim_kwargs`` go to :class:`~tui.sim.mesh.SimThread`
    (tests pass near-zero delays; the demo passes nothing). ``users`` maps contexts to
    ``"readonly"`` to give them the simulator's read-only user (RBAC refusals in the demo).
    """

    def __init__(
        self,
        scenario: Scenario | str = "seed",
        *,
        read_only: bool = False,
        settings: HubSettings | None = None,
        users: dict[str, str] | None = None,
        threaded: bool = True,
        **sim_kwargs: Any,
    ) -> None:
        super().__init__(None, None, read_only=read_only, threaded=threaded, settings=settings)
        self.scenario = scenario
        self.sim_kwargs = sim_kwargs
        self.users = dict(users or {})
        self.sim: SimThread | None = None
        name = scenario if isinstance(scenario, str) else scenario.name
        self.scenario_name = Path(name).name if isinstance(name, str) else str(name)
        self.starting_note = f"starting the simulator ({self.scenario_name})"
        """What the panes say until the first snapshot (the app reads it)."""
        self._sim_lock = threading.Lock()
        self._sim_settled = threading.Event()
        self._sim_started = False
        self._stopping = False

    @property
    def kubeconfig_label(self) -> str:
        """``simulated (seed)``, then with the kubeconfig path (usable while the demo runs)."""
        label = f"simulated ({self.scenario_name})"
        return f"{label} {self.kubeconfig}" if self.kubeconfig else label

    def _start_sim(self) -> None:
        """Blocking: import and start the simulator, write its kubeconfig (a worker thread).

        If :meth:`stop` was called meanwhile, the simulator is stopped again right here, so a
        quit during start-up leaves no thread behind.
        """
        try:
            from tui.sim.mesh import SimThread

            sim = SimThread(self.scenario, **self.sim_kwargs)
            sim.start()
            if self.users:
                assert sim.mesh is not None
                sim.mesh.write_kubeconfig(sim.kubeconfig_path, self.users)  # type: ignore[arg-type]
            with self._sim_lock:
                stopped = self._stopping
                if not stopped:
                    self.sim = sim
            if stopped:
                sim.stop()
        finally:
            self._sim_settled.set()

    async def start(self) -> None:
        if self.sim is None:
            with self._sim_lock:
                if self._stopping:
                    return
                self._sim_started = True
            await asyncio.to_thread(self._start_sim)
            if self.sim is None:
                return  # stopped meanwhile
            self.kubeconfig = str(self.sim.kubeconfig_path)
        await super().start()

    async def stop(self) -> None:
        with self._sim_lock:
            self._stopping = True
            started = self._sim_started
        try:
            await super().stop()
        finally:
            if started:
                await asyncio.to_thread(self._sim_settled.wait, 60)
            sim, self.sim = self.sim, None
            if sim is not None:
                await asyncio.to_thread(sim.stop)
