"""The success answer of each operation, by model (the document's 2xx schemas).

Keyed like the role matrix; an operation not listed here is documented by Litestar from
its handler (a generic object for the handlers that still build dicts). The contract tests
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
from app.core.customers.responses import Customer, CustomerDetail, CustomerPage
from app.core.transactions.responses import BatchResult, Transaction, TransactionPage

ANSWERS: dict[tuple[str, str], type[Any]] = {
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
}
