"""kassaboek-sandbox, the documents: dimensions, articles, sales invoices,
transactions, batches, reads, Finder search."""
import os
import re

import pytest

from twinfield_soap import TwinfieldClient, sandbox_binary, start_sandbox

pytestmark = pytest.mark.skipif(not os.access(sandbox_binary(), os.X_OK),
                                reason="src/kassaboek-sandbox not built")


@pytest.fixture
def sb(programs, workdir):
    return start_sandbox(programs, workdir)


@pytest.fixture
def tw(sb):
    return TwinfieldClient(sb.url)


def ok(r):
    assert r.status == 200, (r.status, r.body[:500])
    doc = r.result
    assert doc.get("result") == "1", r.result_text
    return doc


def failed(r):
    assert r.status == 200, (r.status, r.body[:500])
    doc = r.result
    assert doc.get("result") == "0", r.result_text
    return doc


def msgs(el):
    """{tag: msg} of every element below (and including) el that carries an error."""
    return {e.tag: e.get("msg") for e in el.iter() if e.get("msgtype") == "error"}


def invoice(customer="1000", lines=None, status="concept", extra=""):
    lines = lines if lines is not None else [("1001", "", "2")]
    body = "".join("<line><article>%s</article>%s<quantity>%s</quantity></line>"
                   % (a, "<subarticle>%s</subarticle>" % s if s else "", q) for a, s, q in lines)
    return ("<salesinvoice><header><office>001</office><invoicetype>FACTUUR</invoicetype>"
            "<customer>%s</customer><status>%s</status><invoicedate>20240115</invoicedate>%s"
            "</header><lines>%s</lines></salesinvoice>" % (customer, status, extra, body))


def test_dimension_upsert_code_assignment_and_read_back(tw, sb):
    # A debtor without a code gets the next number after the highest seeded one (1003).
    d = ok(tw.process("<dimension><office>001</office><type>DEB</type><name>Nieuwe Klant</name>"
                      "<addresses><address type=\"invoice\"><email>nieuw@example.nl</email>"
                      "<country>NL</country></address></addresses></dimension>"))
    assert d.findtext("code") == "1004" and d.get("status") == "active"
    assert d.find("office").get("name") == "Sandbox Handel BV"
    assert d.find("type").get("name") == "Debiteuren" and d.findtext("uid")
    assert d.find("addresses/address").get("id") == "1"
    assert d.findtext("financials/duedays") == "30"
    d2 = ok(tw.process("<dimension><office>001</office><type>DEB</type><name>Nog een</name></dimension>"))
    assert d2.findtext("code") == "1005"
    # Upsert: the same code updates (fields sent replace, others stay).
    u = ok(tw.process("<dimension><office>001</office><type>DEB</type><code>1004</code>"
                      "<name>Nieuwe Klant BV</name></dimension>"))
    assert u.findtext("name") == "Nieuwe Klant BV"
    assert u.findtext("addresses/address/email") == "nieuw@example.nl"
    assert u.findtext("touched") == "1"
    r = ok(tw.process("<read><type>dimensions</type><office>001</office><dimtype>DEB</dimtype>"
                      "<code>1004</code></read>"))
    assert r.findtext("name") == "Nieuwe Klant BV"
    assert [o["code"] for o in sb.objects("001", "DEB")] == ["1000", "1001", "1002", "1003", "1004", "1005"]
    # Codes are per office: office 002 has its own numbering.
    d3 = ok(tw.process("<dimension><office>002</office><type>DEB</type><name>Ander kantoor</name></dimension>"))
    assert d3.findtext("code") == "2001"
    # Cost centre and project.
    ok(tw.process("<dimensions><dimension><office>001</office><type>KPL</type><code>KP900</code>"
                  "<name>Pop-up</name></dimension><dimension><office>001</office><type>PRJ</type>"
                  "<code>P0900</code><name>Actie</name></dimension></dimensions>"))
    # Delete: status="deleted"; reads show it deleted, lists leave it out.
    dl = ok(tw.process("<dimension status=\"deleted\"><office>001</office><type>DEB</type>"
                       "<code>1005</code></dimension>"))
    assert dl.get("status") == "deleted"
    lst = ok(tw.process("<list><type>dimensions</type><office>001</office><dimtype>DEB</dimtype></list>"))
    codes = [e.text for e in lst]
    assert "1005" not in codes and "1004" in codes and codes[-1] == "DEB"   # pseudo entry last


