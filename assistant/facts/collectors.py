"""Every check, in one explicit list: the single source for what rules may
gather (`check:` steps), which fact types and fields exist, the findings'
lines and the trace lines. Adding a check is one module here plus its line
below (see CONTRIBUTING.md, "Adding a fact collector").

The list names each check's module, the way pre-commit's registry names
each language's; a module is imported when its check runs (or when the
whole catalogue is needed: loading rule files, the schema), so a question
pays only for the checks its rules ask for. A test holds every module's
COLLECTOR.name to its key here.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator, Mapping

from assistant.facts.base import Collector

# check name -> the module whose COLLECTOR runs it, in the order listed to users
MODULES: dict[str, str] = {
    "listeners": "assistant.facts.listeners",
    "near_listeners": "assistant.facts.near",
    "probe": "assistant.facts.probe",
    "resolution": "assistant.facts.resolution",
    "hosts_file": "assistant.facts.hosts_file",
    "proxy": "assistant.facts.proxy",
    "port_info": "assistant.facts.ports",
    "host_check": "assistant.facts.hostcheck",
    "services": "assistant.facts.services",
    "firewall": "assistant.facts.firewall",
    "environment": "assistant.facts.environment",
    "app_firewall": "assistant.facts.appfw",
    "socket_states": "assistant.facts.socket_states",
    "protocol": "assistant.facts.protocol",
    "unix_socket": "assistant.facts.unix_sockets",
    "unix_servers": "assistant.facts.unix_servers",
    "upstreams": "assistant.facts.upstreams",
    "served_cert": "assistant.facts.served_cert",
    # The checkup's own (`assistant doctor`): facts about the machine, no target.
    "local_names": "assistant.facts.local_names",
    "loopback": "assistant.facts.loopback",
    "loopback_filter": "assistant.facts.loopback_filter",
    "local_proxy": "assistant.facts.local_proxy",
    "port_ranges": "assistant.facts.port_ranges",
    "all_listeners": "assistant.facts.all_listeners",
    "time_wait": "assistant.facts.time_wait",
    "bind_address": "assistant.facts.bindaddr",
    "other_namespaces": "assistant.facts.netns",
}


def get(name: str) -> Collector | None:
    """The collector for a check name (its module imported now), or None."""
    module = MODULES.get(name)
    if module is None:
        return None
    found: Collector = importlib.import_module(module).COLLECTOR
    return found


def all_collectors() -> tuple[Collector, ...]:
    """Every collector, in the listed order (imports them all)."""
    return tuple(c for c in (get(n) for n in MODULES) if c is not None)


def loaded() -> list[Collector]:
    """The collectors whose modules are already imported (cheap)."""
    return [sys.modules[m].COLLECTOR for m in MODULES.values()
            if m in sys.modules and hasattr(sys.modules[m], "COLLECTOR")]


class _ByName(Mapping[str, Collector]):
    """check name -> Collector, importing a module only when it is looked up."""

    def __getitem__(self, name: str) -> Collector:
        found = get(name)
        if found is None:
            raise KeyError(name)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(MODULES)

    def __len__(self) -> int:
        return len(MODULES)


BY_NAME: Mapping[str, Collector] = _ByName()
