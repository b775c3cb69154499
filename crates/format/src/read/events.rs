//! `events.jsonl`, read: the run's journal as typed, time-sorted events, and
//! the phase each DUT was in at any moment.
//!
//! The whole journal is held in memory: it is small (a line per action,
//! phase or fault, thousands for a day-long run, not millions), and sorting
//! it needs it whole.
//!
//! Tolerances, and why:
//! - The spec says lines come in `t` order, but writers are not perfect (a
//!   fault noticed late is stamped with the time it happened; the spec's own
//!   example is out of order). Events are sorted stably by `t` and
//!   [`Events::out_of_order`] says whether that changed anything.
//! - A last line without its newline that does not parse is what a crash
//!   mid-write leaves: it is dropped and [`Events::truncated`] is set. A bad
//!   line anywhere else is an error — the journal was damaged or written by
//!   something that does not follow the spec, and silently losing a phase
//!   line would change every verdict after it.
//! - Kinds a newer writer adds are kept as [`RunEvent::Unknown`]; keys this
//!   reader does not know are ignored.
//! - Blank lines are skipped.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{ReadError, json_message};
use crate::journal::{DEFAULT_OFF_CURRENT_A, Expect, NetExpect, PowerExpect, RfExpect};

/// A phase's expectations, with every default of the spec filled in: what
/// the DUT must (not) do during the phase.
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseExpect {
    pub rf: RfExpect,
    pub net: NetExpect,
    /// With `net = allowlist`: DNS names (a name also allows its
    /// subdomains), IP addresses, CIDR blocks, as written.
    pub allow: Vec<String>,
    pub power: PowerExpect,
    /// Amperes: with `power = off`, the most the DUT may draw (0.005 when the
    /// line does not say).
    pub off_current_a: f64,
    /// Seconds after the phase's start before its expectations are judged
    /// (0 when the line does not say: nothing is judged leniently unless
    /// the run says so).
    pub settle_s: f64,
}

impl Default for PhaseExpect {
    /// Everything `any`: a DUT with no phase line yet is held to nothing.
    fn default() -> Self {
        Self {
            rf: RfExpect::Any,
            net: NetExpect::Any,
            allow: Vec::new(),
            power: PowerExpect::Any,
            off_current_a: DEFAULT_OFF_CURRENT_A,
            settle_s: 0.0,
        }
    }
}

impl From<Expect> for PhaseExpect {
    fn from(expect: Expect) -> Self {
        Self {
            rf: expect.rf,
            net: expect.net,
            allow: expect.allow,
            power: expect.power,
            off_current_a: expect.off_current_a.unwrap_or(DEFAULT_OFF_CURRENT_A),
            settle_s: expect.settle_s.unwrap_or(0.0),
        }
    }
}

/// `kind: "phase"`: from its `t` on, `dut` is in phase `name`.
#[derive(Debug, Clone, PartialEq)]
pub struct Phase {
    pub dut: String,
    pub name: String,
    pub expect: PhaseExpect,
}

/// `kind: "action"`: the bench did something (`power.on`, `net.isolate`...).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Action {
    /// None for a bench-wide action (`dut: null`).
    #[serde(default)]
    pub dut: Option<String>,
    pub action: String,
    pub ok: bool,
    #[serde(default)]
    pub detail: Option<String>,
}

/// `kind: "fault"`: something went wrong (lost frames, a device that stopped
/// answering).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Fault {
    pub source: String,
    pub detail: String,
    #[serde(default)]
    pub dut: Option<String>,
}

#[derive(Deserialize)]
struct NoteLine {
    text: String,
}

#[derive(Deserialize)]
struct PhaseLine {
    dut: String,
    name: String,
    expect: Value,
}

/// One journal line, typed by its `kind`.
#[derive(Debug, Clone, PartialEq)]
pub enum RunEvent {
    Phase(Phase),
    Action(Action),
    Fault(Fault),
    Note {
        text: String,
    },
    /// A kind this reader does not know (a newer writer): kept with its keys
    /// (all but `t` and `kind`), so nothing is lost, but it means nothing to
    /// the analysis.
    Unknown {
        kind: String,
        fields: Map<String, Value>,
    },
}

