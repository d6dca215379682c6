# Copyright (c) mmtde contributors. All rights reserved.
"""What the benchmarks record of the CPU they ran on."""
import platform
from typing import Set, Tuple


def cpu_info() -> Tuple[str, Set[str]]:
    """The CPU's model name and flags as ``/proc/cpuinfo`` gives them; the platform's name and
    no flags where it cannot be read."""
    fallback = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            lines = f.read().splitlines()
    except OSError:
        return fallback, set()
    fields = {}
    for line in lines:
        if ':' in line:
            key, value = line.split(':', 1)
            fields.setdefault(key.strip(), value.strip())
    return fields.get('model name', fallback), set(fields.get('flags', '').split())
