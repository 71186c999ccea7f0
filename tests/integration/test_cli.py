"""The kassaboek command line: help, version, exit codes, check-config."""
import os
import subprocess

from conftest import program
from kbclient import SECRET

MAPPING = os.path.join(os.environ.get("KB_SRCDIR", "."), "conf", "mapping", "order.json")


def run(*args, env=None):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([program("kassaboek")] + list(args), capture_output=True, text=True, env=e, timeout=30)


def test_version_and_help():
    r = run("version")
    assert r.returncode == 0 and r.stdout.startswith("kassaboek ")
    r = run("--help")
    assert r.returncode == 0
    for cmd in ("serve", "work", "run", "check-config", "setup", "sync", "replay", "version"):
        assert cmd in r.stdout
    r = run("serve", "--help")
    assert r.returncode == 0 and "--port-file" in r.stdout


def test_usage_errors():
    assert run().returncode == 64
    assert run("frobnicate").returncode == 64


def test_later_commands_say_so():
    r = run("setup")
    assert r.returncode == 2 and "not yet available" in r.stderr


def test_check_config_reports_file_line_and_key(workdir):
    path = os.path.join(workdir, "bad.conf")
    with open(path, "w") as f:
        f.write("[server]\nwebhook_secret = %s\nmax_body = huge\n[redis]\nurll = x\n" % SECRET)
    r = run("-c", path, "check-config")
    assert r.returncode == 78
    assert "%s:3: [server] max_body: 'huge' is not a number" % path in r.stderr
    assert "%s:5: [redis] unknown key 'urll'" % path in r.stderr


def test_check_config_prints_effective_config_redacted(workdir):
    path = os.path.join(workdir, "ok.conf")
    with open(path, "w") as f:
        f.write("[server]\nwebhook_secret = %s\n[orders]\nmapping = %s\n" % (SECRET, MAPPING))
    r = run("-c", path, "check-config", env={"KASSABOEK_TWINFIELD_CLIENT_SECRET": "topsecret",
                                             "KASSABOEK_WORKER_PROCESSES": "7"})
    assert r.returncode == 0, r.stderr
    assert "processes = 7" in r.stdout
    assert "client_secret = <redacted>" in r.stdout
    assert "topsecret" not in r.stdout + r.stderr
    assert SECRET not in r.stdout + r.stderr


def test_check_config_rejects_malformed_secret_and_url(workdir):
    path = os.path.join(workdir, "bad.conf")
    with open(path, "w") as f:
        f.write("[server]\nwebhook_secret = whsec_***\n[redis]\nurl = http://x\n")
    r = run("-c", path, "check-config")
    assert r.returncode == 78
    assert "webhook_secret" in r.stderr and "[redis] url" in r.stderr


def test_shipped_example_config_is_valid_with_a_secret():
    conf = os.path.join(os.environ.get("KB_SRCDIR", "."), "conf", "kassaboek.conf")
    r = run("-c", conf, "check-config", env={"KASSABOEK_SERVER_WEBHOOK_SECRET": SECRET})
    assert r.returncode == 0, r.stderr


def test_relative_mapping_path_is_relative_to_the_config_file(workdir):
    os.mkdir(os.path.join(workdir, "etc"))
    os.mkdir(os.path.join(workdir, "etc", "mapping"))
    with open(MAPPING) as src, open(os.path.join(workdir, "etc", "mapping", "order.json"), "w") as dst:
        dst.write(src.read())
    path = os.path.join(workdir, "etc", "kassaboek.conf")
    with open(path, "w") as f:
        f.write("[server]\nwebhook_secret = %s\n" % SECRET)       # mapping: the default, relative
    r = subprocess.run([program("kassaboek"), "-c", path, "check-config"], capture_output=True, text=True,
                       cwd="/", timeout=30)
    assert r.returncode == 0, r.stderr
    assert "mapping = %s/etc/mapping/order.json" % workdir in r.stdout


def test_check_config_validates_the_order_mapping(workdir):
    mapping = os.path.join(workdir, "order.json")
    with open(mapping, "w") as f:
        f.write('{"fields": {"invoice": {"currency": {"path": "$.data.currency", "pipe": ["uper"]}}}}')
    path = os.path.join(workdir, "ok.conf")
    with open(path, "w") as f:
        f.write("[server]\nwebhook_secret = %s\n[orders]\nmapping = %s\n" % (SECRET, mapping))
    r = run("-c", path, "check-config")
    assert r.returncode == 78
    assert "[orders] mapping: " + mapping in r.stderr
    assert "uper" in r.stderr


def test_check_config_validates_the_aspos_api_map_when_aspos_is_configured(workdir):
    bad = os.path.join(workdir, "api.json")
    with open(bad, "w") as f:
        f.write("{not json")
    path = os.path.join(workdir, "ok.conf")
    with open(path, "w") as f:
        f.write("[server]\nwebhook_secret = %s\n[orders]\nmapping = %s\n[aspos]\napi_map = %s\n"
                % (SECRET, MAPPING, bad))
    assert run("-c", path, "check-config").returncode == 0          # AsPos not configured: not read
    with open(path, "a") as f:
        f.write("base_url = http://127.0.0.1:9/aspos\n")
    r = run("-c", path, "check-config")
    assert r.returncode == 78
    assert "[aspos] api_map: " in r.stderr
