"""Network failures in words: which proxy the environment sets for the API host, and what a
refused, timed-out or broken connection means for the request (for a create: whether the
task may exist now).
"""

from __future__ import annotations

import functools
import ssl

import httpx

from nbtui.api.errors import ApiError, CreateOutcomeUnknown, TransportError
from nbtui.api.http_errors import Redact

__all__ = ["proxy_for", "tls_context", "transport_error"]


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS context for every client in the process, as httpx would build it (certifi's
    CA bundle, or SSL_CERT_FILE / SSL_CERT_DIR). Building one reads and parses the whole CA
    bundle, about 25 ms of CPU, and the app makes several clients (the API's, the image
    host's, the platform's, and new ones when the session switches to the demo)."""
    return httpx.create_ssl_context(trust_env=True)


def proxy_for(url: httpx.URL) -> str | None:
    """The proxy the environment sets for `url` (as httpx with `trust_env` picks it), named
    with the variable it came from and without any user name or password; None if none."""
    import urllib.request

    proxies = urllib.request.getproxies_environment()
    scheme = url.scheme
    proxy = proxies.get(scheme)
    variable = f"{scheme.upper()}_PROXY"
    if not proxy:
        proxy, variable = proxies.get("all"), "ALL_PROXY"
    if not proxy:
        return None
    host = url.host.lower()
    for entry in (proxies.get("no") or "").split(","):
        entry = entry.strip().lower().lstrip(".")
        if "://" in entry:
            entry = entry.split("://", 1)[1]
        entry = entry.split(":", 1)[0] if entry.count(":") == 1 else entry  # host:port
        if entry == "*" or (entry and (host == entry or host.endswith("." + entry))):
            return None  # NO_PROXY exempts this host
    if "://" not in proxy:
        proxy = "http://" + proxy
    try:
        parsed = httpx.URL(proxy)
    except httpx.InvalidURL:
        return f"from {variable}"
    port = f":{parsed.port}" if parsed.port is not None else ""
    return f"{parsed.scheme}://{parsed.host}{port} (from {variable})"


def _connect_reason(exc: httpx.ConnectError | httpx.ConnectTimeout) -> str:
    text = str(exc)
    lowered = text.lower()
    if "refused" in lowered or "all connection attempts failed" in lowered:
        return "connection refused"
    if "name or service not known" in lowered or "nodename" in lowered or "getaddrinfo" in lowered:
        return "the host name could not be resolved"
    if "certificate" in lowered or "ssl" in lowered or "tls" in lowered:
        return f"the TLS handshake failed ({text})"
    if "unreachable" in lowered:
        return "the network is unreachable"
    return text or "the connection failed"


def transport_error(
    exc: BaseException,
    *,
    host: str,
    timeout: float,
    proxy: str | None,
    creating: bool,
    redact: Redact,
    url: str,
    method: str = "POST",
) -> ApiError:
    """Human words for a network failure; for a create, whether the task may exist (a
    request that went out may have created one: `CreateOutcomeUnknown`)."""
    limit = f"{timeout:g} s"
    sent = True
    via = proxy
    if via is not None and isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        # The connection that failed is the one to the proxy: say so, not "the API host".
        reason = (
            f"no connection within {limit}"
            if isinstance(exc, httpx.ConnectTimeout)
            else _connect_reason(exc)
        )
        message, sent = f"Could not connect to the proxy {via} for {host}: {reason}", False
    elif isinstance(exc, httpx.ConnectTimeout):
        message, sent = f"Could not connect to {host} within {limit}", False
    elif isinstance(exc, httpx.PoolTimeout):
        message, sent = f"No free connection to {host} within {limit}", False
    elif isinstance(exc, httpx.ConnectError):
        message, sent = f"Could not connect to {host}: {_connect_reason(exc)}", False
    elif isinstance(exc, TimeoutError | httpx.TimeoutException):
        message = f"No answer from {host} within {limit}"
    elif isinstance(exc, httpx.RemoteProtocolError):
        message = f"{host} closed the connection without a complete answer"
    elif isinstance(exc, httpx.ReadError):
        message = f"The connection to {host} broke while reading the answer"
    elif isinstance(exc, httpx.WriteError):
        message = f"The connection to {host} broke while sending the request"
    elif isinstance(exc, httpx.UnsupportedProtocol):
        message, sent = f"The base URL's scheme is not supported: {exc}", False
    elif isinstance(exc, httpx.ProxyError):
        where = f" {via}" if via is not None else ""
        message, sent = f"The proxy{where} refused the connection to {host}: {exc}", False
    else:
        message = f"Network error talking to {host}: {exc or type(exc).__name__}"
    if creating and sent:
        return CreateOutcomeUnknown(
            redact(f"{message}; the task may or may not have been created"),
            method=method,
            url=url,
        )
    hint: str | None = None
    if via is not None and not sent:
        hint = "Check that proxy, or the proxy variables in nbtui's environment"
    if creating:
        message += "; the task was not created"
    return TransportError(
        redact(message),
        hint=hint,
        method=method,
        url=url,
        retryable=False if creating else None,
    )
