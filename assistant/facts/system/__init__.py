"""Reading the system: /proc, netlink, psutil, the OS tools. No facts here,
only raw data for the collectors one level up."""
