//! `rf.sigmf-*` and `power.sigmf-*`, read: the metadata checked against the
//! spec, and the samples streamed frame by frame.
//!
//! The data file is never loaded: a day of 11 channels at 1 kS/s is ~3.8 GB.
//! [`SigmfReader::read_frames`] fills a caller's buffer through a
//! `BufReader`, [`SigmfReader::for_each_frame`] walks every frame with its
//! time, and [`SigmfReader::channel_values`] walks one channel over a
//! time range (reading the other channels' bytes along the way, which costs
//! less than seeking for each value).
//!
//! Time: sample `i` is at run time `t0 + i / core:sample_rate`. `t0` is the
//! first capture's `bench:t0` (seconds) when present. Without it, a first
//! capture whose `core:sample_start` is k > 0 says the stream started k
//! samples into the run (the spec lets a recorder record the offset either
//! way), so `t0 = k / rate`.
//!
//! A stream may have several captures (segments: the shield link dropped
//! and the recording resumed). Each later capture starts a segment at its
//! `core:sample_start` (an index into the data, counted from the first
//! capture's), and its `bench:t0` is the run time of that first sample;
//! without `bench:t0` the segment follows the one before without a gap.
//! The time between one segment's last sample and the next one's `bench:t0`
//! is unmeasured ([`SigmfReader::unmeasured`]). benchctl's own recorder
//! writes one capture and pads a gap with NaN, which says the same.
//!
//! A crash can leave a partial frame at the end of the data file (the
//! recorder writes whole frames, but the kernel may not have all of the last
//! write). The partial frame is ignored and reported by
//! [`SigmfReader::partial_frame_bytes`].

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::ReadError;

/// Which of the run directory's two SigMF recordings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    /// `rf.sigmf-*`: received power per band, dBm.
    Rf,
    /// `power.sigmf-*`: supply current per DUT, A.
    Power,
}

impl Stream {
    /// The file stem: `rf`, `power`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Rf => "rf",
            Self::Power => "power",
        }
    }

    /// The `bench:unit` the spec gives the stream.
    pub fn unit(self) -> &'static str {
        match self {
            Self::Rf => "dBm",
            Self::Power => "A",
        }
    }

    pub fn meta_path(self, dir: &Path) -> PathBuf {
        dir.join(format!("{}.sigmf-meta", self.name()))
    }

    pub fn data_path(self, dir: &Path) -> PathBuf {
        dir.join(format!("{}.sigmf-data", self.name()))
    }
}

/// `core:datatype`: the real (not complex) float types the reader takes.
/// The spec writes `rf32_le`; the others are what another tool may write for
/// the same values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SampleFormat {
    F32Le,
    F32Be,
    F64Le,
    F64Be,
}

impl SampleFormat {
    /// From a `core:datatype` value, or why not.
    pub fn parse(datatype: &str) -> Result<Self, String> {
        match datatype {
            "rf32_le" => Ok(Self::F32Le),
            "rf32_be" => Ok(Self::F32Be),
            "rf64_le" => Ok(Self::F64Le),
            "rf64_be" => Ok(Self::F64Be),
            complex if complex.starts_with('c') => Err(format!(
                "\"{complex}\" is complex (I/Q) data; the bench records one real value per \
                 channel (power in dBm, current in A): use rf32_le"
            )),
            other => Err(format!(
                "\"{other}\" is not supported: the bench records real floats (rf32_le; rf32_be, \
                 rf64_le and rf64_be are also read)"
            )),
        }
    }

    /// Bytes per value.
    pub fn size(self) -> usize {
        match self {
            Self::F32Le | Self::F32Be => 4,
            Self::F64Le | Self::F64Be => 8,
        }
    }

    pub fn datatype(self) -> &'static str {
        match self {
            Self::F32Le => "rf32_le",
            Self::F32Be => "rf32_be",
            Self::F64Le => "rf64_le",
            Self::F64Be => "rf64_be",
        }
    }

    /// One value from `bytes` (exactly `size()` long; anything else reads as
    /// NaN, which cannot happen with the chunking below).
    fn decode(self, bytes: &[u8]) -> f64 {
        fn array<const N: usize>(bytes: &[u8]) -> Option<[u8; N]> {
            bytes.try_into().ok()
        }
        let value = match self {
            Self::F32Le => array(bytes).map(|b| f64::from(f32::from_le_bytes(b))),
            Self::F32Be => array(bytes).map(|b| f64::from(f32::from_be_bytes(b))),
            Self::F64Le => array(bytes).map(f64::from_le_bytes),
            Self::F64Be => array(bytes).map(f64::from_be_bytes),
        };
        value.unwrap_or(f64::NAN)
    }
}

/// What a channel measures.
#[derive(Debug, Clone, PartialEq)]
pub enum ChannelKind {
    /// An RF band power detector (`rf`).
    Band {
        band: String,
        low_hz: f64,
        high_hz: f64,
    },
    /// A supply quantity (`power`), `"current"` today.
    Supply { quantity: String },
}

/// One `bench:channels` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Channel {
    /// The DUT it watches; None for the ambient reference antenna outside
    /// every enclosure (what it sees comes from the room).
    pub dut: Option<String>,
    pub kind: ChannelKind,
    /// `isolation_db` as written: how much weaker a signal from inside
    /// this antenna's enclosure reaches antennas outside it (and a signal
    /// from outside reaches this one). See [`Channel::isolation_db`].
    pub isolation_db: Option<f64>,
    /// The entry's other keys.
    pub extra: Map<String, Value>,
}

/// The isolation readers assume for an enclosure antenna that does not
/// say (`recording-format.md`).
pub const DEFAULT_ISOLATION_DB: f64 = 30.0;

impl Channel {
    /// The antenna's isolation from the room: as written, else
    /// [`DEFAULT_ISOLATION_DB`] for an enclosure's antenna; 0 for the
    /// ambient antenna, which is the room.
    pub fn isolation_db(&self) -> f64 {
        match (&self.dut, self.isolation_db) {
            (None, _) => 0.0,
            (Some(_), Some(db)) => db,
            (Some(_), None) => DEFAULT_ISOLATION_DB,
        }
    }

    /// The band name (rf) or quantity (power): what findings call the
    /// channel.
    pub fn label(&self) -> &str {
        match &self.kind {
            ChannelKind::Band { band, .. } => band,
            ChannelKind::Supply { quantity } => quantity,
        }
    }
}

