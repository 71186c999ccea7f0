"""kassaboek-sandbox, the operational side: credit budget and concurrency
cap (429 + Retry-After + X-RateLimit-*), fault injection at start-up and at
run time (latency, 5xx, hangs, drops, forced 429), the inspection API and
reset, and many concurrent requests without blocking."""
import http.client as httpclient
import os
import socket
import threading
import time

import pytest

from twinfield_soap import TwinfieldClient, http_request, sandbox_binary, start_sandbox

pytestmark = pytest.mark.skipif(not os.access(sandbox_binary(), os.X_OK),
                                reason="src/kassaboek-sandbox not built")

READ = ("<read><type>dimensions</type><office>001</office><dimtype>DEB</dimtype>"
        "<code>1000</code></read>")
WRITE = ("<dimension><office>001</office><type>KPL</type><code>KL1</code><name>Limit</name>"
         "</dimension>")


def test_credit_budget_gives_429_with_retry_after(programs, workdir):
    sb = start_sandbox(programs, workdir, "--credits-per-minute", "8")
    tw = TwinfieldClient(sb.url)
    r = tw.process(READ)                                  # 1 credit
    assert r.status == 200
    assert (r.header("X-RateLimit-Limit"), r.header("X-RateLimit-Remaining"),
            r.header("X-RateLimit-Credited")) == ("8", "7", "1")
    r = tw.process(WRITE)                                 # 3 credits
    assert r.status == 200 and r.header("X-RateLimit-Credited") == "3"
    assert r.header("X-RateLimit-Remaining") == "4"
    s = tw.search("DIM", "*", 0, options=[("dimtype", "DEB")])  # a Finder search is 1 credit
    assert s.status == 200 and s.header("X-RateLimit-Credited") == "1"
    assert tw.process(WRITE).status == 200                # 3 more: 8 of 8 used
    r = tw.process(READ)
    assert r.status == 429
    retry = int(r.header("Retry-After"))
    assert 1 <= retry <= 60
    assert r.header("X-RateLimit-Credited") == "0" and r.header("X-RateLimit-Remaining") == "0"
    c = sb.get("counters")
    assert c["too_many_requests"] == 1 and c["credits"] == 8
    soap = [q for q in sb.requests() if q["path"].startswith("/webservices/")]
    assert [q["credits"] for q in soap] == [1, 3, 1, 3, 0]
    assert [q["status"] for q in soap] == [200, 200, 200, 200, 429]
    # The token endpoint is not metered; OPTIONS is a query (1 credit), refused here too.
    assert tw.token(fresh=True)
    assert http_request("OPTIONS", sb.url + "/webservices/finder.asmx").status == 429
    # A new budget at run time opens the window again.
    sb.post("limits", {"credits_per_minute": 100})
    assert tw.process(READ).status == 200
    r = http_request("OPTIONS", sb.url + "/webservices/finder.asmx")
    assert r.status == 200 and r.header("X-RateLimit-Credited") == "1"


def test_credit_window_slides(programs, workdir):
    """The window is 60 s: a request refused now is admitted once the oldest charge ages out.
    Checked through Retry-After, which must point at that moment."""
    sb = start_sandbox(programs, workdir, "--credits-per-minute", "3")
    tw = TwinfieldClient(sb.url)
    assert tw.process(WRITE).status == 200
    time.sleep(1.1)
    r = tw.process(READ)
    assert r.status == 429 and 57 <= int(r.header("Retry-After")) <= 59


