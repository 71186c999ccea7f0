"""The worker engine (docs/worker.md), end to end: events go in through a real
`kassaboek serve`, a test-only worker (tests/harness/kb-test-worker) runs them
through a TEST flow driven by the event body, and every assertion is on what
the TEST flow recorded in Redis, on the stream, the retry set and the dead
letters, and on the processes' exit codes and logs."""
import json
import os
import random
import re
import signal
import subprocess
import time
import uuid

import pytest

from conftest import BUILDDIR, program
from kbclient import Serve

HARNESS = os.path.join(BUILDDIR, "tests", "harness", "kb-test-worker")
P = "{kb}:"
ORDER_MAPPING = os.path.join(os.environ.get("KB_SRCDIR", "."), "conf", "mapping", "order.json")
# What the order flow needs to start (these tests never let it reach Twinfield).
ORDER_FLOW_CONF = ("\n[orders]\nmapping = %s\n[twinfield]\nlogin_url = http://127.0.0.1:9\nclient_id = t\n"
                   "client_secret = t\nrefresh_token = t\noffice = 001\n" % ORDER_MAPPING)

WORKER_DEFAULTS = {
    "processes": 2, "concurrency": 4, "max_attempts": 3, "backoff_base": "50ms",
    "backoff_max": "200ms", "visibility_timeout": "1s", "leader_ttl": "1s",
    "shutdown_timeout": "5s", "job_timeout": "20s",
}

SLOW = 10 if os.environ.get("KB_VALGRIND") == "1" else 1


