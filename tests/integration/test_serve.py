"""kassaboek serve: every row of the answer table of reference/webhooks.md,
checked both in the HTTP answer and in what landed in Redis."""
import json
import os
import signal
import socket
import threading
import time
import uuid

import pytest

from kbclient import SECRET, OLD_SECRET, Serve, order_event, sign

STREAM = "{kb}:events"


@pytest.fixture
def serve(programs, workdir, redis_server):
    return Serve(programs, workdir, redis_server.url, extra="max_body = 4k")


def entries(redis_server):
    return redis_server.client.xrange(STREAM)


def assert_error_body(body, error):
    assert isinstance(body, dict), body
    assert body["error"] == error
    assert isinstance(body["detail"], str) and body["detail"]


def test_accepted_event_is_in_the_stream(serve, redis_server):
    ev = order_event()
    raw = json.dumps(ev).encode()
    status, headers, body = serve.send(body=raw, msg_id=ev["id"])
    assert status == 202
    assert body == {"id": ev["id"], "status": "queued"}
    assert headers["content-type"] == "application/json"
    [(sid, fields)] = entries(redis_server)
    assert fields["id"] == ev["id"]
    assert fields["type"] == "order.completed"
    assert fields["body"] == raw.decode()      # the raw body, byte for byte
    assert abs(int(fields["received_at"]) / 1000 - time.time()) < 10
    assert redis_server.client.exists("{kb}:seen:" + ev["id"])
    ttl = redis_server.client.pttl("{kb}:seen:" + ev["id"])
    assert 71 * 3600 * 1000 < ttl <= 72 * 3600 * 1000


def test_duplicate_id_is_200_and_not_enqueued_twice(serve, redis_server):
    ev = order_event()
    assert serve.send(ev)[0] == 202
    status, _, body = serve.send(ev)
    assert status == 200
    assert body == {"id": ev["id"], "status": "duplicate"}
    # A retry signed at a later time is still the same event.
    status, _, _ = serve.send(ev, ts=int(time.time()) + 30)
    assert status == 200
    assert len(entries(redis_server)) == 1


def test_concurrent_duplicates_enqueue_once(serve, redis_server):
    ev = order_event()
    results = []

    def post():
        results.append(serve.send(ev)[0])
    threads = [threading.Thread(target=post) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200] * 7 + [202]
    assert len(entries(redis_server)) == 1


def test_rotated_secret_still_accepted(serve, redis_server):
    assert serve.send(secret=OLD_SECRET)[0] == 202
    assert len(entries(redis_server)) == 1


@pytest.mark.parametrize("case", ["no_signature", "wrong_secret", "stale", "future", "tampered", "v2_only"])
def test_unauthenticated_is_401(serve, redis_server, case):
    ev = order_event()
    body = json.dumps(ev).encode()
    now = int(time.time())
    kwargs = {}
    if case == "no_signature":
        status, _, data = serve.request("POST", "/webhooks/aspos", body, {"Content-Type": "application/json"})
        data = json.loads(data)
    else:
        if case == "wrong_secret":
            kwargs["secret"] = "whsec_d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldA=="
        elif case == "stale":
            kwargs["ts"] = now - 301
        elif case == "future":
            kwargs["ts"] = now + 400
        elif case == "tampered":
            kwargs["signature"] = sign(SECRET, ev["id"], now, body + b" ")
            kwargs["ts"] = now
        elif case == "v2_only":
            kwargs["signature"] = sign(SECRET, ev["id"], now, body).replace("v1,", "v2,")
            kwargs["ts"] = now
        status, _, data = serve.send(body=body, msg_id=ev["id"], **kwargs)
    assert status == 401
    assert_error_body(data, "unauthorized")
    assert entries(redis_server) == []
    assert "MfKQ9r8" not in serve.proc.output()      # the secret never reaches the log


@pytest.mark.parametrize("raw", [b"{not json", b"", b'{"id": "x"} trailing', b'{"id": "\xff\xfe"}', b"[1,2",
                                 b"[" * 100 + b"]" * 100])
def test_malformed_json_is_400(serve, redis_server, raw):
    status, _, data = serve.send(body=raw, msg_id="evt_" + uuid.uuid4().hex)
    assert status == 400
    assert_error_body(data, "malformed_json")
    assert entries(redis_server) == []


def test_body_over_max_body_is_413_and_not_stored(serve, redis_server):
    ev = order_event()
    ev["data"]["padding"] = "x" * 5000
    status, _, _ = serve.send(ev)
    assert status == 413
    assert entries(redis_server) == []


@pytest.mark.novalgrind
def test_413_does_not_read_the_body(serve):
    """A huge Content-Length is refused from the headers, without waiting for the body."""
    s = socket.create_connection(("127.0.0.1", serve.port), timeout=5)
    s.sendall(b"POST /webhooks/aspos HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: 100000000\r\n\r\n")
    start = time.monotonic()
    answer = s.recv(4096)
    s.close()
    assert answer.startswith(b"HTTP/1.1 413")
    assert time.monotonic() - start < 2


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded", None, "application/jsonp"])
def test_wrong_content_type_is_415(serve, redis_server, ctype):
    status, _, data = serve.send(content_type=ctype)
    assert status == 415
    assert_error_body(data, "unsupported_media_type")
    assert entries(redis_server) == []


