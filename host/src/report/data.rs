//! What the report shows, read from a run directory in one streaming pass
//! per file (two for the packets): the manifest and journal (small, read
//! whole), RF and current squeezed into per-column envelopes, packets
//! counted per column and peer, and the findings.
//!
//! Every optional file that is missing or unreadable becomes a sentence in
//! the report rather than an error: a run cut short, or recorded on a bench
//! without a shield, still deserves a page saying what is there and what is
//! not. Only an unreadable `run.json` or `events.jsonl` stops the report,
//! since without them there is no run clock and no DUT list to show.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use super::envelope::Envelope;
use benchctl_detect::analyze::link_sides;
use benchctl_detect::analyze::net::{Captured, LinkSides};
use benchctl_format::read::{ReadError, RunDir, SigmfReader};
use benchctl_format::{NetExpect, PowerExpect, RfExpect};
use benchctl_net::{Direction, LinkType, Network};

/// Pixel columns of every time axis: the envelopes' resolution.
pub const PLOT_COLUMNS: usize = 1000;
/// Peers per DUT that get a row of their own in the packet timeline; the
/// rest share one "other peers" row, so a scan of 10 000 addresses cannot
/// blow up the page or the memory.
pub const MAX_PEER_ROWS: usize = 40;

/// One run directory, ready to draw.
#[derive(Debug)]
pub struct RunData {
    pub dir: PathBuf,
    pub run_id: String,
    pub bench: String,
    pub scenario: String,
    pub started_utc: String,
    pub complete: bool,
    /// How the run ended, from `run.json`'s `ending.how` when present.
    pub ending: Option<String>,
    /// The end of the time axis: `duration_s`, or the end of the data.
    pub end_t: f64,
    pub duts: Vec<DutInfo>,
    pub faults: Vec<FaultLine>,
    pub rf: Stream<Vec<Trace>>,
    pub power: Stream<Vec<Trace>>,
    pub net: Stream<BTreeMap<String, Vec<PeerRow>>>,
    pub findings: Result<FindingsDoc, String>,
    /// The run against its DUTs' baseline nights (`baseline.json`, written
    /// by `suite --baseline` and `diff --accept`): None when there is none,
    /// why when it cannot be read.
    pub baseline: Option<Result<BaselineDoc, String>>,
    /// Things a reader of the report should know about the recording
    /// itself: cut journal lines, truncated data files.
    pub notes: Vec<String>,
}

/// A recorded stream: not recorded, unreadable (why), or its content.
#[derive(Debug)]
pub enum Stream<T> {
    Absent(String),
    Unreadable(String),
    Read(T),
}

#[derive(Debug)]
pub struct DutInfo {
    pub name: String,
    pub model: String,
    pub build: Option<String>,
    pub ips: Vec<String>,
    pub phases: Vec<PhaseBand>,
}

/// One phase of a DUT, as shaded on its plots.
#[derive(Debug, Clone)]
pub struct PhaseBand {
    pub name: String,
    pub start: f64,
    pub end: f64,
    /// Its expectations in the lab's words: `rf silent, net none`.
    pub expect: String,
    /// Its settle window (`expect.settle_s`): shaded apart, since what
    /// falls inside it is reported at `low` only.
    pub settle_s: f64,
}

#[derive(Debug)]
pub struct FaultLine {
    pub t: f64,
    pub source: String,
    pub dut: Option<String>,
    pub detail: String,
}

/// One channel of a SigMF stream.
#[derive(Debug)]
pub struct Trace {
    /// None for the ambient antenna (the room).
    pub dut: Option<String>,
    pub label: String,
    pub envelope: Envelope,
}

/// One peer of a DUT on its link: packets per column each way.
#[derive(Debug)]
pub struct PeerRow {
    pub peer: String,
    pub sent: Vec<u32>,
    pub received: Vec<u32>,
    pub total: u64,
}

/// `baseline.json`: the comparison, and whether a lab accepted its
/// regressions.
#[derive(Debug, Clone, Deserialize)]
pub struct BaselineDoc {
    #[serde(flatten)]
    pub diff: crate::history::Diff,
    #[serde(default)]
    pub accepted: bool,
}

