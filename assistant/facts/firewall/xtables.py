"""iptables matches and targets, as `iptables-save` prints them, evaluated for
a loopback SYN. iptables-nft rules come through `nft -j` as opaque `xt`
objects; `iptables-save` has their arguments, so they are read here."""

from __future__ import annotations

import contextlib
import ipaddress

from assistant.facts.firewall import conditions as cond
from assistant.facts.firewall.model import Maybe, Packet, Result, Verdict, both, negate

Option = tuple[bool, str, list[str]]  # (negated, --option, its arguments)

OTHER_PROTOCOLS = {"udp", "udplite", "icmp", "icmp6", "icmpv6", "ipv6-icmp", "sctp", "dccp",
                   "gre", "esp", "ah", "mh", "igmp"}
NO_VERDICT = {"LOG", "NFLOG", "ULOG", "TRACE", "AUDIT", "MARK", "CONNMARK", "CT", "NOTRACK",
              "TCPMSS", "CHECKSUM", "TOS", "DSCP", "CLASSIFY", "SET", "SECMARK", "CONNSECMARK",
              "TTL", "HL", "ECN", "TEE", "IDLETIMER", "LED", "RATEEST", "SYNPROXY", "NFACCT"}
NAT = {"DNAT", "SNAT", "MASQUERADE", "REDIRECT", "NETMAP"}
# the options whose `!` inverts a stateful match as a whole
PRIMARY = {"--quota", "--rcheck", "--update", "--remove", "--connlimit-above",
           "--connlimit-upto"}


def _ports(spec: str, port: int) -> bool:
    for part in spec.split(","):
        lo, sep, hi = part.partition(":")
        try:
            if int(lo or 0) <= port <= int((hi if sep else lo) or 65535):
                return True
        except ValueError:
            continue
    return False


def address(spec: str, addr: str) -> bool:
    """`-s 127.0.0.0/8`, `-d ::1/128`, a comma list, or a netmask form."""
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    for part in spec.split(","):
        try:
            net = ipaddress.ip_network(part, strict=False)
        except ValueError:
            continue
        if net.version == ip.version and ip in net:
            return True
    return False


def _range(spec: str, addr: str) -> bool:
    lo, _, hi = spec.partition("-")
    try:
        a, b, ip = (int(ipaddress.ip_address(x)) for x in (lo, hi or lo, addr))
        same = len({ipaddress.ip_address(x).version for x in (lo, hi or lo, addr)}) == 1
    except ValueError:
        return False
    return same and a <= ip <= b


def interface(spec: str, name: str) -> bool:
    if spec.endswith("+"):
        return name.startswith(spec[:-1])
    return name == spec


def _mark(spec: str, mark: int) -> bool:
    value, _, mask = spec.partition("/")
    try:
        return (mark & int(mask or "0xffffffff", 0)) == int(value, 0)
    except ValueError:
        return False


def _flags(mask: str, comp: str) -> bool:
    want = {f.upper() for f in comp.split(",") if f.upper() != "NONE"}
    scope = {f.upper() for f in mask.split(",")}
    if "ALL" in scope:
        scope = {"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"}
    return ({"SYN"} & scope) == want


def _opt(opts: list[Option], *names: str) -> str | None:
    for _, name, args in opts:
        if name in names:
            return args[0] if args else ""
    return None


def module(name: str, opts: list[Option], pkt: Packet, text: str, world: cond.World) -> Result:
    """One `-m NAME --opt ...` group: does it match `pkt`?"""
    if name in OTHER_PROTOCOLS:
        return False
    if name in ("limit", "hashlimit", "connlimit", "recent", "quota"):
        return _stateful(name, opts, pkt, text, world)
    if name in ("owner", "cgroup"):
        return _sender(name, opts, pkt, text)
    result: Result = True
    for neg, opt, args in opts:
        arg = args[0] if args else ""
        r = _option(name, opt, args, arg, pkt, text)
        result = both(result, negate(r) if neg else r)
        if result is False:
            return False
    return result


def _option(name: str, opt: str, args: list[str], arg: str, pkt: Packet, text: str) -> Result:
    if opt in ("--dport", "--destination-port", "--dports", "--destination-ports"):
        return _ports(arg, pkt.dport)
    if opt == "--ports":  # either port: the destination is known, the source is not
        return True if _ports(arg, pkt.dport) else cond.unknown(text, "the client's source port")
    if opt in ("--sport", "--source-port", "--sports", "--source-ports"):
        return cond.unknown(text, "the client's source port is not known in advance")
    if opt == "--syn":
        return True
    if opt == "--tcp-flags" and len(args) == 2:
        return _flags(args[0], args[1])
    if opt in ("--ctstate", "--state"):
        return "NEW" in arg.upper().split(",")
    if opt == "--ctstatus":
        return pkt.nat and "DNAT" in arg.upper().split(",")
    if opt == "--ctdir":
        return arg.upper() == "ORIGINAL"
    if opt == "--ctproto":
        return arg.lower() in ("tcp", "6")
    if opt in ("--ctorigsrc", "--ctorigdst"):
        return address(arg, pkt.saddr if opt == "--ctorigsrc" else pkt.daddr)
    if opt == "--ctorigdstport":
        return _ports(arg, pkt.dport)
    if opt in ("--src-type", "--dst-type"):
        # both ends of a loopback connection are local addresses
        return "LOCAL" in arg.upper().split(",")
    if opt in ("--limit-iface-in", "--limit-iface-out", "--comment", "--rsource", "--rdest"):
        return True
    if opt in ("--src-range", "--dst-range"):
        return _range(arg, pkt.saddr if opt == "--src-range" else pkt.daddr)
    if opt == "--mark":
        return _mark(arg, pkt.mark if name == "mark" else 0)
    if opt == "--pkt-type":
        return arg.lower() in ("unicast", "host")
    if name == "rpfilter":
        return opt != "--invert"  # loopback always passes reverse-path checks
    if name in ("rt", "frag", "physdev"):
        return False  # no routing header, no fragment, no bridge on a loopback SYN
    if name == "policy" and opt == "--pol":
        return arg == "none"
    if name in ("time", "set", "length"):
        return (cond.time_window(text) if name == "time"
                else cond.ipset(arg, text) if name == "set" else cond.unknown(text))
    return cond.unknown(text)


