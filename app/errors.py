"""One error shape everywhere: `{"error": <kind>, "message": <sentence>}`, from these handlers
(under `/v1/`, the OpenAI-compatible paths, OpenAI's shape with the same kind and sentence).

Errors the services raise (`vectorstore.errors.ServiceError` and subclasses) carry their own
status; validation errors become 422 with the offending field named; anything else is logged with
its traceback and answered 500 without one.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import Receive, Scope, Send

from app.observability import errors_total
from app.schemas import ErrorResponse
from vectorstore import ServiceError

log = logging.getLogger("app.errors")


OPENAI_PREFIX = "/v1/"


class _ErrorResponse(JSONResponse):
    """The one error body; on the OpenAI-compatible paths, OpenAI's error body instead
    (`{"error": {"message", "type", "code"}}`), which OpenAI clients read the message from."""

    def __init__(self, status: int, kind: str, message: str, headers: dict[str, str] | None):
        super().__init__({"error": kind, "message": message}, status, headers)
        self.kind, self.message = kind, message
        self.given_headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not scope.get("path", "").startswith(OPENAI_PREFIX):
            await super().__call__(scope, receive, send)
            return
        content = {"error": {"message": self.message, "type": self.kind, "code": None}}
        openai_shaped = JSONResponse(content, self.status_code, self.given_headers)
        await openai_shaped(scope, receive, send)


def error_response(
    status: int, kind: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The one error body, for the handlers below and the middleware that refuses requests."""
    errors_total.labels(kind).inc()
    return _ErrorResponse(status, kind, message, headers)


def _field(loc: tuple[object, ...]) -> str:
    parts = [str(p) for p in loc if p != "body"]
    return ".".join(parts) or "body"


async def on_service_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    return error_response(exc.status_code, type(exc).__name__, exc.message)


async def on_validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        "body: not valid JSON"
        if e["type"] == "json_invalid"
        else f"{_field(tuple(e['loc']))}: {e['msg']}"
        for e in exc.errors()
    ]
    return error_response(422, "ValidationError", "; ".join(problems))


async def on_http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return error_response(exc.status_code, "HTTPError", str(exc.detail))


async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "InternalError", "the service failed to handle this request")


def install(app: FastAPI) -> None:
    """Register the handlers on an app."""
    app.add_exception_handler(ServiceError, on_service_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)


ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    401: {"description": "An API key is set and the request lacks it", "model": ErrorResponse},
    413: {"description": "The body is over the size limit", "model": ErrorResponse},
    409: {"description": "The collection was filled by another embedder", "model": ErrorResponse},
    422: {"description": "Invalid request", "model": ErrorResponse},
    429: {"description": "Over the rate limit; see Retry-After", "model": ErrorResponse},
    503: {"description": "The vector store is unreachable", "model": ErrorResponse},
}
