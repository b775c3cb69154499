//! Raw `bench.toml` -> `BenchConfig`: every check a lab engineer would
//! otherwise discover by switching the wrong phone off.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::error::{ConfigErrors, Diagnostics, did_you_mean};
use super::frequency::parse_khz;
use super::model::*;
use super::raw::*;
use super::{
    DEFAULT_BANDWIDTH_KHZ, DEFAULT_POWER_CYCLE_OFF, DEFAULT_SAMPLE_RATE_HZ,
    DEFAULT_SHIELD_WATCHDOG, MAX_SHIELD_CHANNELS, duration,
};

/// Parse and validate `source`, read from `path`.
pub fn parse(path: &Path, source: &str) -> Result<BenchConfig, ConfigErrors> {
    let raw: RawBench = super::parse_toml(path, source)?;
    let mut diag = Diagnostics::new(path, source);
    let config = Validator {
        diag: &mut diag,
        declared: HashSet::new(),
    }
    .bench(path, raw);
    diag.finish()?;
    Ok(config)
}

struct Validator<'d, 'a> {
    diag: &'d mut Diagnostics<'a>,
    /// Every (table, name) the file declares, valid or not: a reference to
    /// an entry that has errors of its own is not "no such entry" (one
    /// mistake, one message).
    declared: HashSet<(&'static str, String)>,
}

/// Names of things in the file: DUTs, boards, hubs and links are used as
/// command arguments and directory names, so keep them shell- and path-safe.
fn name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        && !name.starts_with(['-', '.'])
}

impl Validator<'_, '_> {
    fn bench(&mut self, path: &Path, raw: RawBench) -> BenchConfig {
        for (table, names) in [
            ("relays", raw.relays.keys().collect::<Vec<_>>()),
            ("hubs", raw.hubs.keys().collect()),
            ("links", raw.links.keys().collect()),
            ("duts", raw.duts.keys().collect()),
        ] {
            self.declared
                .extend(names.into_iter().map(|n| (table, n.get_ref().clone())));
        }
        let header = raw.bench.into_inner();
        let name = self.checked_name("bench", &header.name);
        let state_dir = header.state_dir.map(|d| {
            let p = PathBuf::from(d.get_ref());
            if p.is_relative() {
                // Relative to the bench file, like every other path in it.
                path.parent().unwrap_or(Path::new(".")).join(p)
            } else {
                p
            }
        });

        let relays: Vec<RelayBoardConfig> = raw
            .relays
            .into_iter()
            .filter_map(|(name, board)| self.relay_board(name, board))
            .collect();
        let hubs: Vec<HubConfig> = raw
            .hubs
            .into_iter()
            .filter_map(|(name, hub)| self.hub(name, hub))
            .collect();
        let links: Vec<LinkConfig> = raw
            .links
            .into_iter()
            .map(|(name, link)| self.link(name, link))
            .collect();

        let mut duts = Vec::new();
        let mut relay_users: HashMap<(String, u8), String> = HashMap::new();
        let mut port_users: HashMap<(String, u8), String> = HashMap::new();
        let mut link_users: HashMap<String, String> = HashMap::new();
        for (dut_name, dut) in raw.duts {
            let dut = self.dut(dut_name, dut, &relays, &hubs, &links);
            let Some((dut, spans)) = dut else { continue };
            if let (Some(p), Some(span)) = (&dut.power, spans.power)
                && let Some(other) =
                    relay_users.insert((p.board.clone(), p.channel), dut.name.clone())
            {
                self.diag.error_with_help(
                        span,
                        format!(
                            "relay channel {} on board \"{}\" already feeds DUT \"{other}\"",
                            p.channel, p.board
                        ),
                        "each DUT needs its own relay channel, or power-cycling one would cut the other",
                    );
            }
            if let (Some(u), Some(span)) = (&dut.usb, spans.usb)
                && let Some(other) = port_users.insert((u.hub.clone(), u.port), dut.name.clone())
            {
                self.diag.error_with_help(
                    span,
                    format!(
                        "USB port {} on hub \"{}\" already carries DUT \"{other}\"",
                        u.port, u.hub
                    ),
                    "give each DUT its own hub port",
                );
            }
            if let (Some(l), Some(span)) = (&dut.link, spans.link)
                && let Some(other) = link_users.insert(l.clone(), dut.name.clone())
            {
                self.diag.error_with_help(
                    span,
                    format!("link \"{l}\" already carries DUT \"{other}\""),
                    "give each DUT its own link, so isolating one does not cut the other off",
                );
            }
            duts.push(dut);
        }

        let shield = raw.shield.and_then(|sh| self.shield(sh, &duts));

        BenchConfig {
            path: path.to_path_buf(),
            name,
            description: header.description,
            state_dir,
            relays,
            hubs,
            links,
            duts,
            shield,
        }
    }

