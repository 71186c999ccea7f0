"""The Twinfield client (src/twinfield/) against kassaboek-sandbox and a real
redis-server, driven through tests/tf-drive: OAuth2 refresh and cluster
discovery shared through Redis, 401-then-refresh, 429-then-success, error
classification (5xx, 400, timeouts, business errors per batch document), the
customer lookup by e-mail, and the throttle shared by two processes.
"""
import glob
import json
import os
import subprocess
import time
import urllib.request

import pytest

from conftest import BUILDDIR, SRCDIR, program

DRIVE = os.path.join(BUILDDIR, "tests", "tf-drive")
SANDBOX = program("kassaboek-sandbox")

pytestmark = pytest.mark.skipif(
    not (os.access(DRIVE, os.X_OK) and os.access(SANDBOX, os.X_OK)),
    reason="tests/tf-drive or src/kassaboek-sandbox not built")


class Sandbox:
    def __init__(self, programs, workdir, args, name="sandbox"):
        self.port_file = os.path.join(workdir, name + ".port")
        argv = [SANDBOX, "--listen", "127.0.0.1:0", "--port-file", self.port_file]
        seeds = sorted(glob.glob(os.path.join(SRCDIR, "conf", "sandbox", "*.json")))
        if seeds and "--seed" not in args:
            argv += ["--seed", seeds[0]]
        self.proc = programs(argv + list(args), workdir, name=name)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.port_file) or not open(self.port_file).read().strip():
            if self.proc.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("sandbox did not start: " + self.proc.output())
            time.sleep(0.02)
        text = open(self.port_file).read().strip()
        self.port = int(text.rsplit(":", 1)[-1])
        self.url = "http://127.0.0.1:%d" % self.port

    def api(self, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + "/_sandbox/" + path, data=data,
                                     method="GET" if body is None else "POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read().decode())

    def requests(self):
        return self.api("requests")["requests"]

    def soap_requests(self):
        return [r for r in self.requests() if "/webservices/" in (r.get("path") or "")]

    def counters(self):
        return self.api("counters")


@pytest.fixture
def sandbox(programs, workdir):
    """Factory: sandbox(*flags) starts one kassaboek-sandbox."""
    n = [0]

    def start(*args):
        n[0] += 1
        return Sandbox(programs, workdir, args, name="sandbox%d" % n[0])
    return start


def drive_argv(sb, redis_server, *opts):
    return [DRIVE, "--login-url", sb.url, "--redis", redis_server.url, "--office",
            os.environ.get("KB_TF_OFFICE", "001")] + list(opts)


def _answer(rc, out, err):
    """The last JSON line of a tf-drive run, after checking it exited cleanly."""
    assert "Sanitizer" not in err and "runtime error" not in err, err
    assert rc in (0, 1), "tf-drive exited with %s: %s" % (rc, err)
    lines = [l for l in out.splitlines() if l.startswith("{")]
    assert lines, "tf-drive printed nothing (rc %d): %s" % (rc, err)
    return json.loads(lines[-1])


def drive(sb, redis_server, *args, opts=(), timeout=30):
    """Runs one tf-drive command; returns its JSON answer."""
    p = subprocess.run(drive_argv(sb, redis_server, *opts) + list(args), capture_output=True,
                       text=True, timeout=timeout)
    return _answer(p.returncode, p.stdout, p.stderr)


def spawn(sb, redis_server, *args, opts=()):
    return subprocess.Popen(drive_argv(sb, redis_server, *opts) + list(args),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(p, timeout=40):
    out, err = p.communicate(timeout=timeout)
    return _answer(p.returncode, out, err)


class Shell:
    """tf-drive shell: one client, several commands, answers line by line."""

    def __init__(self, sb, redis_server, opts=()):
        self.errpath = os.path.join(sb.proc.log_path + ".drive-stderr")
        self.err = open(self.errpath, "w")
        self.p = subprocess.Popen(drive_argv(sb, redis_server, *opts) + ["shell"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=self.err, text=True, bufsize=1)

    def run(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        out = self.p.stdout.readline()
        assert out, "tf-drive shell died"
        return json.loads(out)

    def close(self):
        self.p.stdin.write("quit\n")
        self.p.stdin.close()
        rc = self.p.wait(20)
        self.err.close()
        _answer(rc, "{}", open(self.errpath).read())


def write_xml(workdir, name, text):
    path = os.path.join(workdir, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def test_token_refresh_cluster_discovery_and_sharing(sandbox, redis_server):
    sb = sandbox()
    r = drive(sb, redis_server, "offices")
    assert r["kind"] == "ok", r
    assert r["credits"] == 1 and r["stats"]["token_refreshes"] == 1
    paths = [q["path"].split("?")[0] for q in sb.requests()]
    assert "/auth/authentication/connect/token" in paths
    assert "/auth/authentication/connect/accesstokenvalidation" in paths
    assert "/webservices/processxml.asmx" in paths
    # Token and cluster are in Redis under the hash-tagged prefix, with an expiry.
    keys = redis_server.client.keys("*")
    assert keys and all(k.startswith("{kb}:tf:") for k in keys), keys
    tok = redis_server.client.hgetall("{kb}:tf:token:sandbox")
    assert tok["cluster_url"] == sb.url
    assert int(tok["expires_at"]) > int(tok["refresh_at"]) > time.time() * 1000
    assert 0 < redis_server.client.pttl("{kb}:tf:token:sandbox") <= 3600 * 1000
    # A second process takes the token from Redis: no new refresh.
    r = drive(sb, redis_server, "offices")
    assert r["kind"] == "ok" and r["stats"]["token_refreshes"] == 0
    assert sb.counters()["tokens_issued"] == 1


def test_refresh_lock_one_refresh_for_many_processes(sandbox, redis_server):
    sb = sandbox("--latency", "100")
    procs = [spawn(sb, redis_server, "offices") for _ in range(4)]
    outs = [finish(p) for p in procs]
    assert all(o["kind"] == "ok" for o in outs), outs
    assert sum(o["stats"]["token_refreshes"] for o in outs) == 1
    assert sb.counters()["tokens_issued"] == 1


def test_configured_cluster_url_skips_validation(sandbox, redis_server):
    sb = sandbox()
    r = drive(sb, redis_server, "offices", opts=("--cluster-url", sb.url + "/"))
    assert r["kind"] == "ok", r
    paths = [q["path"] for q in sb.requests()]
    assert not any("accesstokenvalidation" in p for p in paths), paths


def test_bad_client_secret_is_permanent(sandbox, redis_server):
    sb = sandbox()
    r = drive(sb, redis_server, "offices", opts=("--client-secret", "wrong"))
    assert r["kind"] == "auth" and r["transient"] is False, r
    assert not sb.soap_requests()


def test_expired_token_refreshes_once_and_retries(sandbox, redis_server):
    sb = sandbox()
    sh = Shell(sb, redis_server)
    try:
        assert sh.run("offices")["kind"] == "ok"
        assert sb.api("tokens/expire", {})["expired"] >= 1
        r = sh.run("offices")
        assert r["kind"] == "ok", r
        assert r["attempts"] == 2 and r["stats"]["token_refreshes"] == 2
        statuses = [q["status"] for q in sb.soap_requests()]
        assert statuses == [200, 401, 200], statuses
    finally:
        sh.close()


def test_429_is_honoured_then_succeeds(sandbox, redis_server):
    sb = sandbox()
    assert drive(sb, redis_server, "offices")["kind"] == "ok"
    sb.api("faults", {"force_429": 1})
    t0 = time.monotonic()
    r = drive(sb, redis_server, "offices")
    took = time.monotonic() - t0
    assert r["kind"] == "ok", r
    assert r["attempts"] == 2 and r["stats"]["http_429"] == 1 and r["stats"]["retries"] == 1
    assert [q["status"] for q in sb.soap_requests()][-2:] == [429, 200]
    # The sandbox's Retry-After is at least 1 s: the client waited for it.
    assert took >= 1.0


def test_5xx_and_timeouts_are_transient_400_permanent(sandbox, redis_server, workdir):
    sb = sandbox()
    assert drive(sb, redis_server, "offices")["kind"] == "ok"
    sb.api("faults", {"error_rate": 100, "error_status": 503, "scope": "soap"})
    r = drive(sb, redis_server, "offices")
    assert r["kind"] == "server" and r["transient"] is True and r["http_status"] == 503, r
    assert r["attempts"] == 1
    sb.api("faults", {"error_status": 500})
    r = drive(sb, redis_server, "offices")
    assert r["kind"] == "server" and r["transient"] is True and r["fault_code"] == 100, r
    assert "SOAP fault" in r["message"] and "code 100" in r["message"], r
    sb.api("faults", {"error_rate": 0, "hang_rate": 100, "hang_ms": 5000, "scope": "soap"})
    t0 = time.monotonic()
    r = drive(sb, redis_server, "offices", opts=("--timeout-ms", "800"))
    assert r["kind"] == "timeout" and r["transient"] is True, r
    assert time.monotonic() - t0 < 4
    sb.api("faults", {"hang_rate": 0})
    # A transaction of 1001 lines is refused with HTTP 400: permanent.
    lines = "".join('<line type="detail" id="%d"><dim1>8020</dim1><debitcredit>%s</debitcredit>'
                    '<value>1.00</value></line>' % (i + 1, "debit" if i % 2 else "credit")
                    for i in range(1001))
    path = write_xml(workdir, "big.xml", '<transaction destiny="temporary"><header><office>001'
                     '</office><code>MEMO</code></header><lines>%s</lines></transaction>' % lines)
    r = drive(sb, redis_server, "process", path)
    assert r["kind"] == "bad_request" and r["transient"] is False and r["http_status"] == 400, r


def test_batch_with_mixed_results(sandbox, redis_server, workdir):
    sb = sandbox()
    dims = ['<dimension><office>001</office><type>KPL</type><code>TK%d</code><name>Cost %d</name>'
            '</dimension>' % (i, i) for i in range(3)]
    # The middle one names an office that does not exist.
    dims[1] = dims[1].replace("<office>001</office>", "<office>999</office>")
    path = write_xml(workdir, "batch.xml", "<dimensions>%s</dimensions>" % "".join(dims))
    r = drive(sb, redis_server, "process", path)
    assert r["kind"] == "business" and r["transient"] is False, r
    assert [d["ok"] for d in r["docs"]] == [True, False, True]
    assert "document 2 (dimension" in r["docs"][1]["summary"]
    assert r["docs"][1]["msgs"], r["docs"][1]
    assert "(1 of 3 documents failed)" in r["message"]
    assert r["credits"] == 3
    # The good neighbours were stored.
    assert drive(sb, redis_server, "read-dim", "KPL", "TK2")["kind"] == "ok"
    nf = drive(sb, redis_server, "read-dim", "KPL", "TK1")
    assert nf["kind"] == "business" and nf["docs"][0]["ok"] is False


def test_customer_lookup_by_email(sandbox, redis_server, workdir):
    sb = sandbox()
    path = write_xml(workdir, "cust.xml",
                     '<dimension><office>001</office><type>DEB</type><name>Lookup &amp; Co'
                     '</name><addresses><address type="invoice" default="true"><name>Lookup'
                     '</name><country>NL</country><email>Buyer@Example.com</email></address>'
                     '</addresses></dimension>')
    w = drive(sb, redis_server, "process", path)
    assert w["kind"] == "ok", w
    code = w["docs"][0]["xml"].split("<code>")[1].split("</code>")[0]
    r = drive(sb, redis_server, "customer", "buyer@example.com", "Lookup & Co")
    assert r["kind"] == "ok" and r["code"] == code, r
    # Field 4 does not cover e-mail in the sandbox: 2 searches + 1 confirming read.
    assert r["credits"] == 3
    searches = [q for q in sb.soap_requests() if "finder" in q["path"]]
    assert searches and all(q["credits"] == 1 for q in searches)
    r = drive(sb, redis_server, "customer", "nobody@example.com", "Nobody Such")
    assert r["kind"] == "ok" and r["code"] is None and r["credits"] == 2, r
    # Same name, other e-mail: read to confirm, and rejected.
    r = drive(sb, redis_server, "customer", "other@example.com", "Lookup & Co")
    assert r["kind"] == "ok" and r["code"] is None, r


def _credits_per_window(entries, window=60.0):
    """Largest sum of credits the sandbox charged within any `window` seconds."""
    charged = sorted((e["time"], e["credits"]) for e in entries if e["credits"] > 0)
    best, j, s = 0, 0, 0
    for i, (t, c) in enumerate(charged):
        s += c
        while charged[j][0] <= t - window:
            s -= charged[j][1]
            j += 1
        best = max(best, s)
    return best


def test_throttle_two_processes_share_one_budget(sandbox, redis_server):
    budget = 30
    sb = sandbox("--credits-per-minute", str(budget), "--max-concurrency", "2")
    opts = ["--credits-per-minute", str(budget), "--max-concurrency", "2"]
    procs = [spawn(sb, redis_server, "writes", "0", "8", "6000", opts=opts) for _ in range(2)]
    outs = [finish(p) for p in procs]
    c = sb.counters()
    assert c["too_many_requests"] == 0, c
    assert sum(o["stats"]["http_429"] for o in outs) == 0
    soap = sb.soap_requests()
    assert _credits_per_window(soap) <= budget
    # The budget was used, not just respected: 10 writes of 3 credits.
    assert sum(o["kinds"].get("ok", 0) for o in outs) == budget // 3, outs
    assert sum(q["credits"] for q in soap) == budget
    # Both processes waited in their local queues instead of being refused.
    assert sum(o["stats"]["throttle_waits"] for o in outs) > 0


def test_concurrency_cap_shared(sandbox, redis_server):
    sb = sandbox("--max-concurrency", "2", "--latency", "150")
    opts = ["--max-concurrency", "2"]
    procs = [spawn(sb, redis_server, "writes", "12", "6", opts=opts) for _ in range(2)]
    outs = [finish(p) for p in procs]
    assert sb.counters()["too_many_requests"] == 0
    assert all(o["kinds"] == {"ok": 12} for o in outs), outs
    assert all(o["stats"]["max_in_flight"] <= 2 for o in outs)
    # No slot leaks: every lease was given back.
    assert redis_server.client.zcard("{kb}:tf:slots:sandbox") == 0


def test_no_budget_keeps_many_requests_in_flight(sandbox, redis_server):
    sb = sandbox("--latency", "100")
    r = drive(sb, redis_server, "writes", "96", "32")
    assert r["kinds"] == {"ok": 96}, r
    assert r["stats"]["max_in_flight"] >= 32
    # 96 requests, 32 at a time, 100 ms each: about 0.3 s, far from 9.6 s serial.
    assert r["elapsed_ms"] < 3000, r


def test_oversized_and_dropped_responses(sandbox, redis_server):
    sb = sandbox()
    r = drive(sb, redis_server, "read-dim", "PNL", "8000", opts=("--max-response", "300"))
    assert r["kind"] == "too_large" and r["transient"] is False, r
    r = drive(sb, redis_server, "read-dim", "PNL", "8000")
    assert r["kind"] == "ok", r
    sb.api("faults", {"drop_rate": 100, "scope": "soap"})
    r = drive(sb, redis_server, "read-dim", "PNL", "8000")
    assert r["kind"] == "network" and r["transient"] is True, r


def test_finder_search_and_its_errors(sandbox, redis_server):
    sb = sandbox()
    r = drive(sb, redis_server, "search", "DIM", "*", "0", "dimtype", "PNL")
    assert r["kind"] == "ok" and r["total_rows"] >= 1 and r["credits"] == 1, r
    assert ["8000"] == [row[0] for row in r["rows"] if row[0] == "8000"]
    r = drive(sb, redis_server, "search", "DIM", "*", "0", "colour", "red")
    assert r["kind"] == "business" and r["transient"] is False, r
    assert "OptionNotAllowed" in r["message"] or "colour" in r["message"], r


def test_throttle_script_reloads_after_script_flush(sandbox, redis_server):
    sb = sandbox()
    sh = Shell(sb, redis_server, opts=("--credits-per-minute", "100"))
    try:
        assert sh.run("offices")["kind"] == "ok"
        redis_server.client.script_flush()
        r = sh.run("offices")
        assert r["kind"] == "ok" and r["stats"]["credits"] == 2, r
    finally:
        sh.close()
    # Both grants are in the shared credit log.
    assert redis_server.client.zcard("{kb}:tf:credits:sandbox") == 2


def test_slot_of_a_killed_process_expires(sandbox, redis_server):
    sb = sandbox()
    opts = ("--max-concurrency", "1", "--timeout-ms", "1000")
    assert drive(sb, redis_server, "offices", opts=opts)["kind"] == "ok"
    sb.api("faults", {"latency": 3000, "scope": "soap"})
    victim = spawn(sb, redis_server, "read-dim", "PNL", "8000", opts=opts)
    deadline = time.monotonic() + 10
    while redis_server.client.zcard("{kb}:tf:slots:sandbox") == 0:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    victim.kill()
    victim.communicate()
    # The dead process never gave its slot back; its lease (timeout + 5 s) does.
    sb.api("faults", {"latency": 0})
    t0 = time.monotonic()
    r = drive(sb, redis_server, "read-dim", "PNL", "8000", opts=opts, timeout=30)
    assert r["kind"] == "ok", r
    assert 3 <= time.monotonic() - t0 <= 12


def test_refresh_lock_of_a_killed_process_expires(sandbox, redis_server):
    sb = sandbox()
    sb.api("faults", {"latency": 3000, "scope": "auth"})
    opts = ("--timeout-ms", "1000")
    victim = spawn(sb, redis_server, "offices", opts=opts)
    deadline = time.monotonic() + 10
    while not redis_server.client.exists("{kb}:tf:tokenlock:sandbox"):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    victim.kill()
    victim.communicate()
    sb.api("faults", {"latency": 0})
    # Another process waits for the lock (2 x timeout + 2 s), then refreshes itself.
    t0 = time.monotonic()
    r = drive(sb, redis_server, "offices", opts=opts)
    assert r["kind"] == "ok" and r["stats"]["token_refreshes"] == 1, r
    assert 1.5 <= time.monotonic() - t0 <= 10


def test_token_is_refreshed_before_it_expires(sandbox, redis_server):
    # Token life 8 s: refreshed from 6 s on (a quarter early), while still valid.
    sb = sandbox("--token-ttl", "8")
    sh = Shell(sb, redis_server)
    try:
        assert sh.run("offices")["kind"] == "ok"
        sh.run("sleep 6500")
        r = sh.run("offices")
        assert r["kind"] == "ok" and r["attempts"] == 1, r
        r = sh.run("offices")
        assert r["kind"] == "ok" and r["stats"]["token_refreshes"] == 2, r
    finally:
        sh.close()
    assert [q["status"] for q in sb.soap_requests()] == [200, 200, 200]
    assert sb.counters()["tokens_issued"] == 2
