//! Raw scenario -> `Scenario`, checked against the bench it will run on: a
//! scenario that would fail half-way through a two-hour nightly run because
//! of a typo fails here instead, with the place of the typo.

use std::ops::Range;
use std::path::Path;

use toml::Spanned;

use super::model::*;
use super::raw::*;
use crate::config::{BenchConfig, ConfigErrors, Diagnostics, did_you_mean, duration};
use crate::hw::DeviceCommand;

const ACTIONS: [&str; 13] = [
    "power.on",
    "power.off",
    "power.cycle",
    "usb.on",
    "usb.off",
    "net.isolate",
    "net.open",
    "net.allowlist",
    "device.airplane",
    "device.screen",
    "device.power-off",
    "device.reboot",
    // Not an action, but people will try it: point them at the step kind.
    "wait",
];

pub fn parse(path: &Path, source: &str, bench: &BenchConfig) -> Result<Scenario, ConfigErrors> {
    let raw: RawScenarioFile = crate::config::parse_toml(path, source)?;
    let mut diag = Diagnostics::new(path, source);
    let scenario = Checker {
        diag: &mut diag,
        bench,
        settle_s: 0.0,
    }
    .scenario(raw);
    diag.finish()?;
    Ok(scenario)
}

struct Checker<'d, 'a> {
    diag: &'d mut Diagnostics<'a>,
    bench: &'d BenchConfig,
    /// `[scenario] settle`: each phase's settle window unless it sets one.
    settle_s: f64,
}