/// One `captures` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Capture {
    pub sample_start: u64,
    /// `core:datetime`, as written.
    pub datetime: Option<String>,
    /// `bench:t0`.
    pub t0: Option<f64>,
    /// Every key, as written.
    pub fields: Map<String, Value>,
}

/// One `annotations` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Annotation {
    pub sample_start: u64,
    pub sample_count: Option<u64>,
    /// `core:label`.
    pub label: Option<String>,
    /// `bench:dut`.
    pub dut: Option<String>,
    /// Every key, as written.
    pub fields: Map<String, Value>,
}

impl Annotation {
    /// The phase name of a recorder's phase annotation (`core:label` =
    /// `"phase:<name>"`).
    pub fn phase_name(&self) -> Option<&str> {
        self.label.as_deref()?.strip_prefix("phase:")
    }
}

/// A capture segment: frames from `first_frame` on (to the next segment's
/// first) are at run time `t0 + (index - first_frame) / rate`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Segment {
    pub first_frame: u64,
    pub t0: f64,
}

/// A `.sigmf-meta` file, checked against the spec.
#[derive(Debug, Clone, PartialEq)]
pub struct SigmfMeta {
    pub datatype: SampleFormat,
    /// Samples per second per channel.
    pub sample_rate: f64,
    pub num_channels: usize,
    /// `bench:unit`: `dBm` for rf, `A` for power.
    pub unit: String,
    /// One per channel, in data order.
    pub channels: Vec<Channel>,
    /// Run time of sample 0, seconds (see the module docs).
    pub t0: f64,
    pub captures: Vec<Capture>,
    /// Where each capture segment starts in the data and in run time, in
    /// order; the first starts at frame 0 and time `t0`.
    pub segments: Vec<Segment>,
    pub annotations: Vec<Annotation>,
    /// The whole `global` object, for keys this reader does not interpret
    /// (`core:version`, `core:extensions`, ...).
    pub global: Map<String, Value>,
}

impl SigmfMeta {
    /// Parse and check a meta document of `stream`; `path` names the file in
    /// errors.
    pub fn parse(path: &Path, bytes: &[u8], stream: Stream) -> Result<Self, ReadError> {
        let doc: Value = serde_json::from_slice(bytes).map_err(|source| ReadError::Json {
            path: path.to_path_buf(),
            source,
        })?;
        let key_err = |key: &str, detail: String| ReadError::key(path, key, detail);
        let Value::Object(mut doc) = doc else {
            return Err(key_err(
                "(top level)",
                "not a JSON object with global, captures, annotations".into(),
            ));
        };
        let global = match doc.remove("global") {
            Some(Value::Object(global)) => global,
            None => return Err(key_err("global", "missing".into())),
            Some(other) => return Err(key_err("global", format!("is {other}, not an object"))),
        };

        let datatype = match global.get("core:datatype") {
            Some(Value::String(s)) => {
                SampleFormat::parse(s).map_err(|why| key_err("global.core:datatype", why))?
            }
            None => return Err(key_err("global.core:datatype", "missing".into())),
            Some(other) => {
                return Err(key_err(
                    "global.core:datatype",
                    format!("is {other}, not a string"),
                ));
            }
        };

        let sample_rate = match global.get("core:sample_rate") {
            None => {
                return Err(key_err(
                    "global.core:sample_rate",
                    "missing: without it no sample has a time".into(),
                ));
            }
            Some(v) => v
                .as_f64()
                .filter(|r| r.is_finite() && *r > 0.0)
                .ok_or_else(|| {
                    key_err(
                        "global.core:sample_rate",
                        format!("is {v}, not a positive number of samples per second"),
                    )
                })?,
        };

        let num_channels = match global.get("core:num_channels") {
            None => 1,
            Some(v) => v
                .as_u64()
                .filter(|&n| n > 0)
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| {
                    key_err(
                        "global.core:num_channels",
                        format!("is {v}, not a channel count of 1 or more"),
                    )
                })?,
        };

        let unit = match global.get("bench:unit") {
            Some(Value::String(unit)) if unit == stream.unit() => unit.clone(),
            Some(other) => {
                return Err(key_err(
                    "global.bench:unit",
                    format!(
                        "is {other}; {} values are in \"{}\"",
                        stream.name(),
                        stream.unit()
                    ),
                ));
            }
            None => {
                return Err(key_err(
                    "global.bench:unit",
                    format!(
                        "missing; {} values are in \"{}\"",
                        stream.name(),
                        stream.unit()
                    ),
                ));
            }
        };

        let channels = match global.get("bench:channels") {
            Some(Value::Array(list)) => list
                .iter()
                .enumerate()
                .map(|(i, entry)| parse_channel(path, i, entry, stream))
                .collect::<Result<Vec<_>, _>>()?,
            None => {
                return Err(key_err(
                    "global.bench:channels",
                    "missing: without it no channel can be tied to a DUT".into(),
                ));
            }
            Some(other) => {
                return Err(key_err(
                    "global.bench:channels",
                    format!("is {other}, not a list"),
                ));
            }
        };
        if channels.len() != num_channels {
            return Err(key_err(
                "global.bench:channels",
                format!(
                    "lists {} channels, core:num_channels says {num_channels}",
                    channels.len()
                ),
            ));
        }

        let captures = match doc.get("captures") {
            Some(Value::Array(list)) => list
                .iter()
                .enumerate()
                .map(|(i, entry)| parse_capture(path, i, entry))
                .collect::<Result<Vec<_>, _>>()?,
            None => return Err(key_err("captures", "missing".into())),
            Some(other) => return Err(key_err("captures", format!("is {other}, not a list"))),
        };
        let Some(first) = captures.first() else {
            return Err(key_err(
                "captures",
                "empty: the spec asks for at least one capture (with core:datetime)".into(),
            ));
        };
        let t0 = match first.t0 {
            Some(t0) => t0,
            None => first.sample_start as f64 / sample_rate,
        };
        let segments = segments(path, &captures, t0, sample_rate)?;

        // SigMF requires the key, but an empty list and a missing one say the
        // same.
        let annotations = match doc.get("annotations") {
            Some(Value::Array(list)) => list
                .iter()
                .enumerate()
                .map(|(i, entry)| parse_annotation(path, i, entry))
                .collect::<Result<Vec<_>, _>>()?,
            None | Some(Value::Null) => Vec::new(),
            Some(other) => {
                return Err(key_err("annotations", format!("is {other}, not a list")));
            }
        };

