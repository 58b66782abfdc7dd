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


SWEEP_MARK = "<!-- sweep results: written by bench/sweep.sh; edit only the Sweep notes -->"


def write_section(begin, end, lines, notes_heading, path="bench/RESULTS.md"):
    """Writes `lines` (ending with the `notes_heading` line) between the
    markers `begin` and `end` of bench/RESULTS.md, keeping the notes written
    under that heading last time; a new section goes before the sweep's."""
    text = open(path).read() if os.path.exists(path) else ""
    notes = "(analysis to be written after the run)\n"
    marker = "\n" + notes_heading + "\n"
    if begin in text and end in text:
        before, rest = text.split(begin, 1)
        old, after = rest.split(end, 1)
        if marker in old:
            notes = old.split(marker, 1)[1].strip("\n") + "\n"
    elif SWEEP_MARK in text:
        before, after = text.split(SWEEP_MARK, 1)
        after = "\n\n" + SWEEP_MARK + after
    else:
        before, after = text, ""
    block = "\n".join([begin] + lines) + "\n" + notes + "\n" + end
    open(path, "w").write(before.rstrip("\n") + "\n\n" + block + after)
