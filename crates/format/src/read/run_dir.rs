//! A run directory, opened: `run.json` checked, `events.jsonl` parsed, and
//! the optional streams (rf, power, net) noted and opened on demand.
//!
//! `open` reads only the small files. The streams are opened by whoever
//! needs them, as often as needed (the analyzer makes one pass per
//! detector), each open giving a fresh reader at the start of its file.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::{Map, Value};

use super::events::{Events, PhaseInterval};
use super::packets::{Interface, PacketReader};
use super::sigmf::{SigmfReader, Stream};
use super::{ReadError, UtcTime};
use crate::journal;
use crate::run_json::{self, DutEntry, RunManifest};

/// `net.pcapng`'s name in a run directory.
pub const NET_FILE_NAME: &str = "net.pcapng";

/// Check that `dut[field]`, when present, is a list of addresses as text.
fn addresses(
    path: &Path,
    dut: &Map<String, Value>,
    field: &str,
    key: &str,
) -> Result<(), ReadError> {
    match dut.get(field) {
        None => Ok(()),
        Some(Value::Array(ips)) if ips.iter().all(Value::is_string) => {
            for (j, ip) in ips.iter().filter_map(Value::as_str).enumerate() {
                if run_json::parse_ip(ip).is_none() {
                    return Err(ReadError::key(
                        path,
                        format!("{key}.{field}[{j}]"),
                        format!("\"{ip}\" is not an IPv4 or IPv6 address"),
                    ));
                }
            }
            Ok(())
        }
        Some(v) => Err(ReadError::key(
            path,
            format!("{key}.{field}"),
            format!("is {v}, not a list of addresses as text"),
        )),
    }
}

/// A run directory that follows `benchctl-run/1`.
#[derive(Debug)]
pub struct RunDir {
    path: PathBuf,
    manifest: RunManifest,
    started: UtcTime,
    events: Events,
    rf: bool,
    power: bool,
    net: bool,
    /// The end of the data, once computed (it reads through the capture).
    data_end: OnceLock<f64>,
}

