#!/usr/bin/env python3
"""Checks the issue's targets against the tables results.sh just produced (in the directory given) and
prints them as a Markdown table. Used only by results.sh."""
import sys

import tables
from tables import num

d = sys.argv[1]


def rows(name):
    return tables.rows(d, name)


results = []


def target(what, measured, met):
    results.append((what, measured, "met" if met else "**missed**" if met is not None else "not measured"))


# callgrind: group | case | mode | per iteration | delta
cg = {}
for r in rows("callgrind.md"):
    if len(r) >= 4 and num(r[3]) is not None:
        cg[(r[0], r[1], r[2])] = num(r[3])
direct = cg.get(("call", "direct call (the limit)", "inline"))
static = cg.get(("call", "@StaticCall", "inline"))
if direct and static:
    target("patched static call ≤ 1.02× direct call, instructions per iteration",
           f"{static:.2f} / {direct:.2f} = {static / direct:.3f}×", static / direct <= 1.02)
    static_dispatch = static - direct + 1
    for peer in ["global closure variable", "protocol existential", "@_dynamicReplacement(for:)"]:
        p = cg.get(("call", peer, "inline"))
        if p is None:
            continue
        dispatch = p - direct + 1
        target(f"{peer} ≥ 3× the static call's dispatch instructions",
               f"{dispatch:.2f} vs {static_dispatch:.2f} = {dispatch / static_dispatch:.2f}× "
               f"(whole iteration: {p:.2f} vs {static:.2f} = {p / static:.2f}×)",
               dispatch / static_dispatch >= 3)
indirect, pointer = cg.get(("call", "@StaticCall", "indirect")), cg.get(("call", "Atomic raw function pointer", "inline"))
if indirect is not None and pointer is not None:
    target("@StaticCall in indirect mode ≤ an Atomic raw function pointer, instructions per iteration",
           f"{indirect:.2f} vs {pointer:.2f}", indirect <= pointer)
none = cg.get(("hook", "no hook (the same loop without it)", "inline"))
for hook in ["@StaticCall hook() after disable()", "@StaticCall hook(i) after disable()"]:
    h = cg.get(("hook", hook, "inline"))
    if none is not None and h is not None:
        target(f"{hook} ≤ the loop without it + 1 instruction", f"+{h - none:.2f}", h - none <= 1.0)
key, boolean = cg.get(("flag", "@StaticKey read", "inline")), cg.get(("flag", "plain global Bool", "inline"))
if key is not None and boolean is not None:
    target("@StaticKey read ≤ plain Bool read, instructions per iteration", f"{key:.2f} vs {boolean:.2f}", key <= boolean)
# Issue #15: a disabled key strictly below a Bool and an Atomic<Bool>, and within 2 of the loop without the
# if, in every shape; an enabled (default-true) key no more than the Bool.
for group in ["flag", "flag, read before the call", "flag guarding a block (3 live values)"]:  # every disabled shape
    k = cg.get((group, "@StaticKey read", "inline"))
    b = cg.get((group, "plain global Bool", "inline"))
    a = cg.get((group, "Atomic<Bool> relaxed load", "inline"))
    if k is not None and b is not None and a is not None:
        target(f"disabled @StaticKey < plain Bool and < Atomic<Bool> ({group}), instructions per iteration",
               f"{k:.2f} vs {b:.2f} and {a:.2f}", k < b and k < a)
    floor = cg.get((group, "no flag (the same loop without the if)", "inline"))
    if k is not None and floor is not None:
        target(f"disabled @StaticKey ≤ the loop without the if + 2 ({group})", f"+{k - floor:.2f}", k - floor <= 2)
k, b = cg.get(("flag, true (default true)", "@StaticKey read", "inline")), cg.get(("flag, true (default true)", "plain global Bool", "inline"))
if k is not None and b is not None:
    target("enabled @StaticKey (default true) ≤ plain Bool, instructions per iteration", f"{k:.2f} vs {b:.2f}", k <= b)

# Issue #16: a disabled StaticLogger statement within 2 instructions of no statement (what swift-log's
# MaxLogLevel traits compile it to) and at least 5x cheaper than swift-log's own disabled statement; an
# enabled one within 2% of swift-log's.
floor = cg.get(("log", "no statement (what swift-log's MaxLogLevel traits leave)", "inline"))
plain_off, static_off = cg.get(("log", "swift-log trace, off (handler at info)", "inline")), cg.get(("log", "StaticLogger trace, off (ceiling at info)", "inline"))
if floor is not None and plain_off is not None and static_off is not None:
    target("disabled StaticLogger statement ≤ no statement + 2, instructions per iteration", f"+{static_off - floor:.2f}", static_off - floor <= 2)
    cost = max(static_off - floor, 1)
    target("disabled StaticLogger statement ≥ 5× cheaper than swift-log's, instructions per statement",
           f"{plain_off - floor:.2f} vs {static_off - floor:.2f} = {(plain_off - floor) / cost:.1f}×", (plain_off - floor) >= 5 * cost)
# Issue #16, swift-distributed-tracing (measured before deciding on StaticCallTracing): a skipped
# StaticTracing span at least 5x cheaper than withSpan with no tracer (the log statement's bar).
t_none = cg.get(("trace", "no span", "inline"))
t_plain = cg.get(("trace", "withSpan, no tracer bootstrapped", "inline"))
t_static = cg.get(("trace", "StaticTracing.withSpan, skipped (no tracer bootstrapped)", "inline"))
if t_none is not None and t_plain is not None and t_static is not None:
    target("skipped StaticTracing span ≥ 5× cheaper than withSpan without a tracer, instructions per span",
           f"{t_plain - t_none:.2f} vs {t_static - t_none:.2f} = {(t_plain - t_none) / max(t_static - t_none, 0.01):.0f}×",
           t_plain - t_none >= 5 * (t_static - t_none))
