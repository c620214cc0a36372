"""The served certificate's names and issuer, read from DER made by openssl."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from assistant.facts.served_cert import _issuer_is_subject, covers, san_names

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def der(tmp: Path, *args: str) -> bytes:
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3",
                    "-keyout", str(tmp / "k.pem"), "-out", str(tmp / "c.pem"), *args],
                   check=True, capture_output=True, timeout=60)
    subprocess.run(["openssl", "x509", "-in", str(tmp / "c.pem"), "-outform", "DER", "-out",
                    str(tmp / "c.der")], check=True, capture_output=True, timeout=60)
    return (tmp / "c.der").read_bytes()


def test_names_and_self_signed(tmp_path: Path) -> None:
    cert = der(tmp_path, "-subj", "/CN=myapp.test",
               "-addext", "subjectAltName=DNS:myapp.test,DNS:*.dev.test,IP:127.0.0.1,IP:::1")
    names = san_names(cert)
    assert names == ["DNS:myapp.test", "DNS:*.dev.test", "IP:127.0.0.1", "IP:::1"]
    assert _issuer_is_subject(cert)
    assert covers(names, "myapp.test") and covers(names, "api.dev.test")
    assert covers(names, "127.0.0.1") and covers(names, "[::1]")
    assert not covers(names, "localhost") and not covers(names, "a.b.dev.test")


def test_no_alternative_names(tmp_path: Path) -> None:
    cert = der(tmp_path, "-subj", "/CN=localhost")
    assert san_names(cert) == [] and not covers([], "localhost")  # clients ignore the CN
