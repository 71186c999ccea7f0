"""Twinfield SOAP requests and answers with the standard library only, for
tests that talk to kassaboek-sandbox (or anything else that speaks the
protocol of shared/reference/twinfield-api.md).

    sb = start_sandbox(programs, workdir, "--latency", "50")
    tw = TwinfieldClient(sb.url)
    r = tw.process("<read><type>dimensions</type>...</read>")   # company 001
    assert r.status == 200 and r.result.get("result") == "1"

Envelopes are built with xml.etree (the payload travels as escaped text, or
as CDATA with cdata=True); answers are parsed into a Response that exposes
the SOAP fault (code, message) or the result document.
"""
import base64
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
TWF = "http://www.twinfield.com/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"

CLIENT_ID = "sandbox-client"
CLIENT_SECRET = "sandbox-secret"
REFRESH_TOKEN = "sandbox-refresh-token"

_CDATA_MARK = "@@KB_CDATA_PAYLOAD@@"


def _q(ns, name):
    return "{%s}%s" % (ns, name)


def envelope(op, children, token=None, company=None, company_id=None, company_id_nil=True,
             session=None, soap12=False):
    """A SOAP envelope (bytes) whose Body holds <op> (Twinfield namespace) with
    children [(name, text-or-list-of-pairs)]. company_id_nil adds
    <CompanyId xsi:nil="true"/> when no company_id is given; False leaves it out."""
    env_ns = SOAP12 if soap12 else SOAP11
    ET.register_namespace("soap", env_ns)
    ET.register_namespace("tw", TWF)
    ET.register_namespace("xsi", XSI)
    env = ET.Element(_q(env_ns, "Envelope"))
    hdr = ET.SubElement(ET.SubElement(env, _q(env_ns, "Header")), _q(TWF, "Header"))
    if session is not None:
        ET.SubElement(hdr, _q(TWF, "SessionID")).text = session
    if token is not None:
        ET.SubElement(hdr, _q(TWF, "AccessToken")).text = token
    if company is not None:
        ET.SubElement(hdr, _q(TWF, "CompanyCode")).text = company
    if company_id is not None:
        ET.SubElement(hdr, _q(TWF, "CompanyId")).text = company_id
    elif company_id_nil:
        ET.SubElement(hdr, _q(TWF, "CompanyId"), {_q(XSI, "nil"): "true"})
    body = ET.SubElement(ET.SubElement(env, _q(env_ns, "Body")), _q(TWF, op))
    for name, value in children:
        el = ET.SubElement(body, _q(TWF, name))
        if isinstance(value, list):      # Finder options: [(name, value), ...]
            for k, v in value:
                pair = ET.SubElement(el, _q(TWF, "ArrayOfString"))
                ET.SubElement(pair, _q(TWF, "string")).text = k
                ET.SubElement(pair, _q(TWF, "string")).text = v
        elif value is not None:
            el.text = str(value)
    return ET.tostring(env, encoding="utf-8", xml_declaration=True)


def process_xml_envelope(payload, cdata=False, **kw):
    """ProcessXmlString envelope; the payload escaped as text, or inside CDATA."""
    if not cdata:
        return envelope("ProcessXmlString", [("xmlRequest", payload)], **kw)
    raw = envelope("ProcessXmlString", [("xmlRequest", _CDATA_MARK)], **kw).decode("utf-8")
    cdata_text = "<![CDATA[" + payload.replace("]]>", "]]]]><![CDATA[>") + "]]>"
    return raw.replace(_CDATA_MARK, cdata_text).encode("utf-8")


def finder_envelope(ftype, pattern="*", field=0, first_row=1, max_rows=100, options=(), **kw):
    return envelope("Search", [("type", ftype), ("pattern", pattern), ("field", field),
                               ("firstRow", first_row), ("maxRows", max_rows),
                               ("options", list(options))], **kw)


class Response:
    """An HTTP answer of the sandbox: status, reason, headers, body, and the parsed SOAP parts."""

    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.envelope = None
        try:
            self.envelope = ET.fromstring(body) if body.strip() else None
        except ET.ParseError:
            pass

    def header(self, name):
        return self.headers.get(name)

    @property
    def fault(self):
        """(faultcode, faultstring, detail code, detail message) or None."""
        if self.envelope is None:
            return None
        f = self.envelope.find(".//{%s}Fault" % SOAP11)
        if f is None:
            f = self.envelope.find(".//{%s}Fault" % SOAP12)
        if f is None:
            return None
        detail = f.find("detail")
        if detail is None:
            detail = f.find("{%s}Detail" % SOAP12)
        return (f.findtext("faultcode"), f.findtext("faultstring"),
                detail.findtext("code") if detail is not None else None,
                detail.findtext("message") if detail is not None else None)

    @property
    def result_text(self):
        """The ProcessXmlStringResult string (the escaped result document, unescaped)."""
        if self.envelope is None:
            return None
        return self.envelope.findtext(".//{%s}ProcessXmlStringResult" % TWF)

    @property
    def result(self):
        """The result document's root element (ProcessXmlString)."""
        text = self.result_text
        return ET.fromstring(text) if text is not None else None

    @property
    def search(self):
        """Finder answer: dict(messages=[(code, text)], total, columns, rows) or None."""
        if self.envelope is None:
            return None
        sr = self.envelope.find(".//{%s}SearchResponse" % TWF)
        if sr is None:
            return None
        t = "{%s}" % TWF
        msgs = [(m.findtext(t + "Code"), m.findtext(t + "Text"))
                for m in sr.findall(t + "SearchResult/" + t + "MessageOfErrorCodes")]
        data = sr.find(t + "data")
        out = {"messages": msgs, "total": None, "columns": [], "rows": []}
        if data is not None:
            out["total"] = int(data.findtext(t + "TotalRows"))
            out["columns"] = [s.text for s in data.findall(t + "Columns/" + t + "string")]
            out["rows"] = [[s.text or "" for s in a.findall(t + "string")]
                           for a in data.findall(t + "Items/" + t + "ArrayOfString")]
        return out


