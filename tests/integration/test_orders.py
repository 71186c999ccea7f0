"""The order flow (docs/orders.md) end to end: signed webhooks into a real
`kassaboek serve`, a real `kassaboek work`, a private Redis and the Twinfield
sandbox; every assertion is on the documents the sandbox stored, on its
request log (credits), on the dead letters and on the caches in Redis."""
import copy
import json
import os
import re
import signal
import time
import uuid
import xml.etree.ElementTree as ET

import pytest

from conftest import SRCDIR, program
from kbclient import Serve
from twinfield_soap import start_sandbox

P = "{kb}:"
SLOW = 10 if os.environ.get("KB_VALGRIND") == "1" else 1

WORKER = {"processes": 1, "concurrency": 32, "max_attempts": 6, "backoff_base": "100ms",
          "backoff_max": "400ms", "visibility_timeout": "2s", "leader_ttl": "1s",
          "shutdown_timeout": "5s", "job_timeout": "20s"}


def wait_until(fn, timeout=15.0, what="condition"):
    deadline = time.monotonic() + timeout * SLOW
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def order(oid=None, email=None, lines=None, **kw):
    """A modeled AsPos order (shared/reference/aspos-api.md) that fits the sandbox seed."""
    oid = oid or "O" + uuid.uuid4().hex[:10]
    o = {"id": oid, "number": "K1-" + oid, "status": "completed",
         "created_at": "2026-12-04T10:15:00Z", "currency": "EUR", "employee_number": None,
         "store_id": "9", "register_id": "K1",
         "customer": {"id": "C-" + oid, "email": email or ("%s@example.nl" % oid.lower()),
                      "first_name": "Jan", "last_name": "Jansen " + oid, "phone": "+31301234567",
                      "group": "retail", "custom_fields": {"loyalty": "gold"}},
         "billing_address": {"street": "Dorpsstraat", "house_number": "12",
                             "house_number_addition": "a", "postal_code": "3511 AB",
                             "city": "Utrecht", "country": "NL"},
         "shipping_address": {"street": "Dorpsstraat", "house_number": "12",
                              "house_number_addition": "a", "postal_code": "3511 AB",
                              "city": "Utrecht", "country": "NL"},
         "lines": lines if lines is not None else [
             {"sku": "1001", "description": "Mok wit", "quantity": 2,
              "unit_price_incl_tax": 12.10, "unit_price_excl_tax": 10.00, "tax_rate": 21.0}],
         "payments": [{"method": "pin", "amount": 24.20}],
         "payment_terms": "direct",
         "custom_fields": {"cost_center": "KP100"}}
    o.update(kw)
    return o


def xml_of(obj):
    return ET.fromstring(obj["xml"])