impl Checker<'_, '_> {
    fn scenario(&mut self, raw: RawScenarioFile) -> Scenario {
        let header_span = raw.scenario.span();
        let header = raw.scenario.into_inner();
        let name = header.name.get_ref().clone();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        {
            self.diag.error(
                header.name.span(),
                format!("scenario name \"{name}\" is not usable in a run directory name; use letters, digits, `-`, `_`, `.`"),
            );
        }
        let mut duts: Vec<String> = Vec::new();
        for d in header.duts.get_ref() {
            if self.bench.dut(d.get_ref()).is_none() {
                let help = match did_you_mean(
                    d.get_ref(),
                    self.bench.duts.iter().map(|x| x.name.as_str()),
                ) {
                    Some(close) => format!("did you mean \"{close}\"?"),
                    None => format!(
                        "bench \"{}\" has: {}",
                        self.bench.name,
                        self.bench
                            .duts
                            .iter()
                            .map(|x| format!("\"{}\"", x.name))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                self.diag.error_with_help(
                    d.span(),
                    format!(
                        "no DUT named \"{}\" on bench \"{}\"",
                        d.get_ref(),
                        self.bench.name
                    ),
                    help,
                );
            } else if duts.contains(d.get_ref()) {
                self.diag
                    .error(d.span(), format!("DUT \"{}\" is listed twice", d.get_ref()));
            } else {
                duts.push(d.get_ref().clone());
            }
        }
        if header.duts.get_ref().is_empty() {
            self.diag
                .error(header.duts.span(), "the scenario names no DUTs");
        }

        if let Some(settle) = &header.settle {
            self.settle_s = self.settle(settle).unwrap_or(0.0);
        }
        let shared = header.steps;
        let mut own = raw.timelines;
        let mut timelines = Vec::new();
        for dut in &duts {
            let key = own.keys().find(|k| k.get_ref() == dut).cloned();
            let steps = match key.and_then(|k| own.remove(&k)) {
                Some(t) => self.steps(dut, t.into_inner().steps),
                None => match &shared {
                    Some(steps) => self.steps_ref(dut, steps),
                    None => {
                        self.diag.error_with_help(
                            header_span.clone(),
                            format!("DUT \"{dut}\" has no steps"),
                            "add `steps = [...]` to [scenario] for every DUT, or `[timelines.<dut>]` with its own steps",
                        );
                        Vec::new()
                    }
                },
            };
            timelines.push(Timeline {
                dut: dut.clone(),
                steps,
            });
        }
        for (k, _) in own {
            self.diag.error_with_help(
                k.span(),
                format!(
                    "timeline for \"{}\", which `scenario.duts` does not list",
                    k.get_ref()
                ),
                "add it to `duts` in [scenario], or remove the timeline",
            );
        }

        let device_timeout = match &header.device_timeout {
            None => DEFAULT_DEVICE_TIMEOUT,
            Some(t) => match duration::parse(t.get_ref()) {
                Ok(d) => d,
                Err(why) => {
                    self.diag.error(t.span(), format!("device_timeout: {why}"));
                    DEFAULT_DEVICE_TIMEOUT
                }
            },
        };
        Scenario {
            name,
            description: header.description,
            on_fault: match header.on_fault.map(|p| *p.get_ref()) {
                None | Some(RawFaultPolicy::Abort) => FaultPolicy::Abort,
                Some(RawFaultPolicy::Continue) => FaultPolicy::Continue,
            },
            device_timeout,
            timelines,
        }
    }

    fn steps(&mut self, dut: &str, raw: Spanned<Vec<Spanned<RawStep>>>) -> Vec<Step> {
        self.steps_ref(dut, &raw)
    }

    fn steps_ref(&mut self, dut: &str, raw: &Spanned<Vec<Spanned<RawStep>>>) -> Vec<Step> {
        if raw.get_ref().is_empty() {
            self.diag.error(raw.span(), "a timeline with no steps");
        }
        raw.get_ref()
            .iter()
            .filter_map(|s| self.step(dut, s))
            .collect()
    }

    fn step(&mut self, dut: &str, raw: &Spanned<RawStep>) -> Option<Step> {
        let span = raw.span();
        let line = self.line_of(&span);
        let s = raw.get_ref();
        let kinds = [
            s.action.is_some(),
            s.wait.is_some(),
            s.mark.is_some(),
            s.phase.is_some(),
        ];
        let n = kinds.iter().filter(|k| **k).count();
        if n != 1 {
            self.diag.error_with_help(
                span,
                if n == 0 {
                    "a step needs one of `do`, `wait`, `mark`, `phase`".to_string()
                } else {
                    "a step is one of `do`, `wait`, `mark`, `phase`, not several: split it".to_string()
                },
                "e.g. { do = \"power.on\" }, { wait = \"20s\" }, { mark = \"text\" }, { phase = \"airplane\", rf = \"silent\" }",
            );
            return None;
        }
        let kind = if let Some(action) = &s.action {
            self.not_for(s.rf.as_ref().map(|x| x.span()), "rf", "a phase");
            self.not_for(s.net.as_ref().map(|x| x.span()), "net", "a phase");
            self.not_for(s.power.as_ref().map(|x| x.span()), "power", "a phase");
            self.not_for(
                s.off_current_a.as_ref().map(|x| x.span()),
                "off_current_a",
                "a phase",
            );
            self.not_for(s.settle.as_ref().map(|x| x.span()), "settle", "a phase");
            StepKind::Action {
                action: self.action(dut, action, s)?,
            }
        } else if let Some(wait) = &s.wait {
            self.only_kind_keys(s, "wait");
            match duration::parse(wait.get_ref()) {
                Ok(d) if !d.is_zero() => StepKind::Wait { duration: d },
                Ok(_) => {
                    self.diag
                        .error(wait.span(), "a wait of zero does nothing; remove it");
                    return None;
                }
                Err(why) => {
                    self.diag.error(wait.span(), format!("wait: {why}"));
                    return None;
                }
            }
        } else if let Some(mark) = &s.mark {
            self.only_kind_keys(s, "mark");
            StepKind::Mark {
                text: mark.get_ref().clone(),
            }
        } else {
            let phase = s.phase.as_ref()?;
            self.not_for(s.state.as_ref().map(|x| x.span()), "state", "`do`");
            self.not_for(s.off_time.as_ref().map(|x| x.span()), "off_time", "`do`");
            StepKind::Phase {
                name: phase.get_ref().clone(),
                expect: self.expect(s)?,
            }
        };
        Some(Step { line, kind })
    }

    fn line_of(&self, span: &Range<usize>) -> usize {
        self.diag.place(span.start).0
    }

    /// A key that belongs to another kind of step.
    fn not_for(&mut self, span: Option<Range<usize>>, key: &str, belongs: &str) {
        if let Some(span) = span {
            self.diag.error(
                span,
                format!("`{key}` belongs to {belongs} step, not this one"),
            );
        }
    }

    fn only_kind_keys(&mut self, s: &RawStep, kind: &str) {
        let extra = [
            ("state", s.state.as_ref().map(|x| x.span())),
            ("off_time", s.off_time.as_ref().map(|x| x.span())),
            ("allow", s.allow.as_ref().map(|x| x.span())),
            ("rf", s.rf.as_ref().map(|x| x.span())),
            ("net", s.net.as_ref().map(|x| x.span())),
            ("power", s.power.as_ref().map(|x| x.span())),
            ("off_current_a", s.off_current_a.as_ref().map(|x| x.span())),
            ("settle", s.settle.as_ref().map(|x| x.span())),
        ];
        for (key, span) in extra {
            if let Some(span) = span {
                self.diag
                    .error(span, format!("a `{kind}` step takes no `{key}`"));
            }
        }
    }

    fn action(&mut self, dut: &str, name: &Spanned<String>, s: &RawStep) -> Option<Action> {
        let dut_cfg = self.bench.dut(dut)?;
        let on_off = |this: &mut Self| -> Option<bool> {
            match s.state.as_ref() {
                None => {
                    this.diag.error_with_help(
                        name.span(),
                        format!("`{}` needs `state`", name.get_ref()),
                        format!("write {{ do = \"{}\", state = \"on\" }}", name.get_ref()),
                    );
                    None
                }
                Some(st) => match st.get_ref().as_str() {
                    "on" => Some(true),
                    "off" => Some(false),
                    other => {
                        this.diag.error(
                            st.span(),
                            format!("state must be \"on\" or \"off\", not \"{other}\""),
                        );
                        None
                    }
                },
            }
        };
        let action = match name.get_ref().as_str() {
            "power.on" => Action::PowerOn,
            "power.off" => Action::PowerOff,
            "power.cycle" => Action::PowerCycle {
                off_time: match &s.off_time {
                    None => dut_cfg.power_cycle_off,
                    Some(t) => match duration::parse(t.get_ref()) {
                        Ok(d) => d,
                        Err(why) => {
                            self.diag.error(t.span(), format!("off_time: {why}"));
                            return None;
                        }
                    },
                },
            },
            "usb.on" => Action::UsbOn,
            "usb.off" => Action::UsbOff,
            "net.isolate" => Action::NetIsolate,
            "net.open" => Action::NetOpen,
            "net.allowlist" => match &s.allow {
                Some(allow) => Action::NetAllowlist {
                    allow: self.allowlist(allow)?,
                },
                None => {
                    self.diag.error_with_help(
                        name.span(),
                        "`net.allowlist` needs `allow`",
                        "e.g. allow = [\"connectivitycheck.gstatic.com\", \"10.77.0.1\", \"192.0.2.0/24\"]",
                    );
                    return None;
                }
            },
            "device.airplane" => Action::Device {
                command: DeviceCommand::Airplane(on_off(self)?),
            },
            "device.screen" => Action::Device {
                command: DeviceCommand::Screen(on_off(self)?),
            },
            "device.power-off" => Action::Device {
                command: DeviceCommand::PowerOff,
            },
            "device.reboot" => Action::Device {
                command: DeviceCommand::Reboot,
            },
            "wait" => {
                self.diag.error_with_help(
                    name.span(),
                    "`wait` is a step of its own",
                    "write { wait = \"20s\" }",
                );
                return None;
            }
            other => {
                let help = match did_you_mean(other, ACTIONS) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => format!("actions: {}", ACTIONS[..12].join(", ")),
                };
                self.diag
                    .error_with_help(name.span(), format!("unknown action `{other}`"), help);
                return None;
            }
        };
        // Keys the action does not read.
        if !matches!(action, Action::PowerCycle { .. }) {
            self.not_for(
                s.off_time.as_ref().map(|x| x.span()),
                "off_time",
                "a `power.cycle`",
            );
        }
        if !matches!(action, Action::NetAllowlist { .. }) {
            self.not_for(
                s.allow.as_ref().map(|x| x.span()),
                "allow",
                "a `net.allowlist` or phase",
            );
        }
        if !matches!(
            action,
            Action::Device {
                command: DeviceCommand::Airplane(_) | DeviceCommand::Screen(_)
            }
        ) {
            self.not_for(
                s.state.as_ref().map(|x| x.span()),
                "state",
                "a `device.airplane` or `device.screen`",
            );
        }
        // The bench must have what the action drives.
        let missing = match &action {
            Action::PowerOn | Action::PowerOff | Action::PowerCycle { .. } => {
                dut_cfg.power.is_none().then_some("power relay")
            }
            Action::UsbOn | Action::UsbOff => dut_cfg.usb.is_none().then_some("USB hub port"),
            Action::NetIsolate | Action::NetOpen | Action::NetAllowlist { .. } => {
                dut_cfg.link.is_none().then_some("network link")
            }
            Action::Device { .. } => dut_cfg.device.is_none().then_some("device control"),
        };
        if let Some(what) = missing {
            self.diag.error(
                name.span(),
                format!(
                    "`{}` for DUT \"{dut}\", which has no {what} on bench \"{}\"",
                    name.get_ref(),
                    self.bench.name
                ),
            );
            return None;
        }
        Some(action)
    }

    /// A settle window: a duration of 0 or more.
    fn settle(&mut self, raw: &Spanned<String>) -> Option<f64> {
        match duration::parse(raw.get_ref()) {
            Ok(d) => Some(d.as_secs_f64()),
            Err(why) => {
                self.diag.error_with_help(
                    raw.span(),
                    format!("settle: {why}"),
                    "how long the phone has to obey after the phase starts, e.g. \"2s\" (\"0s\": judged from the first instant)",
                );
                None
            }
        }
    }

    fn expect(&mut self, s: &RawStep) -> Option<Expect> {
        let mut ok = true;
        let mut pick =
            |this: &mut Self, v: &Option<Spanned<String>>, key: &str, allowed: &[&str]| {
                let value = v.as_ref()?;
                if allowed.contains(&value.get_ref().as_str()) {
                    Some(value.get_ref().clone())
                } else {
                    this.diag.error(
                        value.span(),
                        format!(
                            "{key} must be {}, not \"{}\"",
                            allowed
                                .iter()
                                .map(|a| format!("\"{a}\""))
                                .collect::<Vec<_>>()
                                .join(" or "),
                            value.get_ref()
                        ),
                    );
                    ok = false;
                    None
                }
            };
        let rf = match pick(self, &s.rf, "rf", &["silent", "any"]).as_deref() {
            Some("silent") => RfExpect::Silent,
            _ => RfExpect::Any,
        };
        let net = match pick(self, &s.net, "net", &["none", "allowlist", "any"]).as_deref() {
            Some("none") => NetExpect::None,
            Some("allowlist") => NetExpect::Allowlist,
            _ => NetExpect::Any,
        };
        let power = match pick(self, &s.power, "power", &["off", "any"]).as_deref() {
            Some("off") => PowerExpect::Off,
            _ => PowerExpect::Any,
        };
        let phase_span = s.phase.as_ref().map(|p| p.span()).unwrap_or(0..0);
        let allow = match (&s.allow, net) {
            (Some(a), NetExpect::Allowlist) => self.allowlist(a).unwrap_or_default(),
            (Some(a), _) => {
                self.diag
                    .error(a.span(), "`allow` only applies with net = \"allowlist\"");
                Vec::new()
            }
            (None, NetExpect::Allowlist) => {
                self.diag.error_with_help(
                    phase_span,
                    "net = \"allowlist\" needs `allow`",
                    "list DNS names, IP addresses or CIDR blocks the DUT may talk to",
                );
                Vec::new()
            }
            (None, _) => Vec::new(),
        };
        let off_current_a = match (&s.off_current_a, power) {
            (Some(a), PowerExpect::Off) if *a.get_ref() >= 0.0 && a.get_ref().is_finite() => {
                Some(*a.get_ref())
            }
            (Some(a), PowerExpect::Off) => {
                self.diag
                    .error(a.span(), "off_current_a must be a current of 0 A or more");
                None
            }
            (Some(a), _) => {
                self.diag.error(
                    a.span(),
                    "`off_current_a` only applies with power = \"off\"",
                );
                None
            }
            (None, PowerExpect::Off) => Some(DEFAULT_OFF_CURRENT_A),
            (None, _) => None,
        };
        let settle_s = match &s.settle {
            Some(raw) => match self.settle(raw) {
                Some(v) => v,
                None => {
                    ok = false;
                    0.0
                }
            },
            None => self.settle_s,
        };
        ok.then_some(
            Expect {
                rf,
                net,
                allow,
                power,
                off_current_a,
                settle_s: None,
            }
            .settle(settle_s),
        )
    }

    /// DNS names, IP addresses and CIDR blocks, as the spec's `allow`.
    fn allowlist(&mut self, raw: &Spanned<Vec<Spanned<String>>>) -> Option<Vec<String>> {
        let mut out = Vec::new();
        let mut ok = true;
        for entry in raw.get_ref() {
            let e = entry.get_ref();
            // The same reading the link and the analyzer give it.
            match e.parse::<benchctl_net::Entry>() {
                Ok(_) => out.push(e.clone()),
                Err(why) => {
                    self.diag
                        .error(entry.span(), format!("allow entry \"{e}\": {why}"));
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }
}
