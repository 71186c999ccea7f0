"""The order flow's settings and mapping end to end (docs/orders.md, docs/mapping.md): company
and person debtors, update_customers, a default debtor that is not forced, shipping and
discount lines, foreign VAT codes and revenue accounts, the employee number, one refused
invoice in a batch and its replay. Same set-up as test_orders.py (whose helpers this reuses):
real Redis, kassaboek-sandbox, `kassaboek serve` and `kassaboek work`; every assertion is on the
documents the sandbox stored and on the dead letters."""
import json
import os
import subprocess
import time

import pytest

from conftest import SRCDIR, program
from test_orders import SLOW, env, order, xml_of  # noqa: F401  (env is a fixture)
from twinfield_soap import TwinfieldClient

MAPPING = os.path.join(SRCDIR, "conf", "mapping", "order.json")


def mapping_table(name):
    with open(MAPPING) as f:
        return json.load(f)["tables"][name]


def lookup(table, *keys):
    """A lookup in a mapping table the way docs/mapping.md describes it: '*' is the default."""
    v = table
    for k in keys:
        v = v[k] if k in v else v["*"]
    return v


def invoice_of(e, o):
    e.wait(lambda: e.invoices_of(o), what="the invoice of " + o["number"])
    [inv] = e.invoices_of(o)
    return xml_of(inv)


def debtor_of(e, inv):
    code = inv.find("header").findtext("customer")
    [deb] = [d for d in e.debtors() if d["code"] == code]
    return xml_of(deb)


def lines_of(inv):
    return inv.find("lines").findall("line")


def amount(s):
    return round(float(s), 2)


def sandbox_process(e, payload):
    """Writes a master through the sandbox's own ProcessXml, as an administrator would."""
    r = TwinfieldClient(e.sb.url).process(payload)
    assert r.status == 200 and 'result="1"' in r.result_text, r.body


def test_company_and_person_debtors_as_mapped(env):
    e = env()
    company = order(customer=None)
    company["customer"] = dict(order()["customer"], company="  Bakkerij Jansen BV ",
                               vat_number="nl 0012.34.567 b01", group="Business",
                               email="inkoop@bakkerij-jansen.example")
    person = order()
    e.send(company)
    e.send(person)
    cdeb = debtor_of(e, invoice_of(e, company))
    pdeb = debtor_of(e, invoice_of(e, person))
    groups = mapping_table("customer_group")

    assert cdeb.findtext("name") == "Bakkerij Jansen BV"
    [caddr] = cdeb.find("addresses").findall("address")
    assert caddr.findtext("name") == "Bakkerij Jansen BV"
    assert caddr.findtext("contact") == "Jan " + company["customer"]["last_name"]
    assert caddr.findtext("field4") == "NL001234567B01"
    assert caddr.findtext("email") == "inkoop@bakkerij-jansen.example"
    assert cdeb.findtext("groups/group") == groups["business"] == "ZAKELIJK"

    assert pdeb.findtext("name") == "Jan " + person["customer"]["last_name"]
    [paddr] = pdeb.find("addresses").findall("address")
    assert paddr.findtext("name") == pdeb.findtext("name")
    assert not paddr.findtext("contact")
    assert not paddr.findtext("field4")
    assert pdeb.findtext("groups/group") == groups["retail"] == "PARTICULIER"
    assert cdeb.findtext("code") != pdeb.findtext("code")
    assert e.dead() == []


@pytest.mark.parametrize("update", ["yes", "no"])
def test_returning_customer_with_new_address_updated_per_setting(env, update):
    e = env(orders={"update_customers": update})
    first = order()
    e.send(first)
    code = invoice_of(e, first).find("header").findtext("customer")
    e.wait_finished()
    moved = dict(first["billing_address"], street="Nieuwegracht", house_number="7",
                 house_number_addition="", postal_code="3512 LS")
    again = order(customer=first["customer"], billing_address=moved,
                  shipping_address=dict(moved))
    e.send(again)
    assert invoice_of(e, again).find("header").findtext("customer") == code
    e.wait_finished()
    [deb] = [d for d in e.debtors() if d["code"] == code]
    addr = xml_of(deb).find("addresses/address")
    if update == "yes":
        assert (addr.findtext("field2"), addr.findtext("postcode")) == ("Nieuwegracht 7", "3512 LS")
    else:
        assert (addr.findtext("field2"), addr.findtext("postcode")) == ("Dorpsstraat 12a", "3511 AB")
    assert len(e.debtors()) == 4 + 1
    assert e.dead() == []


