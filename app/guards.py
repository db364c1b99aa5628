"""What a request must pass before it reaches a route: a body within bounds, the API key when one
is set, and the client's rate limit. Refusals use the service's one error shape.

A pure ASGI middleware: it reads only headers, so streamed answers pass through untouched.
"""

from __future__ import annotations

import hmac
import math
import threading
import time
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import error_response
from config import Settings

# Open to anyone whatever the settings: the probe, the demo page and the widget's script.
PUBLIC_PATHS = frozenset({"/health", "/", "/widget.js"})
UPLOAD_PATH = "/documents"
# Multipart framing around an uploaded file: boundaries and part headers.
_MULTIPART_SLACK = 16_384
_MAX_CLIENTS = 10_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """A token bucket per client: `per_minute` requests in a burst, refilled evenly."""

    def __init__(self, per_minute: int) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def wait_for(self, client: str, now: float | None = None) -> float:
        """0 when the client may go ahead (a token is taken), else seconds until it may."""
        now = time.monotonic() if now is None else now
        with self._lock:
            bucket = self._buckets.get(client)
            if bucket is None:
                if len(self._buckets) >= _MAX_CLIENTS:
                    self._forget_idle(now)
                bucket = self._buckets[client] = _Bucket(self.capacity, now)
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return 0.0
            return (1 - bucket.tokens) / self.rate

    def _forget_idle(self, now: float) -> None:
        """Drop the clients whose bucket has refilled: they are as if never seen."""
        full = now - self.capacity / self.rate
        self._buckets = {k: b for k, b in self._buckets.items() if b.updated > full}


class GuardMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.api_key = settings.api_key.get_secret_value().encode() if settings.api_key else None
        self.limiter = (
            RateLimiter(settings.rate_limit_per_minute) if settings.rate_limit_per_minute else None
        )
        self.max_body = settings.max_body_bytes
        self.max_upload = settings.max_upload_bytes + _MULTIPART_SLACK

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v for k, v in scope["headers"]}
        limit = self.max_upload if scope["path"] == UPLOAD_PATH else self.max_body
        length = headers.get("content-length", b"")
        if length.isdigit() and int(length) > limit:
            await too_large(limit)(scope, receive, send)
            return
        refusal = self._refusal(scope, headers)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        if not length and "transfer-encoding" in headers:
            # A chunked body announces no length: read it here, within the limit, and replay it.
            body = await read_body(receive, limit)
            if body is None:
                await too_large(limit)(scope, receive, send)
                return
            receive = replay(body, receive)
        await self.app(scope, receive, send)

    def _refusal(self, scope: Scope, headers: dict[str, bytes]) -> ASGIApp | None:
        if scope["path"] in PUBLIC_PATHS:
            return None
        if self.api_key is not None and not self._authorised(headers):
            return error_response(
                401,
                "Unauthorized",
                "this service wants an API key: send it in an X-API-Key header",
                {"WWW-Authenticate": "Bearer"},
            )
        if self.limiter is not None:
            client = scope.get("client") or ("unknown", 0)
            wait = self.limiter.wait_for(client[0])
            if wait:
                seconds = math.ceil(wait)
                return error_response(
                    429,
                    "RateLimited",
                    f"too many requests: try again in {seconds} s",
                    {"Retry-After": str(seconds)},
                )
        return None

    def _authorised(self, headers: dict[str, bytes]) -> bool:
        assert self.api_key is not None
        given = headers.get("x-api-key")
        if given is None:
            scheme, _, token = headers.get("authorization", b"").partition(b" ")
            given = token.strip() if scheme.lower() == b"bearer" else b""
        return hmac.compare_digest(given, self.api_key)


def too_large(limit: int) -> ASGIApp:
    # Built only for a refusal: building it counts the error in the metrics.
    return error_response(413, "BodyTooLarge", f"the body is over {limit} bytes")


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None as soon as it passes `limit` bytes."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(parts)  # the client left: the route will see an empty body
        part = message.get("body", b"")
        size += len(part)
        if size > limit:
            return None
        parts.append(part)
        if not message.get("more_body", False):
            return b"".join(parts)


def replay(body: bytes, then: Receive) -> Receive:
    """The body read ahead as one message, then the client's own messages (its disconnect)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return await then()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
