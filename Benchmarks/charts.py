#!/usr/bin/env python3
"""Draws the main comparisons of RESULTS.md as SVG bar charts, from the tables results.sh just produced
(in the directory given), into Benchmarks/charts/. Used only by results.sh; no dependencies.

    python3 charts.py <tables directory> <output directory>
"""
import os
import sys

from html import escape
from math import log10

import tables
from tables import num

source, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)


def rows(name):
    return tables.rows(source, name)


OURS, PEER, FLOOR = "#2f6fb0", "#a0a0a0", "#5aa469"


def bars(filename, title, unit, items, log=False, note=None):
    """A horizontal bar chart: items are (label, value, colour). On a log scale when `log`."""
    items = [(l, v, c) for l, v, c in items if v is not None]
    if not items:
        return
    label_w, bar_w, row_h, top = 420, 330, 22, 46
    width = label_w + bar_w + 90
    height = top + row_h * len(items) + (34 if note else 14)
    high = max(v for _, v, _ in items)
    low = min(v for _, v, _ in items if v > 0) if log else 0

    def length(v):
        if v <= 0:
            return 0
        if log:
            lo, hi = log10(low) - 0.3, log10(high)
            return bar_w * (log10(v) - lo) / (hi - lo) if hi > lo else bar_w
        return bar_w * v / high if high else 0

    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="Helvetica, Arial, sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="10" y="20" font-size="14" font-weight="bold">{escape(title)}</text>',
           f'<text x="10" y="36" fill="#555">{escape(unit)}{" (log scale)" if log else ""}</text>']
    for i, (label, value, colour) in enumerate(items):
        y = top + i * row_h
        svg.append(f'<text x="{label_w - 8}" y="{y + 14}" text-anchor="end">{escape(label)}</text>')
        svg.append(f'<rect x="{label_w}" y="{y + 3}" width="{length(value):.1f}" height="{row_h - 7}" fill="{colour}"/>')
        shown = f"{value:.2f}".rstrip("0").rstrip(".") if value < 100 else f"{value:.0f}"
        svg.append(f'<text x="{label_w + length(value) + 5:.1f}" y="{y + 14}">{shown}</text>')
    if note:
        svg.append(f'<text x="10" y="{height - 12}" fill="#555">{escape(note)}</text>')
    svg.append("</svg>")
    with open(os.path.join(out, filename), "w") as f:
        f.write("\n".join(svg) + "\n")


# Instructions per call of every mechanism (callgrind: group | case | mode | per iteration | delta).
cg = [(r[0], r[1], r[2], num(r[3])) for r in rows("callgrind.md") if len(r) >= 4 and num(r[3]) is not None]
calls = [(f"{case}{' (indirect mode)' if mode == 'indirect' else ''}", v,
          OURS if case.startswith("@StaticCall") else FLOOR if "the limit" in case else PEER)
         for group, case, mode, v in cg if group == "call"]
bars("calls.svg", "Instructions per loop iteration: one call through each mechanism", "callgrind instructions",
     calls, note="Blue: @StaticCall. Green: the direct call, the limit. The loop's own work is in every bar.")

# Disabled hooks and keys against their peers.
off = []
for group, case, mode, v in cg:
    if group == "hook" or group.startswith("flag"):
        prefix = "hook" if group == "hook" else group.replace("flag guarding a block (3 live values)", "flag, block")
        colour = OURS if case.startswith("@Static") else FLOOR if case.startswith("no ") else PEER
        off.append((f"{prefix}: {case}", v, colour))
bars("disabled.svg", "Instructions per loop iteration: disabled hooks and flags against their peers",
     "callgrind instructions", off,
     note="Blue: @StaticCall/@StaticKey. Green: the same loop without the hook or the if. Grey: a closure, Bool or Atomic.")

# Update latency against its floors, by sites (update: name | sites | median | p90 | syncs | ratio | per site |
# wrong | pages | bare remap | ratio to it).
latency = []
for name, label in [("update0.md", "idle"), ("update2.md", "2 threads calling")]:
    for r in rows(name):
        if len(r) >= 8 and num(r[1]) is not None and num(r[2]) is not None:
            latency.append((f"{r[0]}, {label}", num(r[2]), OURS))
            if len(r) >= 10 and num(r[9]) is not None:
                latency.append((f"  bare remap of its {r[8]} page(s), same run", num(r[9]), PEER))
            latency.append((f"  three bare syncs, same run", num(r[4]), FLOOR))
bars("updates.svg", "Update latency (median) against a bare page remap and three bare membarrier syncs", "µs", latency, log=True,
     note="Blue: one update (one transaction, by page remap). Grey: the same system calls on as many pages that no thread runs. "
          "Green: three membarrier(SYNC_CORE) calls (the INT3 protocol's floor).")
