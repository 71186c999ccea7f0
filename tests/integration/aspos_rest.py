"""AsPos REST calls against kassaboek-sandbox's /aspos simulator, with the
standard library only, and the aspos-drive runner for the C client.

    sb = start_sandbox(programs, workdir, "--aspos-seed", ASPOS_SEED)
    api = AsposApi(sb.url + "/aspos")
    st, body, headers = api.call("GET", "/api/orders?page=1")
"""
import json
import os
import subprocess
import urllib.parse

from conftest import BUILDDIR, SRCDIR
from twinfield_soap import http_request

CLIENT_ID = "aspos-client"
CLIENT_SECRET = "aspos-secret"
ASPOS_SEED = os.path.join(SRCDIR, "tests", "data", "aspos", "seed.json")
API_MAP = os.path.join(SRCDIR, "conf", "mapping", "aspos-api.json")
DRIVE = os.path.join(BUILDDIR, "tests", "aspos-drive")


class AsposApi:
    """A minimal AsPos REST client: a client-credentials token, then JSON calls."""

    def __init__(self, base, client_id=CLIENT_ID, client_secret=CLIENT_SECRET):
        self.base = base
        self.client_id = client_id
        self.client_secret = client_secret
        self._token = None

    def token_request(self, form):
        r = http_request("POST", self.base + "/connect/token",
                         urllib.parse.urlencode(form).encode(),
                         {"Content-Type": "application/x-www-form-urlencoded"})
        return r.status, json.loads(r.body) if r.body else None

    def token(self, fresh=False):
        if self._token is None or fresh:
            st, body = self.token_request({"grant_type": "client_credentials",
                                           "client_id": self.client_id,
                                           "client_secret": self.client_secret})
            assert st == 200, (st, body)
            self._token = body["access_token"]
        return self._token

    def call(self, method, path, body=None, token=None, raw=None):
        """(status, parsed JSON or None, headers)."""
        headers = {"Authorization": "Bearer " + (token or self.token())}
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None:
            headers["Content-Type"] = "application/json"
        r = http_request(method, self.base + path, data, headers)
        try:
            parsed = json.loads(r.body) if r.body else None
        except ValueError:
            parsed = None
        return r.status, parsed, r.headers


def drive(sb, redis_server, *args, timeout=30, prefix="kb", opts=()):
    """Runs tests/aspos-drive once; returns (exit code, its JSON answer)."""
    argv = [DRIVE, "--base-url", sb.url + "/aspos", "--api-map", API_MAP,
            "--prefix", prefix] + list(opts)
    if redis_server is not None:
        argv += ["--redis", redis_server.url]
    p = subprocess.run(argv + list(args), capture_output=True, text=True, timeout=timeout)
    assert "Sanitizer" not in p.stderr and "runtime error" not in p.stderr, p.stderr
    assert p.returncode in (0, 1, 2), "aspos-drive exited with %s: %s" % (p.returncode, p.stderr)
    lines = [l for l in p.stdout.splitlines() if l.strip()]
    assert lines, "aspos-drive printed nothing: " + p.stderr
    return p.returncode, json.loads(lines[-1])
