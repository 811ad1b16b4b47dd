"""Seedream UI: a Gradio demo and a typed async client for the Seedream 4.5 image API."""

from seedream_ui.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigError,
    ContentPolicyError,
    InvalidResponseError,
    RateLimitError,
    ReferenceImageError,
    SeedreamError,
    ServerError,
    ValidationError,
)
from seedream_ui.request import GenerateRequest

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigError",
    "ContentPolicyError",
    "GenerateRequest",
    "InvalidResponseError",
    "RateLimitError",
    "ReferenceImageError",
    "SeedreamError",
    "ServerError",
    "ValidationError",
]
