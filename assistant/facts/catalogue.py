"""The fact types rules may match, their fields, and who provides them.

Pure data, importable without psutil: the rule loader checks every fact type
and field a rule names against this table.
"""

from __future__ import annotations

# field name -> JSON type ("str", "int", "bool")
FieldTypes = dict[str, str]

FACT_TYPES: dict[str, FieldTypes] = {
    # Asserted by the session from the user's text.
    "target": {"host": "str", "port": "int", "scheme": "str", "kind": "str", "family": "int",
               "address": "str", "loopback": "bool", "wildcard": "bool", "assumed_host": "bool"},
    "symptom": {"error": "str", "client": "str", "quoted": "str", "quoted_family": "int",
                "families": "str", "remote": "str"},
    "answer": {"id": "str", "value": "str"},
    # Asserted by the driver after each check, last, so negations see every fact.
    "checked": {"name": "str", "status": "str", "reason": "str"},
    # Derived by rules (`assert` steps).
    "note": {"name": "str", "value": "str", "port": "int", "address": "str", "pid": "int"},
    # Collected lazily.
    "listener": {"address": "str", "port": "int", "family": "int", "pid": "int", "process": "str",
                 "cmdline": "str", "user": "str", "status": "str", "wildcard": "bool",
                 "loopback": "bool", "relation": "str", "stopped": "bool"},
    "near_listener": {"address": "str", "port": "int", "family": "int", "pid": "int",
                      "process": "str", "cmdline": "str", "user": "str", "relation": "str",
                      "distance": "int"},
    "probe": {"address": "str", "family": "int", "port": "int", "result": "str", "ms": "int",
              "error": "str", "loopback": "bool"},
    "resolution": {"host": "str", "status": "str", "has_v4": "bool", "has_v6": "bool",
                   "addresses": "str", "error": "str"},
    "hosts_file": {"path": "str", "readable": "bool", "localhost_v4": "bool",
                   "localhost_v6": "bool"},
    "proxy": {"variable": "str", "proxy": "str", "applies": "bool", "bypassed": "bool",
              "no_proxy": "str"},
    "port_info": {"port": "int", "port_class": "str", "ephemeral": "bool",
                  "ephemeral_range": "str", "unprivileged_start": "int", "privileged": "bool",
                  "can_bind_privileged": "bool", "excluded": "bool", "excluded_range": "str"},
    # macOS application firewall (other systems: no fact).
    "app_firewall": {"enabled": "bool", "platform": "str"},
    "host_check": {"host": "str", "suggestion": "str", "distance": "int", "reason": "str"},
    # A packet-filter rule (or chain policy) that drops or rejects the connection.
    "firewall": {"source": "str", "family": "int", "table": "str", "chain": "str",
                 "verdict": "str", "rule": "str", "handle": "str", "policy": "bool", "port": "int"},
    # Where the assistant runs (loopback is per network namespace).
    "environment": {"container": "bool", "kind": "str", "wsl": "bool"},
    # A service a team declared in a rule file (`services:`), with its live state.
    "service": {"name": "str", "port": "int", "process": "str", "usual_port": "int",
                "description": "str", "listening": "bool", "owner": "str", "owner_pid": "int",
                "owner_ok": "bool"},
}

# check name -> fact types it provides. A rule's `check` step names one of these.
CHECKS: dict[str, tuple[str, ...]] = {
    "listeners": ("listener",),
    "near_listeners": ("near_listener",),
    "probe": ("probe",),
    "resolution": ("resolution",),
    "hosts_file": ("hosts_file",),
    "proxy": ("proxy",),
    "port_info": ("port_info",),
    "host_check": ("host_check",),
    "services": ("service",),
    "firewall": ("firewall",),
    "environment": ("environment",),
    "app_firewall": ("app_firewall",),
}

# fact type -> the check that gathers it (None for facts the session asserts)
PROVIDER: dict[str, str] = {t: name for name, types in CHECKS.items() for t in types}