def test_default_debtor_not_forced_only_for_orders_without_email(env):
    e = env(orders={"default_debtor": "1003"})
    anonymous = order(customer=None)
    no_email = order()
    no_email["customer"] = {k: v for k, v in no_email["customer"].items() if k != "email"}
    known = order()
    for o in (anonymous, no_email, known):
        e.send(o)
    assert invoice_of(e, anonymous).find("header").findtext("customer") == "1003"
    assert invoice_of(e, no_email).find("header").findtext("customer") == "1003"
    kcode = invoice_of(e, known).find("header").findtext("customer")
    assert kcode not in ("1003", "1000", "1001", "1002")
    dx = debtor_of(e, invoice_of(e, known))
    assert dx.find("addresses/address").findtext("email") == known["customer"]["email"]
    assert e.dead() == []


def test_shipping_line_discount_and_order_discount_are_own_lines(env):
    e = env()
    ship = lookup(mapping_table("shipping_article"), "postnl")
    disc = "9100"                      # vars.discount_article of the mapping
    sandbox_process(e, "<article><header><office>001</office><code>%s</code><type>normal</type>"
                       "<name>Verzending PostNL</name><vatcode>VH</vatcode>"
                       "<allowchangevatcode>true</allowchangevatcode>"
                       "<allowchangeunitsprice>true</allowchangeunitsprice></header>"
                       "<lines><line><subcode></subcode><name>Verzending PostNL</name>"
                       "<units>1</units><unitspriceexcl>5.74</unitspriceexcl></line></lines>"
                       "</article>" % ship)
    o = order(lines=[{"sku": "1001", "description": "Koffie", "quantity": 2,
                      "unit_price_incl_tax": 13.63, "tax_rate": 9, "discount_incl_tax": 2.18},
                     {"sku": "9000", "description": "Mok", "quantity": 1,
                      "unit_price_incl_tax": 12.10, "tax_rate": 21}],
              shipping={"method": " PostNL ", "cost_incl_tax": 6.95, "tax_rate": 21},
              discounts=[{"code": "WELKOM5", "amount_incl_tax": 5.00},
                         {"code": "NUL", "amount_incl_tax": 0}])
    e.send(o)
    inv = invoice_of(e, o)
    lines = [(l.findtext("article"), l.findtext("quantity"), amount(l.findtext("valueinc")),
              l.findtext("vatcode"), l.findtext("description")) for l in lines_of(inv)]
    assert lines == [
        ("1001", "2", 27.25, "VL", "Koffie"),
        ("9000", "1", 12.10, "VH", "Mok"),
        (disc, "1", -2.18, "VL", "Korting Koffie"),
        (ship, "1", 6.95, "VH", "Verzendkosten PostNL"),
        (disc, "1", -5.00, "VL", "Kortingscode WELKOM5"),   # at the first line's rate
    ]
    assert amount(inv.findtext("totals/valueinc")) == 39.12
    assert amount(inv.findtext("totals/valueinc")) == 39.12
    assert e.dead() == []


