"""The console's one table of words for the core's (field, code) refusals."""

from app.console.reasons import ANY, WORDS, detail_words, words_for
from app.core.detail_codes import DetailCode


def test_every_code_in_the_table_is_one_the_core_sends():
    # A typo in the table would never match; the core's list is the vocabulary.
    known = {code.value for code in DetailCode}
    assert {code for _field, code in WORDS} <= known


def test_a_fields_own_words_come_before_the_words_for_any_field():
    assert words_for("email", "duplicate", "already exists") == (
        "A staff user with this email already exists."
    )
    assert words_for("name", "duplicate", "already exists") == (
        "This name is already used; choose another."
    )
    assert ("email", "duplicate") in WORDS and (ANY, "duplicate") in WORDS


def test_words_carry_the_label_and_the_bound_the_reason_names():
    assert words_for("last_name", "required", "required") == "Enter the last name."
    assert words_for("name", "too_long", "at most 200 characters") == (
        "This is too long (at most 200 characters)."
    )
    assert words_for("password", "too_short", "at least 12 characters") == (
        "Use at least 12 characters."
    )
    assert words_for("scopes", "empty_list", "at least 1 item") == "Choose at least one scope."


def test_a_code_the_console_does_not_know_keeps_the_cores_reason():
    assert words_for("alias", "brand_new_code", "must not look like that") == (
        "Alias: must not look like that."
    )
    assert words_for("first_name", None, "") == "First name: not accepted."


def test_the_english_reason_never_decides_the_words():
    # Same code, different English: same words; same English, different code: different.
    assert words_for("amount", "not_positive", "x") == words_for("amount", "not_positive", "y")
    assert words_for("amount", "too_large", "z") != words_for("amount", "not_positive", "z")


def test_a_detail_is_read_under_the_name_its_form_gives_it():
    detail = {"field": "roles", "code": "self_demotion", "reason": "cannot demote yourself"}
    assert detail_words(detail, "role") == (
        "You can't take the admin role away from yourself; ask another admin."
    )
    assert detail_words({"field": "phone", "code": "contact_required", "reason": "r"}) == (
        "Enter a phone number or an email address (at least one of them)."
    )


def test_a_same_branch_inter_branch_transfer_says_which_transfer_to_use():
    detail = {
        "field": "destination_account_id",
        "code": "same_branch",
        "reason": "in the same branch",
        "value": "001",
    }
    assert detail_words(detail) == (
        "Both accounts are in the same branch; use a transfer within the branch."
    )
