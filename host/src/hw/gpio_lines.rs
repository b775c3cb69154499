//! Relay channels over GPIO output lines, apart from any GPIO library:
//! channel n is line n - 1, and an active-low board closes its relay on a
//! low line. The Raspberry Pi backend (rppal) and the character-device
//! backend (gpiocdev) drive their lines through [`Line`]; the logic here
//! is tested with fake lines.

/// One GPIO output as the relay logic needs it: our own GPIO trait, so the
/// logic is tested without a board and every GPIO backend shares it.
pub trait Line {
    fn set_high(&mut self, high: bool) -> Result<(), String>;
    /// The level on the line, read back.
    fn is_high(&self) -> Result<bool, String>;
}

/// The level that closes (`on`) or opens a relay.
pub fn pin_level(on: bool, active_low: bool) -> bool {
    on != active_low
}

/// Whether a relay is closed, from its pin's level.
pub fn relay_closed(high: bool, active_low: bool) -> bool {
    high != active_low
}

/// Relay channels, 1-based, over their output lines.
#[derive(Debug)]
pub struct Relays<L> {
    /// `lines[n - 1]` drives channel n.
    pub lines: Vec<L>,
    pub active_low: bool,
}

impl<L: Line> Relays<L> {
    pub fn new(lines: Vec<L>, active_low: bool) -> Self {
        Relays { lines, active_low }
    }

    fn line(&mut self, channel: u8) -> Result<&mut L, String> {
        let count = self.lines.len();
        usize::from(channel)
            .checked_sub(1)
            .and_then(|i| self.lines.get_mut(i))
            .ok_or_else(|| format!("channel {channel} does not exist (channels 1-{count})"))
    }

    pub fn set(&mut self, channel: u8, on: bool) -> Result<(), String> {
        let level = pin_level(on, self.active_low);
        self.line(channel)?.set_high(level)
    }

    pub fn closed(&mut self, channel: u8) -> Result<bool, String> {
        let active_low = self.active_low;
        Ok(relay_closed(self.line(channel)?.is_high()?, active_low))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct FakeLine(bool);

    impl Line for FakeLine {
        fn set_high(&mut self, high: bool) -> Result<(), String> {
            self.0 = high;
            Ok(())
        }
        fn is_high(&self) -> Result<bool, String> {
            Ok(self.0)
        }
    }

    #[test]
    fn active_low_closes_on_low() {
        assert!(!pin_level(true, true));
        assert!(pin_level(false, true));
        assert!(pin_level(true, false));
        assert!(!pin_level(false, false));
        for active_low in [true, false] {
            for on in [true, false] {
                assert_eq!(relay_closed(pin_level(on, active_low), active_low), on);
            }
        }
    }

    #[test]
    fn channel_n_drives_line_n_minus_1() {
        // Active-low HAT, all relays open (pins high), as after power-up.
        let mut relays = Relays::new(vec![FakeLine(true), FakeLine(true), FakeLine(true)], true);
        relays.set(2, true).expect("switch the relay");
        assert!(relays.lines[0].0);
        assert!(
            !relays.lines[1].0,
            "channel 2 is pins[1], pulled low to close"
        );
        assert!(relays.lines[2].0);
        assert_eq!(relays.closed(2), Ok(true));
        assert_eq!(relays.closed(1), Ok(false));
        relays.set(2, false).expect("switch the relay");
        assert_eq!(relays.closed(2), Ok(false));
    }

    #[test]
    fn reads_back_the_line_not_the_request() {
        let mut relays = Relays::new(vec![FakeLine(false)], false);
        relays.set(1, true).expect("switch the relay");
        // Something else pulls the line down: get must report it.
        relays.lines[0].0 = false;
        assert_eq!(relays.closed(1), Ok(false));
    }

    #[test]
    fn channels_outside_the_board_are_errors() {
        let mut relays = Relays::new(vec![FakeLine(false), FakeLine(false)], true);
        assert!(relays.set(0, true).is_err());
        let err = relays.set(3, true).expect_err("must fail");
        assert!(err.contains("channels 1-2"), "{err}");
        assert!(relays.closed(3).is_err());
    }
}