        Ok(Self {
            datatype,
            sample_rate,
            num_channels,
            unit,
            channels,
            t0,
            captures,
            segments,
            annotations,
            global,
        })
    }

    /// Bytes per frame (one value per channel).
    pub fn frame_bytes(&self) -> usize {
        self.num_channels.saturating_mul(self.datatype.size())
    }
}

fn as_object<'a>(
    path: &Path,
    key: &str,
    entry: &'a Value,
) -> Result<&'a Map<String, Value>, ReadError> {
    entry
        .as_object()
        .ok_or_else(|| ReadError::key(path, key, format!("is {entry}, not an object")))
}

fn optional_string(
    path: &Path,
    key: &str,
    map: &Map<String, Value>,
    name: &str,
) -> Result<Option<String>, ReadError> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(ReadError::key(
            path,
            format!("{key}.{name}"),
            format!("is {other}, not a string"),
        )),
    }
}

fn required_string(
    path: &Path,
    key: &str,
    map: &Map<String, Value>,
    name: &str,
) -> Result<String, ReadError> {
    optional_string(path, key, map, name)?
        .ok_or_else(|| ReadError::key(path, format!("{key}.{name}"), "missing"))
}

fn sample_index(
    path: &Path,
    key: &str,
    map: &Map<String, Value>,
    name: &str,
) -> Result<Option<u64>, ReadError> {
    match map.get(name) {
        None => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or_else(|| {
            ReadError::key(
                path,
                format!("{key}.{name}"),
                format!("is {v}, not a sample index (a whole number, 0 or more)"),
            )
        }),
    }
}

fn parse_channel(
    path: &Path,
    index: usize,
    entry: &Value,
    stream: Stream,
) -> Result<Channel, ReadError> {
    let key = format!("global.bench:channels[{index}]");
    let map = as_object(path, &key, entry)?;
    // The key must be there (the spec lists it); null is the ambient antenna.
    if !map.contains_key("dut") {
        return Err(ReadError::key(
            path,
            format!("{key}.dut"),
            "missing (null for an ambient channel that watches no DUT)",
        ));
    }
    let dut = optional_string(path, &key, map, "dut")?;
    let kind = match stream {
        Stream::Rf => {
            let band = required_string(path, &key, map, "band")?;
            let hz = |name: &str| -> Result<f64, ReadError> {
                match map.get(name) {
                    None => Err(ReadError::key(path, format!("{key}.{name}"), "missing")),
                    Some(v) => v
                        .as_f64()
                        .filter(|f| f.is_finite() && *f >= 0.0)
                        .ok_or_else(|| {
                            ReadError::key(
                                path,
                                format!("{key}.{name}"),
                                format!("is {v}, not a frequency in Hz"),
                            )
                        }),
                }
            };
            let low_hz = hz("low_hz")?;
            let high_hz = hz("high_hz")?;
            if low_hz > high_hz {
                return Err(ReadError::key(
                    path,
                    key,
                    format!("low_hz {low_hz} is above high_hz {high_hz}"),
                ));
            }
            ChannelKind::Band {
                band,
                low_hz,
                high_hz,
            }
        }
        Stream::Power => ChannelKind::Supply {
            quantity: required_string(path, &key, map, "quantity")?,
        },
    };
    let isolation_db = match map.get("isolation_db") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_f64()
                .filter(|db| db.is_finite() && *db >= 0.0)
                .ok_or_else(|| {
                    ReadError::key(
                        path,
                        format!("{key}.isolation_db"),
                        format!("is {v}, not an isolation in dB (0 or more)"),
                    )
                })?,
        ),
    };
    let mut extra = map.clone();
    for known in [
        "dut",
        "band",
        "low_hz",
        "high_hz",
        "quantity",
        "isolation_db",
    ] {
        extra.remove(known);
    }
    Ok(Channel {
        dut,
        kind,
        isolation_db,
        extra,
    })
}

/// The capture segments in data and run time: each later capture's
/// `core:sample_start` counts from the first capture's; a segment may not
/// start before the one before it ends (time runs one way).
fn segments(
    path: &Path,
    captures: &[Capture],
    t0: f64,
    rate: f64,
) -> Result<Vec<Segment>, ReadError> {
    let base = captures.first().map_or(0, |c| c.sample_start);
    let mut segments = vec![Segment { first_frame: 0, t0 }];
    for (i, capture) in captures.iter().enumerate().skip(1) {
        let key = format!("captures[{i}]");
        let prev = segments[segments.len() - 1];
        let first_frame = capture.sample_start.checked_sub(base).ok_or_else(|| {
            ReadError::key(
                path,
                format!("{key}.core:sample_start"),
                format!(
                    "is {}, before the first capture's {base}",
                    capture.sample_start
                ),
            )
        })?;
        if first_frame <= prev.first_frame {
            return Err(ReadError::key(
                path,
                format!("{key}.core:sample_start"),
                format!(
                    "is {}: captures must start at increasing samples",
                    capture.sample_start
                ),
            ));
        }
        // Where the segment before ends if this one follows it at once.
        let follows = prev.t0 + (first_frame - prev.first_frame) as f64 / rate;
        let seg_t0 = capture.t0.unwrap_or(follows);
        if seg_t0 < follows - 0.5 / rate || !seg_t0.is_finite() {
            return Err(ReadError::key(
                path,
                format!("{key}.bench:t0"),
                format!(
                    "is {seg_t0}, before the previous segment ends ({follows:.6} s): time in a recording runs one way"
                ),
            ));
        }
        segments.push(Segment {
            first_frame,
            t0: seg_t0,
        });
    }
    Ok(segments)
}

fn parse_capture(path: &Path, index: usize, entry: &Value) -> Result<Capture, ReadError> {
    let key = format!("captures[{index}]");
    let map = as_object(path, &key, entry)?;
    let sample_start = sample_index(path, &key, map, "core:sample_start")?
        .ok_or_else(|| ReadError::key(path, format!("{key}.core:sample_start"), "missing"))?;
    let t0 = match map.get("bench:t0") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_f64().filter(|t| t.is_finite()).ok_or_else(|| {
            ReadError::key(
                path,
                format!("{key}.bench:t0"),
                format!("is {v}, not a time in seconds"),
            )
        })?),
    };
    Ok(Capture {
        sample_start,
        datetime: optional_string(path, &key, map, "core:datetime")?,
        t0,
        fields: map.clone(),
    })
}

