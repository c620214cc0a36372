"""nft's own syntax for a rule of `nft -j list ruleset`, as `nft list` prints
it (and as a user types it): evidence a user can recognise and paste back.

Checked against `nft -a list ruleset` of nft 1.0.6 on the field rule sets.
"""

from __future__ import annotations

import json
from typing import Any

# Keys nft prints without `meta` in front.
UNQUALIFIED = {"iif", "oif", "iifname", "oifname", "iifgroup", "oifgroup"}
QUOTED = {"iifname", "oifname", "iifkind", "oifkind", "ibrname", "obrname"}
HEX = {"mark"}
VERDICTS = ("accept", "drop", "return", "continue")


def _quote(text: str) -> str:
    return '"' + text.replace('"', '\\"') + '"'


def value(v: Any, key: str = "") -> str:
    """A right-hand side: literal, list, set, range, prefix, concatenation."""
    if isinstance(v, bool):
        return "exists" if v else "missing"
    if isinstance(v, int):
        return f"0x{v:08x}" if key in HEX else str(v)
    if isinstance(v, str):
        return _quote(v) if key in QUOTED or (key == "cgroupv2") else v
    if isinstance(v, list):
        return ",".join(value(x, key) for x in v)
    if isinstance(v, dict):
        if "set" in v:
            items = v["set"] if isinstance(v["set"], list) else [v["set"]]
            return "{ " + ", ".join(element(x, key) for x in items) + " }"
        if "range" in v:
            return "-".join(value(x, key) for x in v["range"])
        if "prefix" in v:
            return f"{v['prefix']['addr']}/{v['prefix']['len']}"
        if "concat" in v:
            return " . ".join(value(x, key) for x in v["concat"])
        if "elem" in v:
            return element(v, key)
        for verdict in VERDICTS:
            if verdict in v:
                return verdict
        for jump in ("jump", "goto"):
            if jump in v:
                return f"{jump} {v[jump]['target']}"
    return json.dumps(v)


def element(x: Any, key: str = "") -> str:
    """A set or map element; map elements are `key : value`."""
    if isinstance(x, list) and len(x) == 2:
        return f"{value(x[0], key)} : {value(x[1])}"
    if isinstance(x, dict) and "elem" in x:
        e = x["elem"]
        extra = " ".join(statement(s) for s in ({k: v} for k, v in e.items() if k != "val"))
        return value(e.get("val"), key) + (f" {extra}" if extra else "")
    return value(x, key)


def left(expr: Any) -> tuple[str, str]:
    """(text, key) of an expression on the left of a match."""
    if not isinstance(expr, dict):
        return value(expr), ""
    if "payload" in expr:
        p = expr["payload"]
        if "protocol" in p:
            return f"{p['protocol']} {p['field']}", str(p["field"])
        return f"@{p.get('base')},{p.get('offset')},{p.get('len')}", ""
    if "meta" in expr:
        key = str(expr["meta"].get("key"))
        return (key if key in UNQUALIFIED else f"meta {key}"), key
    if "ct" in expr:
        ct = expr["ct"]
        parts = ["ct", ct.get("dir", ""), ct.get("family", ""), str(ct.get("key"))]
        key = str(ct.get("key"))
        return " ".join(p for p in parts if p), ("mark" if key == "mark" else key)
    if "fib" in expr:
        f = expr["fib"]
        return f"fib {' . '.join(f.get('flags', []))} {f.get('result')}", "fib"
    if "socket" in expr:
        s = expr["socket"]
        if s.get("key") == "cgroupv2":
            return "socket cgroupv2", "cgroupv2"
        return f"socket {s.get('key')}", ""
    if "concat" in expr:
        return " . ".join(left(x)[0] for x in expr["concat"]), ""
    if "&" in expr:
        return left(expr["&"][0])[0] + " & " + value(expr["&"][1]), ""
    for k in ("rt", "osf", "exthdr", "tcp option", "ipsec", "numgen", "jhash", "symhash"):
        if k in expr:
            return k + " " + " ".join(str(v) for v in expr[k].values()
                                      if isinstance(v, (str, int))), ""
    return json.dumps(expr), ""


def match(m: dict[str, Any]) -> str:
    op, lhs, rhs = m.get("op", "=="), m.get("left"), m.get("right")
    if isinstance(lhs, dict) and "&" in lhs and isinstance(lhs["&"][1], list):
        # bit flags: `tcp flags syn / fin,syn,rst,ack`
        base = left(lhs["&"][0])[0]
        neg = "!= " if op == "!=" else ""
        return f"{base} {neg}{value(rhs)} / {value(lhs['&'][1])}"
    text, key = left(lhs)
    if key == "cgroupv2" and isinstance(rhs, str):
        return f"{text} level {rhs.strip('/').count('/') + 1} {_quote(rhs.strip('/'))}"
    shown = "" if op in ("==", "in") else f"{op} "
    if key == "fib" and isinstance(rhs, bool):
        return f"{text} {value(rhs)}" if op == "==" else f"{text} {value(not rhs)}"
    return f"{text} {shown}{value(rhs, key)}"


