"""kassaboek-sandbox, the protocol: OAuth2 token and validation, SOAP
envelopes and faults, company header rules, escaped vs CDATA payloads,
hostile XML, WSDL, and the command line."""
import json
import os
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

import pytest

from twinfield_soap import (SOAP11, TWF, TwinfieldClient, envelope, http_request, process_xml_envelope,
                            sandbox_binary, start_sandbox)

pytestmark = pytest.mark.skipif(not os.access(sandbox_binary(), os.X_OK),
                                reason="src/kassaboek-sandbox not built")

OFFICES = "<list><type>offices</type></list>"
READ_DEB = ("<read><type>dimensions</type><office>001</office><dimtype>DEB</dimtype>"
            "<code>1000</code></read>")


@pytest.fixture
def sb(programs, workdir):
    return start_sandbox(programs, workdir)


def test_token_grant_and_validation(sb):
    tw = TwinfieldClient(sb.url)
    r = tw.token_request({"grant_type": "refresh_token", "refresh_token": "sandbox-refresh-token"})
    assert r.status == 200 and r.header("Content-Type").startswith("application/json")
    tok = json.loads(r.body)
    assert tok["token_type"] == "Bearer" and tok["expires_in"] == 3600
    assert tok["refresh_token"] == "sandbox-refresh-token" and len(tok["access_token"]) >= 32

    v = tw.validate(tok["access_token"])
    assert v.status == 200
    claims = json.loads(v.body)
    assert claims["twf.clusterUrl"] == sb.url          # the sandbox itself
    assert isinstance(claims["exp"], str) and isinstance(claims["nbf"], str)
    assert int(claims["exp"]) - int(claims["nbf"]) == 3600
    assert claims["client_id"] == "sandbox-client" and "twf.organisationUser" in claims["scope"]
    assert claims["twf.organisationCode"] and claims["twf.organisationId"]

    # Wrong secret / no Basic auth: 401 invalid_client; wrong refresh token: 400 invalid_grant.
    bad = tw.token_request({"grant_type": "refresh_token", "refresh_token": "sandbox-refresh-token"},
                           secret="wrong")
    assert bad.status == 401 and json.loads(bad.body)["error"] == "invalid_client"
    nobasic = http_request("POST", sb.url + "/auth/authentication/connect/token",
                   b"grant_type=refresh_token&refresh_token=sandbox-refresh-token",
                   {"Content-Type": "application/x-www-form-urlencoded"})
    assert nobasic.status == 401
    r = tw.token_request({"grant_type": "refresh_token", "refresh_token": "stolen"})
    assert r.status == 400 and json.loads(r.body)["error"] == "invalid_grant"
    r = tw.token_request({"grant_type": "password"})
    assert r.status == 400 and json.loads(r.body)["error"] == "unsupported_grant_type"
    # Unknown token at validation: 400.
    assert tw.validate("0" * 40).status == 400


def test_authorization_code_grant(sb):
    tw = TwinfieldClient(sb.url)
    q = urllib.parse.urlencode({"client_id": "sandbox-client", "redirect_uri": "http://app.example/cb",
                                "response_type": "code", "scope": "openid twf.user",
                                "state": "s1", "nonce": "n1"})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None
    opener = urllib.request.build_opener(NoRedirect)
    try:
        opener.open(sb.url + "/auth/authentication/connect/authorize?" + q, timeout=5)
        raise AssertionError("no redirect")
    except urllib.error.HTTPError as e:
        assert e.code == 302
        loc = urllib.parse.urlparse(e.headers["Location"])
    params = dict(urllib.parse.parse_qsl(loc.query))
    assert loc.netloc == "app.example" and params["state"] == "s1"
    form = {"grant_type": "authorization_code", "code": params["code"],
            "redirect_uri": "http://app.example/cb"}
    r = tw.token_request(form)
    assert r.status == 200 and json.loads(r.body)["access_token"]
    # A code is used once.
    assert tw.token_request(form).status == 400


def test_token_expiry_and_expire_endpoint(programs, workdir):
    sb = start_sandbox(programs, workdir, "--token-ttl", "1")
    tw = TwinfieldClient(sb.url)
    tok = tw.token()
    assert tw.process(OFFICES, company=None).status == 200
    time.sleep(1.3)
    assert tw.validate(tok).status == 400
    r = tw.process(OFFICES, company=None)
    assert r.status == 401 and r.fault[2] == "354"

    # Expire every token now, at run time.
    sb.post("faults", {"token_ttl": 3600})
    tok = tw.token(fresh=True)
    assert tw.process(OFFICES, company=None).status == 200
    assert sb.post("tokens/expire")["expired"] >= 1
    r = tw.process(OFFICES, company=None)
    assert r.status == 401 and r.fault[2] == "354"
    assert tw.validate(tok).status == 400


