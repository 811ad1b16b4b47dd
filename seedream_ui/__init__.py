"""Seedream UI: a Gradio demo and a typed async client for the Seedream 4.5 image API."""

from seedream_ui.errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigError,
    ContentPolicyError,
    InvalidResponseError,
    NotFoundError,
    PermissionDeniedError,
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
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigError",
    "ContentPolicyError",
    "GenerateRequest",
    "InvalidResponseError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ReferenceImageError",
    "SeedreamError",
    "ServerError",
    "ValidationError",
]
