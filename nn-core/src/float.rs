//! The scalar types networks compute in.

use core::fmt::{Debug, Display};

use nalgebra::RealField;

/// A floating-point scalar a network can compute in: `f32` or `f64`.
///
/// nalgebra's `RealField` supplies arithmetic and the elementary functions (through `std`,
/// or through libm without `std`); this trait adds conversions and the functions nalgebra
/// lacks.
pub trait Float:
    RealField + Copy + Default + Debug + Display + bytemuck::Pod + Send + Sync + 'static
{
    /// The type's name as Rust spells it, for summaries and messages.
    const NAME: &'static str;

    /// The default finite-difference step of gradient checks: large enough that rounding
    /// does not swamp the difference, small enough that curvature does not bias it.
    const GRAD_CHECK_STEP: f64;

    /// The smallest positive normal value (`f32::MIN_POSITIVE` or `f64::MIN_POSITIVE`), as
    /// an `f64`. Smaller magnitudes other than zero are subnormal.
    const SMALLEST_NORMAL: f64;

    /// Converts from `f64`, rounding to the nearest value.
    fn from_f64_lossy(value: f64) -> Self;

    /// Converts to `f64` exactly.
    fn as_f64(self) -> f64;

    /// The error function, from libm.
    fn erf(self) -> Self;

    /// The complementary error function `1 - erf(x)`, from libm; accurate where `erf` is
    /// close to -1 or 1.
    fn erfc(self) -> Self;
}

impl Float for f32 {
    const NAME: &'static str = "f32";
    const GRAD_CHECK_STEP: f64 = 1e-2;
    const SMALLEST_NORMAL: f64 = f32::MIN_POSITIVE as f64;

    fn from_f64_lossy(value: f64) -> Self {
        value as f32
    }

    fn as_f64(self) -> f64 {
        f64::from(self)
    }

    fn erf(self) -> Self {
        libm::erff(self)
    }

    fn erfc(self) -> Self {
        libm::erfcf(self)
    }
}

impl Float for f64 {
    const NAME: &'static str = "f64";
    const GRAD_CHECK_STEP: f64 = 1e-6;
    const SMALLEST_NORMAL: f64 = f64::MIN_POSITIVE;

    fn from_f64_lossy(value: f64) -> Self {
        value
    }

    fn as_f64(self) -> f64 {
        self
    }

    fn erf(self) -> Self {
        libm::erf(self)
    }

    fn erfc(self) -> Self {
        libm::erfc(self)
    }
}

/// Converts an `f64` constant to `T`.
#[inline(always)]
pub(crate) fn c<T: Float>(value: f64) -> T {
    T::from_f64_lossy(value)
}
