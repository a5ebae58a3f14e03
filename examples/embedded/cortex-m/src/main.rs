//! The sine network of `examples/sine.rs` as bare-metal firmware for a Cortex-M4F, to
//! measure what the network costs on a microcontroller (see `docs/embedded.md`).
//!
//! The weights are baked in from `../sine.safetensors` and live in a `static`, so the
//! linker puts them in flash (`.rodata`). The program runs the network in a loop and
//! stores each prediction where a debugger can read it; a real application would read a
//! sensor and drive an output instead. With the `baseline` feature the network is left
//! out, so the difference of the two images is what the network adds.
//!
//! Build with `cargo build --release` in this directory, after
//! `rustup target add thumbv7em-none-eabihf`.
#![no_std]
#![no_main]

use core::hint::black_box;
use core::panic::PanicInfo;
use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m_rt::entry;

#[cfg(not(feature = "baseline"))]
mod sine {
    use static_nn::prelude::*;

    network! {
        /// Predicts sin x for x in [0, 2 pi], with the weights `examples/sine.rs` trained.
        #[weights("../sine.safetensors")]
        #[budget(flash = 1536, ram = 256)]
        pub struct SineNet<f32> {
            input: [1],
            hidden1: Dense(16), Relu,
            hidden2: Dense(16), Relu,
            out: Dense(1),
        }
    }

    /// The network, with its weights in flash.
    static NET: SineNet = SineNet::BAKED;

    /// Returns the network's prediction of sin `x`.
    #[inline(never)]
    pub fn predict(x: f32) -> f32 {
        NET.forward(&SVector::<f32, 1>::new(x))[0]
    }
}

#[cfg(feature = "baseline")]
mod sine {
    /// Returns `x`: the baseline without the network.
    #[inline(never)]
    pub fn predict(x: f32) -> f32 {
        x
    }
}

/// The bits of the latest prediction, for a debugger to read. The exported name keeps
/// the compiler from dropping the stores.
#[unsafe(no_mangle)]
pub static PREDICTION: AtomicU32 = AtomicU32::new(0);

#[entry]
fn main() -> ! {
    let mut x = 0.0f32;
    loop {
        let y = sine::predict(black_box(x));
        PREDICTION.store(y.to_bits(), Ordering::Relaxed);
        x = if x < 6.0 { x + 0.4 } else { 0.0 };
    }
}

#[panic_handler]
fn panic(_info: &PanicInfo) -> ! {
    loop {
        core::hint::spin_loop();
    }
}
