"""Check results to findings: one human line per check, with its status."""

from __future__ import annotations

from typing import Any

from assistant.describe import hostport
from assistant.facts.registry import CheckResult
from assistant.report import Finding
from assistant.symptoms import Target


def _proc(f: dict[str, Any]) -> str:
    if not f.get("pid"):
        return "process not visible"
    return f"{f.get('process', '?')}, pid {f['pid']}"


def finding(res: CheckResult, target: Target) -> Finding:
    """Summarise one check for the user."""
    facts = res.facts
    data: dict[str, Any] = {"facts": [{k: v for k, v in f.items() if k != "type"} for f in facts],
                            "ms": round(res.ms, 1)}
    if res.status != "ok":
        return Finding(res.name, "unknown", f"{res.name}: unknown, because {res.reason}", data, res.ms)
    port = target.port
    if res.name == "listeners":
        if not facts:
            return Finding(res.name, "problem", f"nothing listens on port {port}", data, res.ms)
        parts = [f"{hostport(f['address'], f['port'])} ({_proc(f)}"
                 + (f", {f['status']}" if f.get("status") else "") + ")" for f in facts]
        bad = any(f.get("stopped") for f in facts) or not any(
            f.get("relation") in ("accepts", "dual-stack", "unknown") for f in facts)
        return Finding(res.name, "warning" if bad else "ok", "listening: " + "; ".join(parts),
                       data, res.ms)
    if res.name == "probe":
        if not facts:
            return Finding(res.name, "unknown", "no address to probe", data, res.ms)
        parts = [f"{hostport(f['address'], f['port'])} {f['result']}"
                 + (f" in {f.get('ms', 0)} ms" if f["result"] != "skipped" else f" ({f.get('error')})")
                 for f in facts]
        ok = any(f["result"] == "ok" for f in facts)
        return Finding(res.name, "ok" if ok else "problem", "connect: " + "; ".join(parts),
                       data, res.ms)
    if res.name == "near_listeners":
        if not facts:
            return Finding(res.name, "ok", f"no listener on a port near {port}", data, res.ms)
        parts = [f"{f['port']} ({f['relation']}, {_proc(f)})" for f in facts[:3]]
        return Finding(res.name, "warning", "near ports with listeners: " + "; ".join(parts),
                       data, res.ms)
    if res.name == "resolution":
        f = facts[0] if facts else {}
        status = f.get("status")
        if status in ("ok", "literal"):
            return Finding(res.name, "ok", f"{f.get('host')} -> {f.get('addresses')}", data, res.ms)
        return Finding(res.name, "problem", f"{f.get('host')} does not resolve: {f.get('error')}",
                       data, res.ms)
    if res.name == "hosts_file":
        f = facts[0] if facts else {}
        if not f.get("readable"):
            return Finding(res.name, "unknown", f"{f.get('path')} is not readable", data, res.ms)
        ok = bool(f.get("localhost_v4"))
        return Finding(res.name, "ok" if ok else "warning",
                       f"{f.get('path')}: localhost -> IPv4 {'yes' if ok else 'no'}, "
                       f"IPv6 {'yes' if f.get('localhost_v6') else 'no'}", data, res.ms)
    if res.name == "proxy":
        if not facts:
            return Finding(res.name, "ok", "no proxy variable applies", data, res.ms)
        f = facts[0]
        if f.get("bypassed"):
            return Finding(res.name, "ok", f"{f['variable']} is set; NO_PROXY covers the host",
                           data, res.ms)
        return Finding(res.name, "warning", f"{f['variable']}={f['proxy']} captures this request",
                       data, res.ms)
    if res.name == "port_info":
        f = facts[0] if facts else {}
        return Finding(res.name, "warning" if f.get("privileged") and not
                       f.get("can_bind_privileged") else "ok",
                       f"port {f.get('port')}: {f.get('port_class')}; privileged below "
                       f"{f.get('unprivileged_start')}; ephemeral range {f.get('ephemeral_range')}",
                       data, res.ms)
    if res.name == "host_check":
        if not facts:
            return Finding(res.name, "ok", f"{target.host} is not a near-miss of a local name",
                           data, res.ms)
        f = facts[0]
        return Finding(res.name, "problem", f"{f['host']} looks like {f['suggestion']}", data, res.ms)
    if res.name == "environment":
        f = facts[0] if facts else {}
        where = ("inside a " + str(f.get("kind")) + " container" if f.get("container")
                 else "in WSL" if f.get("wsl") else "on the host itself")
        return Finding(res.name, "warning" if f.get("container") or f.get("wsl") else "ok",
                       f"running {where}", data, res.ms)
    if res.name == "app_firewall":
        if not facts:
            return Finding(res.name, "ok", "no application firewall to check here", data, res.ms)
        on = facts[0].get("enabled")
        return Finding(res.name, "warning" if on else "ok",
                       f"macOS application firewall is {'on' if on else 'off'}", data, res.ms)
    if res.name == "firewall":
        if not facts:
            return Finding(res.name, "ok", f"no packet-filter rule drops or rejects port {port}",
                           data, res.ms)
        parts = [f"{f['source']} {f['table']} {f['chain']}: {f['rule']}" for f in facts[:3]]
        return Finding(res.name, "problem", "blocked by " + "; ".join(parts), data, res.ms)
    if res.name == "services":
        if not facts:
            return Finding(res.name, "ok", "no team services declared", data, res.ms)
        parts = []
        bad = False
        for f in facts:
            if not f.get("listening"):
                parts.append(f"{f['name']} on {f['port']}: not running")
                bad = bad or f.get("port") == port
            else:
                owner = f.get("owner") or "a process"
                ok = f.get("owner_ok", True)
                bad = bad or (not ok and f.get("port") == port)
                parts.append(f"{f['name']} on {f['port']}: {owner}" + ("" if ok else " (unexpected)"))
        return Finding(res.name, "warning" if bad else "ok", "team services: " + "; ".join(parts),
                       data, res.ms)
    return Finding(res.name, "ok", f"{res.name}: {len(facts)} fact(s)", data, res.ms)
