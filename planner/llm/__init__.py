"""The LLM planner: any OpenAI-compatible endpoint, structured output, validation-driven repair."""

from .client import CapabilityMemory, ChatClient, ResponseFormat, retry_delay
from .config import LLMConfig
from .planner import LLMPlanner

__all__ = [
    "CapabilityMemory",
    "ChatClient",
    "LLMConfig",
    "LLMPlanner",
    "ResponseFormat",
    "retry_delay",
]