    fn shield(&mut self, raw: Spanned<RawShield>, duts: &[DutConfig]) -> Option<ShieldConfig> {
        let table_span = raw.span();
        let raw = raw.into_inner();
        let backend = match raw.kind.get_ref() {
            ShieldKind::Sim => {
                self.unused(&raw.port, "port", "sim", "\"serial\"");
                self.unused(&raw.usb, "usb", "sim", "\"serial\"");
                Some(ShieldBackend::Sim)
            }
            ShieldKind::Serial => self
                .serial_port_spec(table_span.clone(), "serial", &raw.port, &raw.usb)
                .map(|port| ShieldBackend::Serial { port }),
        };
        let sample_rate_hz = match &raw.sample_rate_hz {
            None => DEFAULT_SAMPLE_RATE_HZ,
            Some(r) => match u32::try_from(*r.get_ref()) {
                Ok(hz) if (1..=100_000).contains(&hz) => hz,
                _ => {
                    self.diag.error(
                        r.span(),
                        format!("sample_rate_hz must be 1 to 100000, not {}", r.get_ref()),
                    );
                    DEFAULT_SAMPLE_RATE_HZ
                }
            },
        };
        let watchdog = match &raw.watchdog {
            None => DEFAULT_SHIELD_WATCHDOG,
            Some(text) => match duration::parse(text.get_ref()) {
                Ok(d) if d >= Duration::from_millis(100) && d <= Duration::from_secs(60) => d,
                Ok(_) => {
                    self.diag
                        .error(text.span(), "watchdog must be between 100ms and 60s");
                    DEFAULT_SHIELD_WATCHDOG
                }
                Err(why) => {
                    self.diag.error(text.span(), format!("watchdog: {why}"));
                    DEFAULT_SHIELD_WATCHDOG
                }
            },
        };
        let room_interference = match &raw.room_interference {
            None => None,
            Some(text) if matches!(raw.kind.get_ref(), ShieldKind::Serial) => {
                self.diag.error_with_help(
                    text.span(),
                    "`room_interference` does not apply to kind \"serial\"",
                    "a real shield hears the real room; the key only shapes the simulated one",
                );
                None
            }
            Some(text) if text.get_ref().trim() == "off" => None,
            Some(text) => match duration::parse(text.get_ref()) {
                Ok(d) if d >= Duration::from_secs(1) => Some(d),
                Ok(_) => {
                    self.diag.error(
                        text.span(),
                        "room_interference is the mean time between bursts: at least 1s, or \"off\"",
                    );
                    None
                }
                Err(why) => {
                    self.diag
                        .error(text.span(), format!("room_interference: {why}"));
                    None
                }
            },
        };
        if raw.channels.len() > MAX_SHIELD_CHANNELS {
            self.diag.error(
                table_span.clone(),
                format!(
                    "{} shield channels; the shield streams at most {MAX_SHIELD_CHANNELS}",
                    raw.channels.len()
                ),
            );
        }
        let declared = raw.channels.len();
        let mut channels = Vec::new();
        for (name, ch) in raw.channels {
            if let Some(c) = self.shield_channel(name, ch, duts) {
                channels.push(c);
            }
        }
        if declared == 0 {
            self.diag.error_with_help(
                table_span,
                "the shield has no channels",
                "add `[shield.channels]` entries, e.g. `a-lte = { dut = \"phone-a\", detector = 0, frequency = \"1747.5MHz\" }`",
            );
        }
        Some(ShieldConfig {
            backend: backend?,
            sample_rate_hz,
            watchdog,
            room_interference,
            channels,
        })
    }

