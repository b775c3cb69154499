//! The radio shield on a Raspberry Pi Pico (RP2040, Cortex-M0+).
//!
//! - Host link: USB CDC-ACM (usbd-serial), the same framed protocol as every
//!   board; the host finds it by VID/PID and serial number.
//! - SPI0: TI CC1101 (sub-GHz RSSI) and Nordic nRF24L01+ (2.4 GHz received
//!   power detector), one bus, one chip select each.
//! - ADC0: AD8318 log-amp detector output.
//! - I2C0: TI INA226 supply current monitor.
//! - Clock: the RP2040's 64-bit 1 MHz TIMER (RP2040 datasheet 4.6), so
//!   `now_us` needs no wrap handling.
//!
//! Pins: see README.md (the wiring table) and the constants below.

#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn)]

mod adc;
mod front_end;

use core::cell::RefCell;

use embedded_hal::spi::MODE_0;
use embedded_hal_bus::spi::RefCellDevice;
use hal::Clock;
use hal::fugit::RateExtU32;
use hal::gpio::bank0::{Gpio4, Gpio5, Gpio16, Gpio17, Gpio18, Gpio19, Gpio20, Gpio21};
use hal::gpio::{FunctionI2C, FunctionSioOutput, FunctionSpi, Pin, PullDown, PullUp};
use hal::pac;
use heapless::String;
use panic_halt as _;
use rp2040_hal as hal;
use shield_core::{Identity, Limits, Shield};
use shield_protocol::MAX_FRAME;
use usb_device::bus::UsbBusAllocator;
use usb_device::device::{StringDescriptors, UsbDeviceBuilder, UsbVidPid};
use usbd_serial::SerialPort;

use crate::adc::PicoAdc;
use crate::front_end::PicoFrontEnd;

/// Second-stage boot loader for the Pico's W25Q16JV flash (W25Q080 protocol),
/// placed in the first 256 bytes of flash by memory.x's `.boot2` section.
#[unsafe(link_section = ".boot2")]
#[used]
pub static BOOT2: [u8; 256] = rp2040_boot2::BOOT_LOADER_W25Q080;

/// The Pico's crystal (Pico datasheet, "Raspberry Pi Pico design files": 12 MHz).
const XTAL_FREQ_HZ: u32 = 12_000_000;

/// USB identity. 0x2E8A is Raspberry Pi's vendor ID; PID 0x000A is what the
/// Pico SDK's stdio-USB (CDC) uses, so udev rules and drivers that know a
/// Pico serial port know this one. A product shipped outside the lab needs
/// its own PID (Raspberry Pi allocates them on request, or pid.codes).
const USB_VID_PID: UsbVidPid = UsbVidPid(0x2E8A, 0x000A);
/// A constant for now: reading the flash unique ID needs the flash in
/// command mode (XIP off) from RAM-resident code, more than this board needs
/// yet. Give each shield its own by changing this before flashing.
const SERIAL_NUMBER: &str = "PICO-0001";

/// sample rate × channels. The slowest measurement bounds it: an nRF24
/// reading is 8 RPD samples × 170 µs ≈ 1.4 ms, a CC1101 one (retune, RX,
/// 400 µs settle, RSSI read at 4 MHz SPI) ≈ 0.6 ms. 1000 values/s keeps the
/// worst mix (all nRF24 channels) within one second per second.
const MAX_SAMPLES_PER_S: u32 = 1_000;

/// SPI clock for both radios: CC1101 allows 6.5 MHz in burst access
/// (datasheet SWRS061I, table 22), nRF24L01+ 10 MHz.
const SPI_HZ: u32 = 4_000_000;

type SpiBus = hal::Spi<
    hal::spi::Enabled,
    pac::SPI0,
    (
        Pin<Gpio19, FunctionSpi, PullDown>,
        Pin<Gpio16, FunctionSpi, PullDown>,
        Pin<Gpio18, FunctionSpi, PullDown>,
    ),
    8,
>;
type Output<P> = Pin<P, FunctionSioOutput, PullDown>;
type Cc1101Spi = RefCellDevice<'static, SpiBus, Output<Gpio17>, hal::Timer>;
type Nrf24Spi = RefCellDevice<'static, SpiBus, Output<Gpio20>, hal::Timer>;
type I2c0 = hal::I2C<
    pac::I2C0,
    (
        Pin<Gpio4, FunctionI2C, PullUp>,
        Pin<Gpio5, FunctionI2C, PullUp>,
    ),
>;
type Detectors = PicoFrontEnd<Cc1101Spi, Nrf24Spi, Output<Gpio21>, hal::Timer, PicoAdc, I2c0>;

