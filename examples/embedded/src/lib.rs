//! The sine network of `examples/sine.rs` as firmware would ship it: a `#![no_std]`
//! static library without an allocator, whose weights are baked in at compile time
//! from `sine.safetensors` and live in a `static`, so they stay in read-only memory
//! (`.rodata` here, flash on a microcontroller).
//!
//! `main.c` calls [`sine_predict`] and prints its predictions, and `run.sh` checks them
//! against the std build. Build it with
//! `cargo build --release --manifest-path examples/embedded/Cargo.toml`.
#![no_std]
#![deny(missing_docs)]

use core::panic::PanicInfo;

use static_nn::prelude::*;

network! {
    /// Predicts sin x for x in [0, 2 pi]; the weights are those `examples/sine.rs` trained.
    ///
    /// The budget fails the build if the network outgrows it. The 321 parameters take 1284
    /// bytes of flash, and the macro estimates 128 bytes of activations for one inference
    /// (`FORWARD_BYTES`, 16 + 16 values).
    #[weights("sine.safetensors")]
    #[budget(flash = 1536, ram = 256)]
    pub struct SineNet<f32> {
        input: [1],
        hidden1: Dense(16), Relu,
        hidden2: Dense(16), Relu,
        out: Dense(1),
    }
}

/// The network, with its weights in read-only memory.
static NET: SineNet = SineNet::BAKED;

unsafe extern "C" {
    /// The C runtime's `abort`, so that a panic ends the C program visibly.
    safe fn abort() -> !;
}

#[panic_handler]
fn panic(_info: &PanicInfo) -> ! {
    abort()
}

/// Returns the network's prediction of sin `x`.
#[unsafe(no_mangle)]
pub extern "C" fn sine_predict(x: f32) -> f32 {
    NET.forward(&SVector::<f32, 1>::new(x))[0]
}

/// Returns `SineNet::PARAM_BYTES`, the bytes of the baked weights.
#[unsafe(no_mangle)]
pub extern "C" fn sine_param_bytes() -> usize {
    SineNet::PARAM_BYTES
}

/// Returns `SineNet::FORWARD_BYTES`, the macro's estimate of the activations' stack.
#[unsafe(no_mangle)]
pub extern "C" fn sine_forward_bytes() -> usize {
    SineNet::FORWARD_BYTES
}