    fn shield_channel(
        &mut self,
        name: Spanned<String>,
        raw: Spanned<RawShieldChannel>,
        duts: &[DutConfig],
    ) -> Option<ShieldChannel> {
        let name_span = name.span();
        let name = self.checked_name("shield channel", &name);
        let raw = raw.into_inner();
        let dut = raw.dut.as_ref().and_then(|d| {
            if duts.iter().any(|x| &x.name == d.get_ref()) {
                Some(d.get_ref().clone())
            } else {
                self.unknown_ref(d, "DUT", "duts", duts.iter().map(|x| x.name.as_str()));
                None
            }
        });
        let dut_ok = raw.dut.is_none() || dut.is_some();
        let detector = u8::try_from(*raw.detector.get_ref()).ok();
        if detector.is_none() {
            self.diag.error(
                raw.detector.span(),
                format!(
                    "detector {} does not exist (0-255, as `benchctl shield info` lists them)",
                    raw.detector.get_ref()
                ),
            );
        }
        let quantity = match raw.quantity.as_ref().map(|q| *q.get_ref()) {
            None | Some(Quantity::Rf) => ShieldQuantity::Rf,
            Some(Quantity::Current) => ShieldQuantity::Current,
            Some(Quantity::Occupancy) => ShieldQuantity::Occupancy,
        };
        let center_khz = match (&raw.frequency, quantity) {
            (Some(f), ShieldQuantity::Current) => {
                self.diag.error(
                    f.span(),
                    "a current channel has no frequency; remove `frequency`",
                );
                None
            }
            (None, ShieldQuantity::Current) => Some(0),
            (None, _) => {
                self.diag.error_with_help(
                    name_span,
                    format!("shield channel \"{name}\" needs a `frequency`"),
                    "add e.g. `frequency = \"1747.5MHz\"`, or `quantity = \"current\"` for a supply sensor",
                );
                None
            }
            (Some(f), _) => match parse_khz(f.get_ref()) {
                Ok(khz) => Some(khz),
                Err(why) => {
                    self.diag.error(f.span(), format!("frequency: {why}"));
                    None
                }
            },
        };
        let bandwidth_khz = match (&raw.bandwidth, quantity) {
            (Some(b), ShieldQuantity::Current) => {
                self.diag.error(
                    b.span(),
                    "a current channel has no bandwidth; remove `bandwidth`",
                );
                None
            }
            (None, ShieldQuantity::Current) => Some(0),
            (None, _) => Some(DEFAULT_BANDWIDTH_KHZ),
            (Some(b), _) => match parse_khz(b.get_ref()) {
                Ok(0) => {
                    self.diag
                        .error(b.span(), "bandwidth must be more than 0 Hz");
                    None
                }
                Ok(khz) if center_khz.is_some_and(|c| khz / 2 > c) => {
                    self.diag.error(
                        b.span(),
                        "the band would reach below 0 Hz: bandwidth is the full width, centred on `frequency`",
                    );
                    None
                }
                Ok(khz) => Some(khz),
                Err(why) => {
                    self.diag.error(b.span(), format!("bandwidth: {why}"));
                    None
                }
            },
        };
        let calibration = match raw.calibration {
            None => Some(ShieldCalibration::Default),
            Some(c) => self.calibration(c, quantity),
        };
        let isolation_db = match &raw.isolation_db {
            None => Some(None),
            Some(i) if quantity != ShieldQuantity::Rf => {
                self.diag.error(
                    i.span(),
                    "isolation_db is an RF antenna's isolation from the room; remove it from this channel",
                );
                None
            }
            Some(i) if raw.dut.is_none() => {
                self.diag.error_with_help(
                    i.span(),
                    "the ambient antenna is outside every enclosure: it has no isolation",
                    "set isolation_db on the antennas inside the DUTs' enclosures",
                );
                None
            }
            Some(i) if !(0.0..=120.0).contains(i.get_ref()) => {
                self.diag.error(
                    i.span(),
                    format!(
                        "isolation_db {} is not an enclosure's isolation (0 to 120 dB)",
                        i.get_ref()
                    ),
                );
                None
            }
            Some(i) => Some(Some(*i.get_ref())),
        };
        if !dut_ok {
            return None;
        }
        Some(ShieldChannel {
            name,
            dut,
            detector: detector?,
            quantity,
            center_khz: center_khz?,
            bandwidth_khz: bandwidth_khz?,
            band: raw.band,
            calibration: calibration?,
            isolation_db: isolation_db?,
        })
    }

    fn calibration(
        &mut self,
        raw: Spanned<RawCalibration>,
        quantity: ShieldQuantity,
    ) -> Option<ShieldCalibration> {
        let span = raw.span();
        let c = raw.into_inner();
        let cal = match (
            c.rssi_offset_db,
            c.slope_mv_per_db,
            c.intercept_dbm,
            c.shunt_mohm,
            c.max_current_a,
        ) {
            (Some(db), None, None, None, None) => ShieldCalibration::RssiOffset { db },
            (None, Some(slope_mv_per_db), Some(intercept_dbm), None, None)
                if slope_mv_per_db != 0.0 =>
            {
                ShieldCalibration::LogSlope {
                    slope_mv_per_db,
                    intercept_dbm,
                }
            }
            (None, None, None, Some(mohm), Some(max_current_a))
                if mohm > 0.0 && max_current_a > 0.0 =>
            {
                ShieldCalibration::Shunt {
                    mohm,
                    max_current_a,
                }
            }
            _ => {
                self.diag.error_with_help(
                    span,
                    "calibration must be one of three shapes",
                    "`{ rssi_offset_db = 74 }` (CC1101), `{ slope_mv_per_db = -24.5, intercept_dbm = 20 }` (log-amp), `{ shunt_mohm = 100, max_current_a = 2 }` (INA226)",
                );
                return None;
            }
        };
        let fits = matches!(
            (cal, quantity),
            (ShieldCalibration::Shunt { .. }, ShieldQuantity::Current)
                | (
                    ShieldCalibration::RssiOffset { .. } | ShieldCalibration::LogSlope { .. },
                    ShieldQuantity::Rf
                )
        );
        if !fits {
            self.diag
                .error(span, "this calibration does not fit the channel's quantity");
            return None;
        }
        Some(cal)
    }

