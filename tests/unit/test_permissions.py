"""The role → scope table of roles.md."""

import itertools

from app.core.permissions import ROLES, has_role, highest_role, scopes_for_role


def test_roles_are_cumulative():
    assert ROLES == ("viewer", "teller", "officer", "manager", "admin")
    for lower, higher in itertools.pairwise(ROLES):
        assert set(scopes_for_role(lower)) < set(scopes_for_role(higher))


def test_scopes_by_role_match_the_spec():
    assert set(scopes_for_role("viewer")) == {
        "customers:read",
        "accounts:read",
        "transactions:read",
        "gl:read",
        "loans:read",
    }
    assert set(scopes_for_role("teller")) - set(scopes_for_role("viewer")) == {
        "transactions:write",
        "gl:write",
        "payments:initiate",
    }
    assert set(scopes_for_role("officer")) - set(scopes_for_role("teller")) == {
        "customers:write",
        "accounts:write",
        "payments:authorize",
        "loans:write",
    }
    assert set(scopes_for_role("manager")) - set(scopes_for_role("officer")) == {
        "loans:approve",
        "audit:read",
    }
    assert set(scopes_for_role("admin")) - set(scopes_for_role("manager")) == {"admin:full"}


def test_highest_role_and_minimums():
    assert highest_role(["teller", "viewer"]) == "teller"
    assert highest_role(["nonsense"]) == "none"
    assert has_role(("manager",), "officer")
    assert not has_role(("teller",), "officer")
    assert not has_role(("nonsense",), "viewer")
