"""The AsPos client (src/aspos/) against kassaboek-sandbox's /aspos simulator
and a private redis-server, driven through tests/aspos-drive: the order
status write-back, the token cached in Redis and shared between processes,
refresh before expiry, 401 -> new token -> one retry, and the
classification the worker relies on (429 and 5xx transient with
Retry-After, 404 permanent, timeouts and refused connections transient).
"""
import json
import os
import time

import pytest

from conftest import free_port, program
from aspos_rest import API_MAP, ASPOS_SEED, DRIVE, drive
from twinfield_soap import start_sandbox

pytestmark = pytest.mark.skipif(
    not (os.access(DRIVE, os.X_OK) and os.access(program("kassaboek-sandbox"), os.X_OK)),
    reason="tests/aspos-drive or src/kassaboek-sandbox not built")

TOKEN_KEY = "{kb}:aspos:token"


@pytest.fixture
def sb(programs, workdir):
    return start_sandbox(programs, workdir, "--aspos-seed", ASPOS_SEED, "--aspos-page-size", "2")


def order(sb, oid):
    return sb.get("aspos/orders?key=" + oid)["orders"][0]


def warm(sb, redis_server):
    """One successful call, so the token is cached in Redis before faults are set."""
    rc, out = drive(sb, redis_server, "orders")
    assert rc == 0, out


def test_write_back_visible_in_sandbox(sb, redis_server):
    rc, out = drive(sb, redis_server, "update", "10023", "invoiced", "FACTUUR/7")
    res = out["results"][0]
    assert rc == 0 and res["ok"] and res["http_status"] == 200 and res["attempts"] == 1
    assert res["body"]["status"] == "invoiced"
    o = order(sb, "10023")
    assert o["status"] == "invoiced" and o["external_reference"] == "FACTUUR/7"
    patch = [r for r in sb.requests() if r["method"] == "PATCH"]
    assert len(patch) == 1 and patch[0]["path"] == "/aspos/api/orders/10023"
    assert json.loads(patch[0]["body"]) == {"status": "invoiced", "external_reference": "FACTUUR/7"}
    # Without a reference only the status is sent.
    rc, out = drive(sb, redis_server, "update", "10024", "shipped")
    assert rc == 0 and "external_reference" not in order(sb, "10024")


def test_token_cached_in_redis_and_shared(sb, redis_server):
    rc, out = drive(sb, redis_server, "update", "10023", "invoiced", "F1")
    assert rc == 0 and out["stats"]["token_fetches"] == 1
    cached = redis_server.client.hgetall(TOKEN_KEY)
    assert cached["access_token"] and int(cached["expires_at"]) > int(cached["refresh_at"])
    assert 0 < redis_server.client.pttl(TOKEN_KEY) <= 3600 * 1000
    # A second process takes the token from Redis instead of asking AsPos.
    rc, out = drive(sb, redis_server, "update", "10024", "invoiced", "F2")
    assert rc == 0 and out["stats"]["token_fetches"] == 0 and out["stats"]["token_from_redis"] == 1
    assert sb.get("aspos")["tokens_issued"] == 1
    # Another installation (prefix) has its own token.
    rc, out = drive(sb, redis_server, "update", "10025", "invoiced", "F3", prefix="other")
    assert rc == 0 and out["stats"]["token_fetches"] == 1
    assert redis_server.client.exists("{other}:aspos:token")


def test_token_refreshed_before_expiry(sb, redis_server):
    sb.post("aspos/settings", {"token_ttl": 2})        # refresh after 1.5 s, expiry at 2 s
    rc, out = drive(sb, redis_server, "update", "10023", "a")
    assert rc == 0 and out["stats"]["token_fetches"] == 1
    time.sleep(1.6)
    # The old token still works, but it is due: the client fetches a new one first.
    rc, out = drive(sb, redis_server, "update", "10023", "b")
    assert rc == 0 and out["stats"]["token_fetches"] == 1 and out["stats"]["retries_401"] == 0
    assert sb.get("aspos")["tokens_issued"] == 2
    assert not [r for r in sb.requests() if r["path"].startswith("/aspos/api/") and r["status"] == 401]


def test_401_refreshes_once_and_retries(sb, redis_server):
    warm(sb, redis_server)
    old = redis_server.client.hget(TOKEN_KEY, "access_token")
    sb.post("aspos/tokens/expire")
    rc, out = drive(sb, redis_server, "update", "10023", "invoiced", "FACTUUR/9")
    res = out["results"][0]
    assert rc == 0 and res["ok"] and res["attempts"] == 2
    assert out["stats"]["retries_401"] == 1 and out["stats"]["token_fetches"] == 1
    assert order(sb, "10023")["external_reference"] == "FACTUUR/9"
    new = redis_server.client.hget(TOKEN_KEY, "access_token")
    assert new and new != old
    statuses = [r["status"] for r in sb.requests() if r["method"] == "PATCH"]
    assert statuses == [401, 200]


def test_429_is_transient_with_retry_after(sb, redis_server):
    warm(sb, redis_server)
    sb.post("faults", {"scope": "aspos", "force_429": 1})
    rc, out = drive(sb, redis_server, "update", "10023", "invoiced", "F")
    res = out["results"][0]
    assert rc == 1 and not res["ok"] and res["kind"] == "transient"
    assert res["http_status"] == 429 and res["retry_after_ms"] == 1000
    assert "429" in res["message"] and "too_many_requests" in res["message"]
    assert order(sb, "10023")["status"] == "completed"


def test_404_is_permanent(sb, redis_server):
    rc, out = drive(sb, redis_server, "update", "77777", "invoiced", "F")
    res = out["results"][0]
    assert rc == 1 and res["kind"] == "permanent" and res["http_status"] == 404
    assert "77777" in res["message"] and res["attempts"] == 1


