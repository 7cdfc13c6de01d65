"""The platform client (balance and prices) against the simulator's platform host over ASGI:
what it reads, which token goes where, and each way a read can fail."""

from __future__ import annotations

import httpx
import pytest

from nbtui.api.errors import AuthError, ProtocolError, RequestRejected, TransportError
from nbtui.api.platform import (
    APPLICATIONS_PATH,
    NANO_BANANA_SERVICE_ID,
    SERVICES_PATH,
    Balance,
    PlatformClient,
)
from nbtui.api.pricing import PriceRule, estimate, evaluate, parse_price_list
from nbtui.sim import SimConfig
from nbtui.sim.platform import SIM_PLATFORM_TOKEN, PlatformSim, platform_app
from nbtui.sim.state import SimState

HOST = "http://platform.sim.test"


def make(
    sim: PlatformSim, token: str | None = SIM_PLATFORM_TOKEN, timeout: float = 5.0
) -> PlatformClient:
    return PlatformClient(
        HOST, token, timeout=timeout, transport=httpx.ASGITransport(app=platform_app(sim))
    )


@pytest.fixture
def sim() -> PlatformSim:
    return PlatformSim(SimState(SimConfig(seed=1)))


async def test_balance_is_the_nano_banana_application_and_falls_with_created_tasks(
    sim: PlatformSim,
) -> None:
    async with make(sim) as client:
        assert await client.balance() == Balance(100.0, "Nano Banana")
        sim.state.create_from_request({"action": "generate", "prompt": "a", "count": 2})
        sim.state.create_from_request(
            {"action": "generate", "prompt": "b", "model": "nano-banana-pro"}
        )
        balance = await client.balance()
    assert balance.amount == pytest.approx(100.0 - 0.1 - 0.2)
    request = sim.state.requests[-1]
    assert request.path == APPLICATIONS_PATH and request.auth_ok
    assert request.body == {"user_id": "me", "limit": "100"}


async def test_moderated_tasks_are_not_charged(sim: PlatformSim) -> None:
    sim.state.create_from_request({"action": "generate", "prompt": "x sim:moderate"})
    async with make(sim) as client:
        assert (await client.balance()).amount == 100.0


async def test_without_its_own_application_the_global_balance_is_read(sim: PlatformSim) -> None:
    sim.own_application = False
    async with make(sim) as client:
        assert await client.balance() == Balance(5.0, "global")


async def test_the_global_balance_counts_when_it_holds_more(sim: PlatformSim) -> None:
    sim.initial_balance, sim.global_balance = 1.0, 7.5
    async with make(sim) as client:
        assert (await client.balance()).amount == 7.5


async def test_price_list_is_read_without_any_token(sim: PlatformSim) -> None:
    async with make(sim) as client:
        prices = await client.price_list()
    assert prices.unit == "credits"
    assert prices.estimate({"action": "generate", "prompt": "p"}) == pytest.approx(0.05)
    assert prices.estimate({"model": "nano-banana-2", "count": 3}) == pytest.approx(0.3)
    (request,) = sim.state.requests
    assert request.path == SERVICES_PATH and request.body == {"id": NANO_BANANA_SERVICE_ID}
    assert not request.had_auth


async def test_no_account_token_sends_nothing(sim: PlatformSim) -> None:
    async with make(sim, token=None) as client:
        with pytest.raises(AuthError, match="No account token") as caught:
            await client.balance()
    assert "ACEDATACLOUD_PLATFORM_TOKEN" in str(caught.value)
    assert sim.state.requests == []


async def test_a_refused_token_is_an_auth_error_that_names_the_account_token(
    sim: PlatformSim,
) -> None:
    async with make(sim, token="platform-v1-wrong-token") as client:
        with pytest.raises(AuthError) as caught:
            await client.balance()
    message = str(caught.value)
    assert "refused the account token" in message and "ACEDATACLOUD_PLATFORM_TOKEN" in message
    assert "platform-v1-wrong-token" not in message
    assert caught.value.status == 401


@pytest.mark.parametrize(
    ("fault", "error", "words"),
    [
        ("401", AuthError, "refused the account token"),
        ("403_used_up", RequestRejected, "refused access"),
        ("502_html", ProtocolError, "HTML page"),
        ("empty", ProtocolError, "empty body"),
        ("wrong_shape", ProtocolError, "`items` list"),
        ("truncated", ProtocolError, "not valid JSON"),
        ("404", RequestRejected, "[platform]"),
    ],
)
async def test_each_bad_answer_is_a_clear_error(
    sim: PlatformSim, fault: str, error: type[Exception], words: str
) -> None:
    if fault == "404":
        sim.cost = []  # unused; the 404 comes from a path the platform does not have
    else:
        sim.inject_fault(fault)
    async with make(sim) as client:
        with pytest.raises(error) as caught:
            if fault == "404":
                await client._get("/api/v1/nothing/", {}, auth=False)
            else:
                await client.balance()
    assert words in str(caught.value)
    assert SIM_PLATFORM_TOKEN not in str(caught.value)


async def test_a_platform_that_does_not_answer_in_time_is_a_transport_error(
    sim: PlatformSim,
) -> None:
    sim.inject_fault("slow", delay=5.0)
    async with make(sim, timeout=0.05) as client:
        with pytest.raises(TransportError, match=r"No answer from platform\.sim\.test"):
            await client.price_list()


async def test_a_catalog_without_the_service_is_a_shape_error(sim: PlatformSim) -> None:
    sim.has_service = False
    async with make(sim) as client:
        with pytest.raises(ProtocolError, match="no Nano Banana service"):
            await client.price_list()


async def test_a_remaining_amount_given_as_text_is_read(sim: PlatformSim) -> None:
    sim.amounts_as_text = True
    async with make(sim) as client:
        assert (await client.balance()).amount == 100.0


async def test_a_remaining_amount_that_is_no_number_is_a_shape_error(sim: PlatformSim) -> None:
    sim.initial_balance = float("nan")
    async with make(sim) as client:
        with pytest.raises(ProtocolError, match="remaining_amount"):
            await client.balance()


# -- the rules ---------------------------------------------------------------------------


def test_rules_in_the_provider_shapes_evaluate() -> None:
    data = {"model": "chirp-v5", "action": "generate", "duration": 4}
    assert evaluate({"in": [{"var": ["model", ""]}, ["chirp-v5", "chirp-v4"]]}, data) is True
    assert evaluate({"*": [0.95, {"var": ["duration", 5]}]}, data) == pytest.approx(3.8)
    assert evaluate({"*": [0.95, {"var": ["duration", 5]}]}, {}) == pytest.approx(4.75)
    assert evaluate({"and": [{"==": [{"var": "action"}, "generate"]}, True]}, data) is True


def test_an_unknown_operator_makes_the_estimate_unknown_not_wrong() -> None:
    rules = (
        PriceRule({"some": [{"var": "content"}, {"==": [1, 1]}]}, 9),
        PriceRule({}, 1),
    )
    assert estimate(rules, {}) is None


def test_no_matching_rule_is_no_estimate() -> None:
    rules = (PriceRule({"==": [{"var": "model"}, "x"]}, 1),)
    assert estimate(rules, {"model": "y"}) is None


def test_a_service_without_cost_rules_is_refused() -> None:
    with pytest.raises(ValueError, match="cost"):
        parse_price_list({"id": NANO_BANANA_SERVICE_ID})
