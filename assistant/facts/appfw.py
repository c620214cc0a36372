"""The macOS application firewall: on, off, or not knowable."""

from __future__ import annotations

from assistant.facts import oscmd, platform
from assistant.facts.registry import Context, Fact


def collect(ctx: Context) -> list[Fact]:
    if platform.system() != "darwin":
        return []
    enabled = oscmd.app_firewall_enabled()
    if enabled is None:
        return [{"type": "unknown", "reason": "socketfilterfw gave no state"}]
    return [{"type": "app_firewall", "enabled": enabled, "platform": "macos"}]