class Env:
    """Redis + sandbox + serve + work, with the settings of one test."""

    def __init__(self, programs, workdir, redis_server, orders=None, twinfield=None, worker=None,
                 sandbox_args=(), start_worker=True, mapping=None):
        self.programs = programs
        self.workdir = workdir
        self.redis = redis_server.client
        self.sb = start_sandbox(programs, workdir, *sandbox_args)
        tw = {"login_url": self.sb.url, "client_id": "sandbox-client",
              "client_secret": "sandbox-secret", "refresh_token": "sandbox-refresh-token",
              "office": "001", "credits_per_minute": 100000, "max_concurrency": 10,
              "batch_window": "50ms", "request_timeout": "2s"}
        tw.update(twinfield or {})
        wk = dict(WORKER)
        wk.update(worker or {})
        od = {"mapping": mapping or os.path.join(SRCDIR, "conf", "mapping", "order.json")}
        od.update(orders or {})
        extra = "max_body = 256k\n"
        for name, sect in (("worker", wk), ("twinfield", tw), ("orders", od)):
            extra += "[%s]\n" % name + "".join("%s = %s\n" % kv for kv in sect.items())
        self.serve = Serve(programs, workdir, redis_server.url, extra=extra)
        self.conf = self.serve.conf
        self.work = self.start_worker() if start_worker else None

    def start_worker(self, name="work"):
        return self.programs([program("kassaboek"), "-c", self.conf, "work"], self.workdir,
                             name=name)

    def send(self, data, etype="order.completed", eid=None):
        eid = eid or "evt_" + uuid.uuid4().hex
        ev = {"id": eid, "type": etype, "created_at": "2026-12-04T10:15:00Z", "store_id": "1",
              "data": data}
        status, _, body = self.serve.send(ev)
        assert status in (200, 202), (status, body)
        return eid

    def invoices(self, itype=None):
        objs = self.sb.objects(office="001", type="salesinvoice")
        return [o for o in objs if itype is None or o["code"].startswith(itype + "/")]

    def invoices_of(self, o):
        return [i for i in self.invoices() if ("AsPos order " + o["number"]) in i["xml"]]

    def debtors(self):
        return self.sb.objects(office="001", type="DEB")

    def dead(self):
        return self.redis.xrange(P + "dead")

    def finished(self):
        """Nothing queued, pending, retrying or parked."""
        r = self.redis
        try:
            pending = r.xpending(P + "events", "workers")["pending"]
        except Exception:
            return False
        return (r.xlen(P + "events") == 0 and pending == 0 and r.zcard(P + "retry") == 0
                and r.hlen(P + "live") == 0)

    def wait_finished(self, timeout=20):
        wait_until(self.finished, timeout, "the queue to drain")

    def diag(self):
        out = "dead letters: %r\n" % self.dead()
        if self.work is not None:
            out += "work log:\n" + self.work.output()[-6000:]
        return out

    def wait(self, fn, timeout=15.0, what="condition"):
        try:
            return wait_until(fn, timeout, what)
        except AssertionError as ex:
            raise AssertionError(str(ex) + "\n" + self.diag())

    def credits(self):
        return sum(r["credits"] for r in self.sb.requests())

    def stats(self):
        return self.redis.hgetall(P + "orders:stats")


@pytest.fixture
def env(programs, workdir, redis_server):
    made = []

    def make(**kw):
        e = Env(programs, workdir, redis_server, **kw)
        made.append(e)
        return e
    return make


def test_completed_order_becomes_final_invoice(env):
    e = env()
    o = order()
    e.send(o)
    e.wait(lambda: e.invoices_of(o), what="the invoice")
    e.wait_finished()
    [inv] = e.invoices_of(o)
    x = xml_of(inv)
    h = x.find("header")
    assert h.findtext("status") == "final"
    assert h.findtext("invoicetype") == "FACTUUR"
    assert h.findtext("headertext") == "AsPos order " + o["number"]
    assert h.findtext("paymentmethod") == "bank"
    assert h.findtext("invoicedate") == "20261204"
    [line] = x.find("lines").findall("line")
    assert line.findtext("article") == "1001"
    assert line.findtext("quantity") == "2"
    assert line.findtext("vatcode") == "VH"
    assert line.findtext("dim1") == "8000"
    assert line.findtext("dim2") == "KP100"
    assert line.findtext("dim3") == "P0001"
    assert line.findtext("freetext2") == o["number"]
    # a new person debtor, found again by its e-mail address
    code = h.findtext("customer")
    deb = [d for d in e.debtors() if d["code"] == code][0]
    dx = xml_of(deb)
    assert dx.findtext("name") == "Jan Jansen " + o["id"]
    assert dx.find("addresses/address").findtext("email") == o["customer"]["email"]
    assert e.redis.hget(P + "cache:debtor", o["customer"]["email"]) == code
    assert e.dead() == []


def test_batching_and_caches_returning_customers_cost_no_lookups(env):
    e = env()
    first = [order() for _ in range(10)]
    for o in first:
        e.send(o)
    e.wait(lambda: len(e.invoices()) == 10, what="10 invoices")
    e.wait_finished()
    reqs = e.sb.requests()
    writes = [r for r in reqs if r["root"] == "salesinvoices"]
    assert len(writes) <= 3, [r["root"] for r in reqs]    # batched, not one request each
    # the same customers again, known products: no search, no read, only invoice batches
    since = len(reqs)
    again = [order(email=o["customer"]["email"], customer=o["customer"]) for o in first]
    for o in again:
        e.send(o)
    e.wait(lambda: len(e.invoices()) == 20, what="20 invoices")
    e.wait_finished()
    later = e.sb.requests()[since:]
    roots = [r["root"] for r in later if r["credits"] > 0]
    assert set(roots) <= {"salesinvoices"}, roots
    assert sum(r["credits"] for r in later) <= 9
    codes = {xml_of(i).find("header").findtext("customer") for i in e.invoices()}
    assert len(codes) == 10                                   # no duplicate debtors
    assert len(e.debtors()) == 4 + 10                          # seed has 4