    fn checked_name(&mut self, what: &str, name: &Spanned<String>) -> String {
        if !name_ok(name.get_ref()) {
            self.diag.error_with_help(
                name.span(),
                format!("{what} name \"{}\" is not usable", name.get_ref()),
                "use letters, digits, `-`, `_` and `.` (at most 64, not starting with `-` or `.`)",
            );
        }
        name.get_ref().clone()
    }

    /// A count such as channels or ports: 1..=max.
    fn count(&mut self, value: &Spanned<i64>, what: &str, max: u8) -> Option<u8> {
        match u8::try_from(*value.get_ref()) {
            Ok(n) if (1..=max).contains(&n) => Some(n),
            _ => {
                self.diag.error(
                    value.span(),
                    format!(
                        "{what} must be between 1 and {max}, not {}",
                        value.get_ref()
                    ),
                );
                None
            }
        }
    }

    /// A key given for a backend kind that does not use it.
    fn unused<T>(&mut self, field: &Option<Spanned<T>>, key: &str, kind: &str, used_by: &str) {
        if let Some(f) = field {
            self.diag.error_with_help(
                f.span(),
                format!("`{key}` does not apply to kind \"{kind}\""),
                format!("`{key}` is read by kind {used_by}; remove it or change `kind`"),
            );
        }
    }

    fn missing(&mut self, span: Range<usize>, key: &str, kind: &str, example: &str) {
        self.diag.error_with_help(
            span,
            format!("kind \"{kind}\" needs `{key}`"),
            format!("add e.g. `{key} = {example}`"),
        );
    }

    /// `kind = "gpiocdev"`: a chip and one line offset per channel.
    fn gpiocdev(
        &mut self,
        board: &RawRelayBoard,
        table_span: Range<usize>,
        channels: Option<u8>,
    ) -> Option<RelayBackend> {
        self.unused(
            &board.pins,
            "pins",
            "gpiocdev",
            "\"rppal-gpio\" (BCM numbers); gpiocdev uses `lines`",
        );
        self.unused(&board.port, "port", "gpiocdev", "\"serial-relay\"");
        self.unused(&board.usb, "usb", "gpiocdev", "\"serial-relay\"");
        self.unused(&board.baud, "baud", "gpiocdev", "\"serial-relay\"");
        self.unused(&board.fail_after, "fail_after", "gpiocdev", "\"sim\"");
        let Some(chip) = &board.chip else {
            self.missing(table_span, "chip", "gpiocdev", "\"/dev/gpiochip0\"");
            return None;
        };
        let chip_text = chip.get_ref().trim();
        let chip_path = if chip_text.is_empty() {
            self.diag.error_with_help(
                chip.span(),
                "`chip` is empty",
                "name the GPIO chip: \"/dev/gpiochip0\" (`gpiodetect` lists them)",
            );
            return None;
        } else if chip_text.contains('/') {
            std::path::PathBuf::from(chip_text)
        } else {
            std::path::Path::new("/dev").join(chip_text)
        };
        let Some(lines_field) = &board.lines else {
            self.missing(table_span, "lines", "gpiocdev", "[17, 27, 22, 23]");
            return None;
        };
        let mut lines = Vec::new();
        let mut seen = BTreeMap::new();
        for line in lines_field.get_ref() {
            match u32::try_from(*line.get_ref()) {
                Ok(offset) => {
                    if seen.insert(offset, ()).is_some() {
                        self.diag.error(
                            line.span(),
                            format!("line {offset} is listed twice; one line drives one relay"),
                        );
                    }
                    lines.push(offset);
                }
                Err(_) => self.diag.error_with_help(
                    line.span(),
                    format!("line {} is not a line offset", line.get_ref()),
                    "offsets count from 0 on their chip (`gpioinfo` lists them)",
                ),
            }
        }
        if let Some(n) = channels
            && lines_field.get_ref().len() != usize::from(n)
        {
            self.diag.error(
                lines_field.span(),
                format!(
                    "{} lines listed for {n} channels; list one line offset per channel, channel 1 first",
                    lines_field.get_ref().len()
                ),
            );
        }
        Some(RelayBackend::Gpiocdev {
            chip: chip_path,
            lines,
            active_low: board
                .active_low
                .as_ref()
                .map(|a| *a.get_ref())
                .unwrap_or(true),
        })
    }