def test_content_type_with_charset_is_fine(serve):
    assert serve.send(content_type="Application/JSON; charset=utf-8")[0] == 202


@pytest.mark.parametrize("mutate", ["unknown_type", "no_type", "no_data", "data_not_object", "array", "no_id"])
def test_not_a_known_event_is_422(serve, redis_server, mutate):
    ev = order_event()
    if mutate == "unknown_type":
        ev["type"] = "order.exploded"
    elif mutate == "no_type":
        del ev["type"]
    elif mutate == "no_data":
        del ev["data"]
    elif mutate == "data_not_object":
        ev["data"] = "10023"
    elif mutate == "array":
        ev = [ev]
    elif mutate == "no_id":
        del ev["id"]
    body = json.dumps(ev).encode()
    status, _, data = serve.send(body=body, msg_id="evt_" + uuid.uuid4().hex)
    assert status == 422
    assert_error_body(data, "unknown_event")
    assert entries(redis_server) == []


def test_every_event_type_is_accepted(serve, redis_server):
    types = ["order.created", "order.updated", "order.completed", "order.cancelled", "order.credited",
             "customer.created", "customer.updated", "product.created", "product.updated",
             "stock.changed", "register.closed"]
    for t in types:
        assert serve.send(order_event(etype=t))[0] == 202
    assert [f["type"] for _, f in entries(redis_server)] == types


def test_redis_down_is_503_then_recovers_without_restart(serve, redis_server):
    assert serve.send()[0] == 202
    redis_server.stop()
    ev = order_event()
    status, headers, data = serve.send(ev)
    assert status == 503
    assert headers["retry-after"].isdigit()
    assert_error_body(data, "unavailable")
    status, _, _ = serve.request("GET", "/readyz")
    assert status == 503
    redis_server.start()
    deadline = time.monotonic() + 10
    while True:
        status, _, data = serve.send(ev)
        if status == 202 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert status == 202, data
    assert serve.request("GET", "/readyz")[0] == 200
    # The restarted Redis is empty (no persistence in tests): exactly the retried event is there.
    assert [f["id"] for _, f in entries(redis_server)] == [ev["id"]]


def test_wrong_method_and_unknown_path(serve):
    status, headers, data = serve.request("GET", "/webhooks/aspos")
    assert status == 405
    assert headers["allow"] == "POST"
    assert json.loads(data)["error"] == "method_not_allowed"
    status, _, data = serve.request("GET", "/nope")
    assert status == 404
    assert json.loads(data)["error"] == "not_found"


def test_health_ready_and_metrics(serve):
    status, _, data = serve.request("GET", "/healthz")
    assert status == 200 and json.loads(data) == {"status": "alive"}
    status, _, data = serve.request("GET", "/readyz")
    assert status == 200 and json.loads(data) == {"status": "ready"}
    serve.send()
    serve.send(content_type="text/plain")
    status, headers, data = serve.request("GET", "/metrics")
    text = data.decode()
    assert status == 200
    assert headers["content-type"].startswith("text/plain")
    assert 'kassaboek_webhook_requests_total{status="202"} 1' in text
    assert 'kassaboek_webhook_requests_total{status="415"} 1' in text
    assert "kassaboek_enqueue_duration_seconds_count 1" in text
    assert 'kassaboek_enqueue_duration_seconds_bucket{le="+Inf"} 1' in text
    assert "kassaboek_redis_up 1" in text


def test_logs_are_json_lines_with_the_webhook_id(serve):
    ev = order_event()
    serve.send(ev)
    lines = [json.loads(line) for line in serve.proc.output().splitlines() if line.startswith("{")]
    queued = [l for l in lines if l.get("id") == ev["id"]]
    assert queued and queued[0]["level"] == "info" and "time" in queued[0]
    assert all("K1-000123" not in json.dumps(l) for l in lines)     # no payload at info level


