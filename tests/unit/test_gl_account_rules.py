"""The chart's rules for changing a GL account that need no database: each named check on
its own, with the refusal it answers (the API tests run them all through PATCH)."""

import uuid

import pytest

from app.core.errors import ApiError
from app.core.ledger.gl_accounts import (
    GLChange,
    check_code_never_changes,
    check_header_keeps_its_sub_accounts,
    check_header_takes_no_manual_entries,
    check_system_account_keeps_its_shape,
    check_system_only_role_takes_no_manual_lines,
)
from app.core.ledger.models import GLAccount

TENANT = uuid.uuid4()


def gl(code: str = "5200", **fields: object) -> GLAccount:
    values: dict[str, object] = {
        "tenant_id": TENANT,
        "code": code,
        "name": "Operating expenses",
        "category": "EXPENSE",
        "currency_code": "NGN",
    }
    values.update(fields)
    return GLAccount(**values)


def change(account: GLAccount, **fields: object) -> GLChange:
    values: dict[str, object] = {
        "account": account,
        "category": account.category,
        "is_header": account.is_header,
        "currency_code": account.currency_code,
        "parent_changes": False,
        "new_parent": None,
        "is_active": account.is_active,
        "allow_manual_entries": None,
    }
    values.update(fields)
    return GLChange(**values)  # type: ignore[arg-type]


def refused(check: object, *args: object) -> ApiError:
    with pytest.raises(ApiError) as caught:
        check(*args)  # type: ignore[operator]
    return caught.value


def test_a_code_never_changes_but_may_be_sent_as_it_is():
    account = gl("5200")
    check_code_never_changes(account, None)
    check_code_never_changes(account, " 5200 ")
    error = refused(check_code_never_changes, account, "5201")
    assert (error.code, error.details[0]["field"]) == ("VALIDATION_ERROR", "code")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"category": "LIABILITY"}, "category"),
        ({"currency_code": "USD"}, "currency_code"),
        ({"parent_changes": True}, "parent_id"),
        ({"is_header": True}, "is_header"),
        ({"is_active": False}, "is_active"),
    ],
)
def test_a_system_account_keeps_its_shape(fields: dict[str, object], field: str):
    cash = gl("1101-001", role="teller_cash", category="ASSET")
    check_system_account_keeps_its_shape(change(cash))  # a rename changes none of these
    error = refused(check_system_account_keeps_its_shape, change(cash, **fields))
    assert (error.code, error.details[0]["field"]) == ("INVALID_STATE", field)
    check_system_account_keeps_its_shape(change(gl(), **fields))  # a general account may


@pytest.mark.parametrize("role", ["control", "clearing"])
def test_control_and_clearing_accounts_take_no_manual_lines(role: str):
    account = gl("2101", role=role)
    check_system_only_role_takes_no_manual_lines(account, None)
    check_system_only_role_takes_no_manual_lines(account, False)
    error = refused(check_system_only_role_takes_no_manual_lines, account, True)
    assert error.code == "MANUAL_ENTRY_NOT_ALLOWED"
    check_system_only_role_takes_no_manual_lines(gl(role="teller_cash"), True)


def test_a_header_keeps_its_sub_accounts_until_they_move():
    header = gl("5000", is_header=True, allow_manual_entries=False)
    leaf = change(header, is_header=False)
    check_header_keeps_its_sub_accounts(leaf, [])
    error = refused(check_header_keeps_its_sub_accounts, leaf, [gl("5200")])
    assert (error.code, error.details[0]["field"]) == ("INVALID_STATE", "is_header")
    check_header_keeps_its_sub_accounts(change(header), [gl("5200")])  # stays a header


def test_a_header_cannot_allow_manual_entries():
    check_header_takes_no_manual_entries(True, None)
    check_header_takes_no_manual_entries(True, False)
    check_header_takes_no_manual_entries(False, True)
    error = refused(check_header_takes_no_manual_entries, True, True)
    assert error.code == "HEADER_ACCOUNT_NOT_POSTABLE"


def test_what_a_change_amounts_to():
    account = gl(is_active=True)
    assert change(account, is_active=False).deactivates
    assert not change(gl(is_active=False), is_active=False).deactivates
    assert change(account, category="ASSET").changes_category
    assert change(account, is_header=True).becomes_header
    assert change(gl(is_header=True), is_header=False).stops_being_header
    assert change(account, currency_code="USD").changes_currency
    assert not change(account).changes_currency