def test_dimension_errors(tw):
    d = failed(tw.process("<dimension><office>999</office><type>DEB</type><name>X</name></dimension>"))
    assert d.get("msgtype") == "error" and "999" in d.get("msg")
    d = failed(tw.process("<dimension><office>001</office><type>BAT</type><name>X</name></dimension>"))
    assert "BAT" in msgs(d)["type"]
    d = failed(tw.process("<dimension><office>001</office><type>DEB</type><code>AB12</code></dimension>"))
    m = msgs(d)
    assert "code" in m and "name" in m
    d = failed(tw.process("<dimension><office>001</office><type>DEB</type><name>X</name>"
                          "<financials><vatcode>ZZ</vatcode></financials></dimension>"))
    assert d.find("financials").get("result") == "0" and "ZZ" in msgs(d)["vatcode"]
    r = failed(tw.process("<read><type>dimensions</type><office>001</office><dimtype>DEB</dimtype>"
                          "<code>00590</code></read>"))
    assert r.tag == "dimension" and "00590" in msgs(r)["code"]


def test_article_with_sub_articles_and_code_rules(tw, sb):
    a = ok(tw.process(
        "<article><header><office>001</office><code>4711</code><name>Sokken</name>"
        "<vatcode>VH</vatcode><allowchangevatcode>true</allowchangevatcode></header><lines>"
        "<line><subcode>39</subcode><name>Sokken 39-42</name><unitspriceexcl>4.00</unitspriceexcl>"
        "<freetext1>8000</freetext1></line>"
        "<line><subcode>43</subcode><name>Sokken 43-46</name><unitspriceinc>6.05</unitspriceinc>"
        "<freetext1>8000</freetext1><freetext2>KP200</freetext2></line></lines></article>"))
    assert a.find("header").get("status") == "active"
    lines = a.findall("lines/line")
    assert [(l.get("id"), l.findtext("subcode")) for l in lines] == [("1", "39"), ("2", "43")]
    assert lines[0].find("freetext1").get("dimensiontype") == "PNL"
    assert a.find("header/vatcode").get("name") == "BTW hoog"
    # Non-numeric article code: rejected (SKUs sent to Twinfield are digits only).
    bad = failed(tw.process("<article><header><office>001</office><code>SOCK-1</code><name>X</name>"
                            "<vatcode>VH</vatcode></header></article>"))
    assert "SOCK-1" in msgs(bad)["code"]
    assert failed(tw.process("<article><header><office>001</office><code></code><name>X</name>"
                             "</header></article>")).find("header/code").get("msg")
    # Unknown GL account on a sub-article; duplicated sub-codes.
    bad = failed(tw.process("<article><header><office>001</office><code>4712</code><name>X</name>"
                            "<vatcode>VH</vatcode></header><lines><line><subcode>A</subcode>"
                            "<freetext1>9999</freetext1></line><line><subcode>A</subcode></line>"
                            "</lines></article>"))
    assert "9999" in msgs(bad)["freetext1"] and "more than once" in msgs(bad)["subcode"]
    assert not sb.objects("001", "article", "4712")
    # Invoice lines must name an existing sub-article of such an article.
    inv = failed(tw.process(invoice(lines=[("4711", "", "1")])))
    assert "sub-code" in msgs(inv)["subarticle"]
    inv = failed(tw.process(invoice(lines=[("4711", "44", "1")])))
    assert "44" in msgs(inv)["subarticle"]
    inv = ok(tw.process(invoice(lines=[("4711", "43", "2")])))
    # unitspriceinc 6.05 at 21% -> 5.00 excl.
    assert inv.findtext("lines/line/unitspriceexcl") == "5.00"
    assert inv.findtext("lines/line/valueexcl") == "10.00"
    # Upsert of the header keeps the lines; delete marks it deleted.
    a2 = ok(tw.process("<article><header><office>001</office><code>4711</code><name>Sokken 2</name>"
                       "</header></article>"))
    assert a2.findtext("header/name") == "Sokken 2" and len(a2.findall("lines/line")) == 2
    ok(tw.process("<article><header status=\"deleted\"><office>001</office><code>4711</code>"
                  "</header></article>"))
    inv = failed(tw.process(invoice(lines=[("4711", "43", "1")])))
    assert "4711" in msgs(inv)["article"]