/// A journal line: when, where in the file, what.
#[derive(Debug, Clone, PartialEq)]
pub struct TimedEvent {
    /// Seconds on the run clock.
    pub t: f64,
    /// 1-based line number in `events.jsonl`, for messages.
    pub line: u64,
    pub event: RunEvent,
}

/// The longest line the reader takes: journal lines are a few hundred
/// bytes; a megabyte is damage, not an event.
pub const MAX_LINE_BYTES: u64 = 1 << 20;

/// A stretch of the run that one DUT spent in one phase: `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PhaseInterval<'a> {
    pub start: f64,
    /// The DUT's next phase line, or the end of the run.
    pub end: f64,
    /// Line of the phase in `events.jsonl`.
    pub line: u64,
    pub phase: &'a Phase,
}

impl PhaseInterval<'_> {
    pub fn contains(&self, t: f64) -> bool {
        self.start <= t && t < self.end
    }
}

/// `events.jsonl`, parsed and sorted by `t`.
#[derive(Debug, Clone)]
pub struct Events {
    path: PathBuf,
    events: Vec<TimedEvent>,
    /// Per DUT, the indices into `events` of its phase lines, in `t` order.
    phases: BTreeMap<String, Vec<usize>>,
    out_of_order: bool,
    truncated_line: Option<u64>,
}