    fn relay_board(
        &mut self,
        name: Spanned<String>,
        board: Spanned<RawRelayBoard>,
    ) -> Option<RelayBoardConfig> {
        let table_span = name.span();
        let name = self.checked_name("relay board", &name);
        let board = board.into_inner();
        // LCUS modules come with 1, 2, 4 or 8 relays; GPIO HATs with up to 16.
        let channels = self.count(&board.channels, "`channels`", 16);
        let kind = *board.kind.get_ref();
        let backend = match kind {
            RelayKind::Sim => {
                self.unused(&board.pins, "pins", "sim", "\"rppal-gpio\"");
                self.unused(&board.chip, "chip", "sim", "\"gpiocdev\"");
                self.unused(&board.lines, "lines", "sim", "\"gpiocdev\"");
                self.unused(
                    &board.active_low,
                    "active_low",
                    "sim",
                    "\"rppal-gpio\" or \"gpiocdev\"",
                );
                self.unused(&board.port, "port", "sim", "\"serial-relay\"");
                self.unused(&board.usb, "usb", "sim", "\"serial-relay\"");
                self.unused(&board.baud, "baud", "sim", "\"serial-relay\"");
                let fail_after = board.fail_after.as_ref().and_then(|f| {
                    u32::try_from(*f.get_ref()).ok().or_else(|| {
                        self.diag
                            .error(f.span(), "`fail_after` must be 0 or a positive count");
                        None
                    })
                });
                RelayBackend::Sim { fail_after }
            }
            RelayKind::RppalGpio => {
                self.unused(&board.chip, "chip", "rppal-gpio", "\"gpiocdev\"");
                self.unused(&board.lines, "lines", "rppal-gpio", "\"gpiocdev\"");
                self.unused(&board.port, "port", "rppal-gpio", "\"serial-relay\"");
                self.unused(&board.usb, "usb", "rppal-gpio", "\"serial-relay\"");
                self.unused(&board.baud, "baud", "rppal-gpio", "\"serial-relay\"");
                self.unused(&board.fail_after, "fail_after", "rppal-gpio", "\"sim\"");
                let Some(pins_field) = &board.pins else {
                    self.missing(table_span, "pins", "rppal-gpio", "[5, 6, 13, 19]");
                    return None;
                };
                let mut pins = Vec::new();
                let mut seen = BTreeMap::new();
                for pin in pins_field.get_ref() {
                    match u8::try_from(*pin.get_ref()) {
                        // The 40-pin header exposes BCM GPIO 0-27.
                        Ok(p) if p <= 27 => {
                            if seen.insert(p, ()).is_some() {
                                self.diag.error(
                                    pin.span(),
                                    format!("GPIO {p} is listed twice; one pin drives one relay"),
                                );
                            }
                            pins.push(p);
                        }
                        _ => self.diag.error_with_help(
                            pin.span(),
                            format!("GPIO {} does not exist on the 40-pin header", pin.get_ref()),
                            "use BCM numbers 0-27 (GPIO17 is 17, not physical pin 11)",
                        ),
                    }
                }
                if let Some(n) = channels
                    && pins_field.get_ref().len() != usize::from(n)
                {
                    self.diag.error(
                            pins_field.span(),
                            format!(
                                "{} pins listed for {n} channels; list one BCM GPIO per channel, channel 1 first",
                                pins_field.get_ref().len()
                            ),
                        );
                }
                RelayBackend::RppalGpio {
                    pins,
                    active_low: board.active_low.map(|a| a.into_inner()).unwrap_or(true),
                }
            }
            RelayKind::Gpiocdev => self.gpiocdev(&board, table_span, channels)?,
            RelayKind::SerialRelay => {
                self.unused(&board.pins, "pins", "serial-relay", "\"rppal-gpio\"");
                self.unused(&board.chip, "chip", "serial-relay", "\"gpiocdev\"");
                self.unused(&board.lines, "lines", "serial-relay", "\"gpiocdev\"");
                self.unused(
                    &board.active_low,
                    "active_low",
                    "serial-relay",
                    "\"rppal-gpio\"",
                );
                self.unused(&board.fail_after, "fail_after", "serial-relay", "\"sim\"");
                if let Some(n) = channels
                    && n > 8
                {
                    self.diag.error(
                        board.channels.span(),
                        format!("LCUS serial relay modules have at most 8 channels, not {n}"),
                    );
                }
                let port =
                    self.serial_port_spec(table_span, "serial-relay", &board.port, &board.usb)?;
                let baud = match &board.baud {
                    None => 9600,
                    Some(b) => match u32::try_from(*b.get_ref()) {
                        Ok(b) if (300..=4_000_000).contains(&b) => b,
                        _ => {
                            self.diag.error(
                                b.span(),
                                format!("baud {} is not a serial line speed", b.get_ref()),
                            );
                            9600
                        }
                    },
                };
                RelayBackend::SerialRelay { port, baud }
            }
        };
        Some(RelayBoardConfig {
            name,
            channels: channels?,
            backend,
        })
    }

