"""Branchdesk's client for the core banking API (``/api/v1/cba``).

The console imports only from here::

    from app.client import BankingClient, BankingAPIError

    async with BankingClient(base_url=url, tenant_id="demo_bank") as client:
        result = await client.login(email, password)
        accounts = client.paginate("/accounts", "accounts", token=result.access_token)

Errors form one tree rooted at :class:`BankingAPIError` (see ``_errors``). Retries, pacing
and call logging live in one transport wrapper (see ``_transport``).
"""

from ._client import BankingClient
from ._errors import (
    BankingAPIAuthError,
    BankingAPIBusinessRuleError,
    BankingAPIConflict,
    BankingAPIError,
    BankingAPINotFound,
    BankingAPIPermissionError,
    BankingAPIRateLimited,
    BankingAPIRejected,
    BankingAPITimeout,
    BankingAPIUnavailable,
    BankingAPIValidationError,
)
from ._models import AuthResult, Me, Page, StaffUser, TenantRef, TokenPair, TokenSet
from ._ratelimit import RateLimitTracker
from ._tokens import InMemoryTokenHolder, InProcessLocks, TokenHolder, TokenRefresher
from ._transport import RetryPolicy

__all__ = [
    "AuthResult",
    "BankingAPIAuthError",
    "BankingAPIBusinessRuleError",
    "BankingAPIConflict",
    "BankingAPIError",
    "BankingAPINotFound",
    "BankingAPIPermissionError",
    "BankingAPIRateLimited",
    "BankingAPIRejected",
    "BankingAPITimeout",
    "BankingAPIUnavailable",
    "BankingAPIValidationError",
    "BankingClient",
    "InMemoryTokenHolder",
    "InProcessLocks",
    "Me",
    "Page",
    "RateLimitTracker",
    "RetryPolicy",
    "StaffUser",
    "TenantRef",
    "TokenHolder",
    "TokenPair",
    "TokenRefresher",
    "TokenSet",
]
