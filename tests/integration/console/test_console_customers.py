"""Customers in the console: live search, detail, create with the core's validation shown
by each field, idempotent double submits, the action log, and escaping (real core, HTTP)."""

import re

from console_helpers import csrf_from
from test_console_accounts_support import (
    CUSTOMER_LINK,
    action_log,
    create_customer,
    key_from,
    signed_in,
    submit,
    unique,
)


async def test_search_by_name_phone_email_and_number(browser):
    await signed_in(browser, "viewer@demo.bank")
    page = await browser.get("/customers")
    assert page.status_code == 200
    assert "<title>Customers · Branchdesk</title>" in page.text
    assert '<label class="field__label" for="customer-q">Search customers</label>' in page.text
    assert 'hx-trigger="input changed delay:300ms, search"' in page.text
    assert "Vary" in page.headers and "HX-Request" in page.headers["vary"]

    by_name = await browser.get("/customers", params={"q": "adaeze"})
    assert "Adaeze Okafor" in by_name.text and "Bola Adeyemi" not in by_name.text
    by_phone = await browser.get("/customers", params={"q": "+2348030000002"})
    assert "Bola Adeyemi" in by_phone.text and "Adaeze Okafor" not in by_phone.text
    by_email = await browser.get("/customers", params={"q": "chinedu@example"})
    assert "Chinedu Eze" in by_email.text
    number = re.search(r'class="mono">(CUS\d+)<', by_email.text)
    assert number
    by_number = await browser.get("/customers", params={"q": number.group(1)})
    assert "Chinedu Eze" in by_number.text
    nothing = await browser.get("/customers", params={"q": "zz-no-such-person"})
    assert "No customer matches" in nothing.text