    fn serial_port_spec(
        &mut self,
        table_span: Range<usize>,
        kind: &str,
        port: &Option<Spanned<String>>,
        usb: &Option<Spanned<RawUsbMatch>>,
    ) -> Option<SerialPortSpec> {
        match (port, usb) {
            (Some(p), None) => Some(SerialPortSpec::Path(p.get_ref().clone())),
            (None, Some(u)) => {
                let u = u.get_ref();
                let vid = self.usb_id(&u.vid, "vid");
                let pid = self.usb_id(&u.pid, "pid");
                Some(SerialPortSpec::Usb {
                    vid: vid?,
                    pid: pid?,
                    serial: u.serial.clone(),
                })
            }
            (Some(p), Some(_)) => {
                self.diag.error(
                    p.span(),
                    "give either `port` or `usb`, not both: which one should win?",
                );
                None
            }
            (None, None) => {
                let example = if kind == "serial-relay" {
                    "add `port = \"/dev/ttyUSB0\"` or `usb = { vid = \"1a86\", pid = \"7523\" }` (the CH340 of LCUS modules)"
                } else {
                    "add `port = \"/dev/ttyACM0\"` or `usb = { vid = \"2e8a\", pid = \"000a\" }` (a Raspberry Pi Pico)"
                };
                self.diag.error_with_help(
                    table_span,
                    format!("kind \"{kind}\" needs `port` or `usb`"),
                    example,
                );
                None
            }
        }
    }

    fn usb_id(&mut self, id: &Spanned<String>, what: &str) -> Option<u16> {
        let text = id.get_ref();
        let hex = text.trim_start_matches("0x");
        match u16::from_str_radix(hex, 16) {
            Ok(v) if hex.len() == 4 => Some(v),
            _ => {
                self.diag.error_with_help(
                    id.span(),
                    format!("USB {what} \"{text}\" is not four hex digits"),
                    "copy it from `lsusb`: in `ID 1a86:7523` the vid is \"1a86\" and the pid \"7523\"",
                );
                None
            }
        }
    }