def _stateful(name: str, opts: list[Option], pkt: Packet, text: str,
              world: cond.World) -> Result:
    neg = any(n for n, o, _ in opts if o in PRIMARY)
    r: Result
    if name == "limit":
        r = cond.limit(text, over=False)
    elif name == "hashlimit":
        r = cond.hashlimit(text, pkt, over=_opt(opts, "--hashlimit-above") is not None,
                           name=_opt(opts, "--hashlimit-name") or "", world=world)
    elif name == "connlimit":
        above = _opt(opts, "--connlimit-above")
        mask = _opt(opts, "--connlimit-mask")
        count = above if above is not None else _opt(opts, "--connlimit-upto")
        r = cond.connlimit(text, pkt, int(count or 0), above=above is not None, world=world,
                           prefix=int(mask) if mask and mask.isdigit() else -1)
    elif name == "quota":
        size = _opt(opts, "--quota")
        r = cond.quota(text, int(size) if size and size.isdigit() else 0, over=False)
    else:  # recent
        names = [o for _, o, _ in opts]
        if "--set" in names:
            return True
        if "--remove" in names and not ({"--seconds", "--hitcount"} & set(names)):
            r = cond.recent(text, pkt, _opt(opts, "--name") or "DEFAULT", 0, 0, world)
        else:
            seconds, hits = _opt(opts, "--seconds"), _opt(opts, "--hitcount")
            r = cond.recent(text, pkt, _opt(opts, "--name") or "DEFAULT",
                            int(seconds) if seconds and seconds.isdigit() else 0,
                            int(hits) if hits and hits.isdigit() else 0, world)
    return negate(r) if neg else r


def _sender(name: str, opts: list[Option], pkt: Packet, text: str) -> Result:
    """`-m owner`, `-m cgroup`: only outgoing packets carry their socket."""
    if not pkt.has_socket:
        return False
    result: Result = True
    for neg, opt, args in opts:
        arg = args[0] if args else ""
        r: Result
        if opt == "--uid-owner" and arg.isdigit():
            r = cond.owner(uid=int(arg))
        elif opt == "--gid-owner" and arg.isdigit():
            r = cond.owner(gid=int(arg))
        elif opt == "--socket-exists":
            r = True
        elif opt == "--suppl-groups":
            continue
        elif name == "cgroup" and opt == "--path":
            r = cond.cgroup("/" + arg.strip("/"))
        else:
            r = Maybe("cgroup" if name == "cgroup" else "owner", f"`{text}` matches the client",
                      f"`{text}` does not match the client")
        result = both(result, negate(r) if neg else r)
    return result


def target(name: str, opts: list[Option], pkt: Packet, chains: set[str]) -> Verdict | None:
    """The verdict of `-j NAME` (None: it only logs, marks or counts)."""
    upper = name.upper()
    if upper in ("ACCEPT", "DROP", "REJECT", "RETURN"):
        return Verdict(upper.lower())
    if name in chains:
        return Verdict("jump", name)
    if upper in NAT:
        return Verdict("nat")
    if upper in ("NFQUEUE", "QUEUE"):
        return Verdict("queue")
    if upper == "TARPIT":
        return Verdict("drop")
    return None


def rewrite(name: str, opts: list[Option], pkt: Packet) -> None:
    """What a certain target does to the packet: a mark, a redirect, a DNAT."""
    upper = name.upper()
    value = _opt(opts, "--set-mark", "--set-xmark")
    if upper == "MARK" and value:
        with contextlib.suppress(ValueError):
            pkt.mark = int(value.split("/")[0], 0)
    ports = _opt(opts, "--to-ports", "--to-port")
    if upper == "REDIRECT" and ports and ports.split("-")[0].isdigit():
        pkt.dport, pkt.nat = int(ports.split("-")[0]), True
    dest = _opt(opts, "--to-destination")
    if upper == "DNAT" and dest:
        host, _, port = dest.rpartition(":") if dest.count(":") == 1 or "]" in dest else (
            dest, "", "")
        if host:
            pkt.daddr = host.strip("[]").split("-")[0]
        if port.split("-")[0].isdigit():
            pkt.dport = int(port.split("-")[0])
        pkt.nat = True
