"""The simulator's platform host: the two platform reads nbtui makes (docs/platform.md).

- `GET /api/v1/services/?id=...` — the public catalog entry of the Nano Banana service with
  its price rules (`cost`, JsonLogic as the provider writes it). No token needed; one that
  arrives anyway is recorded, so tests can prove none is sent.
- `GET /api/v1/applications/?user_id=me` — the account's applications with
  `remaining_amount`. Needs `Authorization: Bearer <account token>` (`PlatformSim.token`):
  none or another one answers 401. The Nano Banana application's balance falls by the price
  of every task the Images API of the same `SimState` created (moderated ones are free), so
  the demo's header shows the balance going down as tasks are made.
- anything else — 404.

A separate app from the tasks API (`create_app`), as the real platform is a separate host;
both share the `SimState`, so one request log shows which host got which request.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Final

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from nbtui.api.platform import APPLICATIONS_PATH, NANO_BANANA_SERVICE_ID, SERVICES_PATH
from nbtui.api.pricing import PriceRule, estimate
from nbtui.sim.answers import Answer, early_fault, late_fault
from nbtui.sim.config import SimRequest
from nbtui.sim.faults import Fault, check_fault
from nbtui.sim.state import SimState

__all__ = ["SIM_COST_RULES", "SIM_PLATFORM_TOKEN", "PlatformSim", "platform_app"]

#: The simulator's own account token (public: it opens nothing real).
SIM_PLATFORM_TOKEN: Final = "platform-v1-sim"  # noqa: S105
#: Simulated prices in the provider's rule shape (the amounts are made up, not the provider's).
SIM_COST_RULES: Final[list[dict[str, Any]]] = [
    {
        "conditions": {"==": [{"var": ["model", "nano-banana"]}, "nano-banana-pro"]},
        "consumption": {"*": [0.2, {"var": ["count", 1]}]},
    },
    {
        "conditions": {"==": [{"var": ["model", "nano-banana"]}, "nano-banana-2"]},
        "consumption": {"*": [0.1, {"var": ["count", 1]}]},
    },
    {"conditions": {}, "consumption": {"*": [0.05, {"var": ["count", 1]}]}},
]
_GLOBAL_APPLICATION_ID: Final = "0f6b7a52-7a8e-4f0c-9a53-5b1f3c8d2e10"


@dataclass
class PlatformSim:
    """The platform's memory: the token it accepts, the starting balance, queued faults."""

    state: SimState
    token: str | None = SIM_PLATFORM_TOKEN
    initial_balance: float = 100.0
    global_balance: float = 5.0
    #: Whether the account has its own Nano Banana application (else only the global one).
    own_application: bool = True
    cost: list[dict[str, Any]] = field(default_factory=lambda: list(SIM_COST_RULES))
    #: `remaining_amount` as text ("50.00"), as one of the provider's documented examples has it.
    amounts_as_text: bool = False
    #: Whether the catalog lists the Nano Banana service at all.
    has_service: bool = True
    _faults: list[Fault] = field(default_factory=list)

    def inject_fault(self, kind: str, *, times: int = 1, delay: float = 0.0) -> None:
        """The next `times` platform requests misbehave as `kind` (the simulator's kinds)."""
        check_fault(kind, times)
        self._faults.extend([Fault(kind, delay=delay)] * times)

    def take_fault(self) -> Fault | None:
        return self._faults.pop(0) if self._faults else None

    def spent(self) -> float:
        """What the tasks the Images API created cost, by these rules (moderated: free)."""
        rules = tuple(PriceRule(r.get("conditions", {}), r["consumption"]) for r in self.cost)
        total = 0.0
        for task_id in list(self.state.created_ids):
            task = self.state.task(task_id)
            if task is None or task.outcome == "moderated":
                continue
            total += estimate(rules, task.request) or 0.0
        return total

    def applications(self) -> list[dict[str, Any]]:
        account = self.state.account
        shared: dict[str, Any] = {
            "id": _GLOBAL_APPLICATION_ID,
            "user_id": account.user_id,
            "service_id": None,
            "type": "Usage",
            "scope": "Global",
            "remaining_amount": round(self.global_balance, 6),
            "used_amount": 0,
            "allow_consume_global": True,
        }
        if not self.own_application:
            shared["remaining_amount"] = round(self.global_balance - self.spent(), 6)
            if self.amounts_as_text:
                shared["remaining_amount"] = f"{shared['remaining_amount']:.2f}"
            return [shared]
        spent = self.spent()
        own: dict[str, Any] = {
            "id": account.application_id,
            "user_id": account.user_id,
            "service_id": NANO_BANANA_SERVICE_ID,
            "type": "Usage",
            "scope": "Individual",
            "remaining_amount": round(self.initial_balance - spent, 6),
            "used_amount": round(spent, 6),
            "allow_consume_global": True,
            "service": {"id": NANO_BANANA_SERVICE_ID, "alias": "nano-banana"},
        }
        rows: list[dict[str, Any]] = [own, shared]
        if self.amounts_as_text:
            for row in rows:
                row["remaining_amount"] = f"{row['remaining_amount']:.2f}"
        return rows

    def service(self) -> dict[str, Any]:
        return {
            "id": NANO_BANANA_SERVICE_ID,
            "alias": "nano-banana",
            "title": "Nano Banana",
            "type": "Api",
            "unit": "Credit",
            "free_amount": 0,
            "cost": self.cost,
        }


