"""Label-consistency oracle for generated runs (a check of the generator, not an analyzer).

Reads only what a run directory holds (run.json, events.jsonl, streams) and, for the
expectation-based classes, checks the spec's rules directly:
  rf silent  : no sample on a DUT channel >= max(8 dB, 7 robust sigma) over its median in the
               DUT's silent windows AND
               >= 3 dB louder than every
               other DUT's/ambient antenna overlapping it in frequency, after settle (honest: none)
  power off  : no current sample above off_current_a after settle (honest: none)
  net none   : no frame sent by the DUT after settle (honest: none)
  allowlist  : DUT-sent IP packets go to allowed IPs/CIDRs, to addresses a captured DNS answer
               gave for an allowed name, or are DNS queries for allowed names / link housekeeping
Covert classes (beacon, dns, timing) are checked only for presence in the labelled window.
"""
import ipaddress
import json
import os

import numpy as np


def phases_of(rd, dur):
    ev = [json.loads(x) for x in open(os.path.join(rd, "events.jsonl"))]
    ph = {}
    for e in ev:
        if e["kind"] == "phase":
            ph.setdefault(e["dut"], []).append(e)
    out = {}
    for dut, lst in ph.items():
        out[dut] = []
        for i, e in enumerate(lst):
            t1 = lst[i + 1]["t"] if i + 1 < len(lst) else dur
            ex = e["expect"]
            out[dut].append((e["name"], e["t"] + ex.get("settle_s", 0.0), t1, ex))
    return out


def load_stream(rd, stem):
    mp = os.path.join(rd, stem + ".sigmf-meta")
    if not os.path.exists(mp):
        return None
    m = json.load(open(mp))
    g = m["global"]
    n = g["core:num_channels"]
    x = np.fromfile(os.path.join(rd, stem + ".sigmf-data"), "<f4").reshape(-1, n)
    t0 = m["captures"][0].get("bench:t0", 0.0)
    return g, x, t0


def name_allowed(name, allow):
    name = name.rstrip(".").lower()
    return any(name == a.lower() or name.endswith("." + a.lower()) for a in allow if not _is_addr(a))


def _is_addr(a):
    try:
        ipaddress.ip_network(a, strict=False)
        return True
    except ValueError:
        return False


def addr_allowed(ip, allow):
    ip = ipaddress.ip_address(ip)
    for a in allow:
        if _is_addr(a) and ip in ipaddress.ip_network(a, strict=False):
            return True
    return False


