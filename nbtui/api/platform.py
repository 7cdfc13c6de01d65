"""The provider's platform API (a different host from the tasks API): the account's balance
and the price rules of the Nano Banana service. docs/platform.md lists the provider sources
of every path, header and field used here.

Two reads, each for a reason:

- `price_list()`: `GET /api/v1/services/?id=<Nano Banana service>` is the public catalog; it
  is sent with no Authorization header at all.
- `balance()`: `GET /api/v1/applications/?user_id=me` needs an *account token* (the
  provider's "platform token", `platform-v1-...`), not the API token: the API token is never
  sent to the platform host. Without an account token the call fails before sending anything.

Nothing here runs unless the user named the platform host in the config (`[platform] host`);
the caller decides that. Redirects are never followed, answers are capped, and errors are the
`nbtui.api.errors` types with words about the platform (not the tasks API).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final, Self

import httpx

from nbtui import __version__
from nbtui.api.answers import Answer, NotJson, parse_json
from nbtui.api.errors import ApiError, AuthError, ProtocolError, RequestRejected
from nbtui.api.http_errors import error_fields, http_error, not_json_error, shape_error
from nbtui.api.pricing import PriceList, parse_price_list
from nbtui.api.transport import proxy_for, tls_context, transport_error

__all__ = [
    "APPLICATIONS_PATH",
    "ENV_PLATFORM_TOKEN",
    "NANO_BANANA_SERVICE_ID",
    "SERVICES_PATH",
    "Balance",
    "PlatformClient",
]

#: The Nano Banana service's id in the provider's catalog (Nexior, src/constants/nanobanana.ts).
NANO_BANANA_SERVICE_ID: Final = "44fa6ed2-1ad1-4c7e-a8bd-30002728c0d1"
SERVICES_PATH: Final = "/api/v1/services/"
APPLICATIONS_PATH: Final = "/api/v1/applications/"
#: The account token's variable (the provider's own MCP server reads the same name).
ENV_PLATFORM_TOKEN: Final = "ACEDATACLOUD_PLATFORM_TOKEN"  # noqa: S105 (a name, not a secret)
#: A catalog entry or an application list is a few kB; 4 MB is far more than either.
MAX_BODY_BYTES: Final = 4 * 1024 * 1024
_TOKEN_HINT: Final = (
    f"Set {ENV_PLATFORM_TOKEN} to an account token from the AceData Cloud console "
    "(Account tokens); the API token does not work here"
)
_HOST_HINT: Final = "Check the host under [platform] in the config file"
_REDACTED: Final = "[token hidden]"
_MIN_REDACTED_LENGTH: Final = 6


@dataclass(frozen=True, slots=True)
class Balance:
    """What the account has left to spend on Nano Banana, and where it comes from."""

    amount: float
    #: "Nano Banana" (the service's own application) or "global" (the shared balance).
    source: str
    unit: str = "credits"


class PlatformClient:
    """Reads balance and prices from the platform host. Use as `async with ... as c:`."""

    def __init__(
        self,
        host: str,
        token: str | None,
        *,
        timeout: float = 15.0,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        url = httpx.URL(host.strip().rstrip("/"))
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"the platform host must be an http(s) address, not {host!r}")
        self.base_url = str(url)
        self.host = url.netloc.decode("ascii", "replace")
        self.proxy = proxy_for(url) if transport is None else None
        self._token = token or None
        self.timeout = timeout
        self.max_body_bytes = max_body_bytes
        self._clock = clock
        #: Requests sent (tests and the header read it).
        self.request_count = 0
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers={"accept": "application/json", "user-agent": f"nbtui/{__version__}"},
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            transport=transport,
            verify=tls_context() if transport is None else True,
            trust_env=True,
        )

    def __repr__(self) -> str:
        token = "<token set>" if self._token else "<no token>"
        return f"PlatformClient(base_url={self.base_url!r}, token={token})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def has_token(self) -> bool:
        return self._token is not None

    # -- the two reads ------------------------------------------------------------------

    async def price_list(self) -> PriceList:
        """The Nano Banana service's price rules, from the public catalog (no token sent)."""
        answer = await self._get(SERVICES_PATH, {"id": NANO_BANANA_SERVICE_ID}, auth=False)
        items = self._items(answer)
        for item in items:
            if isinstance(item, Mapping) and item.get("id") == NANO_BANANA_SERVICE_ID:
                try:
                    return parse_price_list(item)
                except ValueError as exc:
                    raise self._shape(answer, str(exc)) from None
        raise self._shape(answer, "the catalog holds no Nano Banana service")

    async def balance(self) -> Balance:
        """The balance Nano Banana requests are paid from (the web app's rule: the service's
        own application, or the global one when that may be used and holds more)."""
        if self._token is None:
            raise AuthError(
                "No account token for the platform: the balance cannot be read",
                hint=_TOKEN_HINT,
                method="GET",
                url=self.base_url + APPLICATIONS_PATH,
            )
        answer = await self._get(APPLICATIONS_PATH, {"user_id": "me", "limit": "100"}, auth=True)
        items = [item for item in self._items(answer) if isinstance(item, Mapping)]
        own = next(
            (
                item
                for item in items
                if item.get("service_id") == NANO_BANANA_SERVICE_ID
                and item.get("scope") != "Global"
            ),
            None,
        )
        shared = next((item for item in items if item.get("scope") == "Global"), None)
        if own is not None:
            amount = self._amount(answer, own)
            if own.get("allow_consume_global") is True and shared is not None:
                amount = max(amount, self._amount(answer, shared))
            return Balance(amount, "Nano Banana")
        if shared is not None:
            return Balance(self._amount(answer, shared), "global")
        raise RequestRejected(
            "The account has no Nano Banana or global application on the platform",
            hint="Get the Nano Banana service in the AceData Cloud console first",
            status=answer.status,
            method="GET",
            url=answer.url,
        )

    # -- HTTP ---------------------------------------------------------------------------

    async def _get(self, path: str, params: Mapping[str, str], *, auth: bool) -> Answer:
        headers: dict[str, str] = {}
        if auth and self._token is not None:
            headers["authorization"] = f"Bearer {self._token}"
        request = self._http.build_request("GET", path, params=dict(params), headers=headers)
        url = str(request.url)
        self.request_count += 1
        try:
            async with asyncio.timeout(self.timeout):
                response = await self._http.send(request, stream=True)
                try:
                    content = await self._read(response, url)
                finally:
                    await response.aclose()
        except httpx.DecodingError:
            raise ProtocolError(
                "The platform's answer could not be decoded (its compression is broken)",
                method="GET",
                url=url,
            ) from None
        except (TimeoutError, httpx.RequestError) as exc:
            raise transport_error(
                exc,
                host=self.host,
                timeout=self.timeout,
                proxy=self.proxy,
                creating=False,
                redact=self._redact,
                url=url,
                method="GET",
            ).with_hint(_HOST_HINT) from None
        answer = Answer(response.status_code, response.headers, content, url, method="GET")
        if not 200 <= answer.status < 300:
            raise self._http_error(answer)
        return answer

    async def _read(self, response: httpx.Response, url: str) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            raise self._too_big(response.status_code, url)
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self.max_body_bytes:
                raise self._too_big(response.status_code, url)
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_big(self, status: int, url: str) -> ProtocolError:
        return ProtocolError(
            f"The platform's answer is larger than nbtui reads ({self.max_body_bytes // 1024} kB)",
            status=status,
            hint=_HOST_HINT,
            method="GET",
            url=url,
        )

    def _http_error(self, answer: Answer) -> ApiError:
        if answer.status in (401, 403):
            try:
                body = parse_json(answer.content, answer.headers)
            except NotJson:
                body = None
            code, server_message, trace_id = error_fields(body)
            refused = "refused the account token" if answer.status == 401 else "refused access"
            message = f"The platform {refused}"
            if server_message:
                message += f": {server_message.strip()}"
            cls = AuthError if answer.status == 401 else RequestRejected
            return cls(
                self._redact(message),
                status=answer.status,
                code=code,
                trace_id=trace_id,
                hint=_TOKEN_HINT,
                method="GET",
                url=answer.url,
            )
        error = http_error(answer, host=self.host, redact=self._redact, now=self._clock())
        if answer.status == 404 or 300 <= answer.status < 400:
            error = error.with_hint(_HOST_HINT)
        return error

    def _items(self, answer: Answer) -> list[Any]:
        try:
            data = parse_json(answer.content, answer.headers)
        except NotJson as problem:
            raise not_json_error(answer, problem, host=self.host, redact=self._redact) from None
        if not isinstance(data, Mapping) or not isinstance(data.get("items"), list):
            raise self._shape(answer, "expected an object with an `items` list")
        items: list[Any] = data["items"]
        return items

    def _amount(self, answer: Answer, application: Mapping[str, Any]) -> float:
        value = application.get("remaining_amount")
        number: float | None = None
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                number = None
        if number is None or not math.isfinite(number):
            raise self._shape(answer, f"`remaining_amount` is not a number: {value!r:.40}")
        return number

    def _shape(self, answer: Answer, detail: str) -> ProtocolError:
        return shape_error(answer, detail, redact=self._redact).with_hint(_HOST_HINT)

    def _redact(self, text: str) -> str:
        token = self._token
        if token and len(token) >= _MIN_REDACTED_LENGTH and token in text:
            text = text.replace(token, _REDACTED)
        return text