def http_request(method, url, body=None, headers=None, timeout=10):
    """One HTTP request; a Response whatever the status (4xx/5xx included)."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return Response(r.status, r.reason, r.headers, r.read())
    except urllib.error.HTTPError as e:
        return Response(e.code, e.reason, e.headers, e.read())


class TwinfieldClient:
    """A minimal Twinfield client: token by refresh grant, then SOAP calls."""

    def __init__(self, base_url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                 refresh_token=REFRESH_TOKEN):
        self.base = base_url.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_token = refresh_token
        self._token = None

    def basic(self, client_id=None, secret=None):
        raw = "%s:%s" % (client_id or self.client_id, secret or self.client_secret)
        return "Basic " + base64.b64encode(raw.encode()).decode()

    def token_request(self, form, client_id=None, secret=None):
        body = urllib.parse.urlencode(form).encode()
        return http_request("POST", self.base + "/auth/authentication/connect/token", body,
                    {"Content-Type": "application/x-www-form-urlencoded",
                     "Authorization": self.basic(client_id, secret)})

    def token(self, fresh=False):
        if self._token is None or fresh:
            r = self.token_request({"grant_type": "refresh_token",
                                    "refresh_token": self.refresh_token})
            assert r.status == 200, (r.status, r.body)
            self._token = json.loads(r.body)["access_token"]
        return self._token

    def validate(self, token):
        return http_request("GET", self.base + "/auth/authentication/connect/accesstokenvalidation?token="
                    + urllib.parse.quote(token))

    def soap(self, path, action, body, timeout=10, extra_headers=None):
        headers = {"Content-Type": "text/xml; charset=utf-8",
                   "SOAPAction": '"http://www.twinfield.com/%s"' % action}
        headers.update(extra_headers or {})
        return http_request("POST", self.base + path, body, headers, timeout=timeout)

    def process(self, payload, company="001", token=None, cdata=False, timeout=10, **kw):
        """ProcessXmlString with the payload; company None leaves CompanyCode out."""
        tok = token if token is not None else self.token()
        env = process_xml_envelope(payload, cdata=cdata, token=tok, company=company, **kw)
        return self.soap("/webservices/processxml.asmx", "ProcessXmlString", env, timeout=timeout)

    def search(self, ftype, pattern="*", field=0, first_row=1, max_rows=100, options=(),
               company="001", token=None, **kw):
        tok = token if token is not None else self.token()
        env = finder_envelope(ftype, pattern, field, first_row, max_rows, options, token=tok,
                              company=company, **kw)
        return self.soap("/webservices/finder.asmx", "Search", env)


class Sandbox:
    """A running kassaboek-sandbox: url, and the /_sandbox/ inspection API."""

    def __init__(self, proc, port):
        self.proc = proc
        self.port = port
        self.url = "http://127.0.0.1:%d" % port

    def api(self, path, body=None, method=None):
        data = None if body is None else json.dumps(body).encode()
        r = http_request(method or ("GET" if body is None else "POST"), self.url + "/_sandbox/" + path,
                 data, {"Content-Type": "application/json"})
        return r.status, json.loads(r.body) if r.body else None

    def get(self, path):
        status, body = self.api(path)
        assert status == 200, (path, status, body)
        return body

    def post(self, path, body=None):
        status, out = self.api(path, body if body is not None else {}, method="POST")
        assert status == 200, (path, status, out)
        return out

    def objects(self, office=None, type=None, code=None):
        q = {k: v for k, v in (("office", office), ("type", type), ("code", code)) if v}
        return self.get("objects?" + urllib.parse.urlencode(q))["objects"]

    def requests(self):
        return self.get("requests")["requests"]


def sandbox_binary():
    builddir = os.environ.get("KB_BUILDDIR",
                              os.path.join(os.path.dirname(__file__), "..", ".."))
    return os.path.join(builddir, "src", "kassaboek-sandbox")


def default_seed():
    srcdir = os.environ.get("KB_SRCDIR", os.path.join(os.path.dirname(__file__), "..", ".."))
    return os.path.join(srcdir, "conf", "sandbox", "seed.json")


def start_sandbox(programs, workdir, *args, name="sandbox"):
    """Starts kassaboek-sandbox on a free loopback port (through the conftest
    `programs` factory, so it is stopped and checked at teardown)."""
    port_file = os.path.join(workdir, name + ".port")
    argv = [sandbox_binary(), "--listen", "127.0.0.1:0", "--port-file", port_file]
    if "--seed" not in args:
        argv += ["--seed", default_seed()]
    proc = programs(argv + list(args), workdir, name=name)
    deadline = time.monotonic() + 20
    while True:
        if os.path.exists(port_file):
            text = open(port_file).read().strip()
            if text:
                return Sandbox(proc, int(text))
        if proc.proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("sandbox did not start: " + proc.output())
        time.sleep(0.02)
