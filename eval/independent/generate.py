#!/usr/bin/env python3
"""Independent test-corpus generator for benchctl run directories.

Built only from spec/recording-format.md and spec/findings.md (see README.md).
Usage:
    python generate.py --out DIR --per-class N --seed S [--classes a,b,...]
    python generate.py --check DIR          # validate SigMF + pcapng read-back
"""
import argparse
import base64
import datetime as dt
import hashlib
import json
import math
import os
import string
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pkt  # noqa: E402

CLASSES = ["honest", "rf-in-airplane", "power-in-off", "net-in-isolation",
           "unexpected-destination", "beacon", "dns-exfiltration",
           "timing-channel-packets", "timing-channel-rf"]
KIND = {"rf-in-airplane": "rf-in-silence", "power-in-off": "power-in-off",
        "net-in-isolation": "net-in-isolation",
        "unexpected-destination": "net-unexpected-destination",
        "beacon": "net-beacon", "dns-exfiltration": "dns-exfiltration",
        "timing-channel-packets": "timing-channel", "timing-channel-rf": "timing-channel"}

MHZ = 1_000_000
# name variants, low Hz, high Hz, technology
BANDS = {
    "ble-37": (2401 * MHZ, 2403 * MHZ, "ble"), "ble-38": (2425 * MHZ, 2427 * MHZ, "ble"),
    "ble-39": (2479 * MHZ, 2481 * MHZ, "ble"),
    "wifi-2g4-ch1": (2401 * MHZ, 2423 * MHZ, "wifi"), "wifi-2g4-ch6": (2426 * MHZ, 2448 * MHZ, "wifi"),
    "wifi-2g4-ch11": (2451 * MHZ, 2473 * MHZ, "wifi"), "wifi-5g-ch36": (5170 * MHZ, 5190 * MHZ, "wifi"),
    "lte-b3-ul": (1710 * MHZ, 1785 * MHZ, "cell"), "lte-b7-ul": (2500 * MHZ, 2570 * MHZ, "cell"),
    "lte-b20-ul": (832 * MHZ, 862 * MHZ, "cell"), "lte-b1-ul": (1920 * MHZ, 1980 * MHZ, "cell"),
    "nr-n78": (3300 * MHZ, 3800 * MHZ, "cell"), "gsm-900-ul": (880 * MHZ, 915 * MHZ, "cell"),
    "srd-868": (863 * MHZ, 870 * MHZ, "srd"), "ism-433": (433050000, 434790000, "srd"),
    "uwb-ch9": (7737600000, 8236800000, "uwb"),
}
CELL_BANDS = ["lte-b3-ul", "lte-b7-ul", "lte-b20-ul", "lte-b1-ul", "nr-n78", "gsm-900-ul"]
WIFI_CH = {"wifi-2g4-ch1": 2412, "wifi-2g4-ch6": 2437, "wifi-2g4-ch11": 2462, "wifi-5g-ch36": 5180}
BLE_ADV = [2402, 2426, 2480]
SILENT_RF = ("airplane", "soft-off")
NET_NONE = ("isolated", "airplane", "soft-off")

ALLOWED_NAMES = {
    "gstatic.com": ["connectivitycheck.gstatic.com", "www.gstatic.com", "fonts.gstatic.com"],
    "google.com": ["www.google.com", "mtalk.google.com", "play.google.com", "clients4.google.com"],
    "googleapis.com": ["android.googleapis.com", "play.googleapis.com", "firebaseinstallations.googleapis.com"],
    "android.com": ["time.android.com", "www.android.com", "developer.android.com"],
    "apple.com": ["captive.apple.com", "gs.apple.com", "time.apple.com"],
    "icloud.com": ["gateway.icloud.com", "p33-contacts.icloud.com"],
    "googlevideo.com": ["rr3---sn-4g5e6nze.googlevideo.com", "rr1---sn-hpa7kn7s.googlevideo.com"],
    "whatsapp.net": ["g.whatsapp.net", "mmg.whatsapp.net"],
    "samsung.com": ["gos-api.gos-gsp.io.samsung.com", "time.samsung.com"],
}
NAME_POOL = {"gstatic.com": "142.250", "google.com": "142.251", "googleapis.com": "172.217",
             "android.com": "216.239", "apple.com": "17.253", "icloud.com": "17.248",
             "googlevideo.com": "173.194", "whatsapp.net": "157.240", "samsung.com": "52.29"}
BAD_POOLS = ["198.51.100", "203.0.113", "45.137.21", "185.220.101", "91.219.236", "5.188.62", "103.76.228"]
BAD_NAMES = ["update-check.io", "telemetry-cdn.net", "gstatic.com.cdn-edge.net", "notgstatic.com",
             "googleapis.com-api.org", "sync-svc.cc", "android-time.info", "pushsvc.xyz"]
MODELS = ["sim-android", "pixel-7a", "galaxy-a54", "moto-g84", "iphone-13", "redmi-note-12", "fairphone-5"]


# ------------------------------------------------------------------ helpers

class Emis:
    """RF emissions of one source: start s, duration, freq range, dBm at own antenna, supply amps."""

    def __init__(self):
        self.parts = []

    def add(self, s, d, lo, hi, p, amp=0.0):
        s = np.atleast_1d(np.asarray(s, float))
        n = len(s)
        b = lambda v: np.broadcast_to(np.asarray(v, float), (n,)).copy()  # noqa: E731
        if n:
            self.parts.append((s, b(d), b(lo), b(hi), b(p), b(amp)))

    def arrays(self):
        if not self.parts:
            return [np.zeros(0)] * 6
        return [np.concatenate([p[i] for p in self.parts]) for i in range(6)]


def jitter(rng, model, frac, n):
    """Relative jitter with standard deviation ~frac, by model."""
    if model == "normal":
        j = rng.normal(0, frac, n)
    elif model == "uniform":
        j = rng.uniform(-frac * math.sqrt(3), frac * math.sqrt(3), n)
    else:  # heavy-tailed: Student t, nu=2.5, scaled to unit std, clipped
        j = rng.standard_t(2.5, n) / math.sqrt(5.0) * frac
        j = np.clip(j, -6 * frac, 6 * frac)
    return j


def periodic(rng, a, b, period, model, frac, phase0=None):
    """Times in [a, b) of a jittered periodic process (jitter does not accumulate)."""
    if b <= a:
        return np.zeros(0)
    t0 = a + (rng.uniform(0, period) if phase0 is None else phase0)
    n = int((b - t0) / period) + 1
    if n <= 0:
        return np.zeros(0)
    base = t0 + period * np.arange(n)
    t = base + period * jitter(rng, model, frac, n)
    return np.sort(t[(t >= a) & (t < b)])