    fn hub(&mut self, name: Spanned<String>, hub: Spanned<RawHub>) -> Option<HubConfig> {
        let table_span = name.span();
        let name = self.checked_name("hub", &name);
        let hub = hub.into_inner();
        // USB hubs top out at 15 downstream ports per the USB 2.0 hub descriptor.
        let ports = self.count(&hub.ports, "`ports`", 15);
        let backend = match hub.kind.get_ref() {
            HubKind::Sim => {
                self.unused(&hub.location, "location", "sim", "\"uhubctl\"");
                self.unused(&hub.program, "program", "sim", "\"uhubctl\"");
                self.unused(&hub.vbus_verified, "vbus_verified", "sim", "\"uhubctl\"");
                HubBackend::Sim
            }
            HubKind::Uhubctl => {
                let Some(location) = &hub.location else {
                    self.missing(table_span, "location", "uhubctl", "\"1-1\"");
                    return None;
                };
                let loc = location.get_ref();
                let loc_ok = loc
                    .split(['-', '.'])
                    .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()))
                    && loc.contains('-');
                if !loc_ok {
                    self.diag.error_with_help(
                        location.span(),
                        format!("\"{loc}\" is not a USB hub location"),
                        "run `uhubctl` and copy the location it prints, e.g. \"1-1\" or \"2-1.4\"",
                    );
                }
                HubBackend::Uhubctl {
                    location: loc.clone(),
                    program: hub
                        .program
                        .map(|p| PathBuf::from(p.into_inner()))
                        .unwrap_or_else(|| PathBuf::from("uhubctl")),
                    vbus_verified: hub.vbus_verified.is_some_and(|v| v.into_inner()),
                }
            }
        };
        Some(HubConfig {
            name,
            ports: ports?,
            backend,
        })
    }

    fn link(&mut self, name: Spanned<String>, link: Spanned<RawLink>) -> LinkConfig {
        let name = self.checked_name("link", &name);
        let link = link.into_inner();
        if let Some(subnet) = &link.subnet
            && !subnet_ok(subnet.get_ref())
        {
            self.diag.error(
                subnet.span(),
                format!(
                    "subnet \"{}\" is not an address block; write e.g. \"10.77.1.0/24\"",
                    subnet.get_ref()
                ),
            );
        }
        let backend = match link.kind.get_ref() {
            LinkKind::Sim => LinkBackend::Sim,
        };
        LinkConfig {
            name,
            subnet: link.subnet.map(|s| s.into_inner()),
            backend,
        }
    }

    fn dut(
        &mut self,
        name: Spanned<String>,
        dut: Spanned<RawDut>,
        relays: &[RelayBoardConfig],
        hubs: &[HubConfig],
        links: &[LinkConfig],
    ) -> Option<(DutConfig, DutSpans)> {
        if name.get_ref() == "all" {
            // `benchctl power all off` must never be ambiguous.
            self.diag.error(
                name.span(),
                "a DUT cannot be called \"all\": the CLI uses that word for every DUT",
            );
        }
        let name = self.checked_name("DUT", &name);
        let dut = dut.into_inner();
        let mut spans = DutSpans::default();
        let mut ok = true;

        let power = dut.power.as_ref().and_then(|p| {
            spans.power = Some(p.span());
            let p = p.get_ref();
            let boards: Vec<(&str, u8)> = relays
                .iter()
                .map(|r| (r.name.as_str(), r.channels))
                .collect();
            let found = self.numbered_output(&p.relay, &p.channel, &boards, &RELAY_CHANNEL);
            ok &= found.is_some();
            found.map(|(board, channel)| RelayRef { board, channel })
        });

        let usb = dut.usb.as_ref().and_then(|u| {
            spans.usb = Some(u.span());
            let u = u.get_ref();
            let known: Vec<(&str, u8)> = hubs.iter().map(|h| (h.name.as_str(), h.ports)).collect();
            let found = self.numbered_output(&u.hub, &u.port, &known, &HUB_PORT);
            ok &= found.is_some();
            found.map(|(hub, port)| PortRef { hub, port })
        });

        let link = dut.link.as_ref().and_then(|l| {
            spans.link = Some(l.span());
            if links.iter().any(|k| &k.name == l.get_ref()) {
                Some(l.get_ref().clone())
            } else {
                self.unknown_ref(l, "link", "links", links.iter().map(|k| k.name.as_str()));
                ok = false;
                None
            }
        });

        let power_cycle_off = match &dut.power_cycle_off {
            None => DEFAULT_POWER_CYCLE_OFF,
            Some(text) => match duration::parse(text.get_ref()) {
                Ok(d) => d,
                Err(why) => {
                    self.diag
                        .error(text.span(), format!("power_cycle_off: {why}"));
                    ok = false;
                    DEFAULT_POWER_CYCLE_OFF
                }
            },
        };

        let safe = dut
            .safe
            .map(|s| {
                let s = s.into_inner();
                let d = SafeState::default();
                SafeState {
                    power: s.power.map_or(d.power, |v| v == OnOff::On),
                    usb: s.usb.map_or(d.usb, |v| v == OnOff::On),
                    net: s.net.map_or(d.net, |v| match v {
                        RawNetState::Isolated => NetState::Isolated,
                        RawNetState::Open => NetState::Open,
                    }),
                }
            })
            .unwrap_or_default();

        let device = match dut.device {
            None => DeviceBackend::None,
            Some(d) => self.device(&name, d.into_inner())?,
        };

        ok.then_some((
            DutConfig {
                name,
                model: dut.model.into_inner(),
                power,
                usb,
                link,
                device,
                safe,
                power_cycle_off,
            },
            spans,
        ))
    }

    /// A DUT's device control; for a simulated phone, its behaviour.
    fn device(&mut self, dut: &str, raw: RawDevice) -> Option<DeviceBackend> {
        match raw.kind.get_ref() {
            DeviceKind::Sim => {
                let mut ok = true;
                let seed = match &raw.seed {
                    None => benchctl_rng::mix(dut.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
                        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
                    })),
                    Some(s) => match u64::try_from(*s.get_ref()) {
                        Ok(seed) => seed,
                        Err(_) => {
                            self.diag
                                .error(s.span(), "seed must be a whole number from 0 up");
                            ok = false;
                            0
                        }
                    },
                };
                let mut implants = Vec::new();
                for value in raw.implants.unwrap_or_default() {
                    let span = value.span();
                    match crate::config::implant::Implant::deserialize(value.into_inner()) {
                        Ok(implant) => match implant.problem() {
                            None => implants.push(implant),
                            Some(why) => {
                                self.diag
                                    .error(span, format!("implant {}: {why}", implant.kind()));
                                ok = false;
                            }
                        },
                        Err(e) => {
                            let (message, help) =
                                super::error::explain_serde_message(e.to_string().trim_end());
                            let message = format!("implant: {message}");
                            match help {
                                Some(help) => self.diag.error_with_help(span, message, help),
                                None => self.diag.error_with_help(
                                    span,
                                    message,
                                    "kinds: airplane-tx, fake-off, isolated-talker, dns-exfil, beacon, timing-channel, rf-timing (README: simulated phones)",
                                ),
                            }
                            ok = false;
                        }
                    }
                }
                let boot = match &raw.boot {
                    None => DEFAULT_SIM_BOOT,
                    Some(b) => match duration::parse(b.get_ref()) {
                        Ok(d) if d <= std::time::Duration::from_secs(600) => d,
                        Ok(_) => {
                            self.diag.error(b.span(), "boot: at most 10m");
                            ok = false;
                            DEFAULT_SIM_BOOT
                        }
                        Err(why) => {
                            self.diag.error(b.span(), format!("boot: {why}"));
                            ok = false;
                            DEFAULT_SIM_BOOT
                        }
                    },
                };
                ok.then(|| {
                    DeviceBackend::Sim(SimDevice {
                        seed,
                        build: raw
                            .build
                            .map_or_else(|| DEFAULT_SIM_BUILD.to_string(), |b| b.into_inner()),
                        boot,
                        implants,
                    })
                })
            }
        }
    }

    /// Resolve output `number` of the device named `device` (a relay channel,
    /// a hub port) among `known` (name, count) devices.
    fn numbered_output(
        &mut self,
        device: &Spanned<String>,
        number: &Spanned<i64>,
        known: &[(&str, u8)],
        what: &Numbered,
    ) -> Option<(String, u8)> {
        let Some(&(name, count)) = known.iter().find(|(n, _)| n == device.get_ref()) else {
            self.unknown_ref(
                device,
                what.device,
                what.table,
                known.iter().map(|(n, _)| *n),
            );
            return None;
        };
        let n = u8::try_from(*number.get_ref())
            .ok()
            .filter(|n| (1..=count).contains(n));
        if n.is_none() {
            self.diag.error(
                number.span(),
                format!(
                    "{} {} does not exist on {} \"{name}\" ({} 1-{count})",
                    what.output,
                    number.get_ref(),
                    what.short,
                    what.plural
                ),
            );
        }
        Some((name.to_string(), n?))
    }

    fn unknown_ref<'k>(
        &mut self,
        wrong: &Spanned<String>,
        what: &str,
        table: &'static str,
        known: impl Iterator<Item = &'k str> + Clone,
    ) {
        if self.declared.contains(&(table, wrong.get_ref().clone())) {
            // Declared, but its own errors kept it out: already reported.
            return;
        }
        let list: Vec<&str> = known.clone().collect();
        let help = match did_you_mean(wrong.get_ref(), known) {
            Some(close) => format!("did you mean \"{close}\"?"),
            None if list.is_empty() => {
                format!("the bench declares no {what}; add a [{table}.<name>] table")
            }
            None => format!(
                "declared: {}",
                list.iter()
                    .map(|n| format!("\"{n}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        self.diag.error_with_help(
            wrong.span(),
            format!("no {what} named \"{}\" in this bench", wrong.get_ref()),
            help,
        );
    }
}

/// How messages name a device with numbered outputs and its outputs.
struct Numbered {
    /// "relay board", as in "no relay board named ..."
    device: &'static str,
    /// The bench file's table of such devices.
    table: &'static str,
    /// "relay channel", as in "relay channel 7 does not exist ..."
    output: &'static str,
    /// "board", as in "... on board \"relays\""
    short: &'static str,
    plural: &'static str,
}

const RELAY_CHANNEL: Numbered = Numbered {
    device: "relay board",
    table: "relays",
    output: "relay channel",
    short: "board",
    plural: "channels",
};

const HUB_PORT: Numbered = Numbered {
    device: "hub",
    table: "hubs",
    output: "USB port",
    short: "hub",
    plural: "ports",
};

#[derive(Default)]
struct DutSpans {
    power: Option<Range<usize>>,
    usb: Option<Range<usize>>,
    link: Option<Range<usize>>,
}

fn subnet_ok(text: &str) -> bool {
    let Some((addr, prefix)) = text.split_once('/') else {
        return false;
    };
    match addr.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => prefix.parse::<u8>().is_ok_and(|p| p <= 32),
        Ok(std::net::IpAddr::V6(_)) => prefix.parse::<u8>().is_ok_and(|p| p <= 128),
        Err(_) => false,
    }
}