impl Events {
    /// Read and parse the journal at `path`.
    pub fn read(path: &Path) -> Result<Self, ReadError> {
        let file = crate::input::open(path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                ReadError::Missing {
                    path: path.to_path_buf(),
                    why: "every run directory has a journal (events.jsonl), even an empty one"
                        .into(),
                }
            } else {
                ReadError::io(path)(source)
            }
        })?;
        Self::parse(path, std::io::BufReader::new(file))
    }

    /// Parse a journal from `input`; `path` is only used in messages.
    pub fn parse(path: &Path, mut input: impl BufRead) -> Result<Self, ReadError> {
        use std::io::Read;
        let mut events = Vec::new();
        let mut truncated_line = None;
        let mut raw = Vec::new();
        let mut line = 0u64;
        loop {
            raw.clear();
            // Bounded, so a damaged file without newlines cannot fill memory.
            let n = (&mut input)
                .take(MAX_LINE_BYTES + 1)
                .read_until(b'\n', &mut raw)
                .map_err(ReadError::io(path))?;
            if n == 0 {
                break;
            }
            line += 1;
            if n as u64 > MAX_LINE_BYTES {
                return Err(ReadError::Line {
                    path: path.to_path_buf(),
                    line,
                    detail: format!(
                        "longer than {} KiB: not a journal line (is this file events.jsonl?)",
                        MAX_LINE_BYTES >> 10
                    ),
                });
            }
            let complete = raw.last() == Some(&b'\n');
            if raw.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match parse_line(&raw) {
                Ok((t, event)) => events.push(TimedEvent { t, line, event }),
                // The only line that can lack its newline is the last one: a
                // write the crash cut short.
                Err(_) if !complete => truncated_line = Some(line),
                Err(detail) => {
                    return Err(ReadError::Line {
                        path: path.to_path_buf(),
                        line,
                        detail,
                    });
                }
            }
        }

        let out_of_order = events.windows(2).any(|w| w[1].t < w[0].t);
        // Stable: lines with the same `t` keep their file order, so of two
        // phase lines at the same time the later one wins.
        events.sort_by(|a, b| a.t.total_cmp(&b.t));

        let mut phases: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, e) in events.iter().enumerate() {
            if let RunEvent::Phase(p) = &e.event {
                phases.entry(p.dut.clone()).or_default().push(i);
            }
        }
        Ok(Self {
            path: path.to_path_buf(),
            events,
            phases,
            out_of_order,
            truncated_line,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every DUT a phase line names (by name), with the line of its first
    /// phase.
    pub fn phase_duts(&self) -> impl Iterator<Item = (&str, u64)> + '_ {
        self.phases.iter().filter_map(|(dut, indices)| {
            let first = indices.iter().map(|&i| self.events[i].line).min()?;
            Some((dut.as_str(), first))
        })
    }

    /// Every event, sorted by `t` (stable).
    pub fn all(&self) -> &[TimedEvent] {
        &self.events
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// True if the file's lines were not in `t` order (they have been sorted).
    pub fn out_of_order(&self) -> bool {
        self.out_of_order
    }

    /// True if the last line was cut mid-write (and dropped).
    pub fn truncated(&self) -> bool {
        self.truncated_line.is_some()
    }

    /// The line number of the dropped, cut-off last line.
    pub fn truncated_line(&self) -> Option<u64> {
        self.truncated_line
    }

    /// `t` of the latest event.
    pub fn last_t(&self) -> Option<f64> {
        self.events.last().map(|e| e.t)
    }

    /// The fault lines, in `t` order.
    pub fn faults(&self) -> impl Iterator<Item = (f64, &Fault)> {
        self.events.iter().filter_map(|e| match &e.event {
            RunEvent::Fault(f) => Some((e.t, f)),
            _ => None,
        })
    }

    /// The phase `dut` is in at run time `t`: its latest phase line at or
    /// before `t`. None before its first phase line (no expectations, every
    /// one `any`). The last phase is open-ended (`end` = infinity): it is not
    /// cut at the run's end, so a sample or packet stamped just after
    /// `duration_s` still has a phase; see [`Events::phase_intervals`] for
    /// intervals bounded by the run.
    pub fn phase_at(&self, dut: &str, t: f64) -> Option<PhaseInterval<'_>> {
        let indices = self.phases.get(dut)?;
        // Phase lines starting at or before `t`.
        let started = indices.partition_point(|&i| self.events.get(i).is_some_and(|e| e.t <= t));
        let current = started.checked_sub(1)?;
        self.interval(indices, current, f64::INFINITY)
    }

    /// `dut`'s phases as `[start, end)` intervals: each ends where the DUT's
    /// next phase starts, the last at `run_end` (the run's `duration_s`, or
    /// the end of the data; see `RunDir::run_end`). Intervals with no time
    /// in them (two phase lines at the same `t`, a phase starting after
    /// `run_end`) are left out.
    pub fn phase_intervals(&self, dut: &str, run_end: f64) -> Vec<PhaseInterval<'_>> {
        let Some(indices) = self.phases.get(dut) else {
            return Vec::new();
        };
        (0..indices.len())
            .filter_map(|k| self.interval(indices, k, run_end))
            .map(|mut interval| {
                interval.end = interval.end.min(run_end);
                interval
            })
            .filter(|interval| interval.start < interval.end)
            .collect()
    }

    /// The interval of the `k`th phase line among `indices`.
    fn interval<'a>(
        &'a self,
        indices: &[usize],
        k: usize,
        last_end: f64,
    ) -> Option<PhaseInterval<'a>> {
        let event = self.events.get(*indices.get(k)?)?;
        let RunEvent::Phase(phase) = &event.event else {
            return None;
        };
        let end = indices
            .get(k + 1)
            .and_then(|&i| self.events.get(i))
            .map_or(last_end, |next| next.t);
        Some(PhaseInterval {
            start: event.t,
            end,
            line: event.line,
            phase,
        })
    }
}