def check_run(rd, lab):
    from scapy.all import ARP, DNS, IP, IPv6, PcapNgReader, Ether
    run = json.load(open(os.path.join(rd, "run.json")))
    start = np.datetime64(run["started_utc"].rstrip("Z"), "ns").astype("int64") / 1e9
    dur = run["duration_s"]
    phs = phases_of(rd, dur)
    viol = {d["name"]: [] for d in run["duts"]}
    rf = load_stream(rd, "rf")
    if rf is not None:
        g, x, t0 = rf
        fs = g["core:sample_rate"]
        chans = g["bench:channels"]
        for ci, c in enumerate(chans):
            if c["dut"] is None:
                continue
            others = [cj for cj, o in enumerate(chans) if o["dut"] != c["dut"]
                      and o["low_hz"] < c["high_hz"] and o["high_hz"] > c["low_hz"]]
            wins = [(max(0, int(np.ceil((a - t0) * fs))), int((b - t0) * fs))
                    for (name, a, b, ex) in phs[c["dut"]] if ex.get("rf") == "silent"]
            if not wins:
                continue
            quiet = np.concatenate([x[i0:i1, ci] for i0, i1 in wins])
            fl = np.nanmedian(quiet)
            sg = 1.4826 * np.nanmedian(np.abs(quiet - fl))
            for i0, i1 in wins:
                seg = x[i0:i1, ci]
                hot = seg > fl + max(8.0, 7 * sg)
                if others:
                    hot &= seg > np.nanmax(x[i0:i1, others], axis=1) + 3
                if hot.any():
                    viol[c["dut"]].append(("rf-in-silence", int(hot.sum()), round(t0 + (i0 + int(np.argmax(hot))) / fs, 3)))
    pw = load_stream(rd, "power")
    if pw is not None:
        g, x, t0 = pw
        fs = g["core:sample_rate"]
        for ci, c in enumerate(g["bench:channels"]):
            for (name, a, b, ex) in phs[c["dut"]]:
                if ex.get("power") != "off":
                    continue
                thr = ex.get("off_current_a", 0.005)
                seg = x[max(0, int(np.ceil((a - t0) * fs))):int((b - t0) * fs), ci]
                if (seg > thr).any():
                    viol[c["dut"]].append(("power-in-off", int((seg > thr).sum()), None))
    pp = os.path.join(rd, "net.pcapng")
    if os.path.exists(pp):
        r = PcapNgReader(pp)
        frames = [(float(p.time) - start, p.sniffed_on, p) for p in r]
        for d in run["duts"]:
            name = d["name"]
            mine = [(t, p) for t, s, p in frames if s == name]
            bmac = d.get("bench_mac")
            bip = set(d.get("bench_ip", []))
            if not bmac and not bip:
                for t, p in mine:
                    if IP in p and p[IP].dst in d["ip"]:
                        bmac = p[Ether].src
                        break
            bench = lambda p: (bmac and p[Ether].src == bmac) or (IP in p and p[IP].src in bip)  # noqa: E731
            allow_any = [x for (_, _, _, ex) in phs[name] for x in ex.get("allow", [])]
            answered = set()
            for t, p in mine:  # "an address that a captured DNS answer gave for an allowed name"
                if bench(p) and DNS in p and p[DNS].qr == 1 and p[DNS].qd and name_allowed(
                        p[DNS].qd.qname.decode(), allow_any):
                    for i in range(p[DNS].ancount):
                        if p[DNS].an[i].type in (1, 28):
                            answered.add(str(p[DNS].an[i].rdata))
            for (pname, a, b, ex) in phs[name]:
                for t, p in mine:
                    if not (a <= t < b):
                        continue
                    if bench(p):
                        continue
                    if ex.get("net") == "none":
                        viol[name].append(("net-in-isolation", 1, round(t, 3)))
                    elif ex.get("net") == "allowlist":
                        if ARP in p:
                            continue
                        dst = p[IP].dst if IP in p else (p[IPv6].dst if IPv6 in p else None)
                        if dst is None:
                            continue
                        ipd = ipaddress.ip_address(dst)
                        if DNS in p and p[DNS].qr == 0 and name_allowed(p[DNS].qd.qname.decode(), ex["allow"]):
                            continue
                        if addr_allowed(dst, ex["allow"]) or dst in answered:
                            continue
                        if (ipd.is_multicast or dst == "255.255.255.255") and lab.get("ambiguous"):
                            continue  # link housekeeping in an allowlist phase: flagged ambiguous
                        viol[name].append(("net-unexpected-destination", 1, round(t, 3), dst))
    return viol


def verify(out, labels, limit=None):
    bad = 0
    names = list(labels["runs"])[:limit]
    for rn in names:
        lab = labels["runs"][rn]
        viol = check_run(os.path.join(out, rn), lab)
        for dut, e in lab["duts"].items():
            kinds = {v[0] for v in viol[dut]}
            need = e["kind"] if e["verdict"] == "fail" else None
            expect_based = {"rf-in-silence", "power-in-off", "net-in-isolation", "net-unexpected-destination"}
            if e["verdict"] in ("pass", "incomplete") and kinds:
                bad += 1
                print("  ORACLE: %s %s honest but %s" % (rn, dut, viol[dut][:3]))
            elif need in expect_based and need not in kinds:
                bad += 1
                print("  ORACLE: %s %s labelled %s but rule not met (%s)" % (rn, dut, need, viol[dut][:3]))
            elif need in expect_based and kinds - {need} - set(e.get("also_possible", [])):
                bad += 1
                print("  ORACLE: %s %s extra kinds %s" % (rn, dut, kinds - {need}))
    print("oracle: %d runs, %d inconsistencies" % (len(names), bad))
    return bad
