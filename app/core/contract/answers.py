"""The success answer of each operation, by model (the document's 2xx schemas).

Keyed like the role matrix. The operations that answer 204 with no body are in
``NO_BODY``; ``/metrics`` answers Prometheus text; every other operation is in ``ANSWERS``
(the document test checks that nothing is left out). The contract tests
convert real answers into these models (unknown members refused), and schemathesis
checks every answer it gets against them.
"""

from typing import Any

from app.core.accounts.responses import (
    Account,
    AccountDetail,
    AccountPage,
    Hold,
    OpenedAccount,
    Products,
    Statement,
)
from app.core.admin.responses import (
    ApiKey,
    ApiKeyPage,
    FactorReset,
    Revoked,
    SecondFactor,
    StaffPage,
    StaffSummary,
    StaffUser,
)
from app.core.audit.responses import AuditPage, AuditVerification
from app.core.auth.responses import (
    Caller,
    EnrolledSession,
    MfaEnrolment,
    OidcProvider,
    SsoSession,
    TokenPair,
    VerifiedSession,
)
from app.core.contract.operational import Health, Jwks, Readiness
from app.core.customers.responses import Customer, CustomerDetail, CustomerPage
from app.core.jobs.responses import JobRun
from app.core.journals.responses import Journal, JournalPage
from app.core.ledger.responses import Chart, GLAccount, GLEntryPage
from app.core.periods.responses import (
    CloseBlockers,
    ClosedYear,
    FiscalPeriod,
    FiscalPeriodPage,
    FiscalYear,
)
from app.core.reports.responses import (
    BalanceSheet,
    IncomeStatement,
    TellerSummary,
    TrialBalance,
)
from app.core.standing.responses import (
    ExecutionPage,
    StandingInstruction,
    StandingInstructionPage,
)
from app.core.tenants.responses import Branch, Branches, IdentityProvider, Tenant
from app.core.transactions.responses import BatchResult, Transaction, TransactionPage
from app.core.views.responses import AccountView, ApprovalsView, LabelledTransaction, Waiting
from app.core.webhooks.responses import Delivery, DeliveryPage, Webhook, WebhookPage