def wait_until(fn, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout * SLOW
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


class Env:
    """A private Redis, a `kassaboek serve` to put events in, and worker programs."""

    def __init__(self, programs, workdir, redis_server, **worker):
        assert os.access(HARNESS, os.X_OK), "%s is not built: run `make check` (or make %s)" % (
            HARNESS, "tests/harness/kb-test-worker")
        self.programs = programs
        self.workdir = workdir
        self.redis = redis_server.client
        settings = dict(WORKER_DEFAULTS)
        settings.update(worker)
        section = "".join("%s = %s\n" % kv for kv in settings.items())
        self.serve = Serve(programs, workdir, redis_server.url, extra="max_body = 64k\n[worker]\n" + section)
        self.conf = self.serve.conf
        self.sent = []

    def send(self, etype="order.updated", data=None, test=None):
        eid = "evt_" + uuid.uuid4().hex
        data = dict(data if data is not None else {"id": "O-" + uuid.uuid4().hex[:8]})
        if test is not None:
            data["test"] = test
        ev = {"id": eid, "type": etype, "created_at": "2026-12-04T10:15:00Z", "store_id": "1", "data": data}
        status, _, body = self.serve.send(ev)
        assert status == 202, (status, body)
        self.sent.append(eid)
        return eid

    def worker(self, mode="work", index=None, name=None, env=None):
        argv = [HARNESS, "-c", self.conf, mode]
        if index is not None:
            argv.append(str(index))
        return self.programs(argv, self.workdir, env=env, name=name or "%s%s" % (mode, index or ""))

    # What the TEST flow recorded.
    def done(self):
        return self.redis.lrange(P + "test:done", 0, -1)

    def count(self, eid):
        return int(self.redis.hget(P + "test:count", eid) or 0)

    def attempts(self, eid):
        """[(attempt, ms, pid)] of one event, in order."""
        out = []
        for rec in self.redis.lrange(P + "test:attempts", 0, -1):
            i, a, ms, pid = rec.split(" ")
            if i == eid:
                out.append((int(a), int(ms), int(pid)))
        return out

    def dead(self):
        return self.redis.xrange(P + "dead")

    def wait_done(self, ids, timeout=10.0):
        ids = set(ids)
        wait_until(lambda: ids <= set(self.done()), timeout, "events %s done" % sorted(ids - set(self.done())))

    def assert_queue_empty(self):
        """Nothing left behind: payloads live in Redis only until processed."""
        r = self.redis
        # The flow records "done" a moment before the finish script acknowledges and deletes
        # the entry; under valgrind that moment is long.
        wait_until(lambda: r.xlen(P + "events") == 0 and r.hlen(P + "live") == 0, what="queue drained")
        assert r.xlen(P + "events") == 0
        assert r.xpending(P + "events", "workers")["pending"] == 0
        assert r.zcard(P + "retry") == 0
        assert r.hlen(P + "live") == 0
        assert r.keys(P + "seq:*") == [] and r.keys(P + "job:*") == []
        assert r.zcard(P + "parked") == 0


def log_lines(prog):
    out = []
    for line in prog.output().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            pass
    return out


def started_pids(prog, name):
    return [int(m.group(1)) for rec in log_lines(prog)
            for m in [re.match(r"%s started \(pid (\d+)\)" % re.escape(name), rec.get("msg", ""))] if m]


@pytest.fixture
def env_factory(programs, workdir, redis_server):
    return lambda **kw: Env(programs, workdir, redis_server, **kw)


def test_events_are_processed_acknowledged_and_deleted(env_factory):
    env = env_factory()
    env.worker()
    ids = [env.send(test={}) for _ in range(3)]
    ids.append(env.send("customer.updated", {"id": "C1", "email": "a@example.nl"}))
    env.wait_done(ids)
    time.sleep(0.2)
    assert all(env.count(i) == 1 for i in ids)
    env.assert_queue_empty()
    assert env.dead() == []


def test_entities_are_recorded_at_enqueue(env_factory, redis_server):
    env = env_factory()        # no worker: look at what the receiver stored
    eid = env.send("order.created", {"id": "10023", "customer": {"id": "C77", "email": "Jan@Example.NL"}})
    pid = env.send("product.updated", {"sku": "100 234/x"})
    nid = env.send("stock.changed", {"sku": "1"})
    by_id = {f["id"]: (sid, f) for sid, f in env.redis.xrange(P + "events")}
    assert by_id[eid][1]["entities"] == "order:10023 customer:C77 email:jan@example.nl"
    assert by_id[pid][1]["entities"] == "product:100%20234%2fx"
    assert "entities" not in by_id[nid][1]
    assert env.redis.lrange(P + "seq:order:10023", 0, -1) == [eid]
    assert env.redis.lrange(P + "seq:email:jan@example.nl", 0, -1) == [eid]
    assert env.redis.hget(P + "live", eid) == by_id[eid][0]
    assert env.redis.hget(P + "live", nid) is None


@pytest.mark.novalgrind
def test_concurrency_really_overlaps(env_factory):
    env = env_factory(processes=1, concurrency=4)
    env.worker()
    wait_until(lambda: env.redis.exists(P + "events"), what="consumer group")
    t0 = time.monotonic()
    ids = [env.send(test={"sleep_ms": 600}) for _ in range(4)]
    env.wait_done(ids)
    elapsed = time.monotonic() - t0
    assert int(env.redis.get(P + "test:maxrun")) == 4
    assert elapsed < 4 * 0.6, elapsed


def test_transient_failure_is_retried_with_backoff_then_done(env_factory):
    env = env_factory(processes=1, backoff_base="200ms", backoff_max="1s", max_attempts=5)
    env.worker()
    eid = env.send(test={"fail": "transient", "times": 2})
    env.wait_done([eid])
    att = env.attempts(eid)
    assert [a for a, _, _ in att] == [1, 2, 3]
    gaps = [att[i + 1][1] - att[i][1] for i in range(2)]
    assert all(g >= 200 for g in gaps), gaps          # never sooner than backoff_base
    assert gaps[0] < 1000 * SLOW                       # the first retry waits base, not more
    assert env.count(eid) == 1
    assert env.dead() == []
    env.assert_queue_empty()


def test_retry_after_is_honoured(env_factory):
    env = env_factory(processes=1, backoff_base="20ms", backoff_max="50ms")
    env.worker()
    eid = env.send(test={"fail": "transient", "times": 1, "retry_after": 700})
    env.wait_done([eid])
    att = env.attempts(eid)
    assert len(att) == 2 and att[1][1] - att[0][1] >= 700


def test_permanent_failure_is_dead_lettered_with_reason_others_unaffected(env_factory):
    env = env_factory(processes=1)
    env.worker()
    order = {"id": "O-perm"}
    bad = env.send(data=order, test={"fail": "permanent", "field": "data.lines[0].sku"})
    after = env.send(data=order, test={})                   # same order, received later
    other = env.send(test={})
    env.wait_done([after, other])
    [(_, d)] = env.dead()
    assert d["id"] == bad and d["type"] == "order.updated"
    assert d["kind"] == "permanent" and d["step"] == "check" and d["field"] == "data.lines[0].sku"
    assert d["message"] == "test failure: permanent" and d["flow"] == "test"
    assert "permanent error in step check, field data.lines[0].sku" in d["reason"]
    assert json.loads(d["body"])["data"]["test"]["fail"] == "permanent"
    assert d["attempts"] == "1"
    [h] = json.loads(d["history"])
    assert h["attempt"] == 1 and h["kind"] == "permanent" and h["step"] == "check"
    assert len(env.attempts(bad)) == 1                      # never retried
    assert env.done() == [after, other] or set(env.done()) == {after, other}
    assert env.done().index(after) >= 0 and bad not in env.done()
    env.assert_queue_empty()


def test_max_attempts_then_dead_with_history(env_factory):
    env = env_factory(processes=1, max_attempts=3)
    env.worker()
    eid = env.send(test={"fail": "transient", "field": "data.x"})
    wait_until(lambda: env.dead(), what="dead letter")
    [(_, d)] = env.dead()
    assert d["id"] == eid and d["kind"] == "transient" and d["attempts"] == "3"
    assert d["reason"].startswith("gave up after 3 attempts; last error in step check, field data.x")
    hist = json.loads(d["history"])
    assert [h["attempt"] for h in hist] == [1, 2, 3]
    assert all(h["kind"] == "transient" and h["message"].startswith("test failure: transient") for h in hist)
    assert [a for a, _, _ in env.attempts(eid)] == [1, 2, 3]
    env.assert_queue_empty()


def replay(env, *args):
    return subprocess.run([program("kassaboek"), "-c", env.conf, "replay"] + list(args),
                          capture_output=True, text=True, timeout=30 * SLOW)


def test_replay_one_then_all_dead(env_factory):
    env = env_factory(processes=1)
    env.worker()
    ids = [env.send(test={"fail": "until_fixed"}) for _ in range(3)]
    wait_until(lambda: len(env.dead()) == 3, what="3 dead letters")
    assert replay(env).returncode == 64
    r = replay(env, "evt_nosuchevent")
    assert r.returncode == 66 and "no dead event with id evt_nosuchevent" in r.stderr
    env.redis.set(P + "test:fixed", "1")                    # the operator fixed the cause
    r = replay(env, ids[0])
    assert r.returncode == 0, r.stderr
    assert ("replayed %s" % ids[0]) in r.stdout
    env.wait_done([ids[0]])
    assert len(env.dead()) == 2
    # By dead entry id too.
    dsid = [sid for sid, f in env.dead() if f["id"] == ids[1]][0]
    r = replay(env, dsid)
    assert r.returncode == 0 and ("replayed %s (dead entry %s)" % (ids[1], dsid)) in r.stdout
    env.wait_done([ids[1]])
    r = replay(env, "--all-dead")
    assert r.returncode == 0 and r.stdout.count("replayed ") == 1
    env.wait_done(ids)
    assert env.dead() == []
    assert all(env.count(i) == 1 for i in ids)
    r = replay(env, "--all-dead")
    assert r.returncode == 0 and "no dead events" in r.stdout
    env.assert_queue_empty()


def test_replayed_event_keeps_its_history(env_factory):
    env = env_factory(processes=1)
    env.worker()
    eid = env.send(data={"id": "O-hist"}, test={"fail": "until_fixed"})
    wait_until(lambda: env.dead(), what="dead letter")
    assert replay(env, eid).returncode == 0
    wait_until(lambda: env.dead(), what="dead again")
    [(_, d)] = env.dead()
    hist = json.loads(d["history"])
    assert [h.get("attempt") for h in hist] == [1, None, 1]
    assert "replayed_at" in hist[1]
    env.assert_queue_empty()


@pytest.mark.novalgrind
def test_worker_killed_mid_job_is_reclaimed_and_processed_once(env_factory):
    env = env_factory(processes=1, visibility_timeout="1s")
    a = env.worker("worker", 1, name="victim")
    a.expect_clean_exit = False
    eid = env.send(test={"sleep_ms": 1500})
    wait_until(lambda: env.attempts(eid), what="job started")
    a.proc.send_signal(signal.SIGKILL)
    a.proc.wait()
    killed_at = time.monotonic()
    env.worker("worker", 2, name="rescuer")
    env.wait_done([eid], timeout=15)
    assert time.monotonic() - killed_at >= 1.0              # only after visibility_timeout
    att = env.attempts(eid)
    assert len(att) == 2 and att[0][2] != att[1][2]         # two processes tried it
    time.sleep(0.3)
    assert env.count(eid) == 1 and env.done().count(eid) == 1
    env.assert_queue_empty()


@pytest.mark.novalgrind
def test_an_event_that_keeps_killing_workers_is_dead_lettered(env_factory):
    env = env_factory(processes=1, max_attempts=1, visibility_timeout="1s")
    a = env.worker("worker", 1, name="victim")
    a.expect_clean_exit = False
    eid = env.send(test={"sleep_ms": 5000})
    wait_until(lambda: env.attempts(eid), what="job started")
    a.proc.send_signal(signal.SIGKILL)
    a.proc.wait()
    env.worker("worker", 2, name="next")
    wait_until(lambda: env.dead(), timeout=10, what="dead letter")
    [(_, d)] = env.dead()
    assert d["id"] == eid and d["step"] == "worker"
    assert "stopped 1 times" in d["message"]
    assert len(env.attempts(eid)) == 1                      # not run a second time
    env.assert_queue_empty()


def test_job_timeout_fails_the_job(env_factory):
    env = env_factory(processes=1, max_attempts=1, job_timeout="1s")
    env.worker()
    eid = env.send(test={"sleep_ms": 60000})
    wait_until(lambda: env.dead(), timeout=10, what="dead letter")
    [(_, d)] = env.dead()
    assert d["id"] == eid and d["kind"] == "transient" and d["step"] == "sleep"
    assert "timed out after 1000 ms (worker.job_timeout) in step sleep" in d["message"]
    assert eid not in env.done()
    env.assert_queue_empty()


def test_master_restarts_a_killed_worker(env_factory):
    env = env_factory(processes=2)
    master = env.worker("work")
    pids = wait_until(lambda: started_pids(master, "worker.1"), what="worker.1 started")
    os.kill(pids[0], signal.SIGKILL)
    new = wait_until(lambda: started_pids(master, "worker.1")[1:], what="worker.1 restarted")
    assert new[0] != pids[0]
    msgs = [r["msg"] for r in log_lines(master)]
    assert any("worker.1 (pid %d) was killed by signal 9; restarting it in" % pids[0] in m for m in msgs), msgs
    os.kill(new[0], 0)                                      # it runs
    ids = [env.send(test={}) for _ in range(4)]
    env.wait_done(ids)
    assert master.stop() == 0


@pytest.mark.novalgrind
def test_sigterm_drains_jobs_in_flight(env_factory):
    env = env_factory(processes=1)
    master = env.worker("work")
    ids = [env.send(test={"sleep_ms": 800}) for _ in range(2)]
    wait_until(lambda: all(env.attempts(i) for i in ids), what="jobs started")
    assert env.done() == []
    assert master.stop() == 0
    assert sorted(env.done()) == sorted(ids)
    out = master.output()
    assert "finishing 2 jobs in flight" in out and "all children stopped" in out
    env.assert_queue_empty()
    # The consumer left the group: nothing pending, nothing to reclaim.
    assert env.redis.xinfo_consumers(P + "events", "workers") == []


@pytest.mark.novalgrind
def test_scheduler_leader_failover(env_factory):
    env = env_factory(processes=1, leader_ttl="1s")
    a = env.worker("worker", 1, name="w1")
    b = env.worker("worker", 2, name="w2")
    leader = wait_until(lambda: env.redis.get(P + "scheduler:leader"), what="a leader")
    pid = int(leader.split("/")[1])
    victim, survivor = (a, b) if a.proc.pid == pid else (b, a)
    assert victim.proc.pid == pid
    victim.expect_clean_exit = False
    victim.proc.send_signal(signal.SIGKILL)
    victim.proc.wait()
    eid = env.send(test={"fail": "transient", "times": 1})     # needs the scheduler to come back
    env.wait_done([eid], timeout=10)
    new = env.redis.get(P + "scheduler:leader")
    assert new is not None and int(new.split("/")[1]) == survivor.proc.pid
    assert "this worker is the leader" in survivor.output()


@pytest.mark.novalgrind
def test_events_of_one_order_run_in_order_across_processes(env_factory):
    env = env_factory(processes=2, concurrency=4)
    env.worker("work")
    rnd = random.Random(4)
    ordered, others = [], []
    for i in range(20):
        ordered.append(env.send(data={"id": "O-seq"}, test={"sleep_ms": rnd.randint(0, 40)}))
        if i % 2 == 0:
            others.append(env.send(data={"id": "O-other-%d" % i}, test={"sleep_ms": 150}))
    env.wait_done(ordered + others, timeout=20)
    done = env.done()
    assert [e for e in done if e in set(ordered)] == ordered
    pids = {p for e in ordered + others for _, _, p in env.attempts(e)}
    assert len(pids) == 2                                   # both processes took part
    assert int(env.redis.get(P + "test:maxrun")) >= 2       # other orders ran alongside
    assert all(env.count(e) == 1 for e in ordered + others)
    env.assert_queue_empty()


def test_events_of_one_customer_are_ordered_across_event_kinds(env_factory):
    env = env_factory(processes=2, concurrency=4)
    env.worker("work")
    first = env.send("customer.updated", {"id": "C9", "email": "piet@example.nl"}, test={"sleep_ms": 300})
    second = env.send("order.created", {"id": "O-c9", "customer": {"email": "PIET@example.nl"}}, test={})
    env.wait_done([first, second])
    done = env.done()
    assert done.index(first) < done.index(second)
    env.assert_queue_empty()


def test_stale_sequence_head_does_not_block_its_order(env_factory):
    env = env_factory(processes=1)
    # An element whose event is nowhere (deleted by hand, or lost by Redis).
    env.redis.rpush(P + "seq:order:O-stale", "evt_vanished")
    env.worker()
    eid = env.send(data={"id": "O-stale"}, test={})
    env.wait_done([eid])
    env.assert_queue_empty()


def test_event_parked_behind_a_vanished_predecessor_is_woken(env_factory):
    env = env_factory(processes=1, visibility_timeout="1s")
    r = env.redis
    # A predecessor waiting for a retry...
    r.hset(P + "job:evt_ghost", mapping={"state": "retry", "id": "evt_ghost", "type": "order.updated",
                                        "entities": "order:O-ghost", "body": "{}"})
    r.hset(P + "live", "evt_ghost", "job")
    r.rpush(P + "seq:order:O-ghost", "evt_ghost")
    env.worker()
    eid = env.send(data={"id": "O-ghost"}, test={})
    wait_until(lambda: r.hget(P + "job:" + eid, "state") == "parked", what="parked behind it")
    # ...that vanishes without finishing (deleted by hand): nothing will ever release it.
    r.delete(P + "job:evt_ghost")
    t0 = time.monotonic()
    env.wait_done([eid], timeout=10)
    assert time.monotonic() - t0 < 5 * SLOW
    env.assert_queue_empty()
    assert r.zcard(P + "parked") == 0


def test_unknown_type_is_dead_lettered_not_lost(env_factory):
    env = env_factory(processes=1)
    env.worker()
    eid = env.send("stock.changed", {"sku": "100234", "quantity": 3})
    ok = env.send(test={})
    env.wait_done([ok])
    wait_until(lambda: env.dead(), what="dead letter")
    [(_, d)] = env.dead()
    assert d["id"] == eid and d["step"] == "dispatch" and d["kind"] == "permanent"
    assert d["message"] == "no flow for type stock.changed"
    assert json.loads(d["body"])["data"]["sku"] == "100234"
    env.assert_queue_empty()


def test_kassaboek_work_starts_logs_and_stops(env_factory):
    env = env_factory(processes=2)
    with open(env.conf, "a") as f:      # the order flow needs its mapping to start
        f.write(ORDER_FLOW_CONF)
    work = env.programs([program("kassaboek"), "-c", env.conf, "work"], env.workdir, name="work")
    wait_until(lambda: started_pids(work, "worker.2"), what="worker.2 started")
    wait_until(lambda: sum(r["msg"].startswith("started (pid") for r in log_lines(work)) == 2, what="2 workers")
    # A type no flow handles yet is dead-lettered with the reason, not lost.
    eid = env.send(etype="stock.changed", test={})
    wait_until(lambda: env.dead(), what="dead letter")
    assert env.dead()[0][1]["message"] == "no flow for type stock.changed"
    assert work.stop() == 0
    recs = log_lines(work)
    assert {r["proc"] for r in recs} >= {"work", "worker.1", "worker.2"}
    assert any(r["msg"] == "all children stopped" for r in recs)
    assert env.redis.xpending(P + "events", "workers")["pending"] == 0


def test_kassaboek_run_serves_and_works(programs, workdir, redis_server):
    from kbclient import write_config, order_event, SECRET, sign  # noqa: F401
    conf = write_config(workdir, redis_server.url, "[worker]\nprocesses = 1\nbackoff_base = 50ms\n" +
                        ORDER_FLOW_CONF)
    port_file = os.path.join(workdir, "run.port")
    run = programs([program("kassaboek"), "-c", conf, "run", "--port-file", port_file], workdir, name="run")
    wait_until(lambda: os.path.exists(port_file) and open(port_file).read().strip(), what="port file")

    class Fake(Serve):
        def __init__(self, port):
            self.port = port
    client = Fake(int(open(port_file).read()))
    ev = order_event(etype="stock.changed")
    status, _, _ = client.send(ev)
    assert status == 202
    wait_until(lambda: redis_server.client.xrange(P + "dead"), what="dead letter")
    [(_, d)] = redis_server.client.xrange(P + "dead")
    assert d["id"] == ev["id"] and d["message"] == "no flow for type stock.changed"
    assert run.stop() == 0
    procs = {r["proc"] for r in log_lines(run)}
    assert procs >= {"run", "serve", "worker.1"}