def statement(e: dict[str, Any], family: str = "inet") -> str:
    """One expression of a rule that is not a match."""
    name, arg = next(iter(e.items()))
    if name == "match":
        return match(arg)
    if name in VERDICTS:
        return name
    if name in ("jump", "goto"):
        return f"{name} {arg['target']}"
    if name == "counter":
        if isinstance(arg, str):
            return f"counter name {_quote(arg)}"
        return f"counter packets {arg.get('packets', 0)} bytes {arg.get('bytes', 0)}"
    if name == "limit":
        unit = "" if arg.get("rate_unit", "packets") == "packets" else f" {arg['rate_unit']}"
        text = f"limit rate {'over ' if arg.get('inv') else ''}{arg.get('rate')}{unit}/{arg.get('per')}"
        burst = arg.get("burst", 5 if not unit else 0)
        if burst and (burst != 5 or unit):
            text += f" burst {burst} {arg.get('burst_unit', 'packets')}"
        return text
    if name == "quota":
        if isinstance(arg, str):
            return f"quota name {_quote(arg)}"
        text = f"quota {'over ' if arg.get('inv') else ''}{arg.get('val')} {arg.get('val_unit', 'bytes')}"
        if arg.get("used"):
            text += f" used {arg['used']} {arg.get('used_unit', 'bytes')}"
        return text
    if name == "ct count":
        return f"ct count {'over ' if arg.get('inv') else ''}{arg.get('val')}"
    if name == "reject":
        return _reject(arg or {}, family)
    if name == "log":
        parts = ["log"]
        for k, v in (arg or {}).items():
            parts.append(f"{k} {_quote(v) if k == 'prefix' else v}")
        return " ".join(parts)
    if name == "vmap":
        data = arg.get("data")
        shown = data if isinstance(data, str) else value(data)
        return f"{left(arg.get('key'))[0]} vmap {shown}"
    if name == "set":
        stmts = " ".join(statement(s, family) for s in arg.get("stmt", []))
        elem = left(arg.get("elem"))[0]
        return f"{arg.get('op')} {arg.get('set')} {{ {elem}{' ' + stmts if stmts else ''} }}"
    if name == "mangle":
        return f"{left(arg.get('key'))[0]} set {value(arg.get('value'), left(arg.get('key'))[1])}"
    if name in ("dnat", "snat"):
        fam = f" {arg['family']}" if arg.get("family") else ""
        addr = str(arg.get("addr", ""))
        port = f":{arg['port']}" if arg.get("port") else ""
        return f"{name}{fam} to {addr}{port}"
    if name == "redirect":
        return f"redirect to :{arg['port']}" if arg and arg.get("port") else "redirect"
    if name == "xt":
        return f"xt {arg.get('type')} {arg.get('name')}"
    if name == "queue":
        return "queue" + (f" num {arg['num']}" if isinstance(arg, dict) and "num" in arg else "")
    if arg is None:
        return name
    return f"{name} {json.dumps(arg)}"


def _reject(arg: dict[str, Any], family: str) -> str:
    kind, code = arg.get("type"), arg.get("expr")
    if kind == "tcp reset":
        return "reject with tcp reset"
    if not kind or (kind == "icmpx" and code in (None, "port-unreachable")):
        return "reject"
    if kind in ("icmp", "icmpv6") and code in (None, "port-unreachable") and family != "inet":
        return "reject"
    return f"reject with {kind} {code or 'port-unreachable'}"


def rule(expr: list[dict[str, Any]], family: str, comment: str | None = None,
         without_vmap: int = -1) -> str:
    """The rule as `nft list` prints it (without its handle). `without_vmap`
    leaves one element out of its verdict map (for `nft replace rule`)."""
    parts = []
    for e in expr:
        if without_vmap >= 0 and "vmap" in e and isinstance(e["vmap"].get("data"), dict):
            data = dict(e["vmap"]["data"])
            data["set"] = [x for i, x in enumerate(data.get("set", [])) if i != without_vmap]
            e = {"vmap": {**e["vmap"], "data": data}}
        parts.append(statement(e, family))
    if comment:
        parts.append(f"comment {_quote(comment)}")
    return " ".join(parts)
