"""Every core table, imported in one place for Alembic and the seed."""

from app.core.accounts.models import Account, Hold, Product
from app.core.audit.models import AuditLog, AuditSeal
from app.core.auth.identity_models import (
    FactorReset,
    IdentityProvider,
    MfaChallenge,
    RecoveryCode,
    SecondFactor,
)
from app.core.auth.models import ApiKey, AuthSession, RefreshToken, RevokedToken, StaffUser
from app.core.customers.models import Customer
from app.core.idempotency.models import IdempotencyRecord
from app.core.jobs.models import JobRun
from app.core.ledger.models import (
    GLAccount,
    GLRollup,
    GLRollupMark,
    Journal,
    JournalLine,
    NumberSequence,
    Posting,
)
from app.core.periods.models import FiscalPeriod
from app.core.reports.models import POSTINGS_BY_DATE_COVERING, TRANSACTIONS_BY_DATE
from app.core.standing.models import StandingInstruction, StandingInstructionExecution
from app.core.tenants.models import Branch, Tenant
from app.core.transactions.models import Transaction
from app.core.webhooks.models import (
    OutboxEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)

__all__ = [
    "POSTINGS_BY_DATE_COVERING",
    "TRANSACTIONS_BY_DATE",
    "Account",
    "ApiKey",
    "AuditLog",
    "AuditSeal",
    "AuthSession",
    "Branch",
    "Customer",
    "FactorReset",
    "FiscalPeriod",
    "GLAccount",
    "GLRollup",
    "GLRollupMark",
    "Hold",
    "IdempotencyRecord",
    "IdentityProvider",
    "JobRun",
    "Journal",
    "JournalLine",
    "MfaChallenge",
    "NumberSequence",
    "OutboxEvent",
    "Posting",
    "Product",
    "RecoveryCode",
    "RefreshToken",
    "RevokedToken",
    "SecondFactor",
    "StaffUser",
    "StandingInstruction",
    "StandingInstructionExecution",
    "Tenant",
    "Transaction",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookSubscription",
]
