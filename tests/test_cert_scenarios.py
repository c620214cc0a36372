"""Certificates a client refuses, built for real (field trial 3,
curl-https-localhost-cert-for-other-name): an HTTPS server on loopback with a
certificate for another name, a self-signed one, and an expired one; curl,
Python and Node.js as the clients; the assistant on their exact words; the
printed confirm command and the printed certificate fix run as printed."""

from __future__ import annotations

import datetime
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import realservers as rs
from tests.support import free_port, run_cli, run_script


def make_cert(d: Path, name: str, san: str) -> tuple[Path, Path]:
    openssl = rs.need("openssl")
    cert, key = d / f"{name}.pem", d / f"{name}.key"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                    "-out", str(cert), "-days", "30", "-subj", f"/CN={name}",
                    "-addext", f"subjectAltName={san}"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def make_expired_cert(d: Path) -> tuple[Path, Path]:
    """openssl req cannot backdate a certificate; the cryptography package can."""
    crypto = pytest.importorskip("cryptography")
    del crypto
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    start = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = d / "expired.pem", d / "expired.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def https(cert: Path, key: Path) -> Any:
    port = free_port()
    return rs.started([sys.executable, "-c", rs.HTTPS, str(port), str(cert), str(key)], port,
                      "https server", cwd=cert.parent)


@pytest.fixture
def certs() -> Iterator[Path]:
    with rs.private_dir() as d:
        yield d


def client(argv: list[str], **env: str) -> str:
    import os

    out = subprocess.run(argv, capture_output=True, text=True, timeout=30,
                         env={**os.environ, **env})
    assert out.returncode != 0, out.stdout
    return f"$ {shlex.join(argv)}\n{out.stdout}{out.stderr}"


def ask(text: str) -> dict[str, Any]:
    r = run_cli("--ask", text, "--json")
    assert r.code == 1, r.out + r.err
    return r.json


def top(rep: dict[str, Any]) -> tuple[str, str]:
    d = rep["diagnoses"][0]
    return d["rule"], d["category"]


def linux(rep: dict[str, Any]) -> list[str]:
    return [f["command"] for f in rep["diagnoses"][0]["fix"] if f["os"] == "linux"]


def test_a_certificate_for_another_name(certs: Path) -> None:
    rs.need("curl")
    cert, key = make_cert(certs, "api.internal", "DNS:api.internal")
    with https(cert, key) as srv:
        url = f"https://localhost:{srv.port}/"
        said = client(["curl", "-sS", "--cacert", str(cert), url])
        assert "no alternative certificate subject name matches" in said
        rep = ask(said)
        assert top(rep) == ("cert.name_mismatch", "tls-certificate")
        assert (rep["target"]["host"], rep["target"]["port"]) == ("localhost", srv.port)
        # The printed confirm command, pasted: it shows the name the certificate is for.
        shown = subprocess.run(["sh", "-c", linux(rep)[0]], capture_output=True, text=True,
                               timeout=30)
        assert "DNS:api.internal" in shown.stdout, shown.stderr
        py = client([sys.executable, "-c", "import ssl, sys, urllib.request; urllib.request.urlopen("
                     "sys.argv[1], context=ssl.create_default_context(cafile=sys.argv[2]))",
                     url, str(cert)])
        assert "Hostname mismatch" in py
        assert top(ask(py)) == ("cert.name_mismatch", "tls-certificate")
        if shutil.which("node"):
            js = client(["node", "-e", "fetch(process.argv[1]).catch(e => "
                         "{ console.error(e.cause || e); process.exit(1) })", url],
                        NODE_EXTRA_CA_CERTS=str(cert))
            assert "ERR_TLS_CERT_ALTNAME_INVALID" in js
            assert top(ask(js)) == ("cert.name_mismatch", "tls-certificate")


def printed_certificate_is_accepted(rep: dict[str, Any], where: Path,
                                    hosts: tuple[str, ...]) -> None:
    """Run the answer's openssl line as printed in `where`; a server on the
    certificate it makes is then accepted by curl (--cacert) for `hosts`."""
    made = next(c for c in linux(rep) if c.startswith("openssl req"))
    where.mkdir()
    done = subprocess.run(["sh", "-c", made], cwd=where, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    with https(where / "cert.pem", where / "key.pem") as srv:
        for host in hosts:
            ok = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
                                 "--cacert", str(where / "cert.pem"),
                                 f"https://{host}:{srv.port}/"],
                                capture_output=True, text=True, timeout=30)
            assert ok.stdout == "200", ok.stderr


def test_the_printed_certificate_for_local_names_works(certs: Path) -> None:
    """The fix's openssl line, run as printed, makes a certificate that curl
    then accepts for localhost and for 127.0.0.1."""
    rs.need("curl")
    cert, key = make_cert(certs, "api.internal", "DNS:api.internal")
    with https(cert, key) as srv:
        rep = ask(client(["curl", "-sS", "--cacert", str(cert), f"https://localhost:{srv.port}/"]))
    printed_certificate_is_accepted(rep, certs / "fresh", ("localhost", "127.0.0.1"))


