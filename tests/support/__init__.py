"""Reusable test support: real local servers and helpers shared by several test areas."""

from .http_server import RecordedRequest, RecordingHTTPServer, Reply, http_server

__all__ = ["RecordedRequest", "RecordingHTTPServer", "Reply", "http_server"]