def test_bad_token_gives_401_fault_354(sb):
    tw = TwinfieldClient(sb.url)
    r = tw.process(READ_DEB, token="not-a-token")
    assert r.status == 401
    code, string, detail_code, detail_msg = r.fault
    assert code == "soap:Client" and detail_code == "354"
    assert detail_msg == "Access denied. Token invalid."
    assert r.envelope.find(".//detail/source").text == "ProcessXmlString"
    assert r.reason.startswith("354")
    # No token at all: 500, code 101.
    r = tw.soap("/webservices/processxml.asmx", "ProcessXmlString",
                process_xml_envelope(READ_DEB, company="001"))
    assert r.status == 500 and r.fault[2] == "101"


def test_company_rules(sb):
    tw = TwinfieldClient(sb.url)
    # Missing company: 500 fault 101 ...
    r = tw.process(READ_DEB, company=None)
    assert r.status == 500 and r.fault[2] == "101"
    # ... except for the offices list, which works without one.
    r = tw.process(OFFICES, company=None, company_id_nil=False)
    assert r.status == 200
    offices = r.result
    assert offices.tag == "offices" and offices.get("result") == "1"
    assert [(o.text, o.get("name")) for o in offices] == [
        ("001", "Sandbox Handel BV"), ("002", "Sandbox Diensten BV")]
    # CompanyId nil and CompanyId absent are both accepted.
    assert tw.process(READ_DEB, company_id_nil=True).result.get("result") == "1"
    assert tw.process(READ_DEB, company_id_nil=False).result.get("result") == "1"
    # A CompanyId GUID names an office by its id.
    r = tw.process("<read><type>dimensions</type><dimtype>DEB</dimtype><code>2000</code></read>",
                   company=None, company_id="0c9a4b8e-0002-4a6b-9c1d-2e3f4a5b6c02")
    assert r.status == 200 and r.result.get("result") == "1"
    # The document's <office> wins over the header's company.
    r = tw.process(READ_DEB.replace("001", "002").replace("1000", "2000"), company="001")
    assert r.result.get("result") == "1" and r.result.findtext("name") == "Gemeente Voorbeeld"


def test_escaped_and_cdata_payloads_are_the_same(sb):
    tw = TwinfieldClient(sb.url)
    escaped = tw.process(READ_DEB, cdata=False)
    cdata = tw.process(READ_DEB, cdata=True)
    assert escaped.status == cdata.status == 200
    assert escaped.result_text == cdata.result_text
    assert escaped.result.findtext("name") == "Jan de Vries"
    # The result document travels escaped inside ProcessXmlStringResult, not as child elements.
    assert b"&lt;dimension" in escaped.body
    res = escaped.envelope.find(".//{%s}ProcessXmlStringResult" % TWF)
    assert len(list(res)) == 0
    # Special characters round-trip through the escaping both ways.
    name = 'Q&A <"Ltd"> \u00e9'
    w = tw.process("<dimension><office>001</office><type>KPL</type><code>QA1</code>"
                   "<name>%s</name></dimension>" % name.replace("&", "&amp;").replace("<", "&lt;")
                   .replace(">", "&gt;"), cdata=True)
    assert w.result.get("result") == "1" and w.result.findtext("name") == name


def test_hostile_xml(programs, workdir):
    sb = start_sandbox(programs, workdir, "--max-body", "64k")
    tw = TwinfieldClient(sb.url)
    tok = tw.token()
    # Entity declarations in the envelope: refused, never expanded.
    bomb = ('<?xml version="1.0"?><!DOCTYPE soap:Envelope [<!ENTITY a "EXPANDED">'
            '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            '<soap:Envelope xmlns:soap="%s"><soap:Header><Header xmlns="%s"><AccessToken>%s'
            '</AccessToken><CompanyCode>001</CompanyCode></Header></soap:Header><soap:Body>'
            '<ProcessXmlString xmlns="%s"><xmlRequest>&b;</xmlRequest></ProcessXmlString>'
            '</soap:Body></soap:Envelope>' % (SOAP11, TWF, tok, TWF))
    r = tw.soap("/webservices/processxml.asmx", "ProcessXmlString", bomb.encode())
    assert r.status == 500 and r.fault[2] == "187" and "DTD" in r.fault[1]
    assert b"EXPANDED" not in r.body
    # An external entity in the payload: refused, the file is never read.
    xxe = ('<?xml version="1.0"?><!DOCTYPE read [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           '<read><type>dimensions</type><office>001</office><dimtype>DEB</dimtype>'
           '<code>&x;</code></read>')
    r = tw.process(xxe)
    assert r.status == 500 and r.fault[2] == "187"
    assert b"root:" not in r.body
    # Malformed payload: fault 187.
    r = tw.process("<read><type>dimensions</read>")
    assert r.status == 500 and r.fault[2] == "187"
    # Oversized body: 413 before any parsing.
    big = tw.process("<read><type>dimensions</type><code>%s</code></read>" % ("x" * 70000))
    assert big.status == 413
    # The sandbox is still fine.
    assert tw.process(READ_DEB).result.get("result") == "1"


