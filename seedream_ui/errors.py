"""One error hierarchy for everything that can go wrong, modelled on the OpenAI/Anthropic SDKs.

SeedreamError
├── ConfigError            bad settings at start-up
├── ValidationError        a request the API would reject; raised before anything is sent
│   └── ReferenceImageError  a reference image that cannot be used (names the file)
└── APIError               the API (or the way to it) failed
    ├── AuthenticationError      401 / 403
    ├── BadRequestError          400 / 422, carrying the API's own message
    │   └── ContentPolicyError   the API refused the content
    ├── RateLimitError           429, with retry_after when the API said
    ├── ServerError              5xx
    ├── APITimeoutError          no answer within the timeout
    ├── APIConnectionError       could not reach the API
    └── InvalidResponseError     an answer we cannot use (not JSON, no images, undecodable)

Messages are written for the person using the demo. None of them ever contains the API key.
"""

from __future__ import annotations


class SeedreamError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigError(SeedreamError):
    """A setting from the environment or `.env` is invalid."""


class ValidationError(SeedreamError, ValueError):
    """The request breaks a rule of the API reference; it was not sent."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ReferenceImageError(ValidationError):
    """A reference image is empty, corrupt, of an unsupported format, or unsafe to decode."""

    def __init__(self, message: str, *, source: str | None = None) -> None:
        super().__init__(message, field="image")
        self.source = source


class APIError(SeedreamError):
    """The API call failed. `status_code` is None when no HTTP response arrived."""

    def __init__(self, message: str, *, status_code: int | None = None, body: object = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.body = body


class AuthenticationError(APIError):
    pass


class BadRequestError(APIError):
    pass


class ContentPolicyError(BadRequestError):
    pass


class RateLimitError(APIError):
    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = 429,
        body: object = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status_code=status_code, body=body)
        self.retry_after = retry_after


class ServerError(APIError):
    pass


class APITimeoutError(APIError):
    pass


class APIConnectionError(APIError):
    pass


class InvalidResponseError(APIError):
    pass