def test_concurrency_cap(programs, workdir):
    sb = start_sandbox(programs, workdir, "--max-concurrency", "2", "--latency", "600")
    tw = TwinfieldClient(sb.url)
    tw.token()
    results = []

    def call():
        results.append(tw.process(READ).status)
    threads = [threading.Thread(target=call) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(0.25)                   # both are in flight now
    assert sb.get("counters")["in_flight"] == 2
    r = tw.process(READ)               # answered after the latency too, like every answer
    assert r.status == 429 and r.header("Retry-After") == "1"
    for t in threads:
        t.join()
    assert results == [200, 200]
    assert sb.get("counters")["in_flight"] == 0
    assert tw.process(READ).status == 200


def test_latency_fixed_random_and_at_run_time(programs, workdir):
    sb = start_sandbox(programs, workdir, "--latency", "300")
    tw = TwinfieldClient(sb.url)
    tw.token()
    t0 = time.monotonic()
    assert tw.process(READ).status == 200
    assert time.monotonic() - t0 >= 0.3
    sb.post("faults", {"latency": "50-120"})
    for _ in range(3):
        t0 = time.monotonic()
        assert tw.process(READ).status == 200
        took = time.monotonic() - t0
        assert 0.05 <= took < 0.5, took
    assert sb.get("faults")["latency"] == "50-120"
    sb.post("faults", {"latency": 0})
    t0 = time.monotonic()
    tw.process(READ)
    assert time.monotonic() - t0 < 0.1
    # Bad settings are refused whole.
    status, body = sb.api("faults", {"latency": "9-1"}, method="POST")
    assert status == 400 and "latency" in body["detail"]
    status, body = sb.api("faults", {"error_rate": 150}, method="POST")
    assert status == 400
    assert sb.get("faults")["error_rate"] == 0


def test_many_concurrent_requests_do_not_block(programs, workdir):
    sb = start_sandbox(programs, workdir, "--latency", "100")
    tw = TwinfieldClient(sb.url)
    tw.token()
    statuses = []
    lock = threading.Lock()

    def call():
        s = tw.process(READ, timeout=10).status
        with lock:
            statuses.append(s)
    threads = [threading.Thread(target=call) for _ in range(40)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.monotonic() - t0
    assert statuses == [200] * 40
    assert took < 2.0, took            # 40 x 100 ms one after another would be 4 s


def test_5xx_injection(programs, workdir):
    sb = start_sandbox(programs, workdir, "--error-rate", "100")
    tw = TwinfieldClient(sb.url)
    # Faults hit the token endpoint too (scope all) ...
    r = tw.token_request({"grant_type": "refresh_token", "refresh_token": "sandbox-refresh-token"})
    assert r.status == 500
    sb.post("faults", {"scope": "soap"})
    tw.token()
    r = tw.process(READ)
    assert r.status == 500 and r.fault[2] == "100" and "injected" in r.fault[1]
    sb.post("faults", {"error_status": 503})
    assert tw.process(READ).status == 503
    sb.post("faults", {"error_rate": 0})
    assert tw.process(READ).status == 200
    c = sb.get("counters")
    assert c["injected_errors"] == 3 and c["status"]["503"] == 1


def test_hang_and_drop(programs, workdir):
    sb = start_sandbox(programs, workdir)
    tw = TwinfieldClient(sb.url)
    tw.token()
    sb.post("faults", {"hang_rate": 100, "hang_ms": 1500, "scope": "soap"})
    t0 = time.monotonic()
    with pytest.raises((socket.timeout, TimeoutError)):
        tw.process(READ, timeout=0.5)
    assert time.monotonic() - t0 < 1.4
    # The hung request's connection is closed after hang_ms, without an answer.
    conn = httpclient.HTTPConnection("127.0.0.1", sb.port, timeout=5)
    body = ('<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/'
            'envelope/"><soap:Body/></soap:Envelope>')
    t0 = time.monotonic()
    conn.request("POST", "/webservices/processxml.asmx", body)
    with pytest.raises((httpclient.RemoteDisconnected, ConnectionError)):
        conn.getresponse()
    assert 1.3 <= time.monotonic() - t0 < 4
    conn.close()
    sb.post("faults", {"hang_rate": 0, "drop_rate": 100})
    with pytest.raises((httpclient.RemoteDisconnected, ConnectionError, OSError)):
        tw.process(READ)
    sb.post("faults", {"drop_rate": 0})
    assert tw.process(READ).status == 200
    c = sb.get("counters")
    assert c["hung"] == 2 and c["dropped"] == 1 and c["in_flight"] == 0
    faults = [q["fault"] for q in sb.requests() if q["fault"]]
    assert faults == ["hang", "hang", "drop"]


def test_forced_429(programs, workdir):
    sb = start_sandbox(programs, workdir)
    tw = TwinfieldClient(sb.url)
    tw.token()
    sb.post("faults", {"force_429": 2})
    assert [tw.process(READ).status for _ in range(3)] == [429, 429, 200]
    assert tw.token(fresh=True)                   # never on the token endpoint
    sb.post("faults", {"rate_429": 100})
    r = tw.process(READ)
    assert r.status == 429 and r.header("Retry-After") == "1"
    assert sb.get("counters")["too_many_requests"] == 3


def test_inspection_api_and_reset(programs, workdir):
    sb = start_sandbox(programs, workdir, "--request-log", "5")
    tw = TwinfieldClient(sb.url)
    r = tw.process(WRITE, cdata=True)
    assert r.status == 200
    objs = sb.objects("001", "KPL", "KL1")
    assert len(objs) == 1 and "<name>Limit</name>" in objs[0]["xml"]
    assert sb.objects("001", "dimension", "KL1") == objs
    reqs = sb.requests()
    soap = reqs[-1]
    assert soap["path"] == "/webservices/processxml.asmx"
    assert soap["soapaction"] == '"http://www.twinfield.com/ProcessXmlString"'
    assert soap["root"] == "dimension" and soap["office"] == "001"
    assert soap["credits"] == 3 and soap["status"] == 200 and soap["method"] == "POST"
    assert soap["xml"] == WRITE                    # the decoded request document
    assert reqs[-2]["path"] == "/auth/authentication/connect/token" and "secret" not in str(reqs[-2])
    assert isinstance(soap["time"], float) and soap["duration_ms"] >= 0
    c = sb.get("counters")
    assert c["requests"] == 2 and c["credits"] == 3 and c["status"]["200"] == 2
    # The log keeps the last N entries only.
    for _ in range(7):
        tw.process(READ)
    reqs = sb.requests()
    assert len(reqs) == 5 and reqs[-1]["id"] == 9
    assert [q["id"] for q in sb.get("requests?since=7")["requests"]] == [8, 9]
    # Unknown endpoint / office.
    assert sb.api("nope")[0] == 404
    assert sb.api("objects?office=999")[0] == 404
    # Reset: the store goes back to the seed, counters and log are cleared.
    sb.post("reset")
    assert sb.objects("001", "KPL", "KL1") == []
    assert len(sb.objects("001", "DEB")) == 4
    c = sb.get("counters")
    assert c["requests"] == 0 and c["credits"] == 0
    assert sb.requests() == []
    # The token survived the reset.
    assert tw.process(READ).status == 200