def test_duplicate_and_replayed_webhooks_book_one_invoice(env):
    e = env()
    o = order()
    eid = e.send(o)
    e.send(o, eid=eid)                      # duplicate delivery: receiver dedupes
    e.send(o)                               # the same order under another webhook id
    e.send(dict(o, status="completed"))     # and again
    e.wait(lambda: e.invoices_of(o), what="the invoice")
    e.wait_finished()
    time.sleep(0.3)
    assert len(e.invoices_of(o)) == 1
    assert int(e.stats().get("skipped", 0)) >= 2


def test_non_numeric_sku_is_dead_lettered_naming_it_others_unaffected(env):
    e = env()
    bad = order(lines=[{"sku": "MOK-WIT", "description": "Mok", "quantity": 1,
                        "unit_price_incl_tax": 5, "tax_rate": 21}])
    good = order()
    e.send(bad)
    e.send(good)
    e.wait(lambda: e.invoices_of(good), what="the good invoice")
    e.wait(lambda: e.dead(), what="the dead letter")
    [(_, d)] = e.dead()
    assert "MOK-WIT" in d["message"] and d["kind"] == "permanent"
    assert d["field"] == "invoice.lines[0].article"
    assert e.invoices_of(bad) == []


def test_unknown_article_dead_letter_or_created_per_setting(env):
    lines = [{"sku": "777001", "description": "Nieuw", "quantity": 1, "unit_price_incl_tax": 5,
              "tax_rate": 21}]
    e = env()
    o = order(lines=lines)
    e.send(o)
    e.wait(lambda: e.dead(), what="the dead letter")
    assert "777001" in e.dead()[0][1]["message"]
    assert e.invoices_of(o) == []


def test_create_articles_creates_the_missing_article(env):
    e = env(orders={"create_articles": "yes"})
    o = order(lines=[{"sku": "777002", "description": "Nieuw", "quantity": 1,
                      "unit_price_incl_tax": 5, "tax_rate": 21}])
    e.send(o)
    e.wait(lambda: e.invoices_of(o), what="the invoice")
    assert [a for a in e.sb.objects(office="001", type="article") if a["code"] == "777002"]


def test_sub_article_resolved_from_variant_sku_cache(env, redis_server):
    e = env()
    # the products flow records variant SKU -> article/sub-article
    redis_server.client.hset(P + "cache:sku", "5550001", "1002/M")
    o = order(lines=[{"sku": "5550001", "description": "Trui M", "quantity": 1,
                      "unit_price_incl_tax": 30, "tax_rate": 21}])
    e.send(o)
    e.wait(lambda: e.invoices_of(o), what="the invoice")
    line = xml_of(e.invoices_of(o)[0]).find("lines/line")
    assert (line.findtext("article"), line.findtext("subarticle")) == ("1002", "M")


def test_default_debtor_forced(env):
    e = env(orders={"default_debtor": "1000", "force_default_debtor": "yes"})
    o = order()
    e.send(o)
    e.wait(lambda: e.invoices_of(o), what="the invoice")
    assert xml_of(e.invoices_of(o)[0]).find("header").findtext("customer") == "1000"
    assert len(e.debtors()) == 4