ANSWERS: dict[tuple[str, str], type[Any]] = {
    ("GET", "/health"): Health,
    ("GET", "/ready"): Readiness,
    ("GET", "/.well-known/jwks.json"): Jwks,
    ("GET", "/tenant"): Tenant,
    ("PUT", "/tenant/settings"): Tenant,
    ("GET", "/branches"): Branches,
    ("POST", "/branches"): Branch,
    ("GET", "/users"): StaffPage,
    ("POST", "/users"): StaffUser,
    ("GET", "/users/summary"): StaffSummary,
    ("GET", "/users/{user_id}"): StaffUser,
    ("PATCH", "/users/{user_id}"): StaffUser,
    ("POST", "/users/{user_id}/unlock"): StaffUser,
    ("POST", "/users/{user_id}/revoke-sessions"): Revoked,
    ("GET", "/api-keys"): ApiKeyPage,
    ("POST", "/api-keys"): ApiKey,
    ("GET", "/fiscal-periods"): FiscalPeriodPage,
    ("POST", "/fiscal-periods"): FiscalPeriod,
    ("GET", "/fiscal-periods/current"): FiscalPeriod,
    ("GET", "/fiscal-periods/{period_id}"): FiscalPeriod,
    ("GET", "/fiscal-periods/{period_id}/close-blockers"): CloseBlockers,
    ("POST", "/fiscal-periods/year/{year}"): FiscalYear,
    ("POST", "/fiscal-periods/{period_id}/close"): FiscalPeriod,
    ("POST", "/fiscal-periods/year/{year}/close"): ClosedYear,
    ("POST", "/customers"): Customer,
    ("GET", "/customers"): CustomerPage,
    ("GET", "/customers/{customer_id}"): CustomerDetail,
    ("POST", "/accounts"): OpenedAccount,
    ("GET", "/accounts"): AccountPage,
    ("GET", "/accounts/by-number/{account_number}"): AccountDetail,
    ("GET", "/accounts/{account_id}"): AccountDetail,
    ("GET", "/accounts/{account_id}/transactions"): Statement,
    ("POST", "/accounts/{account_id}/freeze"): Account,
    ("POST", "/accounts/{account_id}/unfreeze"): Account,
    ("POST", "/accounts/{account_id}/close"): Account,
    ("POST", "/accounts/{account_id}/holds"): Hold,
    ("DELETE", "/accounts/{account_id}/holds/{hold_id}"): Hold,
    ("GET", "/products"): Products,
    ("POST", "/deposits"): Transaction,
    ("POST", "/withdrawals"): Transaction,
    ("POST", "/transfers/internal"): Transaction,
    ("POST", "/transfers/inter-branch"): Transaction,
    ("POST", "/transfers/batch"): BatchResult,
    ("POST", "/transactions/{transaction_id}/approve"): Transaction,
    ("POST", "/transactions/{transaction_id}/reject"): Transaction,
    ("GET", "/transactions"): TransactionPage,
    ("GET", "/transactions/{id_or_ref}"): Transaction,
    ("POST", "/standing-instructions"): StandingInstruction,
    ("GET", "/standing-instructions"): StandingInstructionPage,
    ("GET", "/standing-instructions/{instruction_id}"): StandingInstruction,
    ("POST", "/standing-instructions/{instruction_id}/approve"): StandingInstruction,
    ("POST", "/standing-instructions/{instruction_id}/cancel"): StandingInstruction,
    ("GET", "/standing-instructions/{instruction_id}/executions"): ExecutionPage,
    ("POST", "/webhooks"): Webhook,
    ("GET", "/webhooks"): WebhookPage,
    ("GET", "/webhooks/{webhook_id}"): Webhook,
    ("PATCH", "/webhooks/{webhook_id}"): Webhook,
    ("GET", "/webhooks/{webhook_id}/deliveries"): DeliveryPage,
    ("POST", "/webhooks/{webhook_id}/deliveries/{delivery_id}/retry"): Delivery,
    ("GET", "/gl/accounts"): Chart,
    ("POST", "/gl/accounts"): GLAccount,
    ("GET", "/gl/accounts/{gl_account_id}"): GLAccount,
    ("PATCH", "/gl/accounts/{gl_account_id}"): GLAccount,
    ("GET", "/gl/accounts/{gl_account_id}/entries"): GLEntryPage,
    ("POST", "/journals"): Journal,
    ("GET", "/journals"): JournalPage,
    ("GET", "/journals/{journal_id}"): Journal,
    ("POST", "/journals/{journal_id}/approve"): Journal,
    ("POST", "/journals/{journal_id}/reject"): Journal,
    ("POST", "/journals/{journal_id}/post"): Journal,
    ("POST", "/journals/{journal_id}/reverse"): Journal,
    ("POST", "/jobs/standing-instructions/trigger"): JobRun,
    ("GET", "/audit-logs"): AuditPage,
    ("GET", "/audit-logs/verify"): AuditVerification,
    ("GET", "/reports/trial-balance"): TrialBalance,
    ("GET", "/reports/balance-sheet"): BalanceSheet,
    ("GET", "/reports/income-statement"): IncomeStatement,
    ("GET", "/reports/teller-summary"): TellerSummary,
    ("GET", "/views/accounts/{account_id}"): AccountView,
    ("GET", "/views/approvals"): ApprovalsView,
    ("GET", "/views/approvals/waiting"): Waiting,
    ("GET", "/views/transactions/{id_or_ref}"): LabelledTransaction,
    ("POST", "/auth/login"): TokenPair,
    ("POST", "/auth/token"): TokenPair,
    ("POST", "/auth/refresh"): TokenPair,
    ("GET", "/auth/me"): Caller,
    ("POST", "/auth/mfa/verify"): VerifiedSession,
    ("POST", "/auth/mfa/enrol"): MfaEnrolment,
    ("POST", "/auth/mfa/enrol/confirm"): EnrolledSession,
    ("GET", "/auth/oidc/provider"): OidcProvider,
    ("POST", "/auth/oidc/token"): SsoSession,
    ("GET", "/tenant/identity-provider"): IdentityProvider,
    ("PUT", "/tenant/identity-provider"): IdentityProvider,
    ("GET", "/users/{user_id}/second-factor"): SecondFactor,
    ("POST", "/users/{user_id}/second-factor/reset"): FactorReset,
    ("POST", "/users/{user_id}/second-factor/reset/approve"): FactorReset,
    ("POST", "/users/{user_id}/second-factor/reset/cancel"): FactorReset,
}

# Done, nothing to say: 204 and no body.
NO_BODY: frozenset[tuple[str, str]] = frozenset(
    {
        ("POST", "/auth/logout"),
        ("DELETE", "/api-keys/{key_id}"),
        ("DELETE", "/webhooks/{webhook_id}"),
        ("DELETE", "/tenant/identity-provider"),
    }
)
