"""Reusable test support: real local servers and helpers shared by several test areas."""

from .http_server import RecordedRequest, RecordingHTTPServer, Reply, http_server
from .openai_server import Completion, Failure, ScriptedOpenAIServer, openai_server

__all__ = [
    "Completion",
    "Failure",
    "RecordedRequest",
    "RecordingHTTPServer",
    "Reply",
    "ScriptedOpenAIServer",
    "http_server",
    "openai_server",
]
