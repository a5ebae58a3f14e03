//! Proves that static-nn runs inference and training without `std` or `alloc`.
//!
//! This is a `#![no_std]` static library with its own panic handler and no global
//! allocator. If anything in static-nn pulls in `std`, the build fails with a duplicate
//! `panic_impl` lang item; if anything needs `alloc`, it fails for the missing allocator.
//! `main.c` links the library into a C program, and `run.sh` compares its output with
//! the same computation built with `std` (`reference/`).
#![no_std]
#![deny(missing_docs)]

mod model;

use core::ffi::c_float;
use core::panic::PanicInfo;

use model::{BATCH, CLASSES, INPUTS};

unsafe extern "C" {
    /// The C runtime's `abort`, so that a panic ends the C program visibly.
    safe fn abort() -> !;
}

#[panic_handler]
fn panic(_info: &PanicInfo) -> ! {
    abort()
}

/// Reads `INPUTS` floats from `x`, or returns `None` for a null pointer.
///
/// # Safety
///
/// `x` must be null or point to `INPUTS` readable, initialised floats.
unsafe fn read_input(x: *const c_float) -> Option<[f32; INPUTS]> {
    if x.is_null() {
        return None;
    }
    // SAFETY: the caller guarantees `INPUTS` readable floats behind a non-null `x`.
    Some(unsafe { x.cast::<[f32; INPUTS]>().read_unaligned() })
}

/// Returns the number of input values per sample (4).
#[unsafe(no_mangle)]
pub extern "C" fn nn_input_len() -> i32 {
    INPUTS as i32
}

/// Returns the number of classes (3).
#[unsafe(no_mangle)]
pub extern "C" fn nn_class_count() -> i32 {
    CLASSES as i32
}

/// Classifies one sample and returns the predicted class, or -1 when `x` is null.
///
/// # Safety
///
/// `x` must be null or point to `nn_input_len()` readable floats.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nn_predict(x: *const c_float) -> i32 {
    // SAFETY: forwarded from this function's contract.
    match unsafe { read_input(x) } {
        Some(input) => model::predict(&input) as i32,
        None => -1,
    }
}

/// Writes the `nn_class_count()` logits of one sample to `out`; returns 0 on success and
/// -1 when a pointer is null.
///
/// # Safety
///
/// `x` must be null or point to `nn_input_len()` readable floats, and `out` must be null
/// or point to `nn_class_count()` writable floats.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nn_logits(x: *const c_float, out: *mut c_float) -> i32 {
    // SAFETY: forwarded from this function's contract.
    let Some(input) = (unsafe { read_input(x) }) else {
        return -1;
    };
    if out.is_null() {
        return -1;
    }
    let logits = model::logits(&input);
    // SAFETY: the caller guarantees `CLASSES` writable floats behind a non-null `out`.
    unsafe { out.cast::<[f32; CLASSES]>().write_unaligned(logits) };
    0
}

/// Runs one training step on a sample with class `label` and returns the norm of the
/// parameter gradients, or -1 when `x` is null or `label` is not in `0..nn_class_count()`.
///
/// # Safety
///
/// `x` must be null or point to `nn_input_len()` readable floats.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nn_gradient_norm(x: *const c_float, label: i32) -> c_float {
    // SAFETY: forwarded from this function's contract.
    let Some(input) = (unsafe { read_input(x) }) else {
        return -1.0;
    };
    let Ok(label) = usize::try_from(label) else {
        return -1.0;
    };
    model::gradient_norm(&input, label).unwrap_or(-1.0)
}

/// Trains the network for `steps` steps of SGD with momentum on a batch of three samples
/// (`samples`, three rows of `nn_input_len()` floats) with class `labels`, and writes the
/// batch's mean cross-entropy before and after training to `losses[0]` and `losses[1]`.
/// Returns 0 on success and -1 when a pointer is null, `steps` is negative or a label is
/// not in `0..nn_class_count()`.
///
/// # Safety
///
/// `samples` must be null or point to `3 * nn_input_len()` readable floats, `labels` to
/// 3 readable integers and `losses` to 2 writable floats.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nn_train_sgd(
    samples: *const c_float,
    labels: *const i32,
    steps: i32,
    losses: *mut c_float,
) -> i32 {
    if samples.is_null() || labels.is_null() || losses.is_null() {
        return -1;
    }
    let Ok(steps) = usize::try_from(steps) else {
        return -1;
    };
    // SAFETY: the caller guarantees the lengths behind the non-null pointers.
    let (inputs, raw_labels) = unsafe {
        (
            samples.cast::<[[f32; INPUTS]; BATCH]>().read_unaligned(),
            labels.cast::<[i32; BATCH]>().read_unaligned(),
        )
    };
    let mut class_labels = [0usize; BATCH];
    for (slot, &label) in class_labels.iter_mut().zip(&raw_labels) {
        match usize::try_from(label) {
            Ok(label) => *slot = label,
            Err(_) => return -1,
        }
    }
    let Some((before, after)) = model::sgd_losses(&inputs, &class_labels, steps) else {
        return -1;
    };
    // SAFETY: the caller guarantees two writable floats behind a non-null `losses`.
    unsafe { losses.cast::<[f32; 2]>().write_unaligned([before, after]) };
    0
}
