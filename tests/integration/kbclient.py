"""Helpers to configure and talk to `kassaboek serve` in tests."""
import base64
import hashlib
import hmac
import http.client
import json
import os
import time
import uuid

from conftest import program, wait_for_port

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OLD_SECRET = "whsec_c2VjcmV0LW51bWJlci10d28tZm9yLXJvdGF0aW9u"


def sign(secret, msg_id, ts, body):
    key = base64.b64decode(secret[6:] if secret.startswith("whsec_") else secret)
    mac = hmac.new(key, b"%s.%s.%s" % (msg_id.encode(), str(ts).encode(), body), hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def order_event(msg_id=None, etype="order.completed"):
    msg_id = msg_id or "evt_" + uuid.uuid4().hex
    return {"id": msg_id, "type": etype, "created_at": "2026-12-04T10:15:00Z", "store_id": "1",
            "data": {"id": "10023", "number": "K1-000123", "lines": [{"sku": "100234", "quantity": 2}]}}


def write_config(workdir, redis_url, extra=""):
    path = os.path.join(workdir, "kassaboek.conf")
    with open(path, "w") as f:
        f.write("[server]\nlisten = 127.0.0.1:0\nwebhook_secret = %s %s\n%s\n[redis]\nurl = %s\n"
                "command_timeout = 1s\nconnect_timeout = 1s\n" % (SECRET, OLD_SECRET, extra, redis_url))
    return path


class Serve:
    """A running `kassaboek serve` and a way to send it requests."""

    def __init__(self, programs, workdir, redis_url, extra="", env=None):
        self.conf = write_config(workdir, redis_url, extra)
        self.port_file = os.path.join(workdir, "serve.port")
        self.proc = programs([program("kassaboek"), "-c", self.conf, "serve", "--port-file", self.port_file],
                             workdir, env=env, name="serve")
        deadline = time.monotonic() + 15
        while not os.path.exists(self.port_file):
            if self.proc.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("serve did not start:\n" + self.proc.output())
            time.sleep(0.02)
        with open(self.port_file) as f:
            self.port = int(f.read())
        wait_for_port(self.port, proc=self.proc.proc)

    def request(self, method, path, body=None, headers=None, timeout=10):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, dict((k.lower(), v) for k, v in resp.getheaders()), data
        finally:
            conn.close()

    def send(self, event=None, body=None, msg_id=None, ts=None, secret=SECRET, headers=None,
             content_type="application/json", signature=None):
        """Signs and posts; returns (status, headers, parsed JSON body or raw bytes)."""
        if body is None:
            event = event if event is not None else order_event(msg_id)
            body = json.dumps(event).encode()
        msg_id = msg_id or (event["id"] if isinstance(event, dict) and "id" in event else "evt_" + uuid.uuid4().hex)
        ts = int(time.time()) if ts is None else ts
        h = {"webhook-id": msg_id, "webhook-timestamp": str(ts),
             "webhook-signature": signature or sign(secret, msg_id, ts, body)}
        if content_type is not None:
            h["Content-Type"] = content_type
        h.update(headers or {})
        status, rh, data = self.request("POST", "/webhooks/aspos", body, h)
        try:
            return status, rh, json.loads(data)
        except ValueError:
            return status, rh, data