plain_on, static_on = cg.get(("log", "swift-log info, on", "inline")), cg.get(("log", "StaticLogger info, on", "inline"))
if plain_on and static_on:
    target("enabled StaticLogger statement within 2% of swift-log's, instructions per iteration",
           f"{static_on:.2f} vs {plain_on:.2f} = {static_on / plain_on:.3f}×", abs(static_on / plain_on - 1) <= 0.02)

# wall clock: group | case | median | min | ratio
wall = {}
for r in rows("wall.md"):
    if len(r) >= 5 and num(r[2]) is not None:
        wall[(r[0], r[1])] = num(r[2])
wd, ws = wall.get(("call", "direct call (the limit)")), wall.get(("call", "@StaticCall"))
if wd and ws:
    ratio = ws / wd
    target("patched static call ≤ 1.05× direct call, wall clock (interleaved medians)",
           f"{ws:.3f} / {wd:.3f} ns = {ratio:.3f}×", ratio <= 1.05)
k, b = wall.get(("flag", "@StaticKey read")), wall.get(("flag", "plain global Bool"))
if k and b:
    target("@StaticKey read ≤ plain Bool read, wall clock", f"{k:.3f} vs {b:.3f} ns", k <= b)
s = wall.get(("end-to-end", "packets: static calls + static key"))
for twin in ["packets: closures + optional closure + Bool", "packets: existentials + Bool"]:
    t = wall.get(("end-to-end", twin))
    if s and t:
        saved = 1 - s / t
        target(f"end to end ≥ 10% faster than its twin ({twin.split(': ')[1]})",
               f"{s:.2f} vs {t:.2f} ns per packet: {saved * 100:.1f}% less time", saved >= 0.10)

p_on, s_on = wall.get(("log", "swift-log info, on")), wall.get(("log", "StaticLogger info, on"))
if p_on and s_on:
    target("enabled StaticLogger statement within 2% of swift-log's, wall clock", f"{s_on:.2f} vs {p_on:.2f} ns = {s_on / p_on:.3f}×",
           abs(s_on / p_on - 1) <= 0.02)
none_p, plain_p, static_p = (wall.get(("log, packets", c)) for c in ["packets without the statement", "packets: swift-log trace per packet, off",
                                                                   "packets: StaticLogger trace per packet, off"])
if none_p and plain_p and static_p:
    target("packet loop with a disabled trace per packet (apple/swift-log#377): StaticLogger's time over the loop without it, against swift-log's",
           f"{none_p:.2f} / {static_p:.2f} / {plain_p:.2f} ns per packet: +{(static_p / none_p - 1) * 100:.1f}% against +{(plain_p / none_p - 1) * 100:.1f}%", static_p < plain_p)

# update: name | sites | median | p90 | syncs | ratio | per site | wrong
for name, label in [("update2.md", "2 threads calling"), ("update0.md", "no other threads")]:
    up = {r[0]: r for r in rows(name) if len(r) >= 8 and num(r[1]) is not None}
    ten = up.get("1 key, 10 sites")
    if ten:
        target(f"1 key with 10 sites, {label}: < 50 µs median", f"{ten[2]} µs", num(ten[2]) < 50)
        target(f"1 key with 10 sites, {label}: ≤ 1.25× three bare syncs (ARCHITECTURE.md, What fast means)",
               f"{ten[2]} µs vs {ten[4]} µs = {ten[5]}×", num(ten[5]) <= 1.25)
    batch = up.get("100 keys × 10 sites, batched (one transaction)")
    if batch:
        target(f"1000 sites batched, {label}: < 2 ms", f"{num(batch[2]) / 1000:.2f} ms", num(batch[2]) < 2000)
        one = up.get("1 key, 1 site")
        if one:
            target(f"1000 sites batched, {label}: ≤ 2× a single update (ARCHITECTURE.md, What fast means)",
                   f"{batch[2]} µs vs {one[2]} µs = {num(batch[2]) / num(one[2]):.2f}×", num(batch[2]) <= 2 * num(one[2]))
    wrong = sum(int(r[7].split("/")[0]) for r in up.values())
    target(f"no wrong result seen by the calling threads ({label})", f"{wrong} wrong", wrong == 0)

# discovery: MB | proven | unproven | median | min | scan | per 10 MB | density
for r in rows("discovery.md"):
    if len(r) >= 7 and num(r[0]) is not None and num(r[0]) >= 9.5:
        target(f"discovery ≤ 5 ms per 10 MB ({r[0]} MB of text)", f"{r[6]} ms per 10 MB", num(r[6]) <= 5.0)
# #15's tighter bound, at every size measured (the generated objects and libswiftCore.so).
sized = [(r[0], num(r[6])) for r in rows("discovery.md") if len(r) >= 7 and num(r[6]) is not None]
if sized:
    worst = max(sized, key=lambda x: x[1])
    target(f"discovery ≤ 3 ms per 10 MB at every size measured ({len(sized)} objects)",
           f"worst {worst[1]:.2f} ms per 10 MB ({worst[0]} MB)", worst[1] <= 3.0)

print("| target | measured | |")
print("|---|---|---|")
for what, measured, verdict in results:
    print(f"| {what} | {measured} | {verdict} |")