def test_soapaction_and_envelope_checks(sb):
    tw = TwinfieldClient(sb.url)
    env = process_xml_envelope(READ_DEB, token=tw.token(), company="001")
    r = tw.soap("/webservices/processxml.asmx", "ProcessXmlDocument", env)
    assert r.status == 500 and "SOAPAction" in r.fault[1]
    r = http_request("POST", sb.url + "/webservices/processxml.asmx", b"<notsoap/>",
             {"Content-Type": "text/xml", "SOAPAction": "http://www.twinfield.com/ProcessXmlString"})
    assert r.status == 500 and r.fault[0] == "soap:Client" and r.fault[2] == "187"
    # SOAP 1.2 envelope: answered in SOAP 1.2.
    env12 = process_xml_envelope(READ_DEB, token=tw.token(), company="001", soap12=True)
    r = http_request("POST", sb.url + "/webservices/processxml.asmx", env12,
             {"Content-Type": 'application/soap+xml; charset=utf-8; '
                              'action="http://www.twinfield.com/ProcessXmlString"'})
    assert r.status == 200 and r.header("Content-Type").startswith("application/soap+xml")
    assert r.result.get("result") == "1"
    env12 = process_xml_envelope(READ_DEB, token="bad", company="001", soap12=True)
    r = http_request("POST", sb.url + "/webservices/processxml.asmx", env12,
             {"Content-Type": 'application/soap+xml; action="http://www.twinfield.com/ProcessXmlString"'})
    assert r.status == 401
    s12 = "{http://www.w3.org/2003/05/soap-envelope}"
    assert r.envelope.findtext(".//%sCode/%sValue" % (s12, s12)) == "soap:Sender"
    assert r.fault[2] == "354"


def test_wsdl(sb):
    for path, op, action in (("processxml", "ProcessXmlString", "http://www.twinfield.com/ProcessXmlString"),
                             ("finder", "Search", "http://www.twinfield.com/Search")):
        r = http_request("GET", sb.url + "/webservices/%s.asmx?wsdl" % path)
        assert r.status == 200
        doc = ET.fromstring(r.body)
        w = "{http://schemas.xmlsoap.org/wsdl/}"
        s = "{http://schemas.xmlsoap.org/wsdl/soap/}"
        assert doc.tag == w + "definitions" and doc.get("targetNamespace") == TWF
        assert doc.find("%sportType/%soperation" % (w, w)).get("name") == op
        assert doc.find(".//%soperation" % s).get("soapAction") == action
        assert doc.find(".//%saddress" % s).get("location") == sb.url + "/webservices/%s.asmx" % path
        assert doc.find(".//{http://www.w3.org/2001/XMLSchema}element[@name='Header']") is not None


def test_cli(workdir):
    binary = sandbox_binary()
    h = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=10)
    assert h.returncode == 0
    for flag in ("--listen", "--port-file", "--seed", "--latency", "--error-rate",
                 "--credits-per-minute", "--max-concurrency", "--token-ttl", "--client-id",
                 "--client-secret", "--refresh-token", "sandbox-client", "sandbox-secret",
                 "sandbox-refresh-token"):
        assert flag in h.stdout, flag
    v = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10)
    assert v.returncode == 0 and v.stdout.startswith("kassaboek-sandbox ")
    assert subprocess.run([binary, "--latency", "5-1"], capture_output=True, timeout=10).returncode == 64
    assert subprocess.run([binary, "--bogus"], capture_output=True, timeout=10).returncode == 64
    assert subprocess.run([binary, "--listen", "nope"], capture_output=True, timeout=10).returncode == 64
    missing = subprocess.run([binary, "--listen", "127.0.0.1:0", "--seed", os.path.join(workdir, "none.json")],
                             capture_output=True, timeout=10)
    assert missing.returncode == 66
    bad = os.path.join(workdir, "bad.json")
    with open(bad, "w") as f:
        json.dump({"offices": [{"code": "001"}], "masters": {"articles": [
            {"header": {"code": "ABC", "name": "letters", "vatcode": "VH"}}]}}, f)
    r = subprocess.run([binary, "--listen", "127.0.0.1:0", "--seed", bad], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 65 and "ABC" in r.stderr


def test_port_file_and_clean_exit(programs, workdir):
    sb = start_sandbox(programs, workdir)
    assert open(os.path.join(workdir, "sandbox.port")).read() == "%d\n" % sb.port
    # The port file appears first; the log line follows (much later under valgrind).
    deadline = time.monotonic() + 10
    while "listening on" not in sb.proc.output() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "listening on http://127.0.0.1:%d" % sb.port in sb.proc.output()
    assert sb.proc.stop() == 0
    lines = [json.loads(l) for l in sb.proc.output().splitlines() if l.startswith("{")]
    assert lines and all("time" in l and "level" in l for l in lines)