/// `<dir>/baseline.json`, if the run was compared with its baseline.
fn baseline_of(dir: &Path) -> Option<Result<BaselineDoc, String>> {
    let path = dir.join(crate::history::BASELINE_FILE);
    match benchctl_format::input::read_document(&path) {
        Ok(bytes) => Some(
            serde_json::from_slice(&bytes)
                .map_err(|e| format!("{}: not a readable comparison ({e})", path.display())),
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => Some(Err(format!("{}: {e}", path.display()))),
    }
}

/// findings.json (`benchctl-findings/1`) as the report reads it: owned
/// strings, every finding kind accepted, so a findings file from a newer
/// analyzer still shows.
#[derive(Debug, Clone, Deserialize)]
pub struct FindingsDoc {
    pub verdict: String,
    #[serde(default)]
    pub complete: bool,
    #[serde(default)]
    pub duts: Vec<DutFindingsDoc>,
    #[serde(default)]
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DutFindingsDoc {
    pub dut: String,
    pub verdict: String,
    #[serde(default)]
    pub findings: Vec<FindingDoc>,
    /// Why the DUT is incomplete.
    #[serde(default)]
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct FindingDoc {
    pub kind: String,
    pub severity: String,
    pub phase: Option<String>,
    pub start_s: f64,
    pub end_s: f64,
    pub channel: Option<String>,
    #[serde(default)]
    pub score: f64,
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub evidence: BTreeMap<String, Value>,
}

impl FindingsDoc {
    /// From analysis just run (`benchctl run` hands its findings over).
    pub fn from_findings(findings: &benchctl_detect::analyze::Findings) -> Result<Self, String> {
        serde_json::to_value(findings)
            .and_then(serde_json::from_value)
            .map_err(|e| format!("findings do not convert: {e}"))
    }

    pub fn dut(&self, name: &str) -> Option<&DutFindingsDoc> {
        self.duts.iter().find(|d| d.dut == name)
    }
}

impl FindingDoc {
    /// The packet-row peers this finding is about: the address its
    /// `channel` names (an address, or a flow `src>dst:port/proto`) and the
    /// addresses in its `destinations` evidence. An RF channel's label or a
    /// DNS name comes out too and simply matches no row.
    pub fn peers(&self) -> Vec<String> {
        let mut wanted: Vec<String> = Vec::new();
        if let Some(channel) = &self.channel {
            let dest = channel.split_once('>').map_or(channel.as_str(), |(_, d)| d);
            let dest = dest.split('/').next().unwrap_or(dest);
            // `ip:port`: the port is after the last colon (IPv6 has more).
            let host = if channel.contains('>') {
                dest.rsplit_once(':').map_or(dest, |(h, _)| h)
            } else {
                dest
            };
            wanted.push(host.trim_matches(|c| c == '[' || c == ']').to_string());
        }
        if let Some(Value::Array(dests)) = self.evidence.get("destinations") {
            wanted.extend(dests.iter().filter_map(|d| d.as_str().map(str::to_string)));
        }
        wanted
    }
}

/// Per DUT, the peers its findings name: they get a packet row of their
/// own however late or quietly they turn up.
fn named_peers(findings: Option<&FindingsDoc>) -> HashMap<String, HashSet<String>> {
    let mut named: HashMap<String, HashSet<String>> = HashMap::new();
    for d in findings.map(|f| f.duts.as_slice()).unwrap_or_default() {
        named
            .entry(d.dut.clone())
            .or_default()
            .extend(d.findings.iter().flat_map(FindingDoc::peers));
    }
    named
}

/// Read everything the report needs from `dir`. `findings`: analysis the
/// caller already has; otherwise findings.json, otherwise analysis now.
pub fn load(
    dir: &Path,
    findings: Option<&benchctl_detect::analyze::Findings>,
) -> Result<RunData, ReadError> {
    let run = RunDir::open(dir)?;
    let mut notes = Vec::new();
    if run.events().is_empty() {
        notes.push("events.jsonl is empty: no phases, actions or faults were journaled".into());
    }
    if let Some(line) = run.events().truncated_line() {
        notes.push(format!(
            "events.jsonl ends in a cut line (line {line}): the recorder stopped mid-write"
        ));
    }
    // The time axis: the run's length, or for a run that never ended the
    // end of whatever it left.
    let end_t = match run.run_end() {
        Ok(t) if t.is_finite() && t > 0.0 => t,
        Ok(_) => 1.0,
        Err(e) => {
            notes.push(format!("cannot find where the data ends: {e}"));
            run.events().last_t().filter(|t| *t > 0.0).unwrap_or(1.0)
        }
    };
    let manifest = run.manifest();
    let duts = run
        .duts()
        .iter()
        .map(|d| DutInfo {
            name: d.name.clone(),
            model: d.model.clone(),
            build: d.build.clone(),
            ips: d.ip.clone(),
            phases: run
                .events()
                .phase_intervals(&d.name, end_t)
                .iter()
                .map(|p| PhaseBand {
                    name: p.phase.name.clone(),
                    start: p.start,
                    end: p.end.min(end_t),
                    expect: expect_words(&p.phase.expect),
                    settle_s: p.phase.expect.settle_s,
                })
                .collect(),
        })
        .collect::<Vec<_>>();
    let faults = run
        .events()
        .faults()
        .map(|(t, f)| FaultLine {
            t,
            source: f.source.clone(),
            dut: f.dut.clone(),
            detail: f.detail.clone(),
        })
        .collect();
    let ending = manifest
        .extra
        .get("ending")
        .and_then(|e| e.get("how"))
        .and_then(Value::as_str)
        .map(str::to_string);

    let rf = sigmf_traces(run.rf(), "rf.sigmf-meta", "RF power", end_t, &mut notes);
    let power = sigmf_traces(
        run.power(),
        "power.sigmf-meta",
        "supply current",
        end_t,
        &mut notes,
    );
    // Findings before packets: the peers they name get packet rows.
    let findings = match findings {
        Some(f) => FindingsDoc::from_findings(f),
        None => findings_of(dir),
    };
    let named = named_peers(findings.as_ref().ok());
    let net = packet_rows(&run, end_t, &named, &mut notes);
    Ok(RunData {
        dir: dir.to_path_buf(),
        run_id: manifest.run_id.clone(),
        bench: manifest.bench.clone(),
        scenario: manifest.scenario.clone(),
        started_utc: manifest.started_utc.clone(),
        complete: run.complete(),
        ending,
        end_t,
        duts,
        faults,
        rf,
        power,
        net,
        findings,
        baseline: baseline_of(dir),
        notes,
    })
}

/// A phase's expectations as the lab says them; `any` ones left out.
pub fn expect_words(expect: &benchctl_format::read::PhaseExpect) -> String {
    let mut words = Vec::new();
    if expect.rf == RfExpect::Silent {
        words.push("rf silent".to_string());
    }
    match expect.net {
        NetExpect::None => words.push("net none".into()),
        NetExpect::Allowlist => words.push(format!("net allowlist ({})", expect.allow.len())),
        NetExpect::Any => {}
    }
    if expect.power == PowerExpect::Off {
        words.push(format!(
            "power off (≤ {} mA)",
            expect.off_current_a * 1000.0
        ));
    }
    if words.is_empty() {
        "no expectations".into()
    } else {
        // The settle window only matters where something is expected.
        if expect.settle_s > 0.0 {
            words.push(format!("settle {} s", expect.settle_s));
        }
        words.join(", ")
    }
}

/// The findings to show: findings.json if it reads, else a fresh analysis.
fn findings_of(dir: &Path) -> Result<FindingsDoc, String> {
    let path = dir.join(benchctl_detect::analyze::FILE_NAME);
    if let Ok(bytes) = benchctl_format::input::read_document(&path) {
        match serde_json::from_slice::<FindingsDoc>(&bytes) {
            Ok(doc) => return Ok(doc),
            Err(e) => tracing::warn!(
                "{} does not read ({e}); analyzing the run again",
                path.display()
            ),
        }
    }
    benchctl_detect::analyze::analyze(dir)
        .map_err(|e| format!("analysis failed: {e}"))
        .and_then(|f| FindingsDoc::from_findings(&f))
}

/// Every channel of a SigMF stream as an envelope over `[0, end_t)`, in one
/// streaming pass: each frame's column is found once and its values go to
/// their channels' envelopes.
fn sigmf_traces(
    opened: Result<Option<SigmfReader>, ReadError>,
    meta_name: &str,
    what: &str,
    end_t: f64,
    notes: &mut Vec<String>,
) -> Stream<Vec<Trace>> {
    let mut reader = match opened {
        Ok(Some(r)) => r,
        Ok(None) => {
            return Stream::Absent(format!("no {meta_name}: this run recorded no {what}"));
        }
        Err(e) => return Stream::Unreadable(e.to_string()),
    };
    let mut traces: Vec<Trace> = reader
        .channels()
        .iter()
        .map(|c| Trace {
            dut: c.dut.clone(),
            label: c.label().to_string(),
            envelope: Envelope::new(0.0, end_t, PLOT_COLUMNS),
        })
        .collect();
    if reader.truncated() {
        notes.push(format!(
            "{} ends in a partial frame ({} bytes): the recorder stopped mid-write",
            reader.data_path().display(),
            reader.partial_frame_bytes()
        ));
    }
    // A read error keeps what was plotted before it.
    let read = reader.for_each_frame(|t, frame| {
        // Every trace shares the same columns.
        let Some(col) = traces.first().and_then(|tr| tr.envelope.column_of(t)) else {
            return;
        };
        for (trace, v) in traces.iter_mut().zip(frame) {
            trace.envelope.push_at(col, *v);
        }
    });
    if let Err(e) = read {
        notes.push(format!("{e}; {what} plotted up to there"));
    }
    Stream::Read(traces)
}

/// Packets per DUT and peer, counted per column, from two passes over
/// `net.pcapng`: the first counts packets per peer, so the rows can go to
/// the peers that matter rather than to the first ones seen (a destination
/// a finding names may only turn up at hour 20); the second places every
/// packet in its row. Memory grows with the number of peers, never with
/// the run's length: a count per peer, then [`MAX_PEER_ROWS`] rows of
/// columns.
fn packet_rows(
    run: &RunDir,
    end_t: f64,
    named: &HashMap<String, HashSet<String>>,
    notes: &mut Vec<String>,
) -> Stream<BTreeMap<String, Vec<PeerRow>>> {
    let mut reader = match run.net() {
        Ok(Some(r)) => r,
        Ok(None) => return Stream::Absent("no net.pcapng: this run captured no packets".into()),
        Err(e) => return Stream::Unreadable(e.to_string()),
    };
    let axis = Envelope::new(0.0, end_t, PLOT_COLUMNS);
    // Whose packet is whose, as the analysis decides it.
    let sides: HashMap<&str, LinkSides> = match link_sides(run) {
        Ok(sides) => run
            .duts()
            .iter()
            .map(|d| d.name.as_str())
            .zip(sides)
            .collect(),
        Err(e) => return Stream::Unreadable(e.to_string()),
    };

    // Pass 1: packets per DUT and peer.
    let mut counts: HashMap<String, HashMap<String, u64>> = HashMap::new();
    let (untimed, error) = each_packet(&mut reader, run, &axis, &sides, |dut, peer, _, _| {
        *counts.entry(dut).or_default().entry(peer).or_default() += 1;
    });
    if let Some(e) = error {
        notes.push(format!("{e}; packets shown up to there"));
    }
    if untimed > 0 {
        notes.push(format!(
            "net.pcapng: {untimed} packets without a timestamp are not on the timeline"
        ));
    }

    // The rows: every peer a finding names, then the busiest; the rest
    // share one row.
    let no_names = HashSet::new();
    let mut rows: BTreeMap<String, Vec<PeerRow>> = BTreeMap::new();
    let mut row_of: HashMap<String, HashMap<String, usize>> = HashMap::new();
    for (dut, peers) in &counts {
        let chosen = choose_rows(peers, named.get(dut).unwrap_or(&no_names));
        let mut dut_rows: Vec<PeerRow> = chosen.iter().map(|p| PeerRow::new(p.clone())).collect();
        let mut index: HashMap<String, usize> = chosen.into_iter().zip(0..).collect();
        if peers.len() > dut_rows.len() {
            index.insert(OTHER_PEERS.into(), dut_rows.len());
            dut_rows.push(PeerRow::new(OTHER_PEERS.into()));
        }
        rows.insert(dut.clone(), dut_rows);
        row_of.insert(dut.clone(), index);
    }
    drop(counts);

    // Pass 2: every packet into its row. Its notes were said in pass 1;
    // a capture that cannot be opened again keeps its rows empty.
    match run.net() {
        Ok(Some(mut reader)) => {
            each_packet(&mut reader, run, &axis, &sides, |dut, peer, sent, col| {
                let (Some(dut_rows), Some(index)) = (rows.get_mut(&dut), row_of.get(&dut)) else {
                    return;
                };
                let Some(&at) = index.get(&peer).or_else(|| index.get(OTHER_PEERS)) else {
                    return;
                };
                let row = &mut dut_rows[at];
                row.total += 1;
                let counts = if sent {
                    &mut row.sent
                } else {
                    &mut row.received
                };
                counts[col] = counts[col].saturating_add(1);
            });
        }
        Ok(None) => notes.push("net.pcapng went away while the report was read".into()),
        Err(e) => notes.push(format!("{e}; packets not placed")),
    }

    for dut_rows in rows.values_mut() {
        // Busiest peers first; the shared row last.
        dut_rows.sort_by(|a, b| {
            (a.peer == OTHER_PEERS)
                .cmp(&(b.peer == OTHER_PEERS))
                .then(b.total.cmp(&a.total))
                .then(a.peer.cmp(&b.peer))
        });
    }
    Stream::Read(rows)
}

/// The peers of one DUT that get a row of their own: those its findings
/// name first, then the busiest, [`MAX_PEER_ROWS`] in all.
fn choose_rows(counts: &HashMap<String, u64>, named: &HashSet<String>) -> Vec<String> {
    let mut peers: Vec<(&String, u64)> = counts.iter().map(|(p, n)| (p, *n)).collect();
    peers.sort_by(|a, b| {
        named
            .contains(b.0)
            .cmp(&named.contains(a.0))
            .then(b.1.cmp(&a.1))
            .then(a.0.cmp(b.0))
    });
    peers
        .into_iter()
        .take(MAX_PEER_ROWS)
        .map(|(p, _)| p.clone())
        .collect()
}

/// Every timed packet on the time axis as (DUT, peer, sent by the DUT,
/// column); returns the packets without a timestamp and the read error
/// that ended the pass early, if any.
fn each_packet(
    reader: &mut benchctl_format::read::PacketReader,
    run: &RunDir,
    axis: &Envelope,
    sides: &HashMap<&str, LinkSides>,
    mut f: impl FnMut(String, String, bool, usize),
) -> (u64, Option<ReadError>) {
    let mut untimed = 0u64;
    loop {
        // Owned: the interface it names is looked up while it is kept.
        let packet = match reader.next() {
            Some(Ok(p)) => p,
            None => return (untimed, None),
            Some(Err(e)) => return (untimed, Some(e)),
        };
        let Some(time) = packet.time else {
            untimed += 1;
            continue;
        };
        let Some(col) = axis.column_of(run.t_of(time)) else {
            continue;
        };
        // Which DUT: the interface's name (interfaces can be declared part
        // way through a pcapng, so looked up per packet).
        let interface = reader.interfaces().get(packet.interface);
        let link = LinkType::from_code(interface.map_or(1, |i| u32::from(i.link_type)));
        let dut = interface_dut(reader.interfaces(), packet.interface);
        let captured = Captured {
            link,
            data: &packet.data,
            original_len: packet.original_len,
            own_interface: true,
        };
        let unknown = LinkSides::unknown();
        let side = sides.get(dut.as_str()).unwrap_or(&unknown);
        let (peer, sent) = peer(&captured, side);
        f(dut, peer, sent, col);
    }
}

/// The row that collects peers beyond [`MAX_PEER_ROWS`].
pub const OTHER_PEERS: &str = "other peers";

impl PeerRow {
    fn new(peer: String) -> Self {
        PeerRow {
            peer,
            sent: vec![0; PLOT_COLUMNS],
            received: vec![0; PLOT_COLUMNS],
            total: 0,
        }
    }
}

/// The DUT a capture interface belongs to: its `if_name`, as the format
/// says; a nameless interface keeps its number.
fn interface_dut(interfaces: &[benchctl_format::read::Interface], index: usize) -> String {
    interfaces
        .get(index)
        .and_then(|i| i.name.clone())
        .unwrap_or_else(|| format!("interface {index}"))
}

/// The peer on the far side of the DUT, and whether the DUT sent the
/// frame: by the rule the analysis judges by (every frame on a DUT's link
/// is its own unless it comes from the bench side). Frames that are not IP
/// are named by what they are.
fn peer(captured: &Captured<'_>, side: &LinkSides) -> (String, bool) {
    let frame = match captured.parse() {
        Ok(frame) => frame,
        Err(_) => return ("unread frames".into(), true),
    };
    let sent = side.direction(&frame, true) != Some(Direction::ToDut);
    let peer = match &frame.net {
        Network::Ip(p) if sent => p.dst.to_string(),
        Network::Ip(p) => p.src.to_string(),
        Network::Arp(_) => "ARP".into(),
        Network::LinkControl => "802.11 link control".into(),
        Network::Other { ethertype, .. } => format!("ethertype 0x{ethertype:04x}"),
    };
    (peer, sent)
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::time::{Duration, SystemTime};

    use super::*;
    use benchctl_format::pcapng::PcapngWriter;
    use benchctl_net::packet::build::{udp, v4_frame};

    /// The `honest` fixture's manifest and journal (2026-11-26T15:30:00Z,
    /// 30 s, phone-a at 10.77.1.2) with `net.pcapng` written by the test.
    fn run_with_packets(packets: &[(f64, Ipv4Addr)]) -> tempfile::TempDir {
        let tmp = tempfile::tempdir().expect("tempdir");
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/runs/honest");
        for name in ["run.json", "events.jsonl"] {
            std::fs::copy(fixture.join(name), tmp.path().join(name)).expect("copy");
        }
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_707_000);
        let dut = Ipv4Addr::new(10, 77, 1, 2);
        let mut pcap =
            PcapngWriter::create(&tmp.path().join("net.pcapng"), &["phone-a", "phone-b"])
                .expect("pcapng");
        for (t, peer) in packets {
            let l4 = udp(dut.into(), (*peer).into(), 40000, 443, b"x");
            let frame = v4_frame(true, dut, *peer, 17, &l4);
            pcap.packet(
                0,
                start + Duration::from_secs_f64(*t),
                &frame,
                frame.len() as u32,
            )
            .expect("packet");
        }
        pcap.finish().expect("finish");
        tmp
    }

    #[test]
    fn a_late_quiet_peer_a_finding_names_gets_its_own_row() {
        // 50 peers talked to early and often, then one packet to the
        // exfiltration address at the end: neither first seen nor busy.
        let mut packets = Vec::new();
        for k in 0..50u8 {
            for n in 0..5 {
                packets.push((
                    1.0 + f64::from(k) * 0.1 + f64::from(n) * 0.01,
                    Ipv4Addr::new(198, 51, 100, k),
                ));
            }
        }
        let late = Ipv4Addr::new(203, 0, 113, 99);
        packets.push((25.0, late));
        let tmp = run_with_packets(&packets);
        std::fs::write(
            tmp.path().join(benchctl_detect::analyze::FILE_NAME),
            r#"{"verdict":"fail","duts":[{"dut":"phone-a","verdict":"fail","findings":[
                {"kind":"net-in-none","severity":"high","phase":"airplane","start_s":25.0,"end_s":25.0,
                 "channel":"10.77.1.2:40000>203.0.113.99:443/udp","evidence":{"destinations":["203.0.113.99"]}}]}]}"#,
        )
        .expect("findings.json");
        let run = load(tmp.path(), None).expect("load");
        let Stream::Read(rows) = &run.net else {
            panic!("packets read: {:?}", run.net);
        };
        let rows = &rows["phone-a"];
        assert_eq!(
            rows.len(),
            MAX_PEER_ROWS + 1,
            "the cap holds, one shared row"
        );
        let own = rows
            .iter()
            .find(|r| r.peer == late.to_string())
            .expect("the named peer has a row of its own");
        assert_eq!(own.total, 1);
        assert_eq!(own.sent.iter().sum::<u32>(), 1, "its packet placed");
        let other = rows.last().expect("rows");
        assert_eq!(other.peer, OTHER_PEERS);
        assert_eq!(other.total, 50 * 5 + 1 - 5 * 39 - 1, "the rest share a row");
        // Every packet is on some row.
        assert_eq!(
            rows.iter().map(|r| r.total).sum::<u64>(),
            packets.len() as u64
        );
    }

    #[test]
    fn the_busiest_peers_get_the_rows_the_findings_leave() {
        // Ten quiet peers first, then 45 busy ones: the quiet ones share.
        let mut packets = Vec::new();
        for k in 0..10u8 {
            packets.push((1.0, Ipv4Addr::new(192, 0, 2, k)));
        }
        for k in 0..45u8 {
            for n in 0..3 {
                packets.push((2.0 + f64::from(n), Ipv4Addr::new(198, 51, 100, k)));
            }
        }
        let tmp = run_with_packets(&packets);
        std::fs::write(
            tmp.path().join(benchctl_detect::analyze::FILE_NAME),
            r#"{"verdict":"pass","duts":[]}"#,
        )
        .expect("findings.json");
        let run = load(tmp.path(), None).expect("load");
        let Stream::Read(rows) = &run.net else {
            panic!("packets read");
        };
        let rows = &rows["phone-a"];
        assert!(
            rows[..MAX_PEER_ROWS].iter().all(|r| r.total == 3),
            "busy peers have the rows"
        );
        assert_eq!(rows[MAX_PEER_ROWS].peer, OTHER_PEERS);
        assert_eq!(rows[MAX_PEER_ROWS].total, 10 + 5 * 3);
    }
}