fn parse_annotation(path: &Path, index: usize, entry: &Value) -> Result<Annotation, ReadError> {
    let key = format!("annotations[{index}]");
    let map = as_object(path, &key, entry)?;
    Ok(Annotation {
        sample_start: sample_index(path, &key, map, "core:sample_start")?
            .ok_or_else(|| ReadError::key(path, format!("{key}.core:sample_start"), "missing"))?,
        sample_count: sample_index(path, &key, map, "core:sample_count")?,
        label: optional_string(path, &key, map, "core:label")?,
        dut: optional_string(path, &key, map, "bench:dut")?,
        fields: map.clone(),
    })
}

/// The most bytes one `read_frames` call reads: keeps memory flat whatever
/// `max_frames` the caller asks for.
const MAX_CHUNK_BYTES: usize = 1 << 20;

/// Streams one SigMF recording.
#[derive(Debug)]
pub struct SigmfReader {
    meta_path: PathBuf,
    data_path: PathBuf,
    meta: SigmfMeta,
    data: BufReader<File>,
    /// Whole frames in the data file.
    frames: u64,
    /// Bytes of a partial last frame, ignored.
    partial_bytes: u64,
    /// The frame the next read starts at.
    position: u64,
    /// Reused for reading.
    bytes: Vec<u8>,
}

impl SigmfReader {
    /// Open `<dir>/rf.sigmf-*` or `<dir>/power.sigmf-*`.
    pub fn open(dir: &Path, stream: Stream) -> Result<Self, ReadError> {
        Self::open_files(&stream.meta_path(dir), &stream.data_path(dir), stream)
    }

    /// Open a recording of `stream` under any file names.
    pub fn open_files(
        meta_path: &Path,
        data_path: &Path,
        stream: Stream,
    ) -> Result<Self, ReadError> {
        let missing = |path: &Path, why: String| ReadError::Missing {
            path: path.to_path_buf(),
            why,
        };
        let meta_bytes = crate::input::read_document(meta_path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                missing(
                    meta_path,
                    format!(
                        "a SigMF recording is a .sigmf-meta and a .sigmf-data file; without the meta file the {} data cannot be read",
                        stream.name()
                    ),
                )
            } else {
                ReadError::io(meta_path)(e)
            }
        })?;
        let meta = SigmfMeta::parse(meta_path, &meta_bytes, stream)?;
        let file = crate::input::open(data_path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                missing(
                    data_path,
                    format!(
                        "{} names a recording whose samples are not there",
                        meta_path.display()
                    ),
                )
            } else {
                ReadError::io(data_path)(e)
            }
        })?;
        let len = file.metadata().map_err(ReadError::io(data_path))?.len();
        // Both at least 4: nonzero.
        let frame_bytes = meta.frame_bytes().max(1) as u64;
        Ok(Self {
            meta_path: meta_path.to_path_buf(),
            data_path: data_path.to_path_buf(),
            meta,
            data: BufReader::with_capacity(1 << 16, file),
            frames: len / frame_bytes,
            partial_bytes: len % frame_bytes,
            position: 0,
            bytes: Vec::new(),
        })
    }

    pub fn meta(&self) -> &SigmfMeta {
        &self.meta
    }

    pub fn meta_path(&self) -> &Path {
        &self.meta_path
    }

    pub fn data_path(&self) -> &Path {
        &self.data_path
    }

    pub fn channels(&self) -> &[Channel] {
        &self.meta.channels
    }

    pub fn num_channels(&self) -> usize {
        self.meta.num_channels
    }

    pub fn sample_rate(&self) -> f64 {
        self.meta.sample_rate
    }

    /// Run time of sample 0, seconds.
    pub fn t0(&self) -> f64 {
        self.meta.t0
    }

    /// Whole frames in the data file (a partial last frame not counted).
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Bytes of a partial frame at the end of the data file, ignored: a
    /// recorder that crashed mid-write.
    pub fn partial_frame_bytes(&self) -> u64 {
        self.partial_bytes
    }

    /// True if the data file ends in a partial frame.
    pub fn truncated(&self) -> bool {
        self.partial_bytes > 0
    }

    /// Run time of frame `index`: its segment's `t0` plus its place in the
    /// segment over `sample_rate` (one segment: `t0 + index / sample_rate`).
    pub fn t_of(&self, index: u64) -> f64 {
        let segments = &self.meta.segments;
        let k = segments
            .partition_point(|s| s.first_frame <= index)
            .saturating_sub(1);
        let s = segments.get(k).copied().unwrap_or(Segment {
            first_frame: 0,
            t0: self.meta.t0,
        });
        s.t0 + (index - s.first_frame.min(index)) as f64 / self.meta.sample_rate
    }

    /// The run time the recording did not measure between its capture
    /// segments: `(from, to)`, from just after one segment's last frame to
    /// the next segment's first. Empty for one segment (benchctl's own
    /// recordings: a lost frame there is a NaN).
    pub fn unmeasured(&self) -> Vec<(f64, f64)> {
        let period = 1.0 / self.meta.sample_rate;
        self.meta
            .segments
            .windows(2)
            .filter(|w| w[1].first_frame <= self.frames)
            .filter_map(|w| {
                let ends = self.t_of(w[1].first_frame - 1) + period;
                (w[1].t0 > ends + 0.5 * period).then_some((ends, w[1].t0))
            })
            .collect()
    }

    /// Run time just after the last whole frame: where the recording ends.
    pub fn end_t(&self) -> f64 {
        self.t_of(self.frames)
    }

    /// The first frame at or after run time `t`, in `0..=frames()`.
    pub fn frame_at_or_after(&self, t: f64) -> u64 {
        if t.is_nan() {
            return self.frames;
        }
        let segments = &self.meta.segments;
        for (k, s) in segments.iter().enumerate() {
            let end = segments
                .get(k + 1)
                .map_or(self.frames, |next| next.first_frame)
                .min(self.frames);
            if end <= s.first_frame || self.t_of(end - 1) < t {
                continue; // the whole segment is before `t`
            }
            let estimate = ((t - s.t0) * self.meta.sample_rate).ceil();
            // `as` saturates: negative to 0, huge to u64::MAX.
            let mut index = s
                .first_frame
                .saturating_add(estimate.max(0.0) as u64)
                .min(end - 1);
            // Rounding in the estimate can be off by one either way; settle
            // it against `t_of`, the one definition of a frame's time.
            while index > s.first_frame && self.t_of(index - 1) >= t {
                index -= 1;
            }
            while index < end - 1 && self.t_of(index) < t {
                index += 1;
            }
            return index;
        }
        self.frames
    }

    /// The frame the next `read_frames` starts at.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Continue reading at frame `index` (clamped to the end).
    pub fn seek_frame(&mut self, index: u64) -> Result<(), ReadError> {
        let index = index.min(self.frames);
        let byte = index.saturating_mul(self.meta.frame_bytes() as u64);
        self.data
            .seek(SeekFrom::Start(byte))
            .map_err(ReadError::io(&self.data_path))?;
        self.position = index;
        Ok(())
    }

    /// Read up to `max_frames` whole frames into `buf` (cleared first),
    /// channels interleaved as in the file, NaN kept. Returns the number of
    /// frames read: 0 only at the end. May return fewer than asked (at most
    /// ~1 MiB of data per call, so memory stays flat).
    pub fn read_frames(
        &mut self,
        buf: &mut Vec<f64>,
        max_frames: usize,
    ) -> Result<usize, ReadError> {
        buf.clear();
        let frame_bytes = self.meta.frame_bytes().max(1);
        let left = self.frames.saturating_sub(self.position);
        let chunk_frames = (MAX_CHUNK_BYTES / frame_bytes).max(1);
        let n = usize::try_from(left)
            .unwrap_or(usize::MAX)
            .min(max_frames)
            .min(chunk_frames);
        if n == 0 {
            return Ok(0);
        }
        self.bytes.resize(n * frame_bytes, 0);
        let at = self.position.saturating_mul(frame_bytes as u64);
        self.data.read_exact(&mut self.bytes).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                ReadError::bytes(
                    &self.data_path,
                    at,
                    "the data file got shorter while it was being read",
                )
            } else {
                ReadError::io(&self.data_path)(e)
            }
        })?;
        let format = self.meta.datatype;
        buf.extend(
            self.bytes
                .chunks_exact(format.size())
                .map(|v| format.decode(v)),
        );
        self.position += n as u64;
        Ok(n)
    }

    /// Call `f(t, frame)` for every whole frame from the first, in order:
    /// `t` is the frame's run time, `frame` its values, channels in data
    /// order, NaN kept. Returns the number of frames seen.
    ///
    /// The frames are read in blocks into one buffer reused to the end, so
    /// memory stays flat however long the recording (a day of power is
    /// gigabytes). On an error the frames before it have been seen, so a
    /// caller can keep what it has (a plot up to the error).
    pub fn for_each_frame(&mut self, mut f: impl FnMut(f64, &[f64])) -> Result<u64, ReadError> {
        self.seek_frame(0)?;
        let n = self.num_channels().max(1);
        let mut buf = Vec::new();
        let mut index = 0u64;
        // The segment under way and where the next starts: the time of a
        // frame without a search per frame.
        let segments = self.meta.segments.clone();
        let rate = self.meta.sample_rate;
        let mut k = 0;
        let whole = Segment {
            first_frame: 0,
            t0: self.meta.t0,
        };
        let mut s = segments.first().copied().unwrap_or(whole);
        let mut next_start = segments.get(1).map_or(u64::MAX, |s| s.first_frame);
        while self.read_frames(&mut buf, 65_536)? > 0 {
            for frame in buf.chunks_exact(n) {
                if index >= next_start {
                    while index >= next_start {
                        k += 1;
                        next_start = segments.get(k + 1).map_or(u64::MAX, |s| s.first_frame);
                    }
                    s = segments.get(k).copied().unwrap_or(whole);
                }
                f(s.t0 + (index - s.first_frame) as f64 / rate, frame);
                index += 1;
            }
        }
        Ok(index)
    }

    /// Walk channel `channel`'s samples with `start_t <= t < end_t`, reading
    /// through the data in chunks (memory stays flat). Moves the read
    /// position.
    pub fn channel_values(
        &mut self,
        channel: usize,
        start_t: f64,
        end_t: f64,
    ) -> Result<ChannelValues<'_>, ReadError> {
        if channel >= self.meta.num_channels {
            return Err(ReadError::key(
                &self.meta_path,
                "global.bench:channels",
                format!(
                    "channel {channel} asked for, the recording has {}",
                    self.meta.num_channels
                ),
            ));
        }
        let first = self.frame_at_or_after(start_t);
        let end = self.frame_at_or_after(end_t).max(first);
        self.seek_frame(first)?;
        Ok(ChannelValues {
            reader: self,
            channel,
            next: first,
            end,
            buf: Vec::new(),
            at: 0,
        })
    }
}