def test_concept_then_update_then_credit(env):
    e = env(orders={"book_as": "concept", "credit_invoice_type": "CREDIT"})
    o = order()
    e.send(o, etype="order.created")
    e.wait(lambda: e.invoices_of(o), what="the concept")
    o2 = copy.deepcopy(o)
    o2["lines"][0]["quantity"] = 3
    e.send(o2, etype="order.updated")
    e.wait(lambda: any(l.findtext("quantity") == "3" for i in e.invoices_of(o)
                       for l in xml_of(i).iter("line")), what="the updated concept")
    [inv] = [i for i in e.invoices_of(o) if i["code"].startswith("FACTUUR/")]
    assert xml_of(inv).find("header").findtext("status") == "concept"
    e.send(o2, etype="order.cancelled")
    e.wait(lambda: e.invoices("CREDIT"), what="the credit invoice")
    [cr] = e.invoices("CREDIT")
    assert xml_of(cr).find("lines/line").findtext("quantity") == "-3"


def test_book_as_transaction_balanced(env):
    e = env(orders={"book_as": "transaction"})
    o = order()
    e.send(o)
    e.wait(lambda: e.sb.objects(office="001", type="transaction"), what="the transaction")
    [t] = e.sb.objects(office="001", type="transaction")
    x = xml_of(t)
    assert x.find("header").findtext("invoicenumber") == o["number"]
    types = [l.get("type") for l in x.find("lines")]
    assert types[0] == "total" and "detail" in types and "vat" in types
    assert x.find("lines/line").findtext("value") == "24.20"


@pytest.mark.novalgrind
def test_sigkill_mid_batch_books_every_order_exactly_once(env):
    e = env(twinfield={"batch_window": "300ms"}, sandbox_args=("--latency", "400"),
            worker={"visibility_timeout": "1s"})
    orders = [order() for _ in range(30)]
    for o in orders:
        e.send(o)
    # kill the worker process while its batches are in flight at the sandbox
    e.wait(lambda: any(r.get("pending") for r in e.sb.requests() if r["root"] == "salesinvoices")
           or e.invoices(), timeout=10, what="a batch in flight")
    pids = [int(m) for m in re.findall(r"worker\.1 started \(pid (\d+)\)", e.work.output())]
    os.kill(pids[-1], signal.SIGKILL)
    e.work.expect_clean_exit = True
    e.wait(lambda: all(e.invoices_of(o) for o in orders), timeout=40, what="all invoices")
    e.wait_finished(30)
    time.sleep(0.5)
    assert all(len(e.invoices_of(o)) == 1 for o in orders)
    assert e.dead() == []
    st = e.stats()
    print("kill test stats:", st)
    # the killed batch reached Twinfield: its orders were found by the check, not booked again
    assert int(st.get("found_by_check", 0)) + int(st.get("check_not_found", 0)) > 0


def test_sandbox_faults_are_retried_until_booked(env):
    e = env(sandbox_args=("--error-rate", "15", "--random-seed", "7"), worker={"max_attempts": 15})
    e.sb.post("faults", {"force_429": 2})
    orders = [order() for _ in range(8)]
    for o in orders:
        e.send(o)
    e.sb.post("tokens/expire")
    e.wait(lambda: all(e.invoices_of(o) for o in orders), timeout=40, what="all invoices")
    e.wait_finished()
    assert all(len(e.invoices_of(o)) == 1 for o in orders)
    assert e.dead() == []


def test_write_back_sets_order_status_in_aspos(env):
    e = env(orders={"write_back": "yes", "write_back_status": "invoiced"},
            start_worker=False)
    with open(e.conf, "a") as f:
        f.write("[aspos]\nbase_url = %s/aspos\nclient_id = aspos-client\nclient_secret = aspos-secret\n"
                "api_map = %s\n" % (e.sb.url, os.path.join(SRCDIR, "conf", "mapping", "aspos-api.json")))
    o = order()
    e.sb.post("aspos/orders", {"id": o["id"], "number": o["number"], "status": "completed"})
    e.work = e.start_worker()
    e.send(o)
    e.wait(lambda: e.invoices_of(o), what="the invoice")
    number = xml_of(e.invoices_of(o)[0]).find("header").findtext("invoicenumber")

    def written():
        [a] = e.sb.get("aspos/orders?key=" + o["id"])["orders"]
        return a.get("status") == "invoiced" and a.get("external_reference") == number
    e.wait(written, what="the status in AsPos")
