"""Typed models of what the core answers (msgspec Structs; field names as on the wire).

Import them from ``app.client``. Money is :class:`~app.client.Money` (a ``Decimal``), dates
are ``date``, timestamps aware ``datetime``; unknown fields are ignored.
"""

from .accounts import (
    Account,
    AccountView,
    BalancePoint,
    Hold,
    Statement,
    StatementLine,
    StatementTotals,
)
from .admin import (
    ApiKey,
    RevokedSessions,
    User,
    UsersSummary,
)
from .approvals import (
    ApprovalQueue,
    ApprovalsView,
    Waiting,
)
from .audit import (
    AuditEvent,
    AuditVerification,
)
from .customers import (
    Customer,
)
from .jobs import (
    Job,
)
from .journals import (
    Journal,
    JournalLine,
    JournalPeriod,
    JournalTotal,
)
from .ledger import (
    Chart,
    GLAccount,
    GLEntry,
)
from .page import (
    Page,
)
from .periods import (
    CloseBlocker,
    CloseBlockers,
    ClosedYear,
    FiscalPeriod,
    PeriodSnapshot,
    SnapshotLine,
    SnapshotTotal,
)
from .reports import (
    BalanceSheet,
    CashFigure,
    IncomeMonth,
    IncomeStatement,
    ReportLine,
    ReportSection,
    TellerSummary,
    TellerSummaryRow,
    TellerSummaryTotal,
    TrialBalance,
    TrialBalanceLine,
)
from .signin import (
    EnrolledSignIn,
    FactorReset,
    GroupMapping,
    IdentityProvider,
    MfaEnrolment,
    OidcProvider,
    ProviderSession,
    SecondFactor,
    SsoSignIn,
)
from .standing import (
    StandingExecution,
    StandingInstruction,
    StandingInstructionView,
)
from .tenant import (
    Branch,
    Product,
    Tenant,
    TenantSettings,
)
from .transactions import (
    BatchItemError,
    BatchResult,
    BatchResults,
    Transaction,
    TransactionView,
)
from .webhooks import (
    Webhook,
    WebhookAttempt,
    WebhookDelivery,
)

__all__ = [
    "Account",
    "AccountView",
    "ApiKey",
    "ApprovalQueue",
    "ApprovalsView",
    "AuditEvent",
    "AuditVerification",
    "BalancePoint",
    "BalanceSheet",
    "BatchItemError",
    "BatchResult",
    "BatchResults",
    "Branch",
    "CashFigure",
    "Chart",
    "CloseBlocker",
    "CloseBlockers",
    "ClosedYear",
    "Customer",
    "EnrolledSignIn",
    "FactorReset",
    "FiscalPeriod",
    "GLAccount",
    "GLEntry",
    "GroupMapping",
    "Hold",
    "IdentityProvider",
    "IncomeMonth",
    "IncomeStatement",
    "Job",
    "Journal",
    "JournalLine",
    "JournalPeriod",
    "JournalTotal",
    "MfaEnrolment",
    "OidcProvider",
    "Page",
    "PeriodSnapshot",
    "Product",
    "ProviderSession",
    "ReportLine",
    "ReportSection",
    "RevokedSessions",
    "SecondFactor",
    "SnapshotLine",
    "SnapshotTotal",
    "SsoSignIn",
    "StandingExecution",
    "StandingInstruction",
    "StandingInstructionView",
    "Statement",
    "StatementLine",
    "StatementTotals",
    "TellerSummary",
    "TellerSummaryRow",
    "TellerSummaryTotal",
    "Tenant",
    "TenantSettings",
    "Transaction",
    "TransactionView",
    "TrialBalance",
    "TrialBalanceLine",
    "User",
    "UsersSummary",
    "Waiting",
    "Webhook",
    "WebhookAttempt",
    "WebhookDelivery",
]