/// One sample of one channel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Frame index in the recording.
    pub index: u64,
    /// Run time, seconds.
    pub t: f64,
    /// NaN for a missing sample.
    pub value: f64,
}

/// The iterator of [`SigmfReader::channel_values`].
#[derive(Debug)]
pub struct ChannelValues<'a> {
    reader: &'a mut SigmfReader,
    channel: usize,
    /// Frame index of the next sample.
    next: u64,
    end: u64,
    /// Frames read ahead; `at` is the next frame in it.
    buf: Vec<f64>,
    at: usize,
}

impl Iterator for ChannelValues<'_> {
    type Item = Result<Sample, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.end {
            return None;
        }
        let channels = self.reader.meta.num_channels;
        if self.at * channels >= self.buf.len() {
            let want = usize::try_from(self.end - self.next)
                .unwrap_or(usize::MAX)
                .min(4096);
            match self.reader.read_frames(&mut self.buf, want) {
                Ok(0) => {
                    self.next = self.end;
                    return None;
                }
                Ok(_) => self.at = 0,
                Err(e) => {
                    // Stop after an error rather than repeat it forever.
                    self.next = self.end;
                    return Some(Err(e));
                }
            }
        }
        let value = self
            .buf
            .get(self.at * channels + self.channel)
            .copied()
            .unwrap_or(f64::NAN);
        let sample = Sample {
            index: self.next,
            t: self.reader.t_of(self.next),
            value,
        };
        self.at += 1;
        self.next += 1;
        Some(Ok(sample))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sigmf::{SigmfWriter, Unit, current_channel, rf_channel};
    use serde_json::json;

    const STARTED: &str = "2026-11-26T15:30:00.000Z";

    fn rf_writer(dir: &Path) -> SigmfWriter {
        SigmfWriter::create(
            dir,
            "rf",
            1000.0,
            vec![
                rf_channel(Some("phone-a"), "lte-b3-ul", 1_710_000_000, 1_785_000_000),
                rf_channel(Some("phone-b"), "wifi-2g4", 2_400_000_000, 2_483_500_000),
                rf_channel(None, "lte-b3-ul", 1_710_000_000, 1_785_000_000),
            ],
            Unit::Dbm,
            STARTED,
        )
        .unwrap()
    }

    fn value(i: u64, c: usize) -> f32 {
        -90.0 + i as f32 * 0.25 + c as f32 * 0.01
    }

    #[test]
    fn reads_what_the_writer_writes() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = rf_writer(dir.path());
        writer.set_t0(1.25).unwrap();
        for i in 0..10u64 {
            writer
                .push_frame(&[value(i, 0), value(i, 1), value(i, 2)])
                .unwrap();
        }
        writer.push_missing(5).unwrap();
        for i in 15..20u64 {
            writer
                .push_frame(&[value(i, 0), value(i, 1), value(i, 2)])
                .unwrap();
        }
        writer.annotate_phase(0, 10, "boot", "phone-a").unwrap();
        writer
            .annotate_phase(10, 10, "airplane", "phone-a")
            .unwrap();
        writer.finish().unwrap();

        let mut reader = SigmfReader::open(dir.path(), Stream::Rf).unwrap();
        let meta = reader.meta().clone();
        assert_eq!(meta.datatype, SampleFormat::F32Le);
        assert_eq!(meta.sample_rate, 1000.0);
        assert_eq!(meta.num_channels, 3);
        assert_eq!(meta.unit, "dBm");
        assert_eq!(meta.t0, 1.25);
        assert_eq!(meta.global["core:version"], "1.0.0");
        assert_eq!(
            meta.channels[0],
            Channel {
                dut: Some("phone-a".into()),
                kind: ChannelKind::Band {
                    band: "lte-b3-ul".into(),
                    low_hz: 1.71e9,
                    high_hz: 1.785e9,
                },
                isolation_db: None,
                extra: Map::new(),
            }
        );
        assert_eq!(meta.channels[2].dut, None);
        assert_eq!(meta.channels[1].label(), "wifi-2g4");
        assert_eq!(meta.captures.len(), 1);
        assert_eq!(meta.captures[0].sample_start, 0);
        assert_eq!(meta.captures[0].datetime.as_deref(), Some(STARTED));
        assert_eq!(meta.captures[0].t0, Some(1.25));
        let phases: Vec<_> = meta
            .annotations
            .iter()
            .map(|a| {
                (
                    a.sample_start,
                    a.sample_count,
                    a.phase_name(),
                    a.dut.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            phases,
            [
                (0, Some(10), Some("boot"), Some("phone-a")),
                (10, Some(10), Some("airplane"), Some("phone-a")),
            ]
        );

        assert_eq!(reader.frames(), 20);
        assert!(!reader.truncated());
        assert_eq!(reader.t_of(0), 1.25);
        assert_eq!(reader.t_of(4), 1.25 + 4.0 / 1000.0);
        assert_eq!(reader.end_t(), 1.25 + 20.0 / 1000.0);

        // Read in odd-sized chunks; compare every value exactly.
        let mut all = Vec::new();
        let mut buf = Vec::new();
        loop {
            let n = reader.read_frames(&mut buf, 3).unwrap();
            if n == 0 {
                break;
            }
            assert_eq!(buf.len(), n * 3);
            all.extend_from_slice(&buf);
        }
        assert_eq!(all.len(), 60);
        for i in 0..20u64 {
            for c in 0..3 {
                let got = all[i as usize * 3 + c];
                if (10..15).contains(&i) {
                    assert!(got.is_nan(), "frame {i} channel {c}: {got}");
                } else {
                    assert_eq!(got, f64::from(value(i, c)), "frame {i} channel {c}");
                }
            }
        }
        assert_eq!(reader.read_frames(&mut buf, 100).unwrap(), 0);

        // for_each_frame starts from the first frame wherever the reader
        // stands, and gives each frame with its time.
        let mut seen = Vec::new();
        let count = reader
            .for_each_frame(|t, frame| seen.push((t, frame.to_vec())))
            .unwrap();
        assert_eq!(count, 20);
        assert_eq!(seen.len(), 20);
        for (i, (t, frame)) in seen.iter().enumerate() {
            assert_eq!(*t, reader.t_of(i as u64));
            let want = &all[i * 3..i * 3 + 3];
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(frame), bits(want), "frame {i}");
        }

        // One channel over a time range: frames 8..=16 are t in [1.258, 1.267).
        let samples: Vec<Sample> = reader
            .channel_values(1, reader.t_of(8), reader.t_of(17))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(samples.len(), 9);
        for s in &samples {
            assert_eq!(s.t, reader.t_of(s.index));
            if (10..15).contains(&s.index) {
                assert!(s.value.is_nan());
            } else {
                assert_eq!(s.value, f64::from(value(s.index, 1)));
            }
        }
        assert_eq!(samples[0].index, 8);
        assert_eq!(samples[8].index, 16);
        // Ranges outside the recording are empty or clamped.
        assert_eq!(reader.channel_values(0, -10.0, 0.0).unwrap().count(), 0);
        assert_eq!(reader.channel_values(0, 0.0, 1e12).unwrap().count(), 20);
        assert!(reader.channel_values(3, 0.0, 1.0).is_err());
    }

    #[test]
    fn reads_a_power_recording() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = SigmfWriter::create(
            dir.path(),
            "power",
            10.0,
            vec![current_channel(Some("phone-a"))],
            Unit::Ampere,
            STARTED,
        )
        .unwrap();
        writer.push_frames(&[0.1, 0.2, f32::NAN, 0.004]).unwrap();
        writer.finish().unwrap();
        let mut reader = SigmfReader::open(dir.path(), Stream::Power).unwrap();
        assert_eq!(reader.meta().unit, "A");
        assert_eq!(reader.meta().t0, 0.0);
        assert_eq!(
            reader.channels()[0].kind,
            ChannelKind::Supply {
                quantity: "current".into()
            }
        );
        let mut buf = Vec::new();
        assert_eq!(reader.read_frames(&mut buf, 100).unwrap(), 4);
        assert_eq!(buf[0], f64::from(0.1f32));
        assert!(buf[2].is_nan());
        assert_eq!(buf[3], f64::from(0.004f32));
        // The rf reader refuses a power recording by its unit.
        std::fs::rename(
            dir.path().join("power.sigmf-meta"),
            dir.path().join("rf.sigmf-meta"),
        )
        .unwrap();
        std::fs::rename(
            dir.path().join("power.sigmf-data"),
            dir.path().join("rf.sigmf-data"),
        )
        .unwrap();
        let err = SigmfReader::open(dir.path(), Stream::Rf)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("key global.bench:unit: is \"A\"; rf values are in \"dBm\""),
            "{err}"
        );
    }

    #[test]
    fn a_data_file_cut_at_any_byte_keeps_the_whole_frames() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = rf_writer(dir.path());
        for i in 0..4u64 {
            writer
                .push_frame(&[value(i, 0), value(i, 1), value(i, 2)])
                .unwrap();
        }
        writer.push_missing(1).unwrap();
        writer.finish().unwrap();
        let data_path = dir.path().join("rf.sigmf-data");
        let full = std::fs::read(&data_path).unwrap();
        assert_eq!(full.len(), 5 * 12);
        for cut in 0..=full.len() {
            std::fs::write(&data_path, &full[..cut]).unwrap();
            let mut reader = SigmfReader::open(dir.path(), Stream::Rf).unwrap();
            assert_eq!(reader.frames(), cut as u64 / 12, "cut at {cut}");
            assert_eq!(reader.partial_frame_bytes(), cut as u64 % 12);
            assert_eq!(reader.truncated(), cut % 12 != 0);
            let mut buf = Vec::new();
            let mut frames = 0u64;
            while reader.read_frames(&mut buf, 2).unwrap() > 0 {
                for (k, v) in buf.iter().enumerate() {
                    let (i, c) = (frames + (k / 3) as u64, k % 3);
                    if i == 4 {
                        assert!(v.is_nan());
                    } else {
                        assert_eq!(*v, f64::from(value(i, c)));
                    }
                }
                frames += buf.len() as u64 / 3;
            }
            assert_eq!(frames, cut as u64 / 12);
        }
    }

    fn write_foreign(dir: &Path, meta: &Value, data: &[u8]) {
        std::fs::write(dir.join("rf.sigmf-meta"), serde_json::to_vec(meta).unwrap()).unwrap();
        std::fs::write(dir.join("rf.sigmf-data"), data).unwrap();
    }

    fn foreign_meta() -> Value {
        json!({
            "global": {
                "core:datatype": "rf64_be",
                "core:sample_rate": 4,
                "core:num_channels": 2,
                "core:version": "1.2.0",
                "core:author": "somebody else",
                "bench:unit": "dBm",
                "bench:channels": [
                    {"dut": "phone-a", "band": "b3", "low_hz": 1.71e9, "high_hz": 1.785e9, "gain_db": 3},
                    {"dut": null, "band": "b3", "low_hz": 1710000000, "high_hz": 1785000000}
                ]
            },
            "captures": [
                {"core:sample_start": 8, "core:datetime": STARTED},
                {"core:sample_start": 12, "core:frequency": 1.7e9}
            ],
            "annotations": [
                {"core:sample_start": 9, "core:label": "burst", "core:comment": "hand-made"}
            ],
            "extra_top_level": true
        })
    }

    /// Three segments at 4 S/s: frames 0-3 from t = 2, frames 4-5 from
    /// t = 5 (a second unmeasured between), frames 6-7 following at once.
    #[test]
    fn capture_segments_keep_their_own_time() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..16)
            .flat_map(|i| (-80.0 - f64::from(i)).to_be_bytes())
            .collect();
        let mut meta = foreign_meta();
        meta["captures"] = json!([
            {"core:sample_start": 8, "core:datetime": STARTED},
            {"core:sample_start": 12, "bench:t0": 5.0},
            {"core:sample_start": 14},
        ]);
        write_foreign(dir.path(), &meta, &data);
        let mut reader = SigmfReader::open(dir.path(), Stream::Rf).unwrap();
        assert_eq!(reader.frames(), 8);
        let times: Vec<f64> = (0..8).map(|i| reader.t_of(i)).collect();
        assert_eq!(times, [2.0, 2.25, 2.5, 2.75, 5.0, 5.25, 5.5, 5.75]);
        assert_eq!(reader.unmeasured(), [(3.0, 5.0)]);
        assert_eq!(reader.end_t(), 6.0);
        for (t, want) in [
            (0.0, 0),
            (2.1, 1),
            (2.75, 3),
            (2.9, 4),
            (4.0, 4),
            (5.0, 4),
            (5.6, 7),
            (6.0, 8),
        ] {
            assert_eq!(reader.frame_at_or_after(t), want, "at {t}");
        }
        let mut seen = Vec::new();
        reader.for_each_frame(|t, _| seen.push(t)).unwrap();
        assert_eq!(seen, times);
        let values: Vec<f64> = reader
            .channel_values(0, 2.6, 5.3)
            .unwrap()
            .map(|s| s.unwrap().t)
            .collect();
        assert_eq!(values, [2.75, 5.0, 5.25]);

        // Time runs one way; samples count up.
        for (captures, wrong) in [
            (
                json!([{"core:sample_start": 8}, {"core:sample_start": 12, "bench:t0": 2.5}]),
                "captures[1].bench:t0: is 2.5, before the previous segment ends",
            ),
            (
                json!([{"core:sample_start": 8}, {"core:sample_start": 8}]),
                "captures[1].core:sample_start: is 8: captures must start at increasing samples",
            ),
            (
                json!([{"core:sample_start": 8}, {"core:sample_start": 4}]),
                "captures[1].core:sample_start: is 4, before the first capture's 8",
            ),
        ] {
            meta["captures"] = captures;
            write_foreign(dir.path(), &meta, &data);
            let e = SigmfReader::open(dir.path(), Stream::Rf)
                .unwrap_err()
                .to_string();
            assert!(e.contains(wrong), "{e}");
        }
    }

    #[test]
    fn reads_a_foreign_big_endian_recording_with_several_captures() {
        let dir = tempfile::tempdir().unwrap();
        let values = [-80.5f64, -81.0, f64::NAN, -82.0, -83.25, 1e-300];
        let data: Vec<u8> = values.iter().flat_map(|v| v.to_be_bytes()).collect();
        write_foreign(dir.path(), &foreign_meta(), &data);
        let mut reader = SigmfReader::open(dir.path(), Stream::Rf).unwrap();
        let meta = reader.meta();
        assert_eq!(meta.datatype, SampleFormat::F64Be);
        // No bench:t0: the first capture's sample_start places sample 0.
        assert_eq!(meta.t0, 2.0);
        assert_eq!(meta.captures.len(), 2);
        assert_eq!(meta.captures[1].fields["core:frequency"], 1.7e9);
        assert_eq!(meta.annotations[0].label.as_deref(), Some("burst"));
        assert_eq!(meta.annotations[0].phase_name(), None);
        assert_eq!(meta.channels[0].extra["gain_db"], 3);
        assert_eq!(reader.frames(), 3);
        assert_eq!(reader.t_of(1), 2.25);
        let mut buf = Vec::new();
        assert_eq!(reader.read_frames(&mut buf, 10).unwrap(), 3);
        assert_eq!(buf[0], -80.5);
        assert!(buf[2].is_nan());
        assert_eq!(buf[5], 1e-300);

        // bench:t0 wins over sample_start.
        let mut meta = foreign_meta();
        meta["captures"][0]["bench:t0"] = json!(-0.5);
        write_foreign(dir.path(), &meta, &data);
        assert_eq!(
            SigmfReader::open(dir.path(), Stream::Rf).unwrap().t0(),
            -0.5
        );

        // rf32_be and rf64_le read too.
        for (datatype, bytes) in [
            (
                "rf32_be",
                [1.5f32, -2.0]
                    .iter()
                    .flat_map(|v| v.to_be_bytes())
                    .collect::<Vec<u8>>(),
            ),
            (
                "rf64_le",
                [1.5f64, -2.0]
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect(),
            ),
        ] {
            let mut meta = foreign_meta();
            meta["global"]["core:datatype"] = json!(datatype);
            write_foreign(dir.path(), &meta, &bytes);
            let mut reader = SigmfReader::open(dir.path(), Stream::Rf).unwrap();
            reader.read_frames(&mut buf, 10).unwrap();
            assert_eq!(buf, [1.5, -2.0], "{datatype}");
        }
    }

    #[test]
    fn frame_times_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let mut meta = foreign_meta();
        meta["global"]["core:sample_rate"] = json!(1000.0 / 3.0);
        meta["captures"][0]["bench:t0"] = json!(0.1);
        write_foreign(dir.path(), &meta, &vec![0u8; 16 * 1000]);
        let reader = SigmfReader::open(dir.path(), Stream::Rf).unwrap();
        for i in 0..1000 {
            let t = reader.t_of(i);
            assert_eq!(reader.frame_at_or_after(t), i);
            assert_eq!(reader.frame_at_or_after(t + 1e-9), i + 1);
        }
        assert_eq!(reader.frame_at_or_after(f64::NAN), 1000);
        assert_eq!(reader.frame_at_or_after(f64::NEG_INFINITY), 0);
        assert_eq!(reader.frame_at_or_after(f64::INFINITY), 1000);
    }

    #[test]
    fn metadata_errors_name_the_key() {
        let dir = tempfile::tempdir().unwrap();
        type Edit = Box<dyn Fn(&mut Value)>;
        let cases: Vec<(Edit, &str)> = vec![
            (
                Box::new(|m| m["global"]["core:datatype"] = json!("cf32_le")),
                "core:datatype: \"cf32_le\" is complex (I/Q) data",
            ),
            (
                Box::new(|m| m["global"]["core:datatype"] = json!("ri16_le")),
                "\"ri16_le\" is not supported",
            ),
            (
                Box::new(|m| m["global"]["core:sample_rate"] = json!(0)),
                "key global.core:sample_rate: is 0",
            ),
            (
                Box::new(|m| {
                    m["global"]
                        .as_object_mut()
                        .unwrap()
                        .remove("core:sample_rate");
                }),
                "core:sample_rate: missing",
            ),
            (
                Box::new(|m| m["global"]["core:num_channels"] = json!(3)),
                "lists 2 channels, core:num_channels says 3",
            ),
            (
                Box::new(|m| {
                    m["global"]["bench:channels"][1]
                        .as_object_mut()
                        .unwrap()
                        .remove("dut");
                }),
                "key global.bench:channels[1].dut: missing",
            ),
            (
                Box::new(|m| m["global"]["bench:channels"][0]["band"] = json!(3)),
                "bench:channels[0].band: is 3",
            ),
            (
                Box::new(|m| m["global"]["bench:channels"][0]["low_hz"] = json!(2e9)),
                "low_hz 2000000000 is above high_hz",
            ),
            (
                Box::new(|m| m["global"]["bench:unit"] = json!("mW")),
                "bench:unit: is \"mW\"",
            ),
            (
                Box::new(|m| m["captures"] = json!([])),
                "key captures: empty",
            ),
            (
                Box::new(|m| m["captures"][0]["core:sample_start"] = json!(-1)),
                "captures[0].core:sample_start: is -1",
            ),
            (
                Box::new(|m| m["captures"][0]["bench:t0"] = json!("late")),
                "captures[0].bench:t0: is \"late\"",
            ),
            (
                Box::new(|m| m["annotations"][0] = json!(5)),
                "annotations[0]: is 5, not an object",
            ),
            (Box::new(|m| *m = json!([1])), "(top level)"),
        ];
        for (edit, expected) in cases {
            let mut meta = foreign_meta();
            edit(&mut meta);
            write_foreign(dir.path(), &meta, &[]);
            let err = SigmfReader::open(dir.path(), Stream::Rf)
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{expected}: {err}");
            assert!(err.contains("rf.sigmf-meta"), "{err}");
        }
        std::fs::write(dir.path().join("rf.sigmf-meta"), b"{\"global\":").unwrap();
        let err = SigmfReader::open(dir.path(), Stream::Rf)
            .unwrap_err()
            .to_string();
        assert!(err.contains("rf.sigmf-meta is not valid JSON"), "{err}");
        write_foreign(dir.path(), &foreign_meta(), &[]);
        std::fs::remove_file(dir.path().join("rf.sigmf-data")).unwrap();
        let err = SigmfReader::open(dir.path(), Stream::Rf)
            .unwrap_err()
            .to_string();
        assert!(err.contains("rf.sigmf-data is missing"), "{err}");
    }
}