impl RunDir {
    /// Open the run directory at `path`: read and check `run.json`, read
    /// `events.jsonl`, note which of rf, power and net were recorded.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ReadError> {
        let path = path.as_ref();
        let manifest_path = RunManifest::path(path);
        let bytes = crate::input::read_document(&manifest_path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                ReadError::Missing {
                    path: manifest_path.clone(),
                    why: "every run directory has one; is this a run directory?".into(),
                }
            } else {
                ReadError::io(&manifest_path)(e)
            }
        })?;
        let (manifest, started) = parse_manifest(&manifest_path, &bytes)?;
        let events = Events::read(&path.join(journal::FILE_NAME))?;
        // A phase of a DUT the manifest does not list would never be
        // judged (analysis goes by run.json's DUTs): say so instead.
        if let Some((dut, line)) = events
            .phase_duts()
            .find(|(dut, _)| !manifest.duts.iter().any(|d| d.name == *dut))
        {
            let listed: Vec<&str> = manifest.duts.iter().map(|d| d.name.as_str()).collect();
            return Err(ReadError::Line {
                path: events.path().to_path_buf(),
                line,
                detail: format!(
                    "phase line for DUT \"{dut}\", which run.json does not list (it lists {}): its phases would go unjudged",
                    if listed.is_empty() {
                        "none".to_string()
                    } else {
                        listed.join(", ")
                    }
                ),
            });
        }
        let exists = |name: &str| path.join(name).exists();
        let sigmf =
            |stream: Stream| stream.meta_path(path).exists() || stream.data_path(path).exists();
        Ok(Self {
            path: path.to_path_buf(),
            manifest,
            started,
            events,
            rf: sigmf(Stream::Rf),
            power: sigmf(Stream::Power),
            net: exists(NET_FILE_NAME),
            data_end: OnceLock::new(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `run.json` as read (unknown keys in `extra`).
    pub fn manifest(&self) -> &RunManifest {
        &self.manifest
    }

    pub fn run_id(&self) -> &str {
        &self.manifest.run_id
    }

    /// `started_utc`: the `t = 0` of the run clock.
    pub fn started(&self) -> UtcTime {
        self.started
    }

    /// False when the run was cut short (or `complete` is missing): findings
    /// cover only what was recorded.
    pub fn complete(&self) -> bool {
        self.manifest.complete
    }

    /// `duration_s`, None when it is 0 or missing (the run never ended).
    pub fn duration_s(&self) -> Option<f64> {
        Some(self.manifest.duration_s).filter(|d| *d > 0.0)
    }

    pub fn duts(&self) -> &[DutEntry] {
        &self.manifest.duts
    }

    pub fn dut(&self, name: &str) -> Option<&DutEntry> {
        self.manifest.duts.iter().find(|d| d.name == name)
    }

    /// The DUT a capture interface belongs to (`if_name` = DUT name).
    pub fn dut_of_interface(&self, interface: &Interface) -> Option<&DutEntry> {
        self.dut(interface.name.as_deref()?)
    }

    pub fn events(&self) -> &Events {
        &self.events
    }

    /// True if the run recorded RF band power (`rf.sigmf-*`).
    pub fn has_rf(&self) -> bool {
        self.rf
    }

    /// True if the run recorded supply current (`power.sigmf-*`).
    pub fn has_power(&self) -> bool {
        self.power
    }

    /// True if the run captured packets (`net.pcapng`).
    pub fn has_net(&self) -> bool {
        self.net
    }

    /// A fresh reader of `rf.sigmf-*`, None if the run has none.
    pub fn rf(&self) -> Result<Option<SigmfReader>, ReadError> {
        self.sigmf(Stream::Rf, self.rf)
    }

    /// A fresh reader of `power.sigmf-*`, None if the run has none.
    pub fn power(&self) -> Result<Option<SigmfReader>, ReadError> {
        self.sigmf(Stream::Power, self.power)
    }

    fn sigmf(&self, stream: Stream, present: bool) -> Result<Option<SigmfReader>, ReadError> {
        if present {
            SigmfReader::open(&self.path, stream).map(Some)
        } else {
            Ok(None)
        }
    }

    /// A fresh reader of `net.pcapng`, None if the run has none.
    pub fn net(&self) -> Result<Option<PacketReader>, ReadError> {
        if self.net {
            PacketReader::open(&self.path.join(NET_FILE_NAME)).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Run time `t` of a UTC time (a packet's timestamp).
    pub fn t_of(&self, time: UtcTime) -> f64 {
        time.seconds_since(self.started)
    }

    /// The phase `dut` is in at `t` (see [`Events::phase_at`]).
    pub fn phase_at(&self, dut: &str, t: f64) -> Option<PhaseInterval<'_>> {
        self.events.phase_at(dut, t)
    }

    /// Where the run ends on its clock: `duration_s`, or for a run that
    /// never ended (0 or missing) the end of its data
    /// ([`RunDir::data_end`]).
    pub fn run_end(&self) -> Result<f64, ReadError> {
        match self.duration_s() {
            Some(duration) => Ok(duration),
            None => self.data_end(),
        }
    }

    /// `dut`'s phases as `[start, end)` intervals ending at the next phase or
    /// at [`RunDir::run_end`].
    pub fn phase_intervals(&self, dut: &str) -> Result<Vec<PhaseInterval<'_>>, ReadError> {
        Ok(self.events.phase_intervals(dut, self.run_end()?))
    }

    /// The latest time anything in the directory speaks of: the last event,
    /// the end of each SigMF recording, the last timed packet (0 for an
    /// empty run). Reads through `net.pcapng` once (streaming); the result
    /// is kept.
    pub fn data_end(&self) -> Result<f64, ReadError> {
        if let Some(end) = self.data_end.get() {
            return Ok(*end);
        }
        let mut end = self.events.last_t().unwrap_or(0.0).max(0.0);
        for reader in [self.rf()?, self.power()?].into_iter().flatten() {
            end = end.max(reader.end_t());
        }
        if let Some(mut packets) = self.net()? {
            while let Some(packet) = packets.next_packet()? {
                if let Some(time) = packet.time {
                    end = end.max(time.seconds_since(self.started));
                }
            }
        }
        Ok(*self.data_end.get_or_init(|| end))
    }
}

/// Check `run.json` against the spec, key by key (so that an error names
/// the key), then read it as the writers' [`RunManifest`].
fn parse_manifest(path: &Path, bytes: &[u8]) -> Result<(RunManifest, UtcTime), ReadError> {
    let doc: Value = serde_json::from_slice(bytes).map_err(|source| ReadError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    let Value::Object(map) = &doc else {
        return Err(ReadError::key(
            path,
            "(top level)",
            "not a JSON object: run.json is one {...} object",
        ));
    };
    match map.get("format") {
        Some(Value::String(format)) if format == run_json::FORMAT => {}
        found => {
            return Err(ReadError::Format {
                path: path.to_path_buf(),
                found: found.map_or_else(|| "missing".to_string(), Value::to_string),
                expected: run_json::FORMAT,
            });
        }
    }
    for key in ["run_id", "bench", "scenario", "started_utc"] {
        string(path, map, key, key)?;
    }
    let started_text = string(path, map, "started_utc", "started_utc")?;
    let started = UtcTime::parse_rfc3339(started_text).ok_or_else(|| {
        ReadError::key(
            path,
            "started_utc",
            format!("\"{started_text}\" is not an RFC 3339 UTC time like 2026-11-26T15:30:00.000Z"),
        )
    })?;
    match map.get("duration_s") {
        None => {}
        Some(v) if v.as_f64().is_some_and(|d| d >= 0.0) => {}
        Some(v) => {
            return Err(ReadError::key(
                path,
                "duration_s",
                format!("is {v}, not a number of seconds (0 or more)"),
            ));
        }
    }
    match map.get("complete") {
        None | Some(Value::Bool(_)) => {}
        Some(v) => {
            return Err(ReadError::key(
                path,
                "complete",
                format!("is {v}, not true or false"),
            ));
        }
    }
    let mut names: Vec<&str> = Vec::new();
    match map.get("duts") {
        None => {}
        Some(Value::Array(duts)) => {
            for (i, dut) in duts.iter().enumerate() {
                let key = format!("duts[{i}]");
                let Value::Object(dut) = dut else {
                    return Err(ReadError::key(
                        path,
                        key,
                        format!("is {dut}, not an object"),
                    ));
                };
                let name = string(path, dut, "name", &format!("{key}.name"))?;
                string(path, dut, "model", &format!("{key}.model"))?;
                // Packets are told sent from received by these: a typo would
                // judge every answer as the DUT's doing.
                addresses(path, dut, "ip", &key)?;
                addresses(path, dut, "bench_ip", &key)?;
                match dut.get("bench_mac") {
                    None | Some(Value::Null) => {}
                    Some(Value::String(mac)) if mac.parse::<benchctl_net::MacAddr>().is_ok() => {}
                    Some(v) => {
                        return Err(ReadError::key(
                            path,
                            format!("{key}.bench_mac"),
                            format!("is {v}, not a MAC address as text (02:00:00:4d:01:01)"),
                        ));
                    }
                }
                if names.contains(&name) {
                    return Err(ReadError::key(
                        path,
                        format!("{key}.name"),
                        format!(
                            "\"{name}\" is listed twice: phases and captures name DUTs by name"
                        ),
                    ));
                }
                names.push(name);
            }
        }
        Some(v) => return Err(ReadError::key(path, "duts", format!("is {v}, not a list"))),
    }
    let manifest: RunManifest = serde_json::from_value(doc)
        .map_err(|e| ReadError::key(path, "(manifest)", super::json_message(&e)))?;
    Ok((manifest, started))
}

/// `map[name]` as a string; errors call it `key`.
fn string<'a>(
    path: &Path,
    map: &'a Map<String, Value>,
    name: &str,
    key: &str,
) -> Result<&'a str, ReadError> {
    match map.get(name) {
        Some(Value::String(s)) => Ok(s),
        None => Err(ReadError::key(path, key, "missing")),
        Some(v) => Err(ReadError::key(path, key, format!("is {v}, not a string"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{Expect, Journal, NetExpect, RfExpect};
    use crate::pcapng::PcapngWriter;
    use crate::read::events::RunEvent;
    use crate::read::sigmf::ChannelKind;
    use crate::sigmf::{SigmfWriter, Unit, current_channel, rf_channel};
    use serde_json::json;
    use std::time::{Duration, SystemTime};

    fn started() -> SystemTime {
        // 2026-11-26T15:30:00.000Z
        humantime::parse_rfc3339("2026-11-26T15:30:00.000Z").unwrap()
    }

    fn duts() -> Vec<DutEntry> {
        vec![
            DutEntry {
                name: "phone-a".into(),
                model: "sim-android".into(),
                ip: vec!["10.77.1.2".into()],
                build: None,
                ..DutEntry::default()
            },
            DutEntry {
                name: "phone-b".into(),
                model: "sim-ios".into(),
                ip: vec!["10.77.2.2".into(), "fe80::1%eth1".into()],
                build: Some("17.1".into()),
                ..DutEntry::default()
            },
        ]
    }

    /// A run recorded with every writer of the recorder.
    fn record_run(dir: &Path, finish: Option<f64>) -> RunManifest {
        let mut manifest = RunManifest::new("run-1", "sim-lab", "backdoor-hunt", started(), duts());
        manifest.write(dir).unwrap();

        let mut journal = Journal::create(dir).unwrap();
        journal
            .phase(0.0, "phone-a", "boot", Expect::any())
            .unwrap();
        journal
            .phase(0.0, "phone-b", "boot", Expect::any())
            .unwrap();
        journal
            .action(0.01, Some("phone-a"), "power.on", true, None)
            .unwrap();
        journal
            .phase(
                2.0,
                "phone-a",
                "airplane",
                Expect::any().rf_silent().net_none(),
            )
            .unwrap();
        journal.note(3.5, "almost done").unwrap();
        journal.finish().unwrap();

        let utc = crate::utc_rfc3339_millis(started());
        let mut rf = SigmfWriter::create(
            dir,
            "rf",
            10.0,
            vec![
                rf_channel(Some("phone-a"), "lte-b3-ul", 1_710_000_000, 1_785_000_000),
                rf_channel(None, "lte-b3-ul", 1_710_000_000, 1_785_000_000),
            ],
            Unit::Dbm,
            &utc,
        )
        .unwrap();
        rf.set_t0(0.05).unwrap();
        for i in 0..20 {
            rf.push_frame(&[-90.0 + i as f32, -95.0]).unwrap();
        }
        rf.push_missing(10).unwrap();
        rf.annotate_phase(0, 20, "boot", "phone-a").unwrap();
        rf.finish().unwrap();

        let mut power = SigmfWriter::create(
            dir,
            "power",
            5.0,
            vec![
                current_channel(Some("phone-a")),
                current_channel(Some("phone-b")),
            ],
            Unit::Ampere,
            &utc,
        )
        .unwrap();
        power.push_frames(&[0.2, 0.3, 0.001, f32::NAN]).unwrap();
        power.finish().unwrap();

        let mut net =
            PcapngWriter::create(&dir.join("net.pcapng"), &["phone-a", "phone-b"]).unwrap();
        net.packet(
            0,
            started() + Duration::from_micros(1_500_000),
            &[1, 2, 3],
            3,
        )
        .unwrap();
        net.packet(
            1,
            started() + Duration::from_micros(4_250_001),
            &[4; 60],
            1514,
        )
        .unwrap();
        net.finish().unwrap();

        if let Some(duration) = finish {
            manifest.finish(dir, duration, true).unwrap();
        }
        manifest
    }

    #[test]
    fn reads_a_run_recorded_by_the_writers() {
        let dir = tempfile::tempdir().unwrap();
        let written = record_run(dir.path(), Some(4.0));
        let run = RunDir::open(dir.path()).unwrap();
        assert_eq!(run.manifest(), &written);
        assert_eq!(run.run_id(), "run-1");
        assert!(run.complete());
        assert_eq!(run.duration_s(), Some(4.0));
        assert_eq!(run.duts(), duts().as_slice());
        assert_eq!(run.started(), UtcTime::from_system_time(started()));
        assert!(run.has_rf() && run.has_power() && run.has_net());

        let events = run.events();
        assert_eq!(events.len(), 5);
        assert!(!events.out_of_order() && !events.truncated());
        assert_eq!(run.phase_at("phone-a", 2.5).unwrap().phase.name, "airplane");
        let airplane = &run.phase_at("phone-a", 2.5).unwrap().phase.expect;
        assert_eq!(
            (airplane.rf, airplane.net),
            (RfExpect::Silent, NetExpect::None)
        );
        assert!(matches!(events.all()[4].event, RunEvent::Note { .. }));
        let spans: Vec<_> = run
            .phase_intervals("phone-a")
            .unwrap()
            .iter()
            .map(|p| (p.phase.name.clone(), p.start, p.end))
            .collect();
        assert_eq!(
            spans,
            [("boot".into(), 0.0, 2.0), ("airplane".into(), 2.0, 4.0)]
        );

        let mut rf = run.rf().unwrap().unwrap();
        assert_eq!(rf.t0(), 0.05);
        assert_eq!(rf.frames(), 30);
        let mut buf = Vec::new();
        let mut values = Vec::new();
        while rf.read_frames(&mut buf, 7).unwrap() > 0 {
            values.extend_from_slice(&buf);
        }
        for i in 0..30 {
            if i < 20 {
                assert_eq!(values[2 * i], -90.0 + i as f64);
                assert_eq!(values[2 * i + 1], -95.0);
            } else {
                assert!(values[2 * i].is_nan() && values[2 * i + 1].is_nan());
            }
        }
        let power = run.power().unwrap().unwrap();
        assert_eq!(power.frames(), 2);
        assert!(matches!(
            power.channels()[1].kind,
            ChannelKind::Supply { .. }
        ));
        assert_eq!(power.channels()[1].dut.as_deref(), Some("phone-b"));

        let mut net = run.net().unwrap().unwrap();
        let names: Vec<_> = net
            .interfaces()
            .iter()
            .map(|i| run.dut_of_interface(i).map(|d| d.name.as_str()))
            .collect();
        assert_eq!(names, [Some("phone-a"), Some("phone-b")]);
        let first = net.next_packet().unwrap().unwrap().into_owned();
        assert_eq!(first.interface, 0);
        assert_eq!(first.data, [1, 2, 3]);
        assert_eq!(run.t_of(first.time.unwrap()), 1.5);
        let second = net.next_packet().unwrap().unwrap().into_owned();
        assert_eq!(
            (second.interface, second.original_len, second.data.len()),
            (1, 1514, 60)
        );
        assert!((run.t_of(second.time.unwrap()) - 4.250_001).abs() < 1e-12);
        assert!(net.next_packet().unwrap().is_none());
        assert!(net.truncated().is_none());
    }

    #[test]
    fn an_unfinished_run_ends_at_its_data() {
        let dir = tempfile::tempdir().unwrap();
        record_run(dir.path(), None);
        let run = RunDir::open(dir.path()).unwrap();
        assert!(!run.complete());
        assert_eq!(run.duration_s(), None);
        // The last packet (4.250001 s) is later than the rf data (0.05 + 3 s),
        // the power data (0.4 s) and the last event (3.5 s).
        let end = run.data_end().unwrap();
        assert!((end - 4.250_001).abs() < 1e-12, "{end}");
        assert_eq!(run.run_end().unwrap(), end);
        let spans = run.phase_intervals("phone-a").unwrap();
        assert_eq!(spans.last().unwrap().end, end);

        // Without the capture, the last event (3.5 s) is the last.
        std::fs::remove_file(dir.path().join("net.pcapng")).unwrap();
        let run = RunDir::open(dir.path()).unwrap();
        assert!(!run.has_net());
        assert!(run.net().unwrap().is_none());
        assert_eq!(run.run_end().unwrap(), 3.5);
        // Without the journal's lines either, the end of the rf recording.
        std::fs::write(dir.path().join("events.jsonl"), b"").unwrap();
        let run = RunDir::open(dir.path()).unwrap();
        assert!((run.run_end().unwrap() - 3.05).abs() < 1e-12);
    }

    fn write_manifest(dir: &Path, manifest: &Value) {
        std::fs::write(dir.join("run.json"), serde_json::to_vec(manifest).unwrap()).unwrap();
        std::fs::write(dir.join("events.jsonl"), b"").unwrap();
    }

    fn spec_manifest() -> Value {
        json!({
            "format": "benchctl-run/1",
            "run_id": "20261126T153000Z-backdoor-hunt",
            "bench": "sim-lab",
            "scenario": "backdoor-hunt",
            "started_utc": "2026-11-26T15:30:00.000Z",
            "duration_s": 60.0,
            "complete": true,
            "duts": [
                {"name": "phone-a", "model": "sim-android", "ip": ["10.77.1.2"]}
            ]
        })
    }

    #[test]
    fn the_spec_example_manifest_reads() {
        let dir = tempfile::tempdir().unwrap();
        let mut manifest = spec_manifest();
        manifest["operator"] = json!("someone");
        write_manifest(dir.path(), &manifest);
        let run = RunDir::open(dir.path()).unwrap();
        assert!(run.complete());
        assert_eq!(run.duration_s(), Some(60.0));
        assert_eq!(run.duts()[0].ip, ["10.77.1.2"]);
        assert_eq!(run.manifest().extra["operator"], "someone");
        assert!(!run.has_rf() && !run.has_power() && !run.has_net());
        assert!(run.rf().unwrap().is_none() && run.power().unwrap().is_none());
        assert!(run.events().is_empty());
        assert_eq!(run.run_end().unwrap(), 60.0);
    }

    #[test]
    fn a_manifest_without_complete_is_incomplete() {
        let dir = tempfile::tempdir().unwrap();
        let mut manifest = spec_manifest();
        let map = manifest.as_object_mut().unwrap();
        map.remove("complete");
        map.remove("duration_s");
        map.remove("duts");
        write_manifest(dir.path(), &manifest);
        let run = RunDir::open(dir.path()).unwrap();
        assert!(!run.complete());
        assert_eq!(run.duration_s(), None);
        assert!(run.duts().is_empty());
        assert_eq!(run.run_end().unwrap(), 0.0);
    }

    #[test]
    fn manifest_errors_name_the_file_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let cases: Vec<(Value, &str)> = vec![
            (
                json!({"format": "benchctl-run/2"}),
                "run.json: format is \"benchctl-run/2\", this benchctl reads \"benchctl-run/1\"",
            ),
            (json!({"run_id": "x"}), "run.json: format is missing"),
            (json!({"format": 1}), "format is 1"),
            (json!([1]), "key (top level): not a JSON object"),
        ];
        let mut more = Vec::new();
        let edits: Vec<(&str, Value, &str)> = vec![
            ("run_id", Value::Null, "key run_id: is null, not a string"),
            (
                "started_utc",
                json!("26.11.2026 15:30"),
                "key started_utc: \"26.11.2026 15:30\" is not an RFC 3339",
            ),
            ("duration_s", json!(-1), "key duration_s: is -1"),
            (
                "complete",
                json!("yes"),
                "key complete: is \"yes\", not true or false",
            ),
            ("duts", json!({}), "key duts: is {}, not a list"),
            ("duts", json!([{"name": "a"}]), "key duts[0].model: missing"),
            (
                "duts",
                json!([{"name": "a", "model": "m", "ip": "10.0.0.1"}]),
                "key duts[0].ip: is \"10.0.0.1\"",
            ),
            (
                "duts",
                json!([{"name": "a", "model": "m", "ip": ["10.77.1.2", "10.77.2.999"]}]),
                "key duts[0].ip[1]: \"10.77.2.999\" is not an IPv4 or IPv6 address",
            ),
            (
                "duts",
                json!([{"name": "a", "model": "m"}, {"name": "a", "model": "n"}]),
                "key duts[1].name: \"a\" is listed twice",
            ),
        ];
        for (key, value, expected) in edits {
            let mut manifest = spec_manifest();
            manifest[key] = value;
            more.push((manifest, expected));
        }
        let mut missing = spec_manifest();
        missing.as_object_mut().unwrap().remove("scenario");
        more.push((missing, "key scenario: missing"));
        for (manifest, expected) in cases.into_iter().chain(more) {
            write_manifest(dir.path(), &manifest);
            let err = RunDir::open(dir.path()).unwrap_err().to_string();
            assert!(err.contains(expected), "{expected}: {err}");
            assert!(err.contains("run.json"), "{err}");
        }

        std::fs::write(dir.path().join("run.json"), b"{\"format\": ").unwrap();
        let err = RunDir::open(dir.path()).unwrap_err().to_string();
        assert!(err.contains("run.json is not valid JSON"), "{err}");

        let empty = tempfile::tempdir().unwrap();
        let err = RunDir::open(empty.path()).unwrap_err().to_string();
        assert!(err.contains("run.json is missing"), "{err}");

        write_manifest(dir.path(), &spec_manifest());
        std::fs::remove_file(dir.path().join("events.jsonl")).unwrap();
        let err = RunDir::open(dir.path()).unwrap_err().to_string();
        assert!(err.contains("events.jsonl is missing"), "{err}");

        std::fs::write(
            dir.path().join("events.jsonl"),
            concat!(
                "{\"t\":0,\"kind\":\"phase\",\"dut\":\"phone-a\",\"name\":\"boot\",\"expect\":{}}\n",
                "{\"t\":5,\"kind\":\"phase\",\"dut\":\"phone-z\",\"name\":\"airplane\",\"expect\":{\"rf\":\"silent\"}}\n",
            ),
        )
        .unwrap();
        let err = RunDir::open(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("events.jsonl:2: phase line for DUT \"phone-z\", which run.json does not list (it lists phone-a)"),
            "{err}"
        );
    }

    #[test]
    fn a_meta_file_without_data_is_an_error_when_opened() {
        let dir = tempfile::tempdir().unwrap();
        record_run(dir.path(), Some(4.0));
        std::fs::remove_file(dir.path().join("power.sigmf-data")).unwrap();
        let run = RunDir::open(dir.path()).unwrap();
        assert!(run.has_power());
        let err = run.power().unwrap_err().to_string();
        assert!(err.contains("power.sigmf-data is missing"), "{err}");
    }
}