def test_sales_invoice_success(tw, sb):
    inv = ok(tw.process(invoice(customer="1001", lines=[
        ("1002", "M", "2"), ("1001", "", "3"), ("9000", "", "1")])))
    h = inv.find("header")
    assert h.findtext("invoicenumber") == "1"
    assert h.find("customer").get("name") == "Bakkerij Smit BV"
    assert h.findtext("duedate") == "20240214"          # customer 1001 has 30 days
    assert h.findtext("period") == "2024/01" and h.findtext("status") == "concept"
    lines = inv.findall("lines/line")
    assert [(l.findtext("valueexcl"), l.findtext("vatvalue"), l.findtext("valueinc")) for l in lines] == [
        ("30.00", "6.30", "36.30"), ("37.50", "3.38", "40.88"), ("4.95", "1.04", "5.99")]
    assert lines[0].find("vatcode").get("name") == "BTW hoog"
    assert lines[0].findtext("dim1") == "8000" and lines[1].findtext("dim1") == "8010"
    vat = {v.findtext("vatcode"): (v.find("vatcode").get("percentage"), v.findtext("vatvalue"))
           for v in inv.findall("vatlines/vatline")}
    assert vat == {"VH": ("21.000000000", "7.34"), "VL": ("9.000000000", "3.38")}
    assert (inv.findtext("totals/valueexcl"), inv.findtext("totals/valueinc")) == ("72.45", "83.17")
    assert inv.find("financials") is None
    # Numbers go up per invoice type; a final invoice books its sales transaction.
    fin = ok(tw.process(invoice(customer="1000", status="final")))
    assert fin.findtext("header/invoicenumber") == "2"
    assert fin.findtext("header/duedate") == "20240129"  # customer 1000 has 14 days
    assert fin.findtext("financials/code") == "VRK" and fin.findtext("financials/number") == "202400001"
    other = ok(tw.process(invoice().replace("FACTUUR", "INVOICE")))
    assert other.findtext("header/invoicenumber") == "5000"
    t = ok(tw.process("<read><type>transaction</type><office>001</office><code>VRK</code>"
                      "<number>202400001</number></read>"))
    assert t.get("location") == "final"
    values = [(l.get("type"), l.findtext("debitcredit"), l.findtext("value")) for l in t.findall("lines/line")]
    assert values[0] == ("total", "debit", "27.25") and ("vat", "credit", "2.25") in values
    # Read it back.
    r = ok(tw.process("<read><type>salesinvoice</type><office>001</office><code>FACTUUR</code>"
                      "<invoicenumber>1</invoicenumber></read>"))
    assert r.findtext("totals/valueinc") == "83.17"
    nf = failed(tw.process("<read><type>salesinvoice</type><office>001</office><code>FACTUUR</code>"
                           "<invoicenumber>77</invoicenumber></read>"))
    assert nf.tag == "salesinvoice" and "77" in nf.get("msg")
    bad = failed(tw.process("<read><type>salesinvoice</type><office>001</office><code>FACTUUR</code>"
                            "<invoicenumber>no</invoicenumber></read>"))
    assert bad.tag == "read" and "integer" in msgs(bad)["invoicenumber"]
    # Update a concept by its number; a final one can no longer change.
    upd = ok(tw.process(invoice(customer="1001", extra="<invoicenumber>1</invoicenumber>")))
    assert upd.findtext("header/invoicenumber") == "1" and upd.findtext("totals/valueinc") == "27.25"
    fin2 = failed(tw.process(invoice(extra="<invoicenumber>2</invoicenumber>")))
    assert "final" in msgs(fin2)["invoicenumber"]
    assert len(sb.objects("001", "salesinvoice")) == 3


def test_sales_invoice_validation_errors(tw, sb):
    doc = failed(tw.process(invoice(customer="99999", lines=[
        ("4242", "", "1"), ("1001", "", "1")]).replace(
        "<article>1001</article>", "<article>1001</article><vatcode>XX</vatcode>")))
    assert doc.find("header").get("result") == "0" and doc.find("lines").get("result") == "0"
    assert "99999" in doc.find("header/customer").get("msg")
    bad_lines = doc.findall("lines/line")
    assert "4242" in bad_lines[0].find("article").get("msg")
    assert "XX" in bad_lines[1].find("vatcode").get("msg")
    assert all(l.get("result") == "0" for l in bad_lines)
    # Unknown revenue account, cost centre and project.
    doc = failed(tw.process(invoice().replace(
        "<quantity>", "<dim1>7777</dim1><dim2>KPX</dim2><dim3>PX</dim3><quantity>")))
    m = msgs(doc)
    assert "7777" in m["dim1"] and "KPX" in m["dim2"] and "PX" in m["dim3"]
    # Unknown invoice type, bad date, fixed VAT code of an article, decimal quantity.
    doc = failed(tw.process(invoice().replace("FACTUUR", "NOPE").replace("20240115", "20241345")))
    m = msgs(doc)
    assert "NOPE" in m["invoicetype"] and "invoicedate" in m
    doc = failed(tw.process(invoice(lines=[("1003", "", "1")]).replace(
        "<quantity>", "<vatcode>VL</vatcode><quantity>")))
    assert "may not be changed" in msgs(doc)["vatcode"]
    doc = failed(tw.process(invoice(lines=[("1001", "", "1.5")])))
    assert "whole number" in msgs(doc)["quantity"]
    # A good line next to a bad one is echoed enriched.
    doc = failed(tw.process(invoice(lines=[("1001", "", "1"), ("4242", "", "1")])))
    assert doc.find("lines/line").findtext("valueexcl") == "12.50"
    assert not sb.objects("001", "salesinvoice")


