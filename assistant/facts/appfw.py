"""The macOS application firewall: on, off, or not knowable."""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.facts.base import Collector, Context, Fact, FactType, Field, Summary
from assistant.facts.system import ostools, platform

if TYPE_CHECKING:
    from assistant.understand.symptoms import Target

APP_FIREWALL = FactType("app_firewall", "The macOS application firewall (other systems: no fact).", {
    "enabled": Field("bool", "it is on"),
    "platform": Field("str", "the system", ("macos",)),
})


def collect(ctx: Context) -> list[Fact]:
    if platform.system() != "darwin":
        return []
    enabled = ostools.app_firewall_enabled()
    if enabled is None:
        return [{"type": "unknown", "reason": "socketfilterfw gave no state"}]
    return [{"type": "app_firewall", "enabled": enabled, "platform": "macos"}]


def summarise(facts: list[Fact], target: Target) -> Summary:
    if not facts:
        return Summary("ok", "no application firewall to check here")
    on = facts[0].get("enabled")
    return Summary("warning" if on else "ok", f"macOS application firewall is {'on' if on else 'off'}")


COLLECTOR = Collector("app_firewall", "The macOS application firewall's state.", (APP_FIREWALL,),
                      collect, summarise, timeout=4.0,
                      asks=lambda t: "is the macOS application firewall on?")