/// One line to `(t, event)`, or why not (without the file and line, which
/// the caller adds).
fn parse_line(raw: &[u8]) -> Result<(f64, RunEvent), String> {
    let value: Value = serde_json::from_slice(raw).map_err(|e| {
        format!(
            "not valid JSON (column {}): {}",
            e.column(),
            json_message(&e)
        )
    })?;
    let Value::Object(mut fields) = value else {
        return Err("not a JSON object: every line is one {...} object".into());
    };
    let t = match fields.remove("t") {
        None => return Err("no \"t\": every line needs its time in seconds".into()),
        Some(t) => t
            .as_f64()
            .ok_or_else(|| format!("\"t\" is {t}, not a number of seconds"))?,
    };
    let kind = match fields.remove("kind") {
        None => return Err("no \"kind\" (phase, action, fault, note)".into()),
        Some(Value::String(kind)) => kind,
        Some(other) => return Err(format!("\"kind\" is {other}, not a string")),
    };
    let typed = |what: &str, e: serde_json::Error| format!("{what} line: {}", json_message(&e));
    let event = match kind.as_str() {
        "phase" => {
            let line: PhaseLine =
                serde_json::from_value(Value::Object(fields)).map_err(|e| typed("phase", e))?;
            let expect: Expect = serde_json::from_value(line.expect)
                .map_err(|e| format!("phase line: \"expect\": {}", json_message(&e)))?;
            if let Some(a) = expect.off_current_a
                && !(a.is_finite() && a >= 0.0)
            {
                return Err(format!(
                    "phase line: \"expect\": off_current_a is {a}, not a current of 0 A or more"
                ));
            }
            if let Some(s) = expect.settle_s
                && !(s.is_finite() && s >= 0.0)
            {
                return Err(format!(
                    "phase line: \"expect\": settle_s is {s}, not a number of seconds of 0 or more"
                ));
            }
            // An allowlist entry that does not read would judge the phase
            // by a shorter list than the scenario meant: an error, not a
            // guess (the same parser the simulated link filters with).
            if let Err(e) = benchctl_net::Allowlist::parse(&expect.allow) {
                return Err(format!("phase line: \"expect\": allow: {e}"));
            }
            RunEvent::Phase(Phase {
                dut: line.dut,
                name: line.name,
                expect: expect.into(),
            })
        }
        "action" => RunEvent::Action(
            serde_json::from_value(Value::Object(fields)).map_err(|e| typed("action", e))?,
        ),
        "fault" => RunEvent::Fault(
            serde_json::from_value(Value::Object(fields)).map_err(|e| typed("fault", e))?,
        ),
        "note" => {
            let note: NoteLine =
                serde_json::from_value(Value::Object(fields)).map_err(|e| typed("note", e))?;
            RunEvent::Note { text: note.text }
        }
        _ => RunEvent::Unknown { kind, fields },
    };
    Ok((t, event))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::Journal;

    /// The example lines of recording-format.md, verbatim.
    const SPEC_EXAMPLE: &str = r#"{"t":0.0,"kind":"phase","dut":"phone-a","name":"boot","expect":{}}
{"t":0.01,"kind":"action","dut":"phone-a","action":"power.on","ok":true}
{"t":20.0,"kind":"phase","dut":"phone-a","name":"airplane","expect":{"rf":"silent","net":"none"}}
{"t":40.0,"kind":"phase","dut":"phone-a","name":"online","expect":{"net":"allowlist","allow":["connectivitycheck.gstatic.com","time.android.com","10.77.0.1"]}}
{"t":50.0,"kind":"phase","dut":"phone-a","name":"soft-off","expect":{"rf":"silent","net":"none","power":"off","off_current_a":0.005}}
{"t":41.2,"kind":"fault","source":"shield","detail":"3 frames lost (seq 1200..1202)"}
"#;

    fn parse(text: &str) -> Result<Events, ReadError> {
        Events::parse(Path::new("run/events.jsonl"), text.as_bytes())
    }

    #[test]
    fn spec_example_parses_and_is_sorted() {
        let events = parse(SPEC_EXAMPLE).unwrap();
        assert_eq!(events.len(), 6);
        assert!(
            events.out_of_order(),
            "41.2 comes after 50.0 in the example"
        );
        assert!(!events.truncated());
        let ts: Vec<f64> = events.all().iter().map(|e| e.t).collect();
        assert_eq!(ts, [0.0, 0.01, 20.0, 40.0, 41.2, 50.0]);
        let lines: Vec<u64> = events.all().iter().map(|e| e.line).collect();
        assert_eq!(lines, [1, 2, 3, 4, 6, 5]);

        assert_eq!(
            events.all()[1].event,
            RunEvent::Action(Action {
                dut: Some("phone-a".into()),
                action: "power.on".into(),
                ok: true,
                detail: None,
            })
        );
        let faults: Vec<_> = events.faults().collect();
        assert_eq!(faults.len(), 1);
        assert_eq!(faults[0].0, 41.2);
        assert_eq!(faults[0].1.source, "shield");
        assert_eq!(faults[0].1.dut, None);

        let boot = events.phase_at("phone-a", 5.0).unwrap();
        assert_eq!(boot.phase.name, "boot");
        assert_eq!(boot.phase.expect, PhaseExpect::default());
        assert_eq!((boot.start, boot.end), (0.0, 20.0));

        let airplane = events.phase_at("phone-a", 20.0).unwrap().phase;
        assert_eq!(airplane.name, "airplane");
        assert_eq!(airplane.expect.rf, RfExpect::Silent);
        assert_eq!(airplane.expect.net, NetExpect::None);
        assert_eq!(airplane.expect.power, PowerExpect::Any);

        let online = events.phase_at("phone-a", 45.0).unwrap().phase;
        assert_eq!(online.expect.net, NetExpect::Allowlist);
        assert_eq!(
            online.expect.allow,
            [
                "connectivitycheck.gstatic.com",
                "time.android.com",
                "10.77.0.1"
            ]
        );

        let off = events.phase_at("phone-a", 1e9).unwrap();
        assert_eq!(off.phase.name, "soft-off");
        assert_eq!(off.phase.expect.power, PowerExpect::Off);
        assert_eq!(off.phase.expect.off_current_a, 0.005);
        assert_eq!(off.end, f64::INFINITY);
        // No settle_s on any line: nothing is judged leniently.
        assert_eq!(off.phase.expect.settle_s, 0.0);
        assert_eq!(airplane.expect.settle_s, 0.0);

        assert!(events.phase_at("phone-a", -0.1).is_none());
        assert!(events.phase_at("phone-b", 10.0).is_none());
        assert_eq!(
            events.phase_duts().map(|(d, _)| d).collect::<Vec<_>>(),
            ["phone-a"]
        );
    }

    #[test]
    fn phase_intervals_end_at_the_next_phase_or_the_run_end() {
        let events = parse(SPEC_EXAMPLE).unwrap();
        let spans: Vec<_> = events
            .phase_intervals("phone-a", 60.0)
            .iter()
            .map(|i| (i.phase.name.as_str(), i.start, i.end, i.line))
            .collect();
        assert_eq!(
            spans,
            [
                ("boot", 0.0, 20.0, 1),
                ("airplane", 20.0, 40.0, 3),
                ("online", 40.0, 50.0, 4),
                ("soft-off", 50.0, 60.0, 5),
            ]
        );
        // A run that ended early cuts the phases; one after the end is gone.
        let short = events.phase_intervals("phone-a", 45.0);
        assert_eq!(short.len(), 3);
        assert_eq!(short[2].end, 45.0);
        assert!(short[2].contains(44.9) && !short[2].contains(45.0));
        assert!(events.phase_intervals("nobody", 60.0).is_empty());
    }

    #[test]
    fn same_time_phases_the_later_line_wins() {
        let events = parse(concat!(
            r#"{"t":1,"kind":"phase","dut":"a","name":"first","expect":{}}"#,
            "\n",
            r#"{"t":1,"kind":"phase","dut":"a","name":"second","expect":{}}"#,
            "\n",
        ))
        .unwrap();
        assert!(!events.out_of_order());
        assert_eq!(events.phase_at("a", 1.0).unwrap().phase.name, "second");
        let spans = events.phase_intervals("a", 10.0);
        assert_eq!(spans.len(), 1);
        assert_eq!(spans[0].phase.name, "second");
    }

    #[test]
    fn unknown_kinds_are_kept_and_unknown_keys_ignored() {
        let events = parse(concat!(
            r#"{"t":1,"kind":"note","text":"hello","mood":"fine"}"#,
            "\n\n   \n",
            r#"{"t":2,"kind":"calibration","band":"lte-b3-ul","offset_db":1.5}"#,
            "\n",
            r#"{"t":3,"kind":"phase","dut":"a","name":"p","expect":{"rf":"silent","colour":"red"},"by":"x"}"#,
            "\n",
            r#"{"t":4,"kind":"action","dut":null,"action":"net.isolate","ok":false,"detail":"busy","retries":2}"#,
            "\n",
        ))
        .unwrap();
        assert_eq!(events.len(), 4);
        assert_eq!(
            events.all()[0].event,
            RunEvent::Note {
                text: "hello".into()
            }
        );
        let RunEvent::Unknown { kind, fields } = &events.all()[1].event else {
            panic!("{:?}", events.all()[1]);
        };
        assert_eq!(kind, "calibration");
        assert_eq!(fields["offset_db"], 1.5);
        assert!(!fields.contains_key("t") && !fields.contains_key("kind"));
        assert_eq!(events.all()[1].line, 4);
        let RunEvent::Phase(p) = &events.all()[2].event else {
            panic!()
        };
        assert_eq!(p.expect.rf, RfExpect::Silent);
        assert_eq!(
            events.all()[3].event,
            RunEvent::Action(Action {
                dut: None,
                action: "net.isolate".into(),
                ok: false,
                detail: Some("busy".into()),
            })
        );
    }

    #[test]
    fn bad_lines_are_errors_with_the_line_number() {
        let cases = [
            (
                "{\"t\":1,\"kind\":\"note\",\"text\":\"x\"}\n{\"t\":2,\n",
                "events.jsonl:2: not valid JSON",
            ),
            ("[1,2]\n", "events.jsonl:1: not a JSON object"),
            (
                "{\"kind\":\"note\",\"text\":\"x\"}\n",
                "events.jsonl:1: no \"t\"",
            ),
            (
                "{\"t\":\"soon\",\"kind\":\"note\",\"text\":\"x\"}\n",
                "\"t\" is \"soon\"",
            ),
            ("{\"t\":1,\"text\":\"x\"}\n", "no \"kind\""),
            ("{\"t\":1,\"kind\":7}\n", "\"kind\" is 7"),
            (
                "{\"t\":1,\"kind\":\"phase\",\"dut\":\"a\",\"expect\":{}}\n",
                "phase line: missing field `name`",
            ),
            (
                "{\"t\":1,\"kind\":\"phase\",\"dut\":\"a\",\"name\":\"n\"}\n",
                "missing field `expect`",
            ),
            (
                "{\"t\":1,\"kind\":\"phase\",\"dut\":\"a\",\"name\":\"n\",\"expect\":{\"settle_s\":-2}}\n",
                "settle_s is -2",
            ),
            (
                "{\"t\":1,\"kind\":\"phase\",\"dut\":\"a\",\"name\":\"n\",\"expect\":{\"rf\":\"quiet\"}}\n",
                "\"expect\": unknown variant `quiet`",
            ),
            (
                "{\"t\":1,\"kind\":\"phase\",\"dut\":\"a\",\"name\":\"n\",\"expect\":{\"power\":\"off\",\"off_current_a\":-1}}\n",
                "off_current_a is -1",
            ),
            (
                "{\"t\":1,\"kind\":\"phase\",\"dut\":\"a\",\"name\":\"n\",\"expect\":{\"net\":\"allowlist\",\"allow\":[\"google.com\",\"10.77.0.0/40\"]}}\n",
                "events.jsonl:1: phase line: \"expect\": allow: \"10.77.0.0/40\"",
            ),
            (
                "{\"t\":1,\"kind\":\"action\",\"action\":\"x\"}\n",
                "action line: missing field `ok`",
            ),
            (
                "{\"t\":1,\"kind\":\"fault\",\"source\":\"x\"}\n",
                "fault line: missing field `detail`",
            ),
            (
                "{\"t\":1,\"kind\":\"note\"}\n",
                "note line: missing field `text`",
            ),
            ("\u{feff}{\"t\":1}\n", "events.jsonl:1:"),
        ];
        for (text, expected) in cases {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(expected), "{text:?}: {err}");
            assert!(err.starts_with("run/events.jsonl:"), "{err}");
        }
        // Invalid UTF-8 in a complete line.
        let err = Events::parse(
            Path::new("events.jsonl"),
            &b"{\"t\":1,\"kind\":\"note\",\"text\":\"\xff\"}\n"[..],
        )
        .unwrap_err();
        assert!(matches!(err, ReadError::Line { line: 1, .. }), "{err}");
    }

    #[test]
    fn an_endless_line_is_refused_without_reading_it_all() {
        let mut text = "{\"t\":1,\"kind\":\"note\",\"text\":\"x\"}\n".to_string();
        text.push_str(&"x".repeat(3 << 20));
        let err = parse(&text).unwrap_err().to_string();
        assert!(
            err.contains("events.jsonl:2: longer than 1024 KiB"),
            "{err}"
        );
    }

    #[test]
    fn a_final_line_without_newline_is_fine_if_whole() {
        let events = parse("{\"t\":1,\"kind\":\"note\",\"text\":\"x\"}").unwrap();
        assert_eq!(events.len(), 1);
        assert!(!events.truncated());
    }

    #[test]
    fn a_journal_cut_at_any_byte_keeps_every_whole_line() {
        let text = SPEC_EXAMPLE.as_bytes();
        let line_ends: Vec<usize> = text
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .map(|(i, _)| i + 1)
            .collect();
        for cut in 0..=text.len() {
            let events = Events::parse(Path::new("events.jsonl"), &text[..cut])
                .unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
            let whole = line_ends.iter().filter(|&&end| end <= cut).count();
            let partial = !line_ends.contains(&cut) && cut != 0;
            // The one cut that still parses: the newline alone is missing.
            let parses_anyway = line_ends.contains(&(cut + 1));
            let expected = whole + usize::from(parses_anyway);
            assert_eq!(events.len(), expected, "cut at {cut}");
            assert_eq!(
                events.truncated(),
                partial && !parses_anyway,
                "cut at {cut}"
            );
            if events.truncated() {
                assert_eq!(events.truncated_line(), Some(whole as u64 + 1));
            }
        }
    }

    #[test]
    fn reads_what_the_journal_writer_writes() {
        let dir = tempfile::tempdir().unwrap();
        let mut journal = Journal::create(dir.path()).unwrap();
        journal
            .phase(0.0, "phone-a", "boot", Expect::any())
            .unwrap();
        journal
            .action(0.25, None, "net.isolate", true, Some("all links"))
            .unwrap();
        journal
            .phase(
                10.5,
                "phone-a",
                "off",
                Expect::any()
                    .rf_silent()
                    .net_none()
                    .power_off(Some(0.002))
                    .settle(1.5),
            )
            .unwrap();
        journal
            .phase(
                11.0,
                "phone-b",
                "online",
                Expect::any().allowlist(["example.org", "10.0.0.0/8"]),
            )
            .unwrap();
        journal
            .fault(12.0, "shield", "frames lost", Some("phone-a"))
            .unwrap();
        journal.note(13.0, "done").unwrap();
        journal.finish().unwrap();

        let events = Events::read(&dir.path().join("events.jsonl")).unwrap();
        assert!(!events.out_of_order() && !events.truncated());
        let got: Vec<(f64, RunEvent)> = events
            .all()
            .iter()
            .map(|e| (e.t, e.event.clone()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    0.0,
                    RunEvent::Phase(Phase {
                        dut: "phone-a".into(),
                        name: "boot".into(),
                        expect: PhaseExpect::default(),
                    })
                ),
                (
                    0.25,
                    RunEvent::Action(Action {
                        dut: None,
                        action: "net.isolate".into(),
                        ok: true,
                        detail: Some("all links".into()),
                    })
                ),
                (
                    10.5,
                    RunEvent::Phase(Phase {
                        dut: "phone-a".into(),
                        name: "off".into(),
                        expect: PhaseExpect {
                            rf: RfExpect::Silent,
                            net: NetExpect::None,
                            allow: vec![],
                            power: PowerExpect::Off,
                            off_current_a: 0.002,
                            settle_s: 1.5,
                        },
                    })
                ),
                (
                    11.0,
                    RunEvent::Phase(Phase {
                        dut: "phone-b".into(),
                        name: "online".into(),
                        expect: PhaseExpect {
                            net: NetExpect::Allowlist,
                            allow: vec!["example.org".into(), "10.0.0.0/8".into()],
                            ..PhaseExpect::default()
                        },
                    })
                ),
                (
                    12.0,
                    RunEvent::Fault(Fault {
                        source: "shield".into(),
                        detail: "frames lost".into(),
                        dut: Some("phone-a".into()),
                    })
                ),
                (
                    13.0,
                    RunEvent::Note {
                        text: "done".into()
                    }
                ),
            ]
        );
        assert_eq!(events.last_t(), Some(13.0));
    }

    #[test]
    fn a_missing_journal_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let err = Events::read(&dir.path().join("events.jsonl")).unwrap_err();
        assert!(matches!(err, ReadError::Missing { .. }), "{err}");
        assert!(err.to_string().contains("events.jsonl is missing"), "{err}");
    }
}