def test_foreign_country_vat_code_and_revenue_account_from_tables(env):
    e = env()
    vat, rev = mapping_table("vat_code"), mapping_table("revenue_account")
    orders = {}
    for country in ("DE", "US"):
        addr = {"street": "Hauptstrasse", "house_number": "5", "postal_code": "50667",
                "city": "Koeln", "country": country.lower()}
        orders[country] = order(shipping_address=addr, billing_address=dict(addr), lines=[
            {"sku": "1001", "description": "Koffie", "quantity": 1, "unit_price_incl_tax": 13.63,
             "tax_rate": 9},
            {"sku": "9000", "description": "Mok", "quantity": 1, "unit_price_incl_tax": 12.10,
             "tax_rate": 21}])
        e.send(orders[country])
    for country, o in orders.items():
        got = [(l.findtext("vatcode"), l.findtext("dim1")) for l in lines_of(invoice_of(e, o))]
        want = [(lookup(vat, country, r), lookup(rev, country)) for r in ("9", "21")]
        assert got == want, country
    # the tables give the foreign accounts, not the office's default revenue account 8000
    assert lookup(rev, "DE") == "8100" and lookup(rev, "US") == "8200"
    dx = debtor_of(e, invoice_of(e, orders["DE"]))
    assert dx.find("addresses/address").findtext("country") == "DE"
    assert e.dead() == []


def test_employee_number_order_else_setting(env):
    e = env(orders={"employee_number": "4711"})
    own = order(employee_number=12)
    blank = order(employee_number=" ")
    none = order()                      # employee_number null
    for o in (own, blank, none):
        e.send(o)
    assert invoice_of(e, own).find("header").findtext("footertext") == "Medewerker 12"
    assert invoice_of(e, none).find("header").findtext("footertext") == "Medewerker 4711"
    assert invoice_of(e, blank).find("header").findtext("footertext") == "Medewerker 4711"


def bad_and_good_batch(e, n_good=3):
    bad = order(custom_fields={"cost_center": "kp999"})
    good = [order() for _ in range(n_good)]
    for o in [good[0], bad] + good[1:]:
        e.send(o)
    return bad, good


def test_refused_invoice_in_batch_dead_letters_only_that_order(env):
    e = env(twinfield={"batch_window": "400ms"})
    bad, good = bad_and_good_batch(e)
    e.wait(lambda: all(e.invoices_of(o) for o in good), what="the good invoices")
    e.wait(lambda: e.dead(), what="the dead letter")
    e.wait_finished()
    # one salesinvoices request carried the refused invoice and (some of) its neighbours
    batches = [r for r in e.sb.requests() if r["root"] == "salesinvoices"
               and bad["number"] in (r.get("xml") or "")]
    assert batches and any(g["number"] in batches[0]["xml"] for g in good), \
        [r["root"] for r in e.sb.requests()]
    [(_, d)] = e.dead()
    assert d["kind"] == "permanent" and d["step"] == "book"
    assert "KP999" in d["message"] and "KP999" in d["reason"]
    assert json.loads(d["body"])["data"]["id"] == bad["id"]
    assert e.invoices_of(bad) == []
    assert all(len(e.invoices_of(o)) == 1 for o in good)


def test_replay_all_dead_after_fixing_books_once(env):
    e = env(twinfield={"batch_window": "200ms"})
    bad, good = bad_and_good_batch(e, n_good=1)
    e.wait(lambda: e.dead() and e.invoices_of(good[0]), what="the dead letter and the invoice")
    e.wait_finished()
    assert e.invoices_of(bad) == []
    sandbox_process(e, "<dimension><office>001</office><type>KPL</type><code>KP999</code>"
                       "<name>Pop-up store</name></dimension>")
    r = subprocess.run([program("kassaboek"), "-c", e.conf, "replay", "--all-dead"],
                       capture_output=True, text=True, timeout=30 * SLOW)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("replayed ") == 1, r.stdout
    inv = invoice_of(e, bad)
    assert inv.find("lines/line").findtext("dim2") == "KP999"
    e.wait_finished()
    time.sleep(0.5)
    assert len(e.invoices_of(bad)) == 1 and len(e.invoices_of(good[0])) == 1
    assert e.dead() == []
    # nothing left to replay, nothing booked twice by a second run
    r = subprocess.run([program("kassaboek"), "-c", e.conf, "replay", "--all-dead"],
                       capture_output=True, text=True, timeout=30 * SLOW)
    assert r.returncode == 0 and "replayed" not in r.stdout
    time.sleep(0.3)
    assert len(e.invoices_of(bad)) == 1
