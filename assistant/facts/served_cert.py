"""The certificate a local TLS server presents: the names it is for, and
whether it signed itself.

A client's "self-signed certificate" says nothing of the names: trusting the
certificate (curl --cacert) then fails again when it was made for another
name (field trial 11: a certificate for myapp.test served on localhost). One
TLS handshake to the target's loopback address, verification off so that the
certificate arrives whatever it is; nothing is sent after the handshake. The
names come from its subjectAltName extension, read from the DER bytes (the
ssl module parses a certificate only when it verified it).
"""

from __future__ import annotations

import ipaddress
import socket
from typing import TYPE_CHECKING

from assistant.facts.base import Collector, Context, Fact, FactType, Field, Summary
from assistant.understand.addresses import is_loopback

if TYPE_CHECKING:
    from assistant.understand.symptoms import Target

SERVED_CERT = FactType("served_cert", "The certificate the TLS server on the target port "
                       "presents (one handshake to a loopback address, not verified).", {
    "names": Field("str", "the names it is for (subjectAltName), comma-separated",
                   example="DNS:myapp.test, IP:127.0.0.1"),
    "covers_host": Field("bool", "the host the client dialled is among those names (an IP "
                         "address needs an IP entry)"),
    "self_signed": Field("bool", "its issuer is its subject"),
}, lambda f: f"the server's certificate is for {f.get('names') or 'no names'}")

_SAN_OID = bytes.fromhex("0603551d11")  # OBJECT IDENTIFIER 2.5.29.17, subjectAltName


def _tlv(der: bytes, i: int) -> tuple[int, int, int]:
    """Pure: (tag, start of the value, its end) of the DER element at `i`."""
    tag, n = der[i], der[i + 1]
    i += 2
    if n & 0x80:
        width = n & 0x7F
        n = int.from_bytes(der[i:i + width], "big")
        i += width
    return tag, i, i + n


def san_names(der: bytes) -> list[str]:
    """Pure: the DNS and IP names of a DER certificate's subjectAltName."""
    at = der.find(_SAN_OID)
    if at < 0:
        return []
    try:
        tag, start, end = _tlv(der, at + len(_SAN_OID))
        if tag == 0x01:  # the `critical` flag, when present
            tag, start, end = _tlv(der, end)
        if tag != 0x04:  # OCTET STRING holding the GeneralNames
            return []
        tag, i, stop = _tlv(der, start)
        names: list[str] = []
        while tag == 0x30 and i < stop:
            kind, vs, ve = _tlv(der, i)
            value = der[vs:ve]
            if kind == 0x82:  # [2] dNSName
                names.append("DNS:" + value.decode("ascii", "replace"))
            elif kind == 0x87 and len(value) in (4, 16):  # [7] iPAddress
                names.append("IP:" + str(ipaddress.ip_address(value)))
            i = ve
        return names
    except (IndexError, ValueError):
        return []


def _issuer_is_subject(der: bytes) -> bool:
    """Pure: the TBSCertificate's issuer Name equals its subject Name."""
    try:
        _, cert, _ = _tlv(der, 0)
        _, i, _ = _tlv(der, cert)  # TBSCertificate
        fields: list[tuple[int, bytes]] = []
        while len(fields) < 6:
            tag, vs, ve = _tlv(der, i)
            fields.append((tag, der[i:ve]))
            i = ve
        if fields[0][0] == 0xA0:  # the [0] version comes first when present
            fields = fields[1:]
        # serial, signature algorithm, issuer, validity, subject
        return fields[2][1] == fields[4][1]
    except IndexError:
        return False


def covers(names: list[str], host: str) -> bool:
    """Pure: whether a certificate with these names is valid for `host`
    (one leading wildcard label, as clients match it; an IP only as IP:)."""
    host = host.strip("[]").lower()
    try:
        ipaddress.ip_address(host)
        return f"ip:{host}" in (n.lower() for n in names)
    except ValueError:
        pass
    for n in names:
        if not n.startswith("DNS:"):
            continue
        pattern = n[4:].lower()
        if pattern == host or (pattern.startswith("*.") and "." in host
                               and host.split(".", 1)[1] == pattern[2:]):
            return True
    return False


def collect(ctx: Context) -> list[Fact]:
    import ssl

    t = ctx.target
    if t.port is None or t.host is None:
        return []
    address = t.parsed.address if t.parsed and t.parsed.address else None
    if address is None and t.host.lower() == "localhost":
        address = "127.0.0.1"
    if address is None or not is_loopback(address):
        return []  # only this machine's servers are looked at
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # to see the certificate whatever it is
    name = None if t.parsed and t.parsed.address else t.host
    timeout = min(ctx.probe_timeout, 2.0)
    with socket.create_connection((address, t.port), timeout=timeout) as raw, \
            context.wrap_socket(raw, server_hostname=name) as tls:
        der = tls.getpeercert(binary_form=True)
    if not der:
        return [{"type": "unknown", "reason": "the server sent no certificate"}]
    names = san_names(der)
    if not names and not (t.parsed and t.parsed.address):
        # No subjectAltName: curl and Python then match a name against the
        # subject's CN, Go and browsers do not. Nothing certain to say.
        return []
    return [{"type": "served_cert", "names": ", ".join(names),
             "covers_host": covers(names, t.host), "self_signed": _issuer_is_subject(der)}]


def summarise(facts: list[Fact], target: Target) -> Summary:
    f = next((f for f in facts if f["type"] == "served_cert"), None)
    if f is None:
        return Summary("ok", "no certificate to read")
    text = SERVED_CERT.describe(f) + ("" if f["covers_host"] else f", not {target.host}")
    return Summary("ok" if f["covers_host"] else "problem", text)


COLLECTOR = Collector("served_cert", "The certificate a local TLS server presents: its "
                      "names, and whether it signed itself.", (SERVED_CERT,), collect,
                      summarise, timeout=3.0,
                      asks=lambda t: f"which names is the certificate on {t.port} for?")
