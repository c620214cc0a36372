"""One-line descriptions of facts, for traces and evidence."""

from __future__ import annotations

from typing import Any


def hostport(address: Any, port: Any) -> str:
    address = str(address)
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def fact_line(f: dict[str, Any]) -> str:
    """A short human description of a fact (no internal fields)."""
    t = f.get("type")
    proc = ""
    if f.get("pid"):
        proc = f" pid {f['pid']}" + (f" ({f['process']})" if f.get("process") else "")
    if t == "listener":
        state = f", {f['status']}" if f.get("status") else ""
        return f"listener {hostport(f.get('address'), f.get('port'))}{proc}{state}"
    if t == "near_listener":
        where = hostport(f.get("address"), f.get("port"))
        return f"listener on near port {where}{proc} ({f.get('relation')})"
    if t == "probe":
        where = hostport(f.get("address"), f.get("port"))
        return f"connect {where}: {f.get('result')} in {f.get('ms', 0)} ms"
    if t == "target":
        return f"target {f.get('host')}:{f.get('port')}"
    if t == "symptom":
        return f"symptom {f.get('error') or 'unspecified'} from {f.get('client') or 'unknown client'}"
    if t == "checked":
        return f"checked {f.get('name')}: {f.get('status')}"
    if t == "resolution":
        return f"{f.get('host')} resolves: {f.get('status')} {f.get('addresses', '')}".rstrip()
    if t == "proxy":
        return f"{f.get('variable')}={f.get('proxy')} (bypassed: {f.get('bypassed')})"
    if t == "host_check":
        return f"{f.get('host')} looks like {f.get('suggestion')} ({f.get('reason')})"
    if t == "port_info":
        return f"port {f.get('port')}: {f.get('port_class')}, unprivileged from {f.get('unprivileged_start')}"
    if t == "hosts_file":
        return f"{f.get('path')}: localhost v4={f.get('localhost_v4')} v6={f.get('localhost_v6')}"
    if t == "answer":
        return f"answer {f.get('id')}={f.get('value')}"
    fields = ", ".join(f"{k}={v}" for k, v in f.items() if k not in ("type", "sid", "_n"))
    return f"{t} {fields}"