def test_invoice_batch_each_document_on_its_own(tw, sb):
    good = invoice()
    bad = invoice(customer="424242")
    r = tw.process("<salesinvoices>%s</salesinvoices>" % "".join([good, bad, good, bad, good]))
    root = failed(r)
    assert root.tag == "salesinvoices"
    results = [i.get("result") for i in root.findall("salesinvoice")]
    assert results == ["1", "0", "1", "0", "1"]
    assert [i.findtext("header/invoicenumber") for i in root.findall("salesinvoice")
            if i.get("result") == "1"] == ["1", "2", "3"]
    assert len(sb.objects("001", "salesinvoice")) == 3
    # All good: the root says 1.
    assert ok(tw.process("<salesinvoices>%s%s</salesinvoices>" % (good, good))).tag == "salesinvoices"


def test_batch_over_25_rejected(tw, sb):
    r = tw.process("<salesinvoices>%s</salesinvoices>" % (invoice() * 26))
    root = failed(r)
    assert "25" in root.get("msg")
    assert not sb.objects("001", "salesinvoice")
    dims = "".join("<dimension><office>001</office><type>KPL</type><code>B%d</code><name>B</name>"
                   "</dimension>" % i for i in range(26))
    assert failed(tw.process("<dimensions>%s</dimensions>" % dims)).get("msg")
    assert not sb.objects("001", "KPL", "B0")
    # Exactly 25 is fine.
    r = ok(tw.process("<dimensions>%s</dimensions>" % dims.replace('<dimension><office>001</office>'
                                                                    '<type>KPL</type><code>B25</code>'
                                                                    '<name>B</name></dimension>', "")))
    assert len(r.findall("dimension")) == 25


def transaction(lines, code="MEMO", date="20240131", extra=""):
    body = "".join('<line type="detail"><dim1>%s</dim1><debitcredit>%s</debitcredit>'
                   '<value>%s</value></line>' % l for l in lines)
    return ('<transaction destiny="temporary"%s><header><office>001</office><code>%s</code>'
            '<date>%s</date></header><lines>%s</lines></transaction>' % (extra, code, date, body))


def test_transactions_balance_numbering_and_limits(tw, sb):
    t1 = ok(tw.process(transaction([("4008", "debit", "435.55"), ("1300", "credit", "435.55")])))
    assert t1.findtext("header/number") == "202400001" and t1.get("location") == "temporary"
    assert t1.find("header/code").get("name") == "Memoriaal"
    assert t1.find("lines/line/dim1").get("name") == "Betalingsverschillen"
    t2 = ok(tw.process(transaction([("4008", "debit", "1"), ("1300", "credit", "1")])))
    assert t2.findtext("header/number") == "202400002"
    t3 = ok(tw.process(transaction([("4008", "debit", "1"), ("1300", "credit", "1")], date="20250102")))
    assert t3.findtext("header/number") == "202500001"
    # Unbalanced: the error sits on <transaction>.
    bad = failed(tw.process(transaction([("4008", "debit", "10.00"), ("1300", "credit", "9.99")])))
    assert bad.tag == "transaction" and "0.01" in bad.get("msg") and "balanced" in bad.get("msg")
    # Unknown daybook / account; a journal needs two lines.
    bad = failed(tw.process(transaction([("4008", "debit", "1"), ("1300", "credit", "1")], code="XYZ")))
    assert "XYZ" in msgs(bad)["code"]
    bad = failed(tw.process(transaction([("9999", "debit", "1"), ("1300", "credit", "1")])))
    assert "9999" in msgs(bad)["dim1"]
    assert failed(tw.process(transaction([("4008", "debit", "0")]))).get("msg")
    # A batch: each on its own.
    root = failed(tw.process("<transactions>%s%s</transactions>" % (
        transaction([("4008", "debit", "5"), ("1300", "credit", "4")]),
        transaction([("4008", "debit", "5"), ("1300", "credit", "5")]))))
    assert [t.get("result") for t in root] == ["0", "1"]
    assert root[1].findtext("header/number") == "202400003"
    # More than 1000 lines: HTTP 400 for the whole request.
    many = [("4008", "debit", "1"), ("1300", "credit", "1")] * 501
    r = tw.process(transaction(many))
    assert r.status == 400 and r.fault is not None
    assert len(sb.objects("001", "transaction")) == 4


