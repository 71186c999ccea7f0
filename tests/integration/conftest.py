"""Shared fixtures for the integration suite.

Every test gets its own redis-server on a free loopback port (never a shared
instance), and helpers to start kassaboek programs with a config file, wait
until they listen, and stop them. Programs run under valgrind when
KB_VALGRIND=1.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest
import redis

BUILDDIR = os.environ.get("KB_BUILDDIR", os.path.join(os.path.dirname(__file__), "..", ".."))
SRCDIR = os.environ.get("KB_SRCDIR", os.path.join(os.path.dirname(__file__), "..", ".."))


def pytest_configure(config):
    config.addinivalue_line("markers", "novalgrind: too timing-sensitive to run under valgrind")


def pytest_collection_modifyitems(config, items):
    if os.environ.get("KB_VALGRIND") == "1":
        skip = pytest.mark.skip(reason="timing-sensitive: not run under valgrind")
        for item in items:
            if "novalgrind" in item.keywords:
                item.add_marker(skip)


def program(name):
    """Path of a built program, e.g. program('kassaboek')."""
    return os.path.join(BUILDDIR, "src", name)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, timeout=10.0, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("process exited with %s before listening" % proc.returncode)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError("nothing listens on port %d" % port)


class RedisServer:
    """A private redis-server that a test may stop and start again on the same port."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.port = free_port()
        self.proc = None

    @property
    def url(self):
        return "redis://127.0.0.1:%d/0" % self.port

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", self.workdir,
             "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, proc=self.proc)
        self.client = redis.Redis(host="127.0.0.1", port=self.port, decode_responses=True)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


@pytest.fixture
def workdir():
    d = tempfile.mkdtemp(prefix="kb-test-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def redis_server(workdir):
    r = RedisServer(workdir)
    r.start()
    yield r
    r.stop()


class Program:
    """A kassaboek program started for one test; stderr goes to a file we can read."""

    def __init__(self, argv, workdir, env=None, name="prog"):
        self.name = name
        self.expect_clean_exit = True    # a test that kills it on purpose sets this False
        self.log_path = os.path.join(workdir, name + ".log")
        self.log = open(self.log_path, "wb")
        full_env = dict(os.environ)
        full_env.update(env or {})
        if os.environ.get("KB_VALGRIND") == "1":
            argv = ["valgrind", "--error-exitcode=99", "--leak-check=full",
                    "--errors-for-leak-kinds=definite", "--quiet"] + argv
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=full_env, cwd=workdir)

    def output(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


@pytest.fixture
def programs(workdir):
    """Factory fixture: started = programs(argv, workdir, env, name); all are stopped at teardown."""
    started = []

    def start(argv, workdir, env=None, name="prog"):
        p = Program(argv, workdir, env, name)
        started.append(p)
        return p

    yield start
    problems = []
    for p in started:
        rc = p.stop()
        out = p.output()
        if "ERROR: AddressSanitizer" in out or "ERROR: LeakSanitizer" in out or "runtime error:" in out:
            problems.append("%s: sanitizer report:\n%s" % (p.name, out[-4000:]))
        elif p.expect_clean_exit and rc != 0:
            problems.append("%s exited with %s:\n%s" % (p.name, rc, out[-2000:]))
    if problems:
        pytest.fail("\n".join(problems))