def test_a_self_signed_certificate(certs: Path) -> None:
    rs.need("curl")
    cert, key = make_cert(certs, "localhost", "DNS:localhost,IP:127.0.0.1")
    with https(cert, key) as srv:
        said = client(["curl", "-sS", f"https://127.0.0.1:{srv.port}/"])
        assert "self-signed certificate" in said
        r = run_script("--ask", said, "--json")  # the installed program, as a user runs it
        assert r.code == 1 and top(r.json) == ("cert.untrusted", "tls-certificate")
        fix = r.json["diagnoses"][0]["fix"]
        assert not any(" -k" in f["command"] or "verify=False" in f["command"] for f in fix)
        # curl --cacert, as the fix says, with the server's own certificate: 200.
        cacert = next(f["command"] for f in fix if f["command"].startswith("curl --cacert"))
        ok = subprocess.run(["sh", "-c", cacert.replace("CA.pem", shlex.quote(str(cert)))
                             + " -o /dev/null -w '%{http_code}'"],
                            capture_output=True, text=True, timeout=30)
        assert ok.stdout.endswith("200"), ok.stderr
        py = client([sys.executable, "-c", "import sys, urllib.request; "
                     "urllib.request.urlopen(sys.argv[1])", f"https://127.0.0.1:{srv.port}/"])
        assert "CERTIFICATE_VERIFY_FAILED" in py
        assert top(ask(py)) == ("cert.untrusted", "tls-certificate")


def test_an_untrusted_certificate_for_another_name(certs: Path) -> None:
    """Field trial 11: a self-signed certificate made for myapp.test, served
    on localhost. The answer said to trust it (--cacert), which only moved
    the error to the name check; the certificate is read now, and the printed
    one for local names works."""
    rs.need("curl")
    cert, key = make_cert(certs, "myapp.test", "DNS:myapp.test")
    with https(cert, key) as srv:
        said = client(["curl", "-sS", f"https://localhost:{srv.port}/"])
        assert "self-signed certificate" in said
        rep = ask(said)
        assert top(rep) == ("cert.untrusted_other_name", "tls-certificate")
        assert "it names DNS:myapp.test" in rep["diagnoses"][0]["summary"]
        trusted = client(["curl", "-sS", "--cacert", str(cert), f"https://localhost:{srv.port}/"])
        assert "no alternative certificate subject name matches" in trusted  # as it says
    printed_certificate_is_accepted(rep, certs / "fresh", ("localhost", "127.0.0.1"))


MUTUAL = """
import http.server, ssl, sys
srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])),
                                      http.server.SimpleHTTPRequestHandler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[2], sys.argv[3])
ctx.verify_mode = ssl.CERT_REQUIRED  # mutual TLS: clients need a certificate
ctx.load_verify_locations(sys.argv[2])
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
"""


def test_a_server_that_requires_a_client_certificate(certs: Path) -> None:
    """Field trial 12: "tlsv13 alert certificate required" got "the problem
    is above TCP" (exit 0), and a curl line without the client certificate."""
    rs.need("curl")
    cert, key = make_cert(certs, "localhost", "DNS:localhost,IP:127.0.0.1")
    port = free_port()
    with rs.started([sys.executable, "-c", MUTUAL, str(port), str(cert), str(key)], port,
                    "mutual TLS server", cwd=certs):
        url = f"https://localhost:{port}/"
        said = client(["curl", "-sS", "--cacert", str(cert), url])
        assert "alert certificate required" in said, said
        rep = ask(said)
        assert top(rep) == ("cert.client_certificate_required", "tls-certificate")
        py = client([sys.executable, "-c", "import ssl, sys, urllib.request; urllib.request."
                     "urlopen(sys.argv[1], context=ssl.create_default_context(cafile=sys.argv[2]))",
                     url, str(cert)])
        assert "CERTIFICATE_REQUIRED" in py
        assert top(ask(py)) == ("cert.client_certificate_required", "tls-certificate")
        # The printed curl line, with the client's certificate (here the server's own
        # certificate, which it trusts): answered.
        line = next(f["command"] for f in rep["diagnoses"][0]["fix"]
                    if f["command"].startswith("curl --cert"))
        line = line.replace("client.pem", str(cert)).replace("client-key.pem", str(key))
        ok = subprocess.run(["sh", "-c", line + f" --cacert {cert} -o /dev/null -w '%{{http_code}}'"],
                            capture_output=True, text=True, timeout=30)
        assert ok.stdout == "200", ok.stderr


def test_an_expired_certificate(certs: Path) -> None:
    rs.need("curl")
    cert, key = make_expired_cert(certs)
    with https(cert, key) as srv:
        said = client(["curl", "-sS", "--cacert", str(cert), f"https://localhost:{srv.port}/"])
        assert "certificate has expired" in said
        rep = ask(said)
        assert top(rep) == ("cert.expired", "tls-certificate")
        shown = subprocess.run(["sh", "-c", linux(rep)[0]], capture_output=True, text=True,
                               timeout=30)
        assert "notAfter=Jan 31 00:00:00 2024 GMT" in shown.stdout, shown.stderr
    # Field trial 9: the only fix was mkcert, not installed there. The
    # printed openssl line makes a certificate curl then accepts.
    printed_certificate_is_accepted(rep, certs / "renewed", ("localhost",))
