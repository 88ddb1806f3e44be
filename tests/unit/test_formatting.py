"""Names and numbers as the console shows them."""

from decimal import Decimal

import pytest

from app.console.formatting import break_at_dots, money, with_article


def test_dotted_names_may_wrap_after_each_dot_and_underscore() -> None:
    assert str(break_at_dots("transaction.deposit_created")) == (
        "transaction.<wbr>deposit_<wbr>created"
    )


def test_dotted_names_are_escaped_before_the_break_chances_go_in() -> None:
    assert str(break_at_dots("<b>x</b>.y")) == "&lt;b&gt;x&lt;/b&gt;.<wbr>y"
    assert str(break_at_dots(None)) == ""


def test_money_has_thousands_separators_and_refuses_floats() -> None:
    assert money("1000000.00", "NGN") == "₦1,000,000.00"
    assert money(Decimal("-5.5"), "USD").startswith("−")
    with pytest.raises((TypeError, ValueError)):
        money(1.5, "NGN")


def test_articles_follow_the_sound_of_the_role() -> None:
    assert with_article("admin") == "an admin"
    assert with_article("teller") == "a teller"