def test_5xx_is_transient(sb, redis_server):
    warm(sb, redis_server)
    sb.post("faults", {"scope": "aspos", "error_rate": 100, "error_status": 500})
    rc, out = drive(sb, redis_server, "update", "10023", "invoiced", "F")
    res = out["results"][0]
    assert rc == 1 and res["kind"] == "transient" and res["http_status"] == 500
    assert res["retry_after_ms"] == 0 and res["attempts"] == 1
    sb.post("faults", {"error_status": 503})
    rc, out = drive(sb, redis_server, "update", "10023", "invoiced", "F")
    res = out["results"][0]
    assert res["kind"] == "transient" and res["http_status"] == 503 and res["retry_after_ms"] == 1000


def test_timeout_is_transient(sb, redis_server):
    warm(sb, redis_server)
    sb.post("faults", {"scope": "aspos", "hang_rate": 100, "hang_ms": 10000})
    t0 = time.monotonic()
    rc, out = drive(sb, redis_server, "update", "10023", "invoiced", "F", opts=["--timeout-ms", "400"])
    res = out["results"][0]
    assert rc == 1 and res["kind"] == "transient" and res["http_status"] == 0
    assert "timed out" in res["message"]
    assert time.monotonic() - t0 < 5


def test_unreachable_is_transient(redis_server, workdir):
    class Nowhere:
        url = "http://127.0.0.1:%d" % free_port()
    rc, out = drive(Nowhere, redis_server, "update", "10023", "invoiced", "F")
    res = out["results"][0]
    assert rc == 1 and res["kind"] == "transient" and "network error" in res["message"]


def test_refused_credentials_are_permanent(sb, redis_server):
    rc, out = drive(sb, redis_server, "update", "10023", "invoiced", "F",
                    opts=["--client-secret", "wrong"])
    res = out["results"][0]
    assert rc == 1 and res["kind"] == "permanent" and res["http_status"] == 401
    assert "invalid_client" in res["message"]
    assert not [r for r in sb.requests() if r["method"] == "PATCH"]


def test_works_without_redis(sb):
    rc, out = drive(sb, None, "parallel", "5", "10023", "invoiced")
    assert rc == 0 and len(out["results"]) == 5 and all(r["ok"] for r in out["results"])
    # Five calls at once share one token fetch.
    assert out["stats"]["token_fetches"] == 1


def test_redis_down_still_writes_back(sb, redis_server):
    redis_server.stop()
    rc, out = drive(sb, redis_server, "update", "10023", "invoiced", "F")
    assert rc == 0 and order(sb, "10023")["status"] == "invoiced"


def test_orders_changed_since_pages(sb, redis_server):
    rc, out = drive(sb, redis_server, "orders", "2026-12-04T10:30:00Z", "1")
    res = out["results"][0]
    assert rc == 0 and [o["id"] for o in res["items"]] == ["10024", "10025"] and res["next_page"] == 0
    rc, out = drive(sb, redis_server, "orders")
    res = out["results"][0]
    assert [o["id"] for o in res["items"]] == ["10023", "10024"] and res["next_page"] == 2
    rc, out = drive(sb, redis_server, "orders", "", "2")
    res = out["results"][0]
    assert [o["id"] for o in res["items"]] == ["10025"] and res["next_page"] == 0
    gets = [r for r in sb.requests() if r["method"] == "GET" and r["path"] == "/aspos/api/orders"]
    assert len(gets) == 3
    rc, out = drive(sb, redis_server, "orders", "soon")
    assert out["results"][0]["kind"] == "permanent" and out["results"][0]["http_status"] == 400


def test_order_id_is_escaped(sb, redis_server):
    sb.post("aspos/orders", {"id": "K1/0001 ä?x=1", "status": "completed"})
    rc, out = drive(sb, redis_server, "update", "K1/0001 ä?x=1", "invoiced", "F/1")
    assert rc == 0, out
    assert sb.get("aspos/orders?key=K1%2F0001%20%C3%A4%3Fx%3D1")["orders"][0]["status"] == "invoiced"
    rc, out = drive(sb, redis_server, "update", "..", "invoiced")
    assert out["results"][0]["http_status"] == 404      # never /api/orders itself


def test_field_names_come_from_the_api_map(sb, redis_server, workdir):
    m = json.load(open(API_MAP))
    m["orders"]["update"]["status"] = "state"
    path = os.path.join(workdir, "api.json")
    json.dump(m, open(path, "w"))
    rc, out = drive(sb, redis_server, "update", "10023", "invoiced", opts=["--api-map", path])
    res = out["results"][0]
    # The sandbox speaks the model: "state" is not a field it lets a client change.
    assert res["kind"] == "permanent" and res["http_status"] == 422 and "state" in res["message"]
    del m["orders"]["update"]["path"]
    json.dump(m, open(path, "w"))
    rc, out = drive(sb, redis_server, "update", "10023", "invoiced", opts=["--api-map", path])
    assert rc == 2 and "orders.update.path" in out["error"]


def test_response_size_is_bounded(sb, redis_server):
    rc, out = drive(sb, redis_server, "orders", opts=["--max-response", "200"])
    res = out["results"][0]
    assert rc == 1 and res["kind"] == "permanent" and "byte limit" in res["message"]


def test_argument_errors_refused_up_front(sb, redis_server):
    rc, out = drive(sb, redis_server, "update", "", "invoiced")
    assert rc == 2 and "order id" in out["error"]
    rc, out = drive(sb, redis_server, "update", "1", "x" * 2000)
    assert rc == 2 and "status" in out["error"]