#[hal::entry]
fn main() -> ! {
    let mut pac = pac::Peripherals::take()
        .expect("first and only call: nothing took the peripherals before main");
    let mut watchdog = hal::Watchdog::new(pac.WATCHDOG);
    let clocks = hal::clocks::init_clocks_and_plls(
        XTAL_FREQ_HZ,
        pac.XOSC,
        pac.CLOCKS,
        pac.PLL_SYS,
        pac.PLL_USB,
        &mut pac.RESETS,
        &mut watchdog,
    )
    .expect("the Pico's 12 MHz crystal and PLLs start (no fallback clock to run USB on)");
    let sio = hal::Sio::new(pac.SIO);
    let pins = hal::gpio::Pins::new(
        pac.IO_BANK0,
        pac.PADS_BANK0,
        sio.gpio_bank0,
        &mut pac.RESETS,
    );
    let timer = hal::Timer::new(pac.TIMER, &mut pac.RESETS, &clocks);

    // SPI0: GP18 SCK, GP19 TX (MOSI), GP16 RX (MISO); chip selects are GPIOs
    // so each device has its own (RP2040 datasheet 1.4.3, GPIO functions).
    let sck = pins.gpio18.into_function::<FunctionSpi>();
    let mosi = pins.gpio19.into_function::<FunctionSpi>();
    let miso = pins.gpio16.into_function::<FunctionSpi>();
    let spi = hal::Spi::<_, _, _, 8>::new(pac.SPI0, (mosi, miso, sck)).init(
        &mut pac.RESETS,
        clocks.peripheral_clock.freq(),
        SPI_HZ.Hz(),
        MODE_0,
    );
    let spi_bus: &'static RefCell<SpiBus> =
        cortex_m::singleton!(: RefCell<SpiBus> = RefCell::new(spi)).expect("runs once, from main");
    let cc1101_cs = pins.gpio17.into_push_pull_output();
    let nrf24_cs = pins.gpio20.into_push_pull_output();
    let nrf24_ce = pins.gpio21.into_push_pull_output();
    let cc1101_spi = RefCellDevice::new(spi_bus, cc1101_cs, timer)
        .expect("setting an RP2040 GPIO cannot fail (Infallible)");
    let nrf24_spi = RefCellDevice::new(spi_bus, nrf24_cs, timer)
        .expect("setting an RP2040 GPIO cannot fail (Infallible)");

    // I2C0 on GP4 (SDA) / GP5 (SCL), 400 kHz (INA226 fast mode, datasheet 7.5.1).
    let sda = pins.gpio4.reconfigure::<FunctionI2C, PullUp>();
    let scl = pins.gpio5.reconfigure::<FunctionI2C, PullUp>();
    let i2c = hal::I2C::i2c0(
        pac.I2C0,
        sda,
        scl,
        400.kHz(),
        &mut pac.RESETS,
        &clocks.system_clock,
    );

    // ADC0 on GP26: the AD8318's VOUT (0.5–2.1 V, inside the 3.3 V range).
    let adc = hal::Adc::new(pac.ADC, &mut pac.RESETS);
    let adc_pin = hal::adc::AdcPin::new(pins.gpio26.into_floating_input())
        .expect("GP26 is ADC0 (RP2040 datasheet 4.9.1)");
    let log_amp_input = PicoAdc::new(adc, adc_pin);

    let front_end: Detectors =
        PicoFrontEnd::new(cc1101_spi, nrf24_spi, nrf24_ce, log_amp_input, i2c, timer);
    let identity = Identity {
        firmware: env!("CARGO_PKG_VERSION"),
        board: "pico-rp2040",
        serial: String::try_from(SERIAL_NUMBER).expect("9 bytes fit in String<24>"),
    };
    // ~20 KB: kept in a static rather than main's stack frame.
    let shield = cortex_m::singleton!(: Shield<Detectors> = Shield::new(
        front_end,
        identity,
        Limits { max_samples_per_s: MAX_SAMPLES_PER_S },
    ))
    .expect("runs once, from main");

    // USB CDC-ACM.
    let usb_bus: &'static UsbBusAllocator<hal::usb::UsbBus> = cortex_m::singleton!(
        : UsbBusAllocator<hal::usb::UsbBus> = UsbBusAllocator::new(hal::usb::UsbBus::new(
            pac.USBCTRL_REGS,
            pac.USBCTRL_DPRAM,
            clocks.usb_clock,
            true,
            &mut pac.RESETS,
        ))
    )
    .expect("runs once, from main");
    let mut serial = SerialPort::new(usb_bus);
    let mut usb = UsbDeviceBuilder::new(usb_bus, USB_VID_PID)
        .strings(&[StringDescriptors::default()
            .manufacturer("benchctl")
            .product("radio shield")
            .serial_number(SERIAL_NUMBER)])
        .expect("one language of string descriptors fits")
        .device_class(usbd_serial::USB_CLASS_CDC)
        .build();

    let mut rx = [0u8; 64];
    // The frame being sent: USB takes what fits in its endpoint buffer, the
    // rest waits here while the loop keeps polling.
    let mut tx = [0u8; MAX_FRAME];
    let mut tx_len = 0;
    let mut tx_pos = 0;
    loop {
        let now = timer.get_counter().ticks();
        if usb.poll(&mut [&mut serial]) {
            // Ok(0)/WouldBlock: nothing; errors other than WouldBlock do not
            // happen on a configured CDC port, and a lost chunk shows as a
            // bad frame the engine reports.
            if let Ok(n) = serial.read(&mut rx)
                && let Some(bytes) = rx.get(..n)
            {
                shield.on_rx(bytes, now);
            }
        }
        shield.poll(timer.get_counter().ticks());
        loop {
            if tx_pos == tx_len {
                match shield.next_frame(&mut tx) {
                    Some(n) => {
                        tx_len = n.min(MAX_FRAME);
                        tx_pos = 0;
                    }
                    None => break,
                }
            }
            match tx.get(tx_pos..tx_len).map(|rest| serial.write(rest)) {
                Some(Ok(n)) if n > 0 => tx_pos += n,
                // Endpoint busy or host not reading: try again next turn.
                _ => break,
            }
        }
    }
}
