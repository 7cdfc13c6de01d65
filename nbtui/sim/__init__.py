"""The built-in Nano Banana API simulator (see `nbtui.sim.app` for the routes).

Imported only by the parts that need it (`--demo`, `nbtui sim`, tests), never by `import nbtui`.
`SimConfig`/`SimState` need no web framework; the app and the server are loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nbtui.sim.state import (
    ALL_FAULT_KINDS,
    TRANSIENT_FAULT_KINDS,
    Fault,
    FaultKind,
    Outcome,
    SimConfig,
    SimRequest,
    SimState,
    SimTask,
)

if TYPE_CHECKING:
    from nbtui.sim.app import InProcessSim, create_app, image_app, in_process
    from nbtui.sim.server import SimInfo, SimServer, run_sim

__all__ = [
    "ALL_FAULT_KINDS",
    "TRANSIENT_FAULT_KINDS",
    "Fault",
    "FaultKind",
    "InProcessSim",
    "Outcome",
    "SimConfig",
    "SimInfo",
    "SimRequest",
    "SimServer",
    "SimState",
    "SimTask",
    "create_app",
    "image_app",
    "in_process",
    "run_sim",
]

_LAZY = {
    "InProcessSim": "nbtui.sim.app",
    "create_app": "nbtui.sim.app",
    "image_app": "nbtui.sim.app",
    "in_process": "nbtui.sim.app",
    "SimInfo": "nbtui.sim.server",
    "SimServer": "nbtui.sim.server",
    "run_sim": "nbtui.sim.server",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