def test_finder_search(tw):
    s = tw.search("DIM", "*", 0, options=[("dimtype", "DEB")]).search
    assert s["messages"] == [] and s["total"] == 4 and s["columns"] == ["Code", "Naam"]
    assert [r[0] for r in s["rows"]] == ["1000", "1001", "1002", "1003"]
    # Name search with wildcards, case-insensitive; code search.
    s = tw.search("DIM", "*smit*", 2, options=[("dimtype", "DEB")]).search
    assert s["rows"] == [["1001", "Bakkerij Smit BV"]]
    assert tw.search("DIM", "100?", 1, options=[("dimtype", "DEB")]).search["total"] == 4
    assert tw.search("DIM", "1001", 0, options=[("dimtype", "DEB")]).search["total"] == 1
    # Field 3: bank account; field 4: address fields (not the e-mail address).
    assert tw.search("DIM", "NL02ABNA*", 3, options=[("dimtype", "DEB")]).search["rows"][0][0] == "1001"
    assert tw.search("DIM", "Amersfoort", 4, options=[("dimtype", "DEB")]).search["total"] == 1
    assert tw.search("DIM", "jan.devries@example.nl", 4, options=[("dimtype", "DEB")]).search["total"] == 0
    # Paging.
    page = tw.search("DIM", "*", 0, first_row=2, max_rows=2, options=[("dimtype", "DEB")]).search
    assert page["total"] == 4 and [r[0] for r in page["rows"]] == ["1001", "1002"]
    # Other types, and an office given as option.
    assert [r[0] for r in tw.search("DIM", "KP*", 1, options=[("dimtype", "KPL")]).search["rows"]] == [
        "KP100", "KP200", "KP300"]
    assert tw.search("ART", "*shirt*", 2).search["rows"] == [["1002", "T-shirt"]]
    assert [r[0] for r in tw.search("VAT", "V*", 1).search["rows"]][:3] == ["VBE", "VDE", "VEU"]
    s = tw.search("DIM", "*", 0, options=[("dimtype", "DEB"), ("office", "002")], company=None).search
    assert [r[0] for r in s["rows"]] == ["1000", "1001", "1002", "1003", "2000"]
    # Bad input: MessageOfErrorCodes, no data.
    for args, code in ((("XYZ", "*", 0, []), "InvalidFinderType"),
                       (("DIM", "*", 0, [("dimtype", "DEB"), ("colour", "red")]), "OptionNotAllowed"),
                       (("DIM", "*", 0, []), "OptionMandatory"),
                       (("DIM", "*", 7, [("dimtype", "DEB")]), "ParameterOutOfRange"),
                       (("DIM", "*", 0, [("dimtype", "DEB"), ("office", "999")]), "NoAccessToOffice"),
                       (("DIM", "*", 0, [("dimtype", "DEB"), ("modifiedsince", "2024")]),
                        "InvalidDateTimeOptionLength")):
        s = tw.search(args[0], args[1], args[2], options=args[3]).search
        assert [m[0] for m in s["messages"]][:1] == [code], (args, s)
        assert s["total"] is None
    s = tw.search("DIM", "*", 0, first_row=0, options=[("dimtype", "DEB")]).search
    assert s["messages"][0][0] == "ParameterTooSmall"
    # modifiedsince: only what changed since.
    ok(tw.process("<dimension><office>001</office><type>DEB</type><code>1003</code>"
                  "<name>Kassa verkopen 2</name></dimension>"))
    s = tw.search("DIM", "*", 0, options=[("dimtype", "DEB"), ("modifiedsince", "20300101")]).search
    assert s["total"] == 0
    s = tw.search("DIM", "*", 0, options=[("dimtype", "DEB"), ("modifiedsince", "20200101")]).search
    assert s["total"] == 4