def test_sigterm_under_load_loses_no_acknowledged_event(programs, workdir, redis_server):
    serve = Serve(programs, workdir, redis_server.url)
    acked, stop = [], threading.Event()

    def load():
        while not stop.is_set():
            ev = order_event()
            try:
                status = serve.send(ev)[0]
            except OSError:
                continue
            if status == 202:
                acked.append(ev["id"])
    threads = [threading.Thread(target=load) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    serve.proc.send_signal(signal.SIGTERM)
    rc = serve.proc.proc.wait(15)
    stop.set()
    for t in threads:
        t.join()
    assert rc == 0, serve.proc.output()[-3000:]
    assert len(acked) > 20
    stored = {f["id"] for _, f in entries(redis_server)}
    assert set(acked) <= stored


@pytest.mark.novalgrind
def test_slow_client_is_cut_off(programs, workdir, redis_server):
    serve = Serve(programs, workdir, redis_server.url, extra="request_timeout = 1s")
    s = socket.create_connection(("127.0.0.1", serve.port), timeout=5)
    s.sendall(b"POST /webhooks/aspos HTTP/1.1\r\nHost: x\r\n")   # and then nothing
    start = time.monotonic()
    data = s.recv(4096)          # closed (or answered with an error) by the server
    assert time.monotonic() - start < 4
    assert data == b"" or data.startswith(b"HTTP/1.1 4")
    s.close()


def test_max_connections_pauses_accepting(programs, workdir, redis_server):
    serve = Serve(programs, workdir, redis_server.url, extra="max_connections = 3\nrequest_timeout = 30s")
    idle = [socket.create_connection(("127.0.0.1", serve.port)) for _ in range(3)]
    time.sleep(0.3)
    with pytest.raises(OSError):             # accepted by the kernel, but not served
        serve.request("GET", "/healthz", timeout=0.7)
    idle[0].close()
    deadline = time.monotonic() + 5
    while True:
        try:
            status = serve.request("GET", "/healthz", timeout=1)[0]
            break
        except OSError:
            assert time.monotonic() < deadline
    assert status == 200
    for s in idle[1:]:
        s.close()


def test_hmac_scheme(programs, workdir, redis_server):
    import base64, hashlib, hmac as hm
    serve = Serve(programs, workdir, redis_server.url,
                  extra="signature = hmac\nhmac_header = X-AsPos-Signature\nhmac_encoding = hex")
    # The hmac scheme's secret list is the same key; reuse the first one as raw bytes.
    key = base64.b64decode(SECRET[6:])
    ev = order_event()
    body = json.dumps(ev).encode()
    good = hm.new(key, body, hashlib.sha256).hexdigest()
    h = {"Content-Type": "application/json", "X-AsPos-Signature": "sha256=" + good}
    assert serve.request("POST", "/webhooks/aspos", body, h)[0] == 202
    h["X-AsPos-Signature"] = good[:-1] + ("0" if good[-1] != "0" else "1")
    assert serve.request("POST", "/webhooks/aspos", body, h)[0] == 401
    # Without webhook-id the envelope id is the idempotency key.
    assert [f["id"] for _, f in entries(redis_server)] == [ev["id"]]


def test_token_scheme(programs, workdir, redis_server):
    serve = Serve(programs, workdir, redis_server.url, extra="signature = token")
    body = json.dumps(order_event()).encode()
    ok = {"Content-Type": "application/json", "Authorization": "Bearer " + SECRET}
    bad = {"Content-Type": "application/json", "Authorization": "Bearer nope"}
    assert serve.request("POST", "/webhooks/aspos", body, ok)[0] == 202
    assert serve.request("POST", "/webhooks/aspos", body, bad)[0] == 401


def test_none_scheme_warns(programs, workdir, redis_server):
    serve = Serve(programs, workdir, redis_server.url, extra="signature = none")
    body = json.dumps(order_event()).encode()
    assert serve.request("POST", "/webhooks/aspos", body, {"Content-Type": "application/json"})[0] == 202
    assert "NOT authenticated" in serve.proc.output()


def test_script_cache_flush_costs_at_most_one_retry(serve, redis_server):
    assert serve.send()[0] == 202
    redis_server.client.script_flush()
    first = serve.send()[0]
    assert first in (202, 503)
    assert serve.send()[0] == 202
    assert serve.send()[0] == 202


def test_failed_enqueue_is_not_remembered_as_seen(serve, redis_server):
    """If the XADD fails the id must not count as seen, or the sender's retry would be lost."""
    redis_server.client.set("{kb}:events", "not a stream")      # XADD now fails (WRONGTYPE)
    ev = order_event()
    status, _, body = serve.send(ev)
    assert status == 503
    assert not redis_server.client.exists("{kb}:seen:" + ev["id"])
    redis_server.client.delete("{kb}:events")
    assert serve.send(ev)[0] == 202
    assert [f["id"] for _, f in entries(redis_server)] == [ev["id"]]


def test_redis_over_a_unix_socket(programs, workdir):
    import subprocess as sp
    import redis as redislib
    sock = os.path.join(workdir, "redis.sock")
    r = sp.Popen(["redis-server", "--port", "0", "--unixsocket", sock, "--unixsocketperm", "700",
                  "--save", "", "--dir", workdir], stdout=sp.DEVNULL, stderr=sp.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(sock):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        serve = Serve(programs, workdir, "unix://" + sock)
        while serve.request("GET", "/readyz")[0] != 200:     # connects in the background
            assert time.monotonic() < deadline
            time.sleep(0.05)
        ev = order_event()
        assert serve.send(ev)[0] == 202
        client = redislib.Redis(unix_socket_path=sock, decode_responses=True)
        assert [f["id"] for _, f in client.xrange(STREAM)] == [ev["id"]]
    finally:
        r.terminate()
        r.wait(10)
