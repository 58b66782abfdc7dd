"""Shared by the benchmark scripts' report writers (bench/*.sh): the raw
outputs in bench/out/ and the machine a run was on."""
import os
import platform
import subprocess

OUT = "bench/out"


def read(name):
    """A raw output of this run, stripped."""
    return open(os.path.join(OUT, name)).read().strip()


def machine():
    """"host (N cores, CPU model)" for the report's first line."""
    cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"],
                         capture_output=True, text=True).stdout.strip()
    return f"{platform.node()} ({os.cpu_count()} cores, {cpu})"
