"""One error hierarchy for everything that can go wrong, modelled on the OpenAI/Anthropic SDKs.

SeedreamError
├── ConfigError                  bad settings at start-up
├── ValidationError              a request the API would reject; raised before anything is sent
│   └── ReferenceImageError      a reference image that cannot be used (names the file)
└── APIError                     the API (or the way to it) failed
    ├── APIConnectionError       could not reach the API, or the connection broke (status_code None)
    │   └── APITimeoutError      no answer (or no finished generation) within a time limit
    ├── APIStatusError           the API answered with an HTTP error status (status_code set)
    │   ├── BadRequestError      400 / 422, carrying the API's own message
    │   │   └── ContentPolicyError   the API refused the content (also a 200 that refuses)
    │   ├── AuthenticationError  401, or no usable key (then raised before sending, status_code None)
    │   │   └── PermissionDeniedError  403: the key (or its account) may not do this
    │   ├── NotFoundError        404: nothing answers at SEEDREAM_API_URL
    │   ├── RateLimitError       429, with retry_after when the API said
    │   └── ServerError          5xx
    └── InvalidResponseError     an answer we cannot use (not JSON, no images, undecodable, over a limit)

`body` is the API's error body as parsed: a dict stays a dict, text stays text (the key scrubbed out of it).
PermissionDeniedError is an AuthenticationError because on this router a 403 means a key problem
(INVALID_API_KEY, AccountOverdueError): code that catches AuthenticationError keeps catching it.
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


class APIConnectionError(APIError):
    """No HTTP answer: the API could not be reached, or the connection broke before the answer was complete."""


class APITimeoutError(APIConnectionError):
    """A time limit passed: connecting, waiting for the answer, or the whole generation."""


class APIStatusError(APIError):
    """The API answered with an HTTP error status."""


class BadRequestError(APIStatusError):
    pass


class ContentPolicyError(BadRequestError):
    pass


class AuthenticationError(APIStatusError):
    pass


class PermissionDeniedError(AuthenticationError):
    pass


class NotFoundError(APIStatusError):
    pass


class RateLimitError(APIStatusError):
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


class ServerError(APIStatusError):
    pass


class InvalidResponseError(APIError):
    pass