async def test_live_search_answers_with_the_results_fragment(browser):
    await signed_in(browser, "viewer@demo.bank")
    response = await browser.get(
        "/customers", params={"q": "okafor"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section id="customer-results"')
    assert "<html" not in response.text and "sidenav" not in response.text
    assert "Adaeze Okafor" in response.text
    assert response.headers["vary"] == "HX-Request"
    # A boosted navigation to the same URL is a whole page.
    boosted = await browser.get(
        "/customers", params={"q": "okafor"}, headers={"HX-Request": "true", "HX-Boosted": "true"}
    )
    assert "<html" in boosted.text


async def test_results_page_with_the_cores_cursor(browser):
    await signed_in(browser)
    tag = unique("Pager")
    for n in range(27):
        await create_customer(browser, first_name=f"{tag}{n:02d}")
    first = await browser.get("/customers", params={"q": tag.lower()})
    names = re.findall(rf">({tag}\d\d) Tester<", first.text)
    assert len(names) == 25
    next_link = re.search(r'href="(/customers\?q=[^"]+&amp;cursor=[^"]+)"', first.text)
    assert next_link, "no Load more link"
    url = next_link.group(1).replace("&amp;", "&")
    # Without JavaScript: the next page, with a way back.
    second = await browser.get(url)
    rest = re.findall(rf">({tag}\d\d) Tester<", second.text)
    assert len(rest) == 2 and not set(rest) & set(names)
    assert "Back to the first page" in second.text
    # With htmx: only the rows to append.
    rows = await browser.get(url, headers={"HX-Request": "true"})
    assert rows.text.lstrip().startswith("<tr>")
    assert "<table" not in rows.text and "Load more" not in rows.text
    assert sorted(names + rest) == [f"{tag}{n:02d}" for n in range(27)]


async def test_customer_page_lists_their_accounts(browser):
    await signed_in(browser, "viewer@demo.bank")
    found = await browser.get("/customers", params={"q": "adaeze"})
    customer_id = CUSTOMER_LINK.search(found.text).group(1)  # type: ignore[union-attr]
    page = await browser.get(f"/customers/{customer_id}")
    assert page.status_code == 200
    html = page.text
    assert '<h1 class="page-head__title">Adaeze Okafor</h1>' in html
    assert "+2348030000001" in html
    assert 'class="badge badge--status badge--active">Active<' in html
    assert re.search(r'<td class="num">₦[\d,]+\.\d\d</td>', html)
    # A viewer sees no way to open an account or create a customer.
    assert "Open account" not in html
    assert "New customer" not in (await browser.get("/customers")).text
    assert (await browser.get("/customers/new")).status_code == 403
    missing = await browser.get("/customers/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
    assert "We could not find that customer." in missing.text


async def test_create_shows_every_core_validation_error_by_its_field(browser, settings):
    await signed_in(browser)
    form = await browser.get("/customers/new")
    assert form.status_code == 200
    for label in ("First name", "Last name", "Company name", "Phone", "Email", "Date of birth"):
        assert f">{label}</label>" in form.text
    key = key_from(form.text)
    token = csrf_from(form.text)
    bad = await browser.post(
        "/customers",
        data={
            "_csrf_token": token,
            "idempotency_key": key,
            "customer_type": "INDIVIDUAL",
            "first_name": "Kemi",
            "email": "not-an-email",
            "phone": "call me",
        },
    )
    assert bad.status_code == 400
    html = bad.text
    assert "Some details need attention" in html
    email = html[html.index('id="field-email"') :]
    assert email.index("Enter an email address like name@example.com.") < 600
    assert "Enter a phone number with digits" in html
    assert 'value="Kemi"' in html  # what was typed is kept
    assert key_from(html) == key  # the same key: nothing was stored under it

    missing = await browser.post(
        "/customers",
        data={
            "_csrf_token": token,
            "idempotency_key": key,
            "customer_type": "INDIVIDUAL",
            "first_name": "Kemi",
        },
    )
    assert missing.status_code == 400
    assert "Enter the last name." in missing.text
    assert "Enter a phone number or an email address" in missing.text
    rows = await action_log(settings, key)
    assert rows and all(r.action == "customer.create" for r in rows)
    assert {r.outcome for r in rows} == {"failure"}
    assert {r.error_code for r in rows} == {"VALIDATION_ERROR"}

    corporate = await browser.post(
        "/customers",
        data={
            "_csrf_token": token,
            "idempotency_key": key,
            "customer_type": "CORPORATE",
            "email": "ops@example.com",
        },
    )
    assert corporate.status_code == 400
    assert "Enter the company name." in corporate.text


async def test_create_redirects_to_the_customer_and_a_double_submit_creates_once(browser, settings):
    await signed_in(browser)
    name = unique("Amaka")
    fields = {
        "customer_type": "INDIVIDUAL",
        "first_name": name,
        "last_name": "Obi",
        "email": f"{name.lower()}@example.com",
        "date_of_birth": "1991-05-17",
        "address": "12 Marina, Lagos",
    }
    form = await browser.get("/customers/new")
    data = {"_csrf_token": csrf_from(form.text), "idempotency_key": key_from(form.text), **fields}
    first = await browser.post("/customers", data=data)
    again = await browser.post("/customers", data=data)  # the double click
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    page = await browser.get(first.headers["location"])
    assert f"{name} Obi" in page.text
    assert "Customer created." in page.text
    assert "Friday 17 May 1991" in page.text
    assert 'href="/accounts/new?customer_id=' in page.text  # officers may open an account
    found = await browser.get("/customers", params={"q": name.lower()})
    assert found.text.count(f"{name} Obi") == 1
    rows = await action_log(settings, data["idempotency_key"])
    assert [r.outcome for r in rows] == ["success", "success"]
    assert rows[0].action == "customer.create"
    assert rows[0].user_email == "officer@demo.bank" and rows[0].role == "officer"
    assert rows[0].target == "customer:" + first.headers["location"].split("/")[2].split("?")[0]


async def test_corporate_customer(browser):
    await signed_in(browser)
    company = unique("Ikoyi Traders ")
    response = await submit(
        browser,
        "/customers/new",
        "/customers",
        {"customer_type": "CORPORATE", "company_name": company, "phone": "+234 1 555 0100"},
    )
    assert response.status_code == 303
    page = await browser.get(response.headers["location"])
    assert "Corporate customer of branch 001" in page.text
    assert company in page.text


async def test_hostile_names_are_shown_as_text(browser):
    await signed_in(browser)
    script = "<script>alert(1)</script>"
    img = '"><img src=x onerror=alert(1)>'
    customer_id = await create_customer(browser, first_name=script, last_name=img)
    company = await submit(
        browser,
        "/customers/new",
        "/customers",
        {"customer_type": "CORPORATE", "company_name": img + script, "email": "x@example.com"},
    )
    assert company.status_code == 303
    pages = [
        await browser.get(f"/customers/{customer_id}"),
        await browser.get("/customers", params={"q": "alert(1)"}),
        await browser.get("/customers", params={"q": "alert(1)"}, headers={"HX-Request": "true"}),
        await browser.get(company.headers["location"]),
    ]
    for page in pages:
        assert page.status_code == 200
        assert "<script>alert(1)" not in page.text
        assert "<img src=x" not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
        assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in page.text
    # Typed back into a form after an error, it stays an attribute value.
    again = await browser.post(
        "/customers",
        data={
            "_csrf_token": csrf_from(pages[0].text),
            "idempotency_key": "console-test-" + unique("k"),
            "customer_type": "INDIVIDUAL",
            "first_name": img,
        },
    )
    assert again.status_code == 400
    assert 'value="&#34;&gt;&lt;img src=x onerror=alert(1)&gt;"' in again.text
