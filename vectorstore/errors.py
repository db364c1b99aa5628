"""Errors the store and the embedders raise; each knows the HTTP status it maps to.

    ServiceError                 500  base class: anything the service can explain
    ├── EmbedderMismatch         409  the collection was filled by another embedder
    ├── EmbedderUnavailable      500  an embedder's package or model cannot be loaded
    ├── DocumentNotFound         404  no document with that id
    ├── DocumentTooLarge         413  an upload over the size limit
    ├── UnsupportedDocument      415  an upload that is not .txt, .md or .html text
    └── StoreUnavailable         503  the Chroma server cannot be reached

The service renders any of them as `{"error": <class name>, "message": <text>}` with its status.
"""

from __future__ import annotations


class ServiceError(Exception):
    """An error whose message is safe and useful to show to a client."""

    status_code = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class EmbedderMismatch(ServiceError):
    status_code = 409


class EmbedderUnavailable(ServiceError):
    status_code = 500


class DocumentNotFound(ServiceError):
    status_code = 404


class DocumentTooLarge(ServiceError):
    status_code = 413


class UnsupportedDocument(ServiceError):
    status_code = 415


class StoreUnavailable(ServiceError):
    status_code = 503


class OutdatedStore(ServiceError):
    """The store was written by an older ingester, in a format this code no longer reads."""

    status_code = 409
