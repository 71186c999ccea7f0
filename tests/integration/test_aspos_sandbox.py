"""The AsPos REST simulator of kassaboek-sandbox (/aspos on the sandbox's
port): client-credentials tokens, Bearer auth with expiry, the order feed
with updated_since and paging, the order status PATCH, customers, products,
categories and stock, JSON errors, fault injection (5xx, 429 + Retry-After)
and the /_sandbox/aspos inspection API.
"""
import base64
import os
import time
import urllib.parse

import pytest

from conftest import program
from aspos_rest import ASPOS_SEED, AsposApi, CLIENT_ID, CLIENT_SECRET
from twinfield_soap import http_request, start_sandbox

pytestmark = pytest.mark.skipif(not os.access(program("kassaboek-sandbox"), os.X_OK),
                                reason="src/kassaboek-sandbox not built")


@pytest.fixture
def sb(programs, workdir):
    return start_sandbox(programs, workdir, "--aspos-seed", ASPOS_SEED, "--aspos-page-size", "2")


@pytest.fixture
def api(sb):
    return AsposApi(sb.url + "/aspos")


def test_token_client_credentials(api, sb):
    st, body = api.token_request({"grant_type": "client_credentials", "client_id": CLIENT_ID,
                                  "client_secret": CLIENT_SECRET})
    assert st == 200 and body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert len(body["access_token"]) >= 32
    st, body = api.token_request({"grant_type": "client_credentials", "client_id": CLIENT_ID,
                                  "client_secret": "wrong"})
    assert st == 401 and body["error"] == "invalid_client" and body["message"]
    st, body = api.token_request({"grant_type": "password", "client_id": CLIENT_ID,
                                  "client_secret": CLIENT_SECRET})
    assert st == 400 and body["error"] == "unsupported_grant_type"
    # HTTP Basic client authentication works too.
    basic = base64.b64encode(("%s:%s" % (CLIENT_ID, CLIENT_SECRET)).encode()).decode()
    r = http_request("POST", sb.url + "/aspos/connect/token", b"grant_type=client_credentials",
                     {"Authorization": "Basic " + basic,
                      "Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 200
    assert sb.get("aspos")["tokens_issued"] == 2


def test_other_credentials_by_flag(programs, workdir):
    sb = start_sandbox(programs, workdir, "--aspos-client-id", "shop", "--aspos-client-secret", "s3")
    assert AsposApi(sb.url + "/aspos", "shop", "s3").token()
    st, _ = AsposApi(sb.url + "/aspos").token_request(
        {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
    assert st == 401


def test_bearer_required_and_expiry(api, sb):
    r = http_request("GET", sb.url + "/aspos/api/orders")
    assert r.status == 401 and "Bearer" in r.header("WWW-Authenticate")
    st, body, _ = api.call("GET", "/api/orders", token="0" * 40)
    assert st == 401 and body["error"] == "invalid_token"
    tok = api.token()
    assert api.call("GET", "/api/orders", token=tok)[0] == 200
    assert sb.post("aspos/tokens/expire")["expired"] == 1
    assert api.call("GET", "/api/orders", token=tok)[0] == 401
    # Tokens die by themselves after token_ttl.
    sb.post("aspos/settings", {"token_ttl": 1})
    tok = api.token(fresh=True)
    assert api.call("GET", "/api/orders", token=tok)[0] == 200
    time.sleep(1.1)
    assert api.call("GET", "/api/orders", token=tok)[0] == 401


def test_orders_feed_paging_and_cursor(api):
    st, p1, _ = api.call("GET", "/api/orders?page=1")
    assert st == 200 and p1["total"] == 3 and p1["next_page"] == 2
    assert [o["id"] for o in p1["orders"]] == ["10023", "10024"]
    st, p2, _ = api.call("GET", "/api/orders?page=2")
    assert [o["id"] for o in p2["orders"]] == ["10025"] and p2["next_page"] is None
    # updated_since is inclusive and orders come oldest change first.
    q = urllib.parse.urlencode({"updated_since": "2026-12-04T11:00:00Z"})
    st, body, _ = api.call("GET", "/api/orders?" + q)
    assert [o["id"] for o in body["orders"]] == ["10024", "10025"]
    q = urllib.parse.urlencode({"updated_since": "2026-12-04T12:30:00.501Z"})
    assert api.call("GET", "/api/orders?" + q)[1]["orders"] == []
    st, body, _ = api.call("GET", "/api/orders?updated_since=yesterday")
    assert st == 400 and body["error"] == "invalid_request"
    assert api.call("GET", "/api/orders?page=0")[0] == 400


def test_order_patch_write_back(api, sb):
    st, body, _ = api.call("PATCH", "/api/orders/10023",
                           {"status": "invoiced", "external_reference": "FACTUUR/12"})
    assert st == 200 and body["status"] == "invoiced" and body["external_reference"] == "FACTUUR/12"
    stored = sb.get("aspos/orders?key=10023")["orders"]
    assert len(stored) == 1 and stored[0]["status"] == "invoiced"
    assert stored[0]["number"] == "K1-000123"          # the rest is untouched
    # The change moves the order to the end of the feed (a poller sees it again).
    q = urllib.parse.urlencode({"updated_since": "2026-12-04T12:00:00Z"})
    assert [o["id"] for o in api.call("GET", "/api/orders?" + q)[1]["orders"]] == ["10025", "10023"]
    log = [r for r in sb.requests() if r["method"] == "PATCH"]
    assert log[-1]["path"] == "/aspos/api/orders/10023" and log[-1]["status"] == 200
    assert '"FACTUUR/12"' in log[-1]["body"]


def test_order_patch_errors(api, sb):
    st, body, _ = api.call("PATCH", "/api/orders/99999", {"status": "invoiced"})
    assert st == 404 and body["error"] == "not_found" and "99999" in body["message"]
    st, body, _ = api.call("PATCH", "/api/orders/10023", {"totals": {}})
    assert st == 422 and body["error"] == "read_only_field"
    st, body, _ = api.call("PATCH", "/api/orders/10023", {"status": ""})
    assert st == 422
    st, body, _ = api.call("PATCH", "/api/orders/10023", raw=b"{not json")
    assert st == 400 and body["error"] == "invalid_json"
    assert api.call("POST", "/api/orders", {"id": "1"})[0] == 405
    assert api.call("GET", "/api/nothing")[0] == 404
    assert sb.get("aspos/orders?key=10023")["orders"][0]["status"] == "completed"


def test_escaped_order_id(api, sb):
    sb.post("aspos/orders", {"id": "K1/0001 ä", "status": "completed"})
    path = "/api/orders/" + urllib.parse.quote("K1/0001 ä", safe="")
    st, body, _ = api.call("PATCH", path, {"status": "invoiced"})
    assert st == 200 and body["id"] == "K1/0001 ä"
    assert sb.get("aspos/orders?" + urllib.parse.urlencode({"key": "K1/0001 ä"}))["orders"][0][
        "status"] == "invoiced"


def test_customers_products_categories_stock(api, sb):
    st, c, _ = api.call("POST", "/api/customers", {"email": "piet@example.nl", "first_name": "Piet"})
    assert st == 201 and c["id"] and c["updated_at"]
    st, found, _ = api.call("GET", "/api/customers?" + urllib.parse.urlencode({"email": "PIET@example.nl"}))
    assert [x["id"] for x in found["customers"]] == [c["id"]]
    st, c2, _ = api.call("PUT", "/api/customers/" + c["id"], {"email": "piet@example.nl", "last_name": "Pol"})
    assert st == 200 and c2["last_name"] == "Pol" and "first_name" not in c2
    assert api.call("PUT", "/api/customers/C900", {"email": "x@example.nl"})[0] == 201
    assert api.call("GET", "/api/customers/nobody")[0] == 404
    st, body, _ = api.call("POST", "/api/products", {"name": "no sku"})
    assert st == 422 and body["error"] == "missing_field"
    assert api.call("POST", "/api/products", {"sku": "1001", "name": "dup"})[0] == 409
    st, p, _ = api.call("PUT", "/api/products/2002", {"sku": "2002", "name": "Beker", "type": "configurable",
                                                      "variants": [{"sku": "2002-S", "attributes": {"size": "S"}}]})
    assert st == 201 and p["variants"][0]["sku"] == "2002-S"
    assert api.call("PUT", "/api/products/2002", {"sku": "9999"})[0] == 422
    st, p, _ = api.call("PUT", "/api/products/2002/stock", {"quantity": 7, "manage_stock": True})
    assert st == 200 and p["stock"] == 7 and p["manage_stock"] is True
    assert api.call("PUT", "/api/products/nope/stock", {"quantity": 1})[0] == 404
    assert api.call("PUT", "/api/products/2002/stock", {"quantity": "many"})[0] == 422
    st, cat, _ = api.call("POST", "/api/categories", {"name": "Tuin"})
    assert st == 201 and cat["id"] == "2"               # after the seeded "1"
    assert sb.get("aspos")["counts"] == {"orders": 3, "customers": 3, "products": 2, "categories": 2}
    sb.post("aspos/reset")
    assert sb.get("aspos")["counts"] == {"orders": 3, "customers": 1, "products": 1, "categories": 1}


def test_injected_5xx_and_429(api, sb):
    tok = api.token()
    sb.post("faults", {"scope": "aspos", "error_rate": 100, "error_status": 503})
    st, body, headers = api.call("PATCH", "/api/orders/10023", {"status": "invoiced"}, token=tok)
    assert st == 503 and body["error"] == "server_error" and headers.get("Retry-After") == "1"
    sb.post("faults", {"error_rate": 0, "force_429": 2})
    for _ in range(2):
        st, body, headers = api.call("GET", "/api/orders", token=tok)
        assert st == 429 and body["error"] == "too_many_requests" and headers.get("Retry-After") == "1"
    assert api.call("GET", "/api/orders", token=tok)[0] == 200
    assert sb.get("aspos/orders?key=10023")["orders"][0]["status"] == "completed"
    faults = [r["fault"] for r in sb.requests() if r["path"].startswith("/aspos/api/")]
    assert faults == ["error", "429", "429", None]


def test_twinfield_scope_leaves_aspos_alone(api, sb):
    tok = api.token()
    sb.post("faults", {"scope": "soap", "error_rate": 100, "force_429": 5})
    assert api.call("GET", "/api/orders", token=tok)[0] == 200
    # and scope "all" does not spend forced 429s on AsPos
    sb.post("faults", {"scope": "all", "error_rate": 0})
    assert api.call("GET", "/api/orders", token=tok)[0] == 200
    assert sb.get("faults")["force_429"] == 5
