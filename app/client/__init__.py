"""Branchdesk's client for the core banking API (``/api/v1/cba``).

The console imports only from here::

    from app.client import BankingClient, BankingAPIError

    async with BankingClient(base_url=url, tenant_id="demo_bank") as client:
        result = await client.login(email, password)
        tenant = await client.get("/tenant", model=Tenant, token=result.access_token)
        async for account in client.paginate("/accounts", model=Account, token=...):
            ...

Typed models of the core's resources live in ``resources`` (msgspec Structs); the one
parser of a business date, a money string and a timestamp in ``_parse``. The untyped calls
(``get`` without ``model``) still answer plain JSON.

Errors form one tree rooted at :class:`BankingAPIError` (see ``_errors``). Retries, pacing
and call logging live in one transport wrapper (see ``_transport``).
"""

from ._client import BankingClient
from ._errors import (
    BankingAPIAuthError,
    BankingAPIBusinessRuleError,
    BankingAPIConflict,
    BankingAPIError,
    BankingAPIInvalidResponse,
    BankingAPINotFound,
    BankingAPIPermissionError,
    BankingAPIRateLimited,
    BankingAPIRejected,
    BankingAPITimeout,
    BankingAPIUnavailable,
    BankingAPIValidationError,
    ErrorDetail,
)
from ._models import AuthResult, Me, StaffUser, TenantRef, TokenPair, TokenSet
from ._parse import Money, Timestamp, parse_business_date, parse_money, parse_timestamp
from ._ratelimit import RateLimitTracker
from ._tokens import InMemoryTokenHolder, InProcessLocks, TokenHolder, TokenRefresher
from ._transport import RetryPolicy
from .resources import (
    Account,
    AccountView,
    ApprovalQueue,
    ApprovalsView,
    BalancePoint,
    Branch,
    Customer,
    Hold,
    Journal,
    JournalLine,
    JournalPeriod,
    JournalTotal,
    Page,
    Product,
    StandingExecution,
    StandingInstruction,
    StandingInstructionView,
    Statement,
    StatementLine,
    StatementTotals,
    Tenant,
    TenantSettings,
    Transaction,
    TransactionView,
    Waiting,
)

__all__ = [
    "Account",
    "AccountView",
    "ApprovalQueue",
    "ApprovalsView",
    "AuthResult",
    "BalancePoint",
    "BankingAPIAuthError",
    "BankingAPIBusinessRuleError",
    "BankingAPIConflict",
    "BankingAPIError",
    "BankingAPIInvalidResponse",
    "BankingAPINotFound",
    "BankingAPIPermissionError",
    "BankingAPIRateLimited",
    "BankingAPIRejected",
    "BankingAPITimeout",
    "BankingAPIUnavailable",
    "BankingAPIValidationError",
    "BankingClient",
    "Branch",
    "Customer",
    "ErrorDetail",
    "Hold",
    "InMemoryTokenHolder",
    "InProcessLocks",
    "Journal",
    "JournalLine",
    "JournalPeriod",
    "JournalTotal",
    "Me",
    "Money",
    "Page",
    "Product",
    "RateLimitTracker",
    "RetryPolicy",
    "StaffUser",
    "StandingExecution",
    "StandingInstruction",
    "StandingInstructionView",
    "Statement",
    "StatementLine",
    "StatementTotals",
    "Tenant",
    "TenantRef",
    "TenantSettings",
    "Timestamp",
    "TokenHolder",
    "TokenPair",
    "TokenRefresher",
    "TokenSet",
    "Transaction",
    "TransactionView",
    "Waiting",
    "parse_business_date",
    "parse_money",
    "parse_timestamp",
]