def iso_utc(epoch):
    d = dt.datetime.fromtimestamp(epoch, tz=dt.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (d.microsecond // 1000)


def r3(x):
    return float(round(x, 3))


class Phase:
    def __init__(self, name, t0, t1, expect, settle, screen=False):
        self.name, self.t0, self.t1, self.expect, self.settle, self.screen = name, t0, t1, expect, settle, screen

    @property
    def judged(self):
        return self.t0 + self.settle


# ------------------------------------------------------------------ the run

class Run:
    def __init__(self, rng, cls, run_id, epoch):
        self.rng, self.cls, self.run_id, self.epoch = rng, cls, run_id, epoch
        self.labels = {}
        self.events = []
        self.ambiguous = []

    # ---------------------------------------------------------- design
    def design(self):
        rng = self.rng
        # the RF rate is drawn first: a 10 kS/s run gets fewer DUTs, bands and seconds to stay small
        self.rf_fs = float(rng.choice([10, 100, 1000, 10000], p=[0.2, 0.3, 0.3, 0.2]))
        self.fast = self.rf_fs >= 10000
        self.n_duts = int(rng.choice([1, 2], p=[0.5, 0.5])) if self.fast else int(
            rng.choice([1, 2, 3, 4], p=[0.3, 0.3, 0.2, 0.2]))
        self.culprit = None if self.cls == "honest" else int(rng.integers(self.n_duts))
        # band plan shared by all DUTs of the run (a different DUT plan would let one
        # phone's emission land on another's antenna with no louder antenna to blame)
        plan = set()
        plan.add(str(rng.choice(["ble-37", "ble-38", "ble-39"])))
        if rng.random() < 0.8:
            plan.add(str(rng.choice(list(WIFI_CH))))
        plan.update(rng.choice(CELL_BANDS, size=1 if self.fast else int(rng.integers(1, 3)), replace=False).tolist())
        extra = 0 if self.fast else int(rng.integers(0, 3))
        others = [b for b in BANDS if b not in plan]
        plan.update(rng.choice(others, size=extra, replace=False).tolist())
        self.cell_use = {}
        duts = []
        letters = "abcd"
        subnet_style = int(rng.integers(3))
        same_model = rng.random() < 0.5
        model0 = str(rng.choice(MODELS))
        for k in range(self.n_duts):
            name = "phone-" + letters[k] if rng.random() < 0.85 else "dut%d" % (k + 1)
            if subnet_style == 0:
                net = "10.77.%d" % (k + 1)
                ip, gw, cidr = net + ".2", net + ".1", "10.77.0.0/16"
            elif subnet_style == 1:
                net = "192.168.%d" % (50 + k)
                ip, gw, cidr = net + ".%d" % rng.integers(10, 200), net + ".1", net + ".0/24"
            else:
                net = "172.16.%d" % (k * 4)
                ip, gw, cidr = net + ".%d" % rng.integers(2, 250), net + ".1", "172.16.0.0/12"
            mac = "02:%02x:%02x:%02x:%02x:%02x" % tuple(rng.integers(0, 256, 5))
            bmac = "02:be:%02x:%02x:%02x:%02x" % tuple(rng.integers(0, 256, 4))
            ll = "fe80::%x:%xff:fe%02x:%x" % (rng.integers(0x100, 0xffff), rng.integers(0, 255),
                                             rng.integers(0, 255), rng.integers(0x100, 0xffff))
            ula = "fd77:%x::%x" % (k + 1, rng.integers(2, 0xffff)) if rng.random() < 0.3 else None
            iso_true = float(rng.uniform(20, 60))
            declare_iso = rng.random() < 0.6
            if not declare_iso:
                iso_true = float(rng.uniform(28, 34))  # readers assume 30 dB when absent
            # honest radios: cellular band (may be unmonitored), Wi-Fi channel, BLE sets
            cell = str(rng.choice(sorted(plan & set(CELL_BANDS)) if rng.random() < 0.8 else CELL_BANDS))
            wifi = str(rng.choice(list(WIFI_CH)))
            duts.append(dict(
                name=name, k=k, ip=ip, gw=gw, cidr=cidr, mac=mac, bench_mac=bmac, ll=ll, ula=ula,
                iso=iso_true, iso_declared=(round(iso_true) if declare_iso else None), cell=cell, wifi=wifi,
                model=model0 if same_model else str(rng.choice(MODELS)),
                ble_sets=[(float(rng.choice([0.1, 0.1525, 0.2113, 0.25, 0.32])),
                           float(rng.choice([0.5463, 0.8525, 1.0225, 1.285, 2.0])),
                           float(rng.uniform(-30, -12)))
                          for _ in range(int(rng.integers(1, 4)))],
                tx_ble=float(rng.uniform(-45, -25)), tx_wifi=float(rng.uniform(-30, -8)),
                tx_cell=float(rng.uniform(-25, 3)),
                jit_model=str(rng.choice(["normal", "uniform", "heavy"])),
                ka0=float(rng.uniform(1.0, 5.0)), kamax=float(rng.uniform(16, 64)),
                scan_on=float(rng.uniform(8, 20)), scan_off=float(rng.uniform(30, 120)),
            ))
        self.duts = duts
        # a quiet band for an RF timing channel: used by no DUT radio and no room source
        if self.cls == "timing-channel-rf":
            used = {d["cell"] for d in duts}
            quiet = [b for b in plan if BANDS[b][2] in ("srd", "uwb") or (BANDS[b][2] == "cell" and b not in used)]
            if not quiet:
                b = str(rng.choice(["srd-868", "ism-433", "uwb-ch9"]))
                plan.add(b)
                quiet = [b]
            self.quiet_band = str(rng.choice(sorted(quiet)))
        self.plan = sorted(plan, key=lambda b: BANDS[b][0])
        # room
        self.ambient = rng.random() < 0.6
        if self.ambient:
            cand = [b for b in self.plan if not (self.cls == "timing-channel-rf" and b == self.quiet_band)]
            na = 1 if self.fast else int(rng.integers(1, min(3, len(cand)) + 1))
            self.amb_bands = sorted(rng.choice(cand, size=na, replace=False).tolist(), key=lambda b: BANDS[b][0])
        else:
            self.amb_bands = []
        self.det_mode = str(rng.choice(["mean", "peak"]))
        self.rf_present = rng.random() < 0.97 or self.cls in ("rf-in-airplane", "timing-channel-rf")
        self.pw_present = rng.random() < 0.97 or self.cls == "power-in-off"
        self.net_present = rng.random() < 0.97 or self.cls in (
            "net-in-isolation", "unexpected-destination", "beacon", "dns-exfiltration", "timing-channel-packets")
        self.hk_mode = str(rng.choice(["unicast", "multicast-allowed", "multicast-unlisted"], p=[0.5, 0.35, 0.15]))
        self.bench_keys = str(rng.choice(["both", "mac", "none"]))  # "ip" alone: see README, ambiguities
        self.claims = rng.random() < 0.5
        self.allow_domains = sorted(rng.choice(list(ALLOWED_NAMES), size=int(rng.integers(3, 7)),
                                               replace=False).tolist())
        if self.cls == "timing-channel-packets" and "google.com" not in self.allow_domains:
            self.allow_domains.append("google.com")
        self.allow_bench = str(rng.choice(["cidr", "gw"]))
        self.addr = {}

    def resolve(self, name):
        if name not in self.addr:
            dom = next((d for d in NAME_POOL if name == d or name.endswith("." + d)), None)
            pre = NAME_POOL[dom] if dom else str(self.rng.choice(BAD_POOLS))
            self.addr[name] = ["%s.%d.%d" % (pre, self.rng.integers(0, 256), self.rng.integers(1, 255))
                               if pre.count(".") == 1 else "%s.%d" % (pre, self.rng.integers(1, 255))
                               for _ in range(int(self.rng.integers(1, 3)))]
        return self.addr[name]

    def allow_list(self, d):
        allow = list(self.allow_domains)
        allow.append(d["cidr"] if self.allow_bench == "cidr" else d["gw"])
        if self.hk_mode == "multicast-allowed":
            allow += ["224.0.0.0/4", "255.255.255.255", "ff02::/16"]
        return allow

    def schedule(self):
        """Phase template; class-required phase stretched to fit its implant."""
        rng, cls = self.rng, self.cls
        names = ["boot", "online"]
        mids = list(rng.permutation(["isolated", "airplane", "online2"])[:int(rng.integers(1, 4))])
        if cls == "rf-in-airplane" and "airplane" not in mids:
            mids.append("airplane")
        if cls == "net-in-isolation" and not (set(mids) & {"isolated", "airplane"}) and rng.random() < 0.7:
            mids.append("isolated")
        names += [str(m) for m in mids]
        if rng.random() < 0.6 or cls == "power-in-off" or (
                cls == "net-in-isolation" and not (set(mids) & {"isolated", "airplane"})):
            names.append("soft-off")
        names = ["online" if n == "online2" else n for n in names]
        # collapse accidental online,online
        out = []
        for n in names:
            if not out or out[-1] != n:
                out.append(n)
        names = out
        dur = {"boot": (4, 12), "online": (15, 45), "isolated": (6, 20), "airplane": (8, 25), "soft-off": (8, 20)}
        self.tmpl = []
        for n in names:
            settle = None
            if n != "boot" and rng.random() < 0.7:
                settle = float(round(rng.uniform(0, 5), 1)) if n != "online" else float(round(rng.uniform(0, 2), 1))
            lo, hi = dur[n]
            if self.fast:
                lo, hi = lo * 0.6, hi * 0.6
            self.tmpl.append([n, float(rng.uniform(lo, hi)), settle, bool(rng.random() < 0.6)])
        self.off_current = None if rng.random() < 0.4 else float(round(rng.uniform(0.002, 0.01), 4))
        self.thr = self.off_current if self.off_current is not None else 0.005

    def pick_rates(self, need_s=0.0):
        rng = self.rng
        n_rf_ch = self.n_duts * len(self.plan) + len(self.amb_bands)
        rates = [10, 100, 1000, 10000]
        w = np.array([0.2, 0.3, 0.3, 0.2])
        self.pw_fs = float(rng.choice([100, 200, 500, 1000, 2000, 5000, 10000]))
        return n_rf_ch

    def finalize_times(self):
        """Apply implant needs, budget sample rates, fix absolute phase times per DUT."""
        rng, cls = self.rng, self.cls
        n_rf_ch = self.pick_rates()
        self.G = lambda: max(0.25, 3.0 / self.rf_fs, 3.0 / self.pw_fs)
        self.imp = {}
        # implant parameters (some depend on the RF rate)
        tgt = None
        if cls == "rf-in-airplane":
            tgt, need = "airplane", 4.0
        elif cls == "power-in-off":
            tgt, need = "soft-off", float(rng.uniform(4, 10))
        elif cls == "net-in-isolation":
            opts = [p[0] for p in self.tmpl if p[0] in NET_NONE]
            tgt, need = str(rng.choice(opts)), 3.0
        elif cls == "unexpected-destination":
            tgt, need = "online", 4.0
        elif cls == "beacon":
            P = float(rng.uniform(1.5, 3.0 if self.fast else 8.0))
            N = int(rng.integers(8, 12 if self.fast else 18))
            self.imp.update(period=P, n=N)
            tgt, need = "online", (N + 1.5) * P
        elif cls == "dns-exfiltration":
            N = int(rng.integers(16, 30 if self.fast else 60))
            gap = float(rng.uniform(0.15, 1.5))
            self.imp.update(n=N, gap=gap)
            tgt, need = str(rng.choice(["boot", "online"], p=[0.4, 0.6])), N * gap * 1.3 + 1
        elif cls == "timing-channel-packets":
            L0 = float(rng.uniform(0.03, 0.4))
            ratio = float(rng.uniform(2.0, 3.0))
            N = int(rng.integers(64, 100 if self.fast else 200))
            self.imp.update(L0=L0, L1=L0 * ratio, n=N)
            tgt, need = str(rng.choice(["boot", "online"], p=[0.3, 0.7])), N * L0 * (1 + ratio) / 2 * 1.15 + 1
        elif cls == "timing-channel-rf":
            while True:
                L0 = max(10.0 / self.rf_fs, float(rng.uniform(0.02, 0.1 if self.fast else 0.3)))
                ratio = float(rng.uniform(2.0, 3.0))
                N = int(rng.integers(64, 100 if self.fast else 160))
                need = N * L0 * (1 + ratio) / 2 * 1.15 + 1
                if need < 200 or self.rf_fs >= 100:
                    break
                self.rf_fs = 100.0
            self.imp.update(L0=L0, L1=L0 * ratio, n=N)
            tgt = str(rng.choice(["boot", "online"], p=[0.3, 0.7]))
        self.target = tgt
        if tgt:
            idx = [i for i, p in enumerate(self.tmpl) if p[0] == tgt]
            i = int(rng.choice(idx))
            self.target_idx = i
            settle = self.tmpl[i][2] or 0.0
            self.tmpl[i][1] = max(self.tmpl[i][1], settle + need + 2 * self.G() + 1.0)
        self.stagger = float(rng.choice([0.0, rng.uniform(0.01, 0.6)]))
        total = sum(p[1] for p in self.tmpl) + self.stagger * (self.n_duts - 1) + float(rng.uniform(0.5, 3))
        self.duration = float(round(total, 2))
        # byte budgets: RF <= 6 MB (14 MB at 10 kS/s), power <= 2 MB
        while self.rf_fs > 10 and self.rf_fs * n_rf_ch * 4 * self.duration > (14e6 if self.fast else 6e6):
            self.rf_fs /= 10
        while self.pw_fs > 100 and self.pw_fs * self.n_duts * 4 * self.duration > 2e6:
            self.pw_fs = float({10000: 5000, 5000: 2000, 2000: 1000, 1000: 500, 500: 200, 200: 100}[int(self.pw_fs)])
        if cls == "timing-channel-rf":  # levels must stay resolvable after a budget cut
            if self.imp["L0"] < 10.0 / self.rf_fs:
                f = (10.0 / self.rf_fs) / self.imp["L0"]
                self.imp["L0"] *= f
                self.imp["L1"] *= f
                extra = self.imp["n"] * self.imp["L0"] * (1 + self.imp["L1"] / self.imp["L0"]) / 2 * 1.15 + 1
                settle = self.tmpl[self.target_idx][2] or 0.0
                add = max(0.0, settle + extra + 2 * self.G() + 1 - self.tmpl[self.target_idx][1])
                self.tmpl[self.target_idx][1] += add
                self.duration = float(round(self.duration + add, 2))
        # per-DUT phases
        self.phases = {}
        control = set()
        for d in self.duts:
            if d["k"] != self.culprit and self.n_duts > 1 and rng.random() < 0.2:
                control.add(d["k"])
        self.control = control
        for d in self.duts:
            ph = []
            t = 0.0
            off = d["k"] * self.stagger
            for j, (n, length, settle, screen) in enumerate(self.tmpl):
                t0 = 0.0 if j == 0 else round(t + off, 3)
                t += length
                name = n
                if d["k"] in control and n in ("isolated", "airplane"):
                    name = "online"
                ph.append([name, t0, settle, screen])
            phs = []
            for j, (n, t0, settle, screen) in enumerate(ph):
                t1 = ph[j + 1][1] if j + 1 < len(ph) else self.duration
                phs.append(Phase(n, t0, t1, self.expect(d, n, settle), settle or 0.0, screen))
            # merge consecutive same-name phases of a control phone
            merged = []
            for p in phs:
                if merged and merged[-1].name == p.name:
                    merged[-1].t1 = p.t1
                else:
                    merged.append(p)
            self.phases[d["k"]] = merged

    def expect(self, d, name, settle):
        e = {}
        if name == "online":
            e = {"net": "allowlist", "allow": self.allow_list(d)}
        elif name == "isolated":
            e = {"net": "none"}
        elif name == "airplane":
            e = {"rf": "silent", "net": "none"}
        elif name == "soft-off":
            e = {"rf": "silent", "net": "none", "power": "off"}
            if self.off_current is not None:
                e["off_current_a"] = self.off_current
        elif name == "boot" and self.rng.random() < 0.2:
            e = {"rf": "any", "net": "any"}
        if settle is not None:
            e["settle_s"] = settle
        return e

    # ---------------------------------------------------------- RF behaviour
    def honest_rf(self, d, em):
        rng = self.rng
        phs = self.phases[d["k"]]
        G = self.G()
        low = []
        for j, p in enumerate(phs):
            nxt = phs[j + 1] if j + 1 < len(phs) else None
            prev = phs[j - 1] if j > 0 else None
            if p.name in SILENT_RF:
                # radio detaching inside the settle window (reported low, never fails)
                if p.settle >= 0.6 and prev is not None and prev.name not in SILENT_RF and rng.random() < 0.5:
                    n = int(rng.integers(1, 6))
                    s = p.t0 + np.sort(rng.uniform(0, 0.6 * p.settle, n))
                    lo, hi, _ = BANDS[d["cell"]]
                    c = (lo + hi) / 2
                    em.add(s, 0.001 * rng.integers(1, 5, n), c - 5e6, c + 5e6, d["tx_cell"], 0.25)
                    if d["cell"] in self.plan:
                        low.append("rf-in-silence")
                continue
            a = p.t0 + (float(rng.uniform(0.3, 2.5)) if (prev is not None and prev.name in SILENT_RF) else 0.0)
            b = p.t1 - (G if (nxt is not None and nxt.name in SILENT_RF) else 0.0)
            if b <= a:
                continue
            screen = p.screen or p.name == "boot"
            # BLE: several advertising sets, interval set by screen state, advDelay 0-10 ms
            for (ion, ioff, txp) in d["ble_sets"]:
                iv = ion if screen else ioff
                n = int((b - a) / iv) + 2
                t = a + rng.uniform(0, iv) + np.cumsum(np.full(n, iv) + rng.uniform(0, 0.01, n)) - iv
                t = t[(t >= a) & (t < b - 0.003)]
                for ci, f in enumerate(BLE_ADV):
                    em.add(t + ci * 0.0008, 0.000376, f * MHZ - 1e6, f * MHZ + 1e6,
                           txp + d["tx_ble"] + 20, 0.006)
            # Wi-Fi scans: probe requests on 1/6/11 (and 36), 30 ms dwell
            period = d["scan_on"] if screen else d["scan_off"]
            scans = periodic(rng, a, b - 0.2, period, d["jit_model"], 0.1)
            for s in scans:
                for ci, f in enumerate([2412, 2437, 2462, 5180]):
                    k = int(rng.integers(1, 4))
                    em.add(s + ci * 0.035 + np.arange(k) * 0.004, 0.0002 * rng.integers(1, 4, k),
                           f * MHZ - 10e6, f * MHZ + 10e6, d["tx_wifi"], 0.12)
            if p.name in ("online", "boot"):  # Wi-Fi data bursts
                rate = float(rng.uniform(0.3, 3.0)) if screen else float(rng.uniform(0.05, 0.5))
                n = rng.poisson(rate * (b - a))
                t = np.sort(rng.uniform(a, b - 0.01, n))
                f = WIFI_CH[d["wifi"]] * MHZ
                em.add(t, rng.uniform(0.0002, 0.004, n), f - 10e6, f + 10e6, d["tx_wifi"], 0.15)
            # cellular: attach cluster after boot / leaving airplane, keep-alive with backoff
            lo, hi, _ = BANDS[d["cell"]]
            c = float(rng.uniform(lo + 5e6, hi - 5e6)) if hi - lo > 10e6 else (lo + hi) / 2
            if p.name == "boot" or (prev is not None and prev.name in SILENT_RF):
                n = int(rng.integers(20, 80))
                t = a + 0.5 + np.sort(rng.uniform(0, 1.5, n))
                t = t[t < b]
                em.add(t, 0.001, c - 5e6, c + 5e6, d["tx_cell"], 0.3)
            t = a + 1.0
            iv = d["ka0"]
            while True:
                t += iv * (1 + float(jitter(rng, d["jit_model"], 0.08, 1)[0]))
                if t >= b - 0.2:
                    break
                k = int(rng.integers(3, 12))
                s = t + np.sort(rng.uniform(0, 0.1, k))
                em.add(s, 0.001, c - 5e6, c + 5e6, d["tx_cell"] + float(rng.normal(0, 2)), 0.3)
                iv = min(iv * 2, d["kamax"])
        return low

    def room_rf(self, em):
        rng = self.rng
        if not self.ambient:
            return
        T = self.duration
        for b in self.amb_bands:
            lo, hi, tech = BANDS[b]
            bw = min(hi - lo, 20e6 if tech != "ble" else 2e6)

            def ok(f0):
                # keep room sources off any monitored band the ambient antenna does not also cover
                good = np.ones(len(f0), bool)
                for ob in self.plan:
                    if ob not in self.amb_bands:
                        olo, ohi, _ = BANDS[ob]
                        good &= ~((f0 < ohi) & (f0 + bw > olo))
                return good
            if tech == "wifi" and rng.random() < 0.7:  # an access point in the room: 102.4 ms beacons
                t = periodic(rng, 0, T, 0.1024, "normal", 0.002)
                f0 = np.full(len(t), lo + (hi - lo - bw) / 2)
                m = ok(f0)
                em.add(t[m], 0.0004, f0[m], f0[m] + bw, float(rng.uniform(-75, -45)))
            n = rng.poisson(float(rng.uniform(0.05, 1.0)) * T)  # people's phones, IoT, ...
            t = np.sort(rng.uniform(0, T, n))
            f0 = rng.uniform(lo, hi - bw, n)
            m = ok(f0)
            em.add(t[m], rng.uniform(0.0005, 0.05, n)[m], f0[m], f0[m] + bw, rng.uniform(-80, -35, n)[m])

    # ---------------------------------------------------------- net behaviour
    def net_init(self, d):
        d["pk"] = []
        d["txid"] = int(self.rng.integers(1, 60000))
        d["ident"] = int(self.rng.integers(1, 60000))
        d["port"] = int(self.rng.integers(33000, 60000))
        d["resolved"] = set()

    def _p(self, d, t, frame):
        d["pk"].append((float(t), frame))

    def _nid(self, d):
        d["ident"] = (d["ident"] + 1) & 0xFFFF
        return d["ident"]

    def _port(self, d):
        d["port"] = 33000 + (d["port"] - 33000 + int(self.rng.integers(1, 40))) % 27000
        return d["port"]

    def dns_lookup(self, d, t, name, qtype="A", answer=True, addrs=None, src=None, rcode=0):
        rng = self.rng
        d["txid"] = (d["txid"] + int(rng.integers(1, 999))) & 0xFFFF
        sp = self._port(d)
        src = src or d["ip"]
        self._p(d, t, pkt.udp4(d["mac"], d["bench_mac"], src, d["gw"], sp, 53,
                               pkt.dns_query(d["txid"], name, qtype), self._nid(d)))
        if addrs is None:
            addrs = self.resolve(name) if qtype == "A" else []
        if answer:
            rt = t + float(rng.uniform(0.003, 0.06))
            self._p(d, rt, pkt.udp4(d["bench_mac"], d["mac"], d["gw"], src, 53, sp,
                                    pkt.dns_answer(d["txid"], name, qtype, addrs, rcode=rcode)))
            d["resolved"].add(name)
            return rt + 0.001
        return t + 0.001

    def tcp_session(self, d, t, dst, dport, host=None, n_down=3, answered=True, src=None, syn_retries=2):
        rng = self.rng
        src = src or d["ip"]
        sp = self._port(d)
        rtt = float(rng.uniform(0.008, 0.12))
        seq = int(rng.integers(0, 2 ** 32))
        sseq = int(rng.integers(0, 2 ** 32))
        M, B = d["mac"], d["bench_mac"]
        self._p(d, t, pkt.tcp4(M, B, src, dst, sp, dport, seq, 0, "S", ident=self._nid(d)))
        if not answered:  # dropped by the bench: retransmits with backoff
            rto = 1.0
            for _ in range(syn_retries):
                t += rto
                self._p(d, t, pkt.tcp4(M, B, src, dst, sp, dport, seq, 0, "S", ident=self._nid(d)))
                rto *= 2
            return t
        t += rtt
        self._p(d, t, pkt.tcp4(B, M, dst, src, dport, sp, sseq, seq + 1, "SA"))
        t += 0.0005
        seq += 1
        sseq += 1
        self._p(d, t, pkt.tcp4(M, B, src, dst, sp, dport, seq, sseq, "A", ident=self._nid(d)))
        if dport == 443 or dport == 5228:
            payload = pkt.tls_client_hello(host or "", rng.bytes(64))
        else:
            payload = ("GET /generate_204 HTTP/1.1\r\nHost: %s\r\nUser-Agent: Dalvik/2.1.0\r\n\r\n" % (host or dst)).encode()
        self._p(d, t + 0.0003, pkt.tcp4(M, B, src, dst, sp, dport, seq, sseq, "PA", payload, ident=self._nid(d)))
        seq += len(payload)
        t += 0.0003 + rtt
        for _ in range(n_down):
            ln = int(rng.integers(60, 1400))
            self._p(d, t, pkt.tcp4(B, M, dst, src, dport, sp, sseq, seq, "PA", rng.bytes(ln)))
            sseq += ln
            t += float(rng.uniform(0.0002, 0.01))
            self._p(d, t, pkt.tcp4(M, B, src, dst, sp, dport, seq, sseq, "A", ident=self._nid(d)))
        t += float(rng.uniform(0.01, 0.3))
        self._p(d, t, pkt.tcp4(M, B, src, dst, sp, dport, seq, sseq, "FA", ident=self._nid(d)))
        t += rtt
        self._p(d, t, pkt.tcp4(B, M, dst, src, dport, sp, sseq, seq + 1, "FA"))
        self._p(d, t + 0.0004, pkt.tcp4(M, B, src, dst, sp, dport, seq + 1, sseq + 1, "A", ident=self._nid(d)))
        return t + 0.001

    def dhcp(self, d, t, full=True):
        from scapy.all import BOOTP, DHCP, IP, UDP, Ether
        rng = self.rng
        xid = int(rng.integers(0, 2 ** 31))
        ch = pkt.mac_b(d["mac"]) + b"\0" * 10
        out = []
        if full:
            out.append((Ether(src=d["mac"], dst="ff:ff:ff:ff:ff:ff") / IP(src="0.0.0.0", dst="255.255.255.255") /
                        UDP(sport=68, dport=67) / BOOTP(chaddr=ch, xid=xid) /
                        DHCP(options=[("message-type", "discover"), "end"]), 0))
            out.append((Ether(src=d["bench_mac"], dst=d["mac"]) / IP(src=d["gw"], dst=d["ip"]) /
                        UDP(sport=67, dport=68) / BOOTP(op=2, yiaddr=d["ip"], siaddr=d["gw"], chaddr=ch, xid=xid) /
                        DHCP(options=[("message-type", "offer"), ("server_id", d["gw"]),
                                      ("lease_time", 3600), ("subnet_mask", "255.255.255.0"),
                                      ("router", d["gw"]), ("name_server", d["gw"]), "end"]), 1))
            out.append((Ether(src=d["mac"], dst="ff:ff:ff:ff:ff:ff") / IP(src="0.0.0.0", dst="255.255.255.255") /
                        UDP(sport=68, dport=67) / BOOTP(chaddr=ch, xid=xid) /
                        DHCP(options=[("message-type", "request"), ("requested_addr", d["ip"]),
                                      ("server_id", d["gw"]), "end"]), 0))
        else:  # renew, unicast to the server
            out.append((Ether(src=d["mac"], dst=d["bench_mac"]) / IP(src=d["ip"], dst=d["gw"]) /
                        UDP(sport=68, dport=67) / BOOTP(ciaddr=d["ip"], chaddr=ch, xid=xid) /
                        DHCP(options=[("message-type", "request"), "end"]), 0))
        out.append((Ether(src=d["bench_mac"], dst=d["mac"]) / IP(src=d["gw"], dst=d["ip"]) /
                    UDP(sport=67, dport=68) / BOOTP(op=2, yiaddr=d["ip"], siaddr=d["gw"], chaddr=ch, xid=xid) /
                    DHCP(options=[("message-type", "ack"), ("server_id", d["gw"]), ("lease_time", 3600),
                                  ("subnet_mask", "255.255.255.0"), ("router", d["gw"]),
                                  ("name_server", d["gw"]), "end"]), 1))
        for i, (f, _) in enumerate(out):
            self._p(d, t + i * float(rng.uniform(0.002, 0.05)), bytes(f))
        return t + 0.3

    def arp_gw(self, d, t):
        self._p(d, t, pkt.arp(d["mac"], "ff:ff:ff:ff:ff:ff", 1, d["mac"], d["ip"], "00:00:00:00:00:00", d["gw"]))
        self._p(d, t + 0.0008, pkt.arp(d["bench_mac"], d["mac"], 2, d["bench_mac"], d["gw"], d["mac"], d["ip"]))

    def honest_net(self, d):
        rng = self.rng
        phs = self.phases[d["k"]]
        G = self.G()
        low = []
        hk_multicast = self.hk_mode != "unicast"
        for j, p in enumerate(phs):
            nxt = phs[j + 1] if j + 1 < len(phs) else None
            prev = phs[j - 1] if j > 0 else None
            b = p.t1 - (G + 0.5 if (nxt is not None and nxt.name in NET_NONE) else 0.0)
            if p.name in NET_NONE:
                # bench-side frames reaching the silent DUT (never the DUT's doing)
                for t in np.sort(rng.uniform(p.t0, p.t1, int(rng.integers(0, 4)))):
                    if rng.random() < 0.5:
                        self._p(d, t, pkt.arp(d["bench_mac"], "ff:ff:ff:ff:ff:ff", 1, d["bench_mac"], d["gw"],
                                              "00:00:00:00:00:00", d["ip"]))
                    else:
                        self._p(d, t, pkt.ra6(d["bench_mac"], "fe80::be:1", "fd77:%x::/64" % (d["k"] + 1)))
                # leftovers in the settle window (reported low)
                if p.settle >= 0.5 and prev is not None and prev.name not in NET_NONE and rng.random() < 0.4:
                    t = p.t0 + float(rng.uniform(0.02, 0.6 * p.settle))
                    nm = self.pick_allowed_name()
                    self.dns_lookup(d, t, nm, answer=False)
                    low.append("net-in-isolation")
                continue
            t = p.t0 + float(rng.uniform(0.05, 0.8))
            screen = p.screen or p.name == "boot"
            if p.name == "boot":
                t = self.dhcp(d, t, full=True)
                self.arp_gw(d, t)
                t += 0.01
                self._p(d, t, pkt.rs6(d["mac"], d["ll"]))
                self._p(d, t + 0.002, pkt.ns6(d["mac"], "::", d["ll"]))
                self._p(d, t + 0.05, pkt.udp4(d["mac"], "01:00:5e:00:00:fb", d["ip"], "224.0.0.251", 5353, 5353,
                                              pkt.mdns_announce("android-%s" % d["mac"][-5:].replace(":", ""), d["ip"])))
                t += 0.1
            elif prev is not None and prev.name in NET_NONE:
                if hk_multicast:
                    t = self.dhcp(d, t, full=rng.random() < 0.5)
                else:
                    t = self.dhcp(d, t, full=False)
                self.arp_gw(d, t)
                t += 0.01
            # connectivity check
            cc = self.cc_name()
            if cc:
                if cc not in d["resolved"] or rng.random() < 0.8:
                    t = self.dns_lookup(d, t, cc)
                    if rng.random() < 0.5:
                        self.dns_lookup(d, t - 0.0005, cc, "AAAA", addrs=[])
                t = self.tcp_session(d, t, self.resolve(cc)[0], 80, host=cc, n_down=1)
            # NTP once
            tn = self.time_name()
            if tn and t < b:
                t = self.dns_lookup(d, t + 0.05, tn)
                sp = self._port(d)
                self._p(d, t, pkt.udp4(d["mac"], d["bench_mac"], d["ip"], self.resolve(tn)[0], sp, 123,
                                       pkt.ntp_request(rng.bytes(8)), self._nid(d)))
                self._p(d, t + 0.03, pkt.udp4(d["bench_mac"], d["mac"], self.resolve(tn)[0], d["ip"], 123, sp,
                                              b"\x24" + rng.bytes(47)))
            # push keep-alive to an allowed service (a low beacon at most)
            push = "mtalk.google.com" if "google.com" in self.allow_domains else None
            if push and rng.random() < 0.7:
                self.dns_lookup(d, t + 0.1, push)
                per = float(rng.uniform(8, 30))
                for tk in periodic(rng, t + 1, b - 1, per, d["jit_model"], 0.03):
                    sp = 5228
                    ip = self.resolve(push)[0]
                    self._p(d, tk, pkt.tcp4(d["mac"], d["bench_mac"], d["ip"], ip, d["port"] % 1000 + 40000, sp,
                                            1000 + int(tk * 10), 77, "PA", rng.bytes(int(rng.integers(20, 60))),
                                            ident=self._nid(d)))
                    self._p(d, tk + float(rng.uniform(0.02, 0.1)),
                            pkt.tcp4(d["bench_mac"], d["mac"], ip, d["ip"], sp, d["port"] % 1000 + 40000,
                                     77, 1100 + int(tk * 10), "A"))
            # app sessions to allowed names (DNS first, sometimes cached)
            rate = float(rng.uniform(0.05, 0.4)) if screen else float(rng.uniform(0.01, 0.08))
            for ts in np.sort(rng.uniform(t, max(t, b - 2.0), rng.poisson(rate * max(0.0, b - t)))):
                nm = self.pick_allowed_name()
                tt = float(ts)
                if nm not in d["resolved"] or rng.random() < 0.5:
                    tt = self.dns_lookup(d, tt, nm)
                self.tcp_session(d, tt, self.resolve(nm)[0], 443, host=nm, n_down=int(rng.integers(1, 8)))
            # ARP refresh and (optional) multicast housekeeping
            for ta in periodic(rng, p.t0 + 2, b - 0.5, float(rng.uniform(15, 60)), "uniform", 0.2):
                self.arp_gw(d, ta)
            if hk_multicast:
                for tm in periodic(rng, p.t0 + 1, b - 0.5, float(rng.uniform(10, 40)), "normal", 0.2):
                    self._p(d, tm, pkt.udp4(d["mac"], "01:00:5e:00:00:fb", d["ip"], "224.0.0.251", 5353, 5353,
                                            pkt.mdns_announce("android-%s" % d["mac"][-5:].replace(":", ""), d["ip"])))
            # voice call with silence suppression: one steady 20 ms period in talkspurts
            if p.name == "online" and rng.random() < 0.2 and b - t > 8:
                nm = self.pick_allowed_name()
                ip = self.resolve(nm)[0]
                if nm not in d["resolved"]:
                    self.dns_lookup(d, t, nm)
                sp, tt = self._port(d), t + 1.0
                seqn = int(rng.integers(0, 60000))
                end = min(b - 1, tt + float(rng.uniform(5, 20)))
                while tt < end:
                    spurt = float(rng.uniform(0.5, 3.0))
                    n = int(spurt / 0.02)
                    ts = tt + 0.02 * np.arange(n) + rng.normal(0, 0.0015, n)
                    for x in ts[ts < end]:
                        seqn += 1
                        self._p(d, x, pkt.udp4(d["mac"], d["bench_mac"], d["ip"], ip, sp, 3478,
                                               b"\x80\x6f" + (seqn & 0xFFFF).to_bytes(2, "big") + rng.bytes(60)))
                    tt += spurt + float(rng.exponential(1.0))
            amb = "link housekeeping (DHCP broadcast, mDNS) in an allowlist phase, not listed in allow"
            if p.name == "online" and self.hk_mode == "multicast-unlisted" and amb not in self.ambiguous:
                self.ambiguous.append(amb)
        return low

    def pick_allowed_name(self):
        dom = str(self.rng.choice(self.allow_domains))
        return str(self.rng.choice(ALLOWED_NAMES[dom]))

    def cc_name(self):
        for dom, nm in (("gstatic.com", "connectivitycheck.gstatic.com"), ("apple.com", "captive.apple.com")):
            if dom in self.allow_domains:
                return nm
        return None

    def time_name(self):
        for dom, nm in (("android.com", "time.android.com"), ("apple.com", "time.apple.com"),
                        ("samsung.com", "time.samsung.com")):
            if dom in self.allow_domains:
                return nm
        return None

    # ---------------------------------------------------------- implants
    def implant_level(self, d, ch, f0, f1, E):
        """True in-sample level (dBm) for an implant burst: E dB over the DUT's own floor, and
        also >= 6 dB above the noise reading of every other antenna overlapping it, so that
        comparing raw dBm across antennas (floors and offsets differ) cannot hide it."""
        own = next(c for c in self.chans if c["_owner"] == d["k"] and c["_band"] == ch)
        lvl = own["_nf"] + E
        for c in self.chans:
            if c["_owner"] != d["k"] and c["low_hz"] < f1 and c["high_hz"] > f0:
                lvl = max(lvl, c["_nf"] + c["_off"] + 3 * c["_sigma"] + 6 - own["_off"])
        return lvl, lvl - own["_nf"]

    def window(self, d, name=None):
        phs = self.phases[d["k"]]
        if name is None:
            name = self.target
        cand = [p for p in phs if p.name == name]
        # the stretched template phase is the longest of that name
        p = max(cand, key=lambda q: q.t1 - q.t0)
        m = max(0.5, self.G())
        return p, p.judged + m, p.t1 - m

    def implant(self, d, em, power_extra):
        rng, cls = self.rng, self.cls
        p, a, b = self.window(d)
        info = {"phase": p.name, "phase_t0": r3(p.t0)}
        if cls == "rf-in-airplane":
            ch = str(rng.choice(self.plan))
            lo, hi, _ = BANDS[ch]
            n = int(rng.integers(1, 7))
            ts = np.sort(rng.uniform(a, b - 0.2, n))
            dur = rng.choice([0.001, 0.005, 0.02, 0.1, 0.5], n)
            if self.det_mode == "mean":  # keep a sub-sample burst inside one sample interval
                w = 1.0 / self.rf_fs
                short = dur < w
                ts = np.where(short, np.floor(ts / w) * w + rng.uniform(0, 1, n) * np.maximum(w - dur, 0), ts)
            E = rng.uniform(11, 20, n)  # dB above the floor in the samples it lands in
            fill = np.minimum(1.0, dur * self.rf_fs) if self.det_mode == "mean" else np.ones(n)
            bw = min(hi - lo, 1e6)
            f0 = float(rng.uniform(lo, hi - bw))
            lv = [self.implant_level(d, ch, f0, f0 + bw, e) for e in E]
            E = np.array([x[1] for x in lv])
            P = np.array([x[0] for x in lv]) - 10 * np.log10(fill)
            em.add(ts, dur, f0, f0 + bw, P, 0.2)
            # remembered so build() can lift bursts above whatever other antennas read at that moment
            self.rf_implant = dict(k=d["k"], ch=ch, ts=ts, dur=dur, f0=f0, f1=f0 + bw, fill=fill, E=E, em=em,
                                   part=len(em.parts) - 1, info=info)
            info.update(channel=ch, start_s=r3(ts[0]), end_s=r3(ts[-1] + dur[-1]), bursts=n,
                        snr_db=[round(float(x), 1) for x in E])
        elif cls == "power-in-off":
            thr = self.thr
            mode = str(rng.choice(["steady", "wakeups", "window"]))
            t0 = float(rng.uniform(a, a + 0.3 * (b - a)))
            minlen = max(0.05, 5.0 / self.pw_fs)
            if mode == "steady":
                lvl = thr * float(rng.uniform(1.6, 4.0))
                power_extra.append((t0, b, lvl, "abs"))
                end = b
            elif mode == "wakeups":
                per = float(rng.uniform(1.0, 4.0))
                ts = np.arange(t0, b - 0.5, per)
                for t in ts:
                    power_extra.append((t, t + max(minlen, float(rng.uniform(0.05, 0.4))),
                                        float(rng.uniform(0.01, 0.08)), "abs"))
                end = float(ts[-1] + 0.4)
            else:
                ln = float(rng.uniform(1.0, 3.0))
                power_extra.append((t0, t0 + ln, thr * float(rng.uniform(2, 5)), "abs"))
                end = t0 + ln
            info.update(mode=mode, start_s=r3(t0), end_s=r3(end), off_current_a=thr)
        elif cls == "net-in-isolation":
            variant = str(rng.choice(["arp", "dns", "syn", "udp-spoofed", "ipv6-ll", "dhcp"]))
            t = float(rng.uniform(a, max(a, b - 2.5)))
            t_first = t
            if variant == "arp":
                self._p(d, t, pkt.arp(d["mac"], "ff:ff:ff:ff:ff:ff", 1, d["mac"], d["ip"], "00:00:00:00:00:00", d["gw"]))
            elif variant == "dns":
                for i in range(int(rng.integers(1, 4))):
                    self.dns_lookup(d, t + i * 1.0, self.pick_allowed_name(), answer=False)
            elif variant == "syn":
                self.tcp_session(d, t, "%s.%d" % (rng.choice(BAD_POOLS), rng.integers(1, 255)), 443,
                                 answered=False, syn_retries=int(rng.integers(0, 2)))
            elif variant == "udp-spoofed":
                src = d["ip"].rsplit(".", 1)[0] + ".%d" % rng.integers(200, 254)
                mac = "02:%02x:%02x:%02x:%02x:%02x" % tuple(rng.integers(0, 256, 5))
                for i in range(int(rng.integers(1, 4))):
                    self._p(d, t + i * 0.7, pkt.udp4(mac, d["bench_mac"], src, "%s.%d" % (
                        rng.choice(BAD_POOLS), rng.integers(1, 255)), 40000 + i, 443, rng.bytes(40)))
                info["source"] = src
            elif variant == "ipv6-ll":
                self._p(d, t, pkt.udp6(d["mac"], "33:33:00:01:00:03", d["ll"], "ff02::1:3", 5355, 5355,
                                       pkt.dns_query(int(rng.integers(0, 65535)), "wpad")))
                info["source"] = d["ll"]
            else:
                self.dhcp(d, t, full=True)
            info.update(variant=variant, start_s=r3(t_first), end_s=r3(t_first + 2.5))
        elif cls == "unexpected-destination":
            variant = str(rng.choice(["bare-ip-syn", "dns-then-connect", "udp-near-cidr", "lookalike-name"]))
            t = float(rng.uniform(a, b - 3.5))
            if variant == "bare-ip-syn":
                dst = "%s.%d" % (rng.choice(BAD_POOLS), rng.integers(1, 255))
                self.tcp_session(d, t, dst, int(rng.choice([443, 8443, 4444, 80])), answered=False,
                                 syn_retries=int(rng.integers(0, 3)))
            elif variant in ("dns-then-connect", "lookalike-name"):
                pool = BAD_NAMES[2:5] if variant == "lookalike-name" else BAD_NAMES
                nm = str(rng.choice(pool))
                dst = self.resolve(nm)[0]
                tt = self.dns_lookup(d, t, nm)
                self.tcp_session(d, tt, dst, 443, host=nm, n_down=int(rng.integers(0, 3)),
                                 answered=rng.random() < 0.5, syn_retries=1)
                info["name"] = nm
            else:
                import ipaddress
                dst = str(ipaddress.ip_network(d["cidr"]).broadcast_address + int(rng.integers(2, 250)))
                for i in range(int(rng.integers(1, 4))):
                    self._p(d, t + i * 0.3, pkt.udp4(d["mac"], d["bench_mac"], d["ip"], dst, 41000, 9999, rng.bytes(32)))
            info.update(variant=variant, destination=dst, start_s=r3(t), end_s=r3(t + 3.5))
        elif cls == "beacon":
            P, N = self.imp["period"], self.imp["n"]
            model = str(rng.choice(["normal", "uniform", "heavy"]))
            frac = float(rng.uniform(0.01, 0.10))
            t0 = a + float(rng.uniform(0.1, 0.5)) * P
            k = np.arange(N)
            ts = t0 + P * k + P * jitter(rng, model, frac, N)
            if model == "heavy" and N > 10 and rng.random() < 0.5:
                ts = np.delete(ts, int(rng.integers(2, N - 2)))  # one missed check-in
            ts = np.sort(ts[(ts > a) & (ts < b)])
            by_name = rng.random() < 0.3
            if by_name:
                nm = "%s.%s" % ("".join(rng.choice(list("abcdefghjkmnpqrstuvwxyz0123456789"), 10)),
                                str(rng.choice(["top", "xyz", "info", "net"])))
                dst = self.resolve(nm)[0]
                self.dns_lookup(d, a - 0.2 if a - 0.2 > p.t0 else a, nm)
                info["name"] = nm
            else:
                dst = "%s.%d" % (rng.choice(BAD_POOLS), rng.integers(1, 255))
            how = str(rng.choice(["udp", "tcp-dropped", "tcp-answered"]))
            sp = self._port(d)
            for t in ts:
                if how == "udp":
                    self._p(d, t, pkt.udp4(d["mac"], d["bench_mac"], d["ip"], dst, sp, 8883,
                                           rng.bytes(int(rng.integers(40, 120)))))
                else:
                    self.tcp_session(d, float(t), dst, 443, host=info.get("name"), n_down=1,
                                     answered=(how == "tcp-answered"), syn_retries=0)
            info.update(destination=dst, period_s=round(P, 3), jitter_model=model, jitter_frac=round(frac, 3),
                        checkins=int(len(ts)), transport=how, start_s=r3(ts[0]), end_s=r3(ts[-1]))
        elif cls == "dns-exfiltration":
            N, gap = self.imp["n"], self.imp["gap"]
            parent = "%s.%s" % ("".join(rng.choice(list(string.ascii_lowercase), int(rng.integers(4, 9)))),
                                str(rng.choice(["com", "net", "io", "org"])))
            enc = str(rng.choice(["hex", "base32", "base64url"]))
            ts = a + np.cumsum(rng.exponential(gap, N))
            ts = ts[ts < b]
            qtype = str(rng.choice(["A", "TXT", "AAAA"]))
            seen = set()
            for i, t in enumerate(ts):
                raw = rng.bytes(int(rng.integers(16, 30)))
                if enc == "hex":
                    lab = raw.hex()
                elif enc == "base32":
                    lab = base64.b32encode(raw).decode().rstrip("=").lower()
                else:
                    lab = base64.urlsafe_b64encode(raw).decode().rstrip("=").replace("_", "-")
                lab = lab[:63].strip("-") or "x"
                labels = [lab[i:i + 40] for i in range(0, len(lab), 40)] if rng.random() < 0.3 else [lab]
                name = ".".join(labels + ([("s%d" % i)] if rng.random() < 0.3 else []) + [parent])
                if name in seen:
                    continue
                seen.add(name)
                self.dns_lookup(d, float(t), name, qtype,
                                addrs=(["%s.%d" % (rng.choice(BAD_POOLS), rng.integers(1, 255))] if qtype == "A" else []),
                                rcode=0 if rng.random() < 0.7 else 3)
            info.update(parent=parent, encoding=enc, queries=len(seen), start_s=r3(ts[0]), end_s=r3(ts[-1]))
        elif cls == "timing-channel-packets":
            L0, L1, N = self.imp["L0"], self.imp["L1"], self.imp["n"]
            model = str(rng.choice(["normal", "uniform", "heavy"]))
            frac = float(rng.uniform(0.03, 0.10))
            bits = rng.integers(0, 2, N)
            gaps = np.where(bits == 1, L1, L0) * (1 + jitter(rng, model, frac, N))
            ts = a + float(rng.uniform(0.2, 1.0)) + np.concatenate([[0.0], np.cumsum(np.maximum(gaps, 0.002))])
            ts = ts[ts < b]
            nm = "mtalk.google.com" if p.name == "online" else self.pick_allowed_name()
            if p.name == "online":
                nm = str(rng.choice([n for dom in self.allow_domains for n in ALLOWED_NAMES[dom]]))
            dst = self.resolve(nm)[0]
            self.dns_lookup(d, ts[0] - 0.15, nm)
            sp = self._port(d)
            dport = int(rng.choice([443, 5228, 4500, 3478]))
            for t in ts:
                self._p(d, t, pkt.udp4(d["mac"], d["bench_mac"], d["ip"], dst, sp, dport,
                                       rng.bytes(int(rng.integers(24, 200)))))
            info.update(flow="%s:%d>%s:%d/udp" % (d["ip"], sp, dst, dport), levels_s=[round(L0, 4), round(L1, 4)],
                        jitter_model=model, jitter_frac=round(frac, 3), packets=int(len(ts)),
                        start_s=r3(ts[0]), end_s=r3(ts[-1]))
        elif cls == "timing-channel-rf":
            L0, L1, N = self.imp["L0"], self.imp["L1"], self.imp["n"]
            model = str(rng.choice(["normal", "uniform", "heavy"]))
            frac = float(rng.uniform(0.03, 0.10))
            bits = rng.integers(0, 2, N)
            gaps = np.where(bits == 1, L1, L0) * (1 + jitter(rng, model, frac, N))
            ts = a + float(rng.uniform(0.2, 1.0)) + np.concatenate([[0.0], np.cumsum(gaps)])
            ts = ts[ts < b]
            ch = self.quiet_band
            lo, hi, _ = BANDS[ch]
            dur = max(2.5 / self.rf_fs, float(rng.uniform(0.001, 0.005)))
            dur = min(dur, 0.3 * L0)
            E = float(rng.uniform(14, 28))
            fill = min(1.0, dur * self.rf_fs) if self.det_mode == "mean" else 1.0
            bw = min(hi - lo, 0.5e6 if BANDS[ch][2] == "srd" else 20e6)
            f0 = float(rng.uniform(lo, hi - bw))
            lvl, E = self.implant_level(d, ch, f0, f0 + bw, E)
            em.add(ts, dur, f0, f0 + bw, lvl - 10 * math.log10(fill), 0.03)
            info["snr_db"] = round(E, 1)
            info.update(channel=ch, levels_s=[round(L0, 4), round(L1, 4)], jitter_model=model,
                        jitter_frac=round(frac, 3), bursts=int(len(ts)), burst_s=round(dur, 4),
                        start_s=r3(ts[0]), end_s=r3(ts[-1]))
        return info

    # ---------------------------------------------------------- rendering
    def channels(self):
        rng = self.rng
        chans = []
        style = int(rng.integers(2))
        for d in self.duts:
            for b in self.plan:
                c = {"dut": d["name"], "band": b if style == 0 else b.upper().replace("-", " "),
                     "low_hz": int(BANDS[b][0]), "high_hz": int(BANDS[b][1]), "_band": b, "_owner": d["k"]}
                if d["iso_declared"] is not None:
                    c["isolation_db"] = d["iso_declared"]
                chans.append(c)
        for b in self.amb_bands:
            chans.append({"dut": None, "band": (b if style == 0 else b.upper().replace("-", " ")) + ", room",
                          "low_hz": int(BANDS[b][0]), "high_hz": int(BANDS[b][1]), "_band": b, "_owner": None})
        if rng.random() < 0.5:  # order in data is not by DUT
            perm = rng.permutation(len(chans))
            chans = [chans[i] for i in perm]
        for c in chans:
            c["_nf"] = float(rng.uniform(-100, -80))
            c["_sigma"] = float(rng.uniform(0.3, 1.5))
            c["_off"] = float(rng.uniform(-2, 2))
        self.chans = chans
        # the implant needs each DUT channel's true floor (in the reading's own dB scale)
        # (the implant's level is set against the floor before the detector offset, which shifts everything)
        self.noise = {(c["_owner"], c["_band"]): c["_nf"] for c in chans if c["_owner"] is not None}

    @staticmethod
    def accumulate(acc, s, e, lin, fs, t0, mode):
        n = len(acc)
        a = (s - t0) * fs
        b = (e - t0) * fs
        ia = np.floor(a).astype(np.int64)
        ib = np.floor(b).astype(np.int64)
        ok = (ib >= 0) & (ia < n)
        a, b, ia, ib, lin = a[ok], b[ok], ia[ok], ib[ok], lin[ok]
        same = ia == ib
        if mode == "mean":
            np.add.at(acc, ia[same], lin[same] * (b[same] - a[same]))
        else:
            np.maximum.at(acc, ia[same], lin[same])
        for x0, x1, i0, i1, v in zip(a[~same], b[~same], ia[~same], ib[~same], lin[~same]):
            if mode == "mean":
                if 0 <= i0 < n:
                    acc[i0] += v * (i0 + 1 - x0)
                lo, hi = max(i0 + 1, 0), min(i1, n)
                if hi > lo:
                    acc[lo:hi] += v
                if 0 <= i1 < n:
                    acc[i1] += v * (x1 - i1)
            else:
                lo, hi = max(i0, 0), min(i1 + 1, n)
                acc[lo:hi] = np.maximum(acc[lo:hi], v)

    def render_rf(self, sources):
        rng = self.rng
        fs = self.rf_fs
        t0 = self.rf_t0
        n = int((self.duration - t0) * fs)
        out = np.empty((n, len(self.chans)), dtype=np.float32)
        iso = {d["k"]: d["iso"] for d in self.duts}
        for ci, c in enumerate(self.chans):
            noise = 10 ** ((c["_nf"] + rng.normal(0, c["_sigma"], n)) / 10)
            acc = np.zeros(n)
            for owner, arr in sources:
                s, du, lo, hi, p, _ = arr
                if not len(s):
                    continue
                ov = np.minimum(hi, c["high_hz"]) - np.maximum(lo, c["low_hz"])
                m = ov > 0
                if not m.any():
                    continue
                s, du, lo, hi, p, ov = s[m], du[m], lo[m], hi[m], p[m], ov[m]
                lvl = p + 10 * np.log10(ov / (hi - lo))
                k = len(s)
                if owner is None:  # the room
                    if c["_owner"] is not None:
                        lvl = lvl - iso[c["_owner"]] + rng.uniform(-1, 1, k)
                elif c["_owner"] == owner:
                    lvl = lvl + rng.normal(0, 0.5, k)
                elif c["_owner"] is None:
                    lvl = lvl - iso[owner] - rng.uniform(0, 4, k)
                else:
                    lvl = lvl - iso[owner] - iso[c["_owner"]] - rng.uniform(0, 4, k)
                keep = lvl > c["_nf"] - 25
                if keep.any():
                    self.accumulate(acc, s[keep], s[keep] + du[keep], 10 ** (lvl[keep] / 10), fs, t0, self.det_mode)
            tot = noise + acc if self.det_mode == "mean" else np.maximum(noise, acc)
            out[:, ci] = 10 * np.log10(tot) + c["_off"]
        for (g0, g1) in self.rf_gaps:
            i0, i1 = int((g0 - t0) * fs), int((g1 - t0) * fs)
            out[max(0, i0):max(0, i1), :] = np.nan
        return out

    def lift_rf_implant(self, data, sources):
        """The spec's attribution compares what the antennas hear. Where another DUT's or the
        ambient antenna reads louder at an implant burst (a control phone's own BLE, a room
        access point in a peak-detecting 10 S/s stream), raise the burst to 6 dB above it and
        render again, so the label holds under a literal, raw-dBm reading of the rule."""
        ri = self.rf_implant
        own = next(c for c in self.chans if c["_owner"] == ri["k"] and c["_band"] == ri["ch"])
        others = [i for i, c in enumerate(self.chans) if c["_owner"] != ri["k"]
                  and c["low_hz"] < ri["f1"] and c["high_hz"] > ri["f0"]]
        if not others:
            return data
        fs, t0, n = self.rf_fs, self.rf_t0, len(data)
        s, du, lo, hi, p, amp = ri["em"].parts[ri["part"]]
        raised = False
        for i in range(len(ri["ts"])):
            a = int(math.floor((ri["ts"][i] - t0) * fs))
            b = int(math.floor((ri["ts"][i] + ri["dur"][i] - t0) * fs)) + 1
            a, b = max(0, a), min(n, max(b, a + 1))
            loud = float(np.nanmax(data[a:b, others]))
            need = loud + 6 - own["_off"]  # in-sample level the burst must reach on its own antenna
            have = p[i] + 10 * math.log10(ri["fill"][i])
            if need > have:
                p[i] += need - have
                ri["E"][i] += need - have
                raised = True
        if not raised:
            return data
        ri["info"]["snr_db"] = [round(float(x), 1) for x in ri["E"]]
        for k, (owner, arr) in enumerate(sources):
            if owner == ri["k"]:
                sources[k] = (owner, ri["em"].arrays())
        return self.render_rf(sources)

    def render_power(self, d, em_arr, extra, low):
        rng = self.rng
        fs = self.pw_fs
        n = int(self.duration * fs)
        t = np.arange(n) / fs
        cur = np.zeros(n)
        phs = self.phases[d["k"]]
        thr = self.thr
        off_lvl = float(rng.uniform(0.02, 0.4)) * thr
        sigma = min(float(rng.uniform(0.00002, 0.0003)), thr * 0.04)
        offset = float(rng.uniform(-0.03, 0.05)) * thr
        G = self.G()
        prev_lvl = 0.0
        for j, p in enumerate(phs):
            i0, i1 = int(math.ceil(p.t0 * fs)), int(math.ceil(p.t1 * fs))
            if p.name == "soft-off":
                if p.settle > 0.2:
                    tau = float(rng.uniform(0.05, 0.12)) * p.settle
                    x = t[i0:i1] - p.t0
                    cur[i0:i1] = off_lvl + (prev_lvl - off_lvl) * np.exp(-x / tau)
                    low.append("power-in-off")  # decays through the threshold inside the settle window
                else:
                    cur[i0:i1] = off_lvl
                    k = int(math.ceil(max(0.0, p.t0 - G) * fs))
                    cur[k:i0] = np.minimum(cur[k:i0], off_lvl)  # honest phone already off at the command
                prev_lvl = off_lvl
                continue
            if p.name == "boot":
                lvl = float(rng.uniform(0.18, 0.45))
            elif p.name == "online":
                lvl = float(rng.uniform(0.15, 0.40)) if p.screen else float(rng.uniform(0.03, 0.09))
            elif p.name == "isolated":
                lvl = float(rng.uniform(0.02, 0.07))
            else:  # airplane: suspended
                lvl = float(rng.uniform(0.004, 0.02))
            cur[i0:i1] = lvl
            if p.name == "boot":
                k = min(i1, i0 + int(2 * fs))
                cur[i0:k] += 0.4 * np.exp(-t[i0:k] / 0.8)
            # CPU wake-ups
            nw = rng.poisson(float(rng.uniform(0.1, 1.0)) * (p.t1 - p.t0))
            for tw in rng.uniform(p.t0, max(p.t0, p.t1 - 0.5), nw):
                a, b = int(tw * fs), int((tw + float(rng.uniform(0.02, 0.2))) * fs) + 1
                cur[a:b] += float(rng.uniform(0.03, 0.2))
            prev_lvl = lvl
        # radio TX current, integrated per sample
        s, du, lo, hi, p, amp = em_arr
        m = amp > 0
        if m.any():
            acc = np.zeros(n)
            self.accumulate(acc, s[m], s[m] + du[m], amp[m], fs, 0.0, "mean")
            # the radios of a phone that is off draw nothing; implants say so explicitly
            cur += acc
        for (a, b, lvl, _) in extra:
            i0, i1 = int(a * fs), int(math.ceil(b * fs))
            cur[i0:i1] = np.maximum(cur[i0:i1], lvl)
        cur = cur + offset + rng.normal(0, sigma, n)
        return cur.astype(np.float32)

    # ---------------------------------------------------------- writing
    def sigmf_meta(self, rate, nch, channels, unit, t0, annotations):
        cap = {"core:sample_start": 0, "core:datetime": self.started}
        if t0 or self.rng.random() < 0.5:
            cap["bench:t0"] = t0
        return {
            "global": {
                "core:datatype": "rf32_le", "core:sample_rate": float(rate), "core:num_channels": nch,
                "core:version": "1.0.0", "core:recorder": "indep-generator 1",
                "core:extensions": [{"name": "bench", "version": "1.0.0", "optional": True}],
                "bench:unit": unit, "bench:channels": channels,
            },
            "captures": [cap],
            "annotations": annotations,
        }

    def phase_annotations(self, rate, t0):
        ann = []
        if self.rng.random() < 0.5:
            for d in self.duts:
                for p in self.phases[d["k"]]:
                    s = max(0, int(round((p.t0 - t0) * rate)))
                    e = int(round((p.t1 - t0) * rate))
                    ann.append({"core:sample_start": s, "core:sample_count": max(1, e - s),
                                "core:label": "phase:" + p.name, "bench:dut": d["name"]})
            ann.sort(key=lambda a: a["core:sample_start"])
        return ann

    def build(self, outdir):
        rng = self.rng
        self.design()
        self.schedule()
        self.finalize_times()
        self.started = iso_utc(self.epoch)
        self.rf_t0 = 0.0 if rng.random() < 0.8 else float(round(rng.uniform(0.05, 1.5), 3))
        self.rf_gaps = []
        if self.cls not in ("timing-channel-rf",) and rng.random() < 0.1:
            boot = self.phases[0][0]
            g0 = float(rng.uniform(max(self.rf_t0, 0.5), max(self.rf_t0 + 0.6, boot.t1 - 1.5)))
            if g0 + 1.0 < boot.t1:
                self.rf_gaps.append((g0, g0 + float(rng.uniform(0.1, 0.8))))
        self.channels()
        os.makedirs(outdir, exist_ok=True)
        sources, lows, infos, pextra = [], {}, {}, {}
        for d in self.duts:
            em = Emis()
            lows[d["k"]] = self.honest_rf(d, em)
            self.net_init(d)
            lows[d["k"]] += self.honest_net(d)
            pextra[d["k"]] = []
            if d["k"] == self.culprit:
                infos[d["k"]] = self.implant(d, em, pextra[d["k"]])
            sources.append((d["k"], em.arrays()))
        room = Emis()
        self.room_rf(room)
        sources.append((None, room.arrays()))
        # ---- run.json
        duts_json = []
        for d in self.duts:
            e = {"name": d["name"], "model": d["model"], "ip": [d["ip"]] + ([d["ula"]] if d["ula"] else [])}
            if rng.random() < 0.5:
                e["fingerprint"] = "sim/%s/%s:14/UP1A.%d/%d:user/release-keys" % (
                    d["model"], d["model"], rng.integers(230000, 240000), rng.integers(1000000, 9999999))
                e["android_version"] = "14"
            if self.bench_keys in ("both", "mac"):
                e["bench_mac"] = d["bench_mac"]
            if self.bench_keys in ("both", "ip"):
                e["bench_ip"] = [d["gw"]]
            duts_json.append(e)
        run = {"format": "benchctl-run/1", "run_id": self.run_id, "bench": str(rng.choice(["lab-2", "sim-lab", "shield-b"])),
               "scenario": "backdoor-hunt", "started_utc": self.started, "duration_s": self.duration,
               "complete": True, "duts": duts_json, "generator": {"name": "eval/independent", "version": 1}}
        with open(os.path.join(outdir, "run.json"), "w") as f:
            json.dump(run, f, indent=2)
        # ---- events.jsonl
        ev = []
        for d in self.duts:
            for j, p in enumerate(self.phases[d["k"]]):
                ev.append({"t": p.t0, "kind": "phase", "dut": d["name"], "name": p.name, "expect": p.expect})
                acts = {"boot": [("power.on", None), ("usb.on", None), ("net.isolate", None)],
                        "online": [("net.allowlist", ", ".join(p.expect.get("allow", [])))],
                        "isolated": [("net.isolate", None)], "airplane": [("device.airplane", "on")],
                        "soft-off": [("device.power-off", None)]}[p.name]
                if p.name == "online" and j > 0 and self.phases[d["k"]][j - 1].name == "airplane":
                    acts = [("device.airplane", "off")] + acts
                for a, det in acts:
                    line = {"t": r3(p.t0 + 0.01), "kind": "action", "dut": d["name"], "action": a, "ok": True}
                    if det:
                        line["detail"] = det
                    ev.append(line)
                if self.claims and p.name != "soft-off":
                    ev.append({"t": r3(p.t0 + float(rng.uniform(0.5, 2.0))), "kind": "claim", "dut": d["name"],
                               "source": "adb", "airplane": p.name == "airplane", "wifi": p.name != "airplane",
                               "bluetooth": p.name != "airplane", "mobile_data": p.name != "airplane",
                               "screen": bool(p.screen or p.name == "boot"),
                               "battery_pct": int(rng.integers(20, 100)), "charging": True})
        for (g0, g1) in self.rf_gaps:
            ev.append({"t": r3(g0), "kind": "fault", "source": "shield",
                       "detail": "%d frames lost" % max(1, int((g1 - g0) * self.rf_fs))})
        for d in self.duts:
            ev.append({"t": self.duration, "kind": "action", "dut": d["name"], "action": "safe-state", "ok": True})
        ev.append({"t": self.duration, "kind": "note", "text": "run ended (finished)"})
        ev.sort(key=lambda e: e["t"])
        with open(os.path.join(outdir, "events.jsonl"), "w") as f:
            for e in ev:
                f.write(json.dumps(e, separators=(",", ":")) + "\n")
        # ---- RF
        pub = lambda c: {k: v for k, v in c.items() if not k.startswith("_")}  # noqa: E731
        if self.rf_present:
            data = self.render_rf(sources)
            if getattr(self, "rf_implant", None) is not None:
                data = self.lift_rf_implant(data, sources)
            data.astype("<f4").tofile(os.path.join(outdir, "rf.sigmf-data"))
            meta = self.sigmf_meta(self.rf_fs, len(self.chans), [pub(c) for c in self.chans], "dBm",
                                   self.rf_t0, self.phase_annotations(self.rf_fs, self.rf_t0))
            with open(os.path.join(outdir, "rf.sigmf-meta"), "w") as f:
                json.dump(meta, f, indent=2)
        # ---- power
        if self.pw_present:
            cols = []
            srcmap = dict((k, arr) for k, arr in sources if k is not None)
            for d in self.duts:
                cols.append(self.render_power(d, srcmap[d["k"]], pextra[d["k"]], lows[d["k"]]))
            data = np.stack(cols, axis=1)
            data.astype("<f4").tofile(os.path.join(outdir, "power.sigmf-data"))
            meta = self.sigmf_meta(self.pw_fs, len(self.duts), [{"dut": d["name"], "quantity": "current"}
                                                                for d in self.duts], "A", 0.0,
                                   self.phase_annotations(self.pw_fs, 0.0))
            meta["captures"][0].pop("bench:t0", None) if rng.random() < 0.5 else None
            with open(os.path.join(outdir, "power.sigmf-meta"), "w") as f:
                json.dump(meta, f, indent=2)
        # ---- net
        if self.net_present:
            allp = []
            for d in self.duts:
                for (t, fr) in d["pk"]:
                    if 0 <= t < self.duration:
                        allp.append((self.epoch + t, d["k"], fr))
            pkt.write_pcapng(os.path.join(outdir, "net.pcapng"), [d["name"] for d in self.duts], allp,
                             tsresol_exp=int(rng.choice([6, 9], p=[0.7, 0.3])))
        # ---- labels
        lab = {"class": self.cls, "duts": {}}
        for d in self.duts:
            low = sorted(set(lows[d["k"]]))
            if not self.rf_present:
                low = [x for x in low if x != "rf-in-silence"]
            if not self.pw_present:
                low = [x for x in low if x != "power-in-off"]
            if not self.net_present:
                low = [x for x in low if x != "net-in-isolation"]
            e = {"verdict": "pass", "class": "honest", "kind": None, "expected_low": low}
            if d["k"] == self.culprit:
                e.update(verdict="fail", class_=None)
                e.pop("class_")
                e["class"] = self.cls
                e["kind"] = KIND[self.cls]
                e["also_possible"] = self.also_possible(infos[d["k"]])
                e["implant"] = infos[d["k"]]
            if d["k"] in self.control:
                e["control_phone"] = True
            if e["verdict"] == "pass":
                # findings.md: "incomplete" if something its phases expect could not be judged (a stream missing)
                why = []
                exps = [p.expect for p in self.phases[d["k"]]]
                if not self.rf_present and any(x.get("rf") == "silent" for x in exps):
                    why.append("rf stream missing where rf=silent applies")
                if not self.pw_present and any(x.get("power") == "off" for x in exps):
                    why.append("power stream missing where power=off applies")
                if not self.net_present and any(x.get("net") in ("none", "allowlist") for x in exps):
                    why.append("net.pcapng missing where net expectations apply")
                if why:
                    e["verdict"] = "incomplete"
                    e["problems"] = why
            lab["duts"][d["name"]] = e
        vs = [e["verdict"] for e in lab["duts"].values()]
        lab["verdict"] = "fail" if "fail" in vs else ("incomplete" if "incomplete" in vs else "pass")
        lab["streams"] = {"rf": self.rf_present, "power": self.pw_present, "net": self.net_present}
        lab["ambiguous"] = list(self.ambiguous)
        lab["knobs"] = {"n_duts": self.n_duts, "rf_fs": self.rf_fs, "pw_fs": self.pw_fs, "det_mode": self.det_mode,
                        "ambient": self.ambient, "bands": self.plan, "hk_mode": self.hk_mode,
                        "bench_keys": self.bench_keys, "rf_t0": self.rf_t0, "rf_gaps": len(self.rf_gaps),
                        "duration_s": self.duration}
        return lab

    def also_possible(self, info):
        """Other kinds the same implant legitimately raises (the label's `kind` is required)."""
        c = self.cls
        if c == "beacon":
            return ["net-unexpected-destination"]
        if c == "dns-exfiltration" and info["phase"] == "online":
            return ["net-unexpected-destination"]
        if c == "unexpected-destination":
            return []
        return []


# ------------------------------------------------------------------ CLI

def generate(out, per_class, seed, classes):
    os.makedirs(out, exist_ok=True)
    order = [(c, i) for c in classes for i in range(per_class)]
    perm = np.random.default_rng([seed, 99]).permutation(len(order))  # names do not reveal the class
    labels = {"format": "indep-labels/1", "seed": seed, "per_class": per_class, "classes": classes, "runs": {}}
    t_start = time.time()
    total_bytes = 0
    base_epoch = 1798761600.0  # 2027-01-01T00:00:00Z
    for n, pi in enumerate(perm):
        cls, i = order[pi]
        ci = CLASSES.index(cls)
        rng = np.random.default_rng([seed, ci, i])
        name = "r%d-%05d" % (seed, n)
        epoch = base_epoch + float(rng.integers(0, 300 * 86400)) + round(float(rng.uniform(0, 1)), 3)
        run = Run(rng, cls, name, epoch)
        lab = run.build(os.path.join(out, name))
        labels["runs"][name] = lab
        total_bytes += sum(os.path.getsize(os.path.join(out, name, f)) for f in os.listdir(os.path.join(out, name)))
        if (n + 1) % max(1, len(order) // 20) == 0 or n + 1 == len(order):
            el = time.time() - t_start
            print("[%d/%d] %.1fs elapsed, %.1f MB written" % (n + 1, len(order), el, total_bytes / 1e6), flush=True)
    with open(os.path.join(out, "labels.json"), "w") as f:
        json.dump(labels, f, indent=1)
    print("done: %d runs in %s (%.1f MB, %.1fs)" % (len(order), out, total_bytes / 1e6, time.time() - t_start))


def check(out, limit=6):
    """Validate some SigMF files with the sigmf package and read pcapng back with scapy."""
    import warnings
    from sigmf import sigmffile
    from scapy.utils import PcapNgReader
    labels = json.load(open(os.path.join(out, "labels.json")))
    bad = 0
    for name in list(labels["runs"])[:limit]:
        rd = os.path.join(out, name)
        run = json.load(open(os.path.join(rd, "run.json")))
        ev = [json.loads(line) for line in open(os.path.join(rd, "events.jsonl"))]
        assert all(ev[i]["t"] <= ev[i + 1]["t"] for i in range(len(ev) - 1)), "events not in t order"
        for stem in ("rf", "power"):
            mp = os.path.join(rd, stem + ".sigmf-meta")
            if not os.path.exists(mp):
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sf = sigmffile.fromfile(mp)
                sf.validate()
                x = sf.read_samples(0, 10)
            nch = sf.get_global_field("core:num_channels")
            raw = np.fromfile(os.path.join(rd, stem + ".sigmf-data"), "<f4")
            assert raw.size % nch == 0
            assert len(sf.get_global_field("bench:channels")) == nch
            print("  %s/%s: valid SigMF, %d ch x %d samples @ %g S/s, first frame %s" % (
                name, stem, nch, raw.size // nch, sf.get_global_field("core:sample_rate"),
                np.round(np.asarray(x).reshape(-1)[:min(nch, 4)], 4).tolist()))
        pp = os.path.join(rd, "net.pcapng")
        if os.path.exists(pp):
            r = PcapNgReader(pp)
            cnt, ifs, tmin = 0, set(), None
            for p in r:
                cnt += 1
                ifs.add(p.sniffed_on)
                tmin = p.time if tmin is None else min(tmin, p.time)
            names = [i[2].get("name", b"").decode() for i in r.interfaces]
            assert names == [d["name"] for d in run["duts"]], (names, run["duts"])
            start = dt.datetime.strptime(run["started_utc"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
                tzinfo=dt.timezone.utc).timestamp()
            if cnt:
                assert float(tmin) - start >= -1e-3, "packet before run start"
            import shutil
            import subprocess
            if shutil.which("tshark"):
                r2 = subprocess.run(["tshark", "-r", pp, "-q"], capture_output=True, text=True)
                if r2.returncode != 0 or "damaged" in r2.stderr or "corrupt" in r2.stderr:
                    bad += 1
                    print("  tshark could not read %s: %s" % (pp, r2.stderr.strip()[:200]))
            print("  %s/net: %d packets on %s, first at t=%.3f" % (name, cnt, names,
                                                                    float(tmin) - start if cnt else -1))
    import oracle
    bad += oracle.verify(out, labels)
    print("check ok" if not bad else "check FAILED")
    return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out")
    ap.add_argument("--per-class", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--classes", default=",".join(CLASSES))
    ap.add_argument("--check", metavar="DIR", help="validate a generated folder and exit")
    a = ap.parse_args()
    if a.check:
        sys.exit(1 if check(a.check) else 0)
    if not a.out:
        ap.error("--out is required")
    classes = [c.strip() for c in a.classes.split(",") if c.strip()]
    for c in classes:
        if c not in CLASSES:
            ap.error("unknown class %r (known: %s)" % (c, ", ".join(CLASSES)))
    generate(a.out, a.per_class, a.seed, classes)


if __name__ == "__main__":
    main()