def _sim(request: Request) -> PlatformSim:
    sim = request.app.state.platform
    assert isinstance(sim, PlatformSim)
    return sim


def _error(status: int, code: str, message: str) -> Answer:
    return Answer(status, {"error": {"code": code, "message": message}})


async def _serve(request: Request) -> Response:
    sim = _sim(request)
    state = sim.state
    header = request.headers.get("authorization")
    scheme, _, value = (header or "").partition(" ")
    auth_ok = bool(sim.token and scheme.lower() == "bearer" and value.strip() == sim.token)
    path = request.url.path
    state.log_request(
        SimRequest(
            at=state.now(),
            method=request.method,
            path=path,
            body=dict(request.query_params),
            had_auth=header is not None,
            auth_ok=auth_ok,
            host=request.url.netloc,
        )
    )
    fault = sim.take_fault()
    if fault is not None and fault.kind == "slow":
        await asyncio.sleep(fault.delay)
        fault = None
    if fault is not None:
        early = early_fault(fault)
        if isinstance(early, Answer):
            return early.response()
        if early is not None:
            return early
    answer = _answer(sim, request, path, auth_ok=auth_ok, had_auth=header is not None)
    if fault is not None:
        return late_fault(fault, answer)
    return answer.response()


def _answer(
    sim: PlatformSim, request: Request, path: str, *, auth_ok: bool, had_auth: bool
) -> Answer:
    if request.method != "GET":
        return _error(405, "method_not_allowed", f"Use GET for {path}.")
    if path == SERVICES_PATH:
        wanted = request.query_params.getlist("id")
        listed = sim.has_service and (not wanted or NANO_BANANA_SERVICE_ID in wanted)
        items = [sim.service()] if listed else []
        return Answer(200, {"count": len(items), "items": items})
    if path == APPLICATIONS_PATH:
        if not had_auth:
            return _error(401, "not_authenticated", "Authentication credentials were not provided.")
        if not auth_ok:
            return _error(401, "invalid_token", "The platform token is invalid.")
        if "user_id" not in request.query_params:
            return _error(403, "permission_denied", "Pass user_id=me to list your applications.")
        items = sim.applications()
        return Answer(200, {"count": len(items), "items": items})
    return _error(404, "not_found", f"No platform API at {path}.")


def platform_app(sim: PlatformSim) -> Starlette:
    """The platform host as an ASGI app (its memory is `app.state.platform`)."""
    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    app = Starlette(routes=[Route("/{path:path}", _serve, methods=methods)])
    app.state.platform = sim
    return app
