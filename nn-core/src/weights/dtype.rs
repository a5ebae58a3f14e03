//! The element types weight files may store, and conversion to and from them.

use core::any::TypeId;
use core::fmt;

use half::{bf16, f16};
use std::vec::Vec;

use crate::float::Float;

/// The element type of a tensor in a weight file, as the safetensors header spells it.
///
/// [`save`](super::save) writes the network's own scalar type; [`save_as`](super::save_as)
/// writes any of these. Loading accepts all four and converts to the network's scalar
/// type, rounding to nearest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dtype {
    /// IEEE 754 half precision: 11 significant bits, largest finite value 65504.
    F16,
    /// bfloat16: the exponent range of `f32` with 8 significant bits.
    BF16,
    /// IEEE 754 single precision (`f32`, PyTorch's `torch.float32`).
    F32,
    /// IEEE 754 double precision (`f64`, PyTorch's `torch.float64`).
    F64,
}

impl Dtype {
    /// Returns the dtype that stores scalars of type `T` without loss: `F32` for `f32`, `F64` for
    /// every other [`Float`] (whose values convert to `f64` exactly).
    pub fn of<T: Float>() -> Self {
        if TypeId::of::<T>() == TypeId::of::<f32>() {
            Dtype::F32
        } else {
            Dtype::F64
        }
    }

    /// Returns the size of one element in bytes.
    pub const fn size(self) -> usize {
        match self {
            Dtype::F16 | Dtype::BF16 => 2,
            Dtype::F32 => 4,
            Dtype::F64 => 8,
        }
    }

    /// Returns the name in a safetensors header (`"F32"`).
    pub const fn name(self) -> &'static str {
        match self {
            Dtype::F16 => "F16",
            Dtype::BF16 => "BF16",
            Dtype::F32 => "F32",
            Dtype::F64 => "F64",
        }
    }

    pub(super) fn to_safetensors(self) -> safetensors::Dtype {
        match self {
            Dtype::F16 => safetensors::Dtype::F16,
            Dtype::BF16 => safetensors::Dtype::BF16,
            Dtype::F32 => safetensors::Dtype::F32,
            Dtype::F64 => safetensors::Dtype::F64,
        }
    }

    /// Returns the matching dtype, or `None` for the dtypes weights cannot be loaded from
    /// (integers, booleans, complex numbers and the 8-bit and smaller float formats).
    pub(super) fn from_safetensors(dtype: safetensors::Dtype) -> Option<Self> {
        match dtype {
            safetensors::Dtype::F16 => Some(Dtype::F16),
            safetensors::Dtype::BF16 => Some(Dtype::BF16),
            safetensors::Dtype::F32 => Some(Dtype::F32),
            safetensors::Dtype::F64 => Some(Dtype::F64),
            _ => None,
        }
    }

    /// Decodes the little-endian element at the start of `bytes`, which contains at least
    /// [`size`](Self::size) bytes. Every value of the four dtypes converts to `f64` exactly.
    pub(super) fn decode(self, bytes: &[u8]) -> f64 {
        match self {
            Dtype::F16 => f16::from_le_bytes([bytes[0], bytes[1]]).to_f64(),
            Dtype::BF16 => bf16::from_le_bytes([bytes[0], bytes[1]]).to_f64(),
            Dtype::F32 => f64::from(f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])),
            Dtype::F64 => {
                let mut word = [0; 8];
                word.copy_from_slice(&bytes[..8]);
                f64::from_le_bytes(word)
            }
        }
    }

    /// Appends `value` rounded to nearest in this dtype, little-endian, and returns the
    /// stored value so that callers can detect overflow to infinity.
    pub(super) fn encode(self, value: f64, out: &mut Vec<u8>) -> f64 {
        match self {
            Dtype::F16 => {
                let stored = f16::from_f64(value);
                out.extend_from_slice(&stored.to_le_bytes());
                stored.to_f64()
            }
            Dtype::BF16 => {
                let stored = bf16::from_f64(value);
                out.extend_from_slice(&stored.to_le_bytes());
                stored.to_f64()
            }
            Dtype::F32 => {
                let stored = value as f32;
                out.extend_from_slice(&stored.to_le_bytes());
                f64::from(stored)
            }
            Dtype::F64 => {
                out.extend_from_slice(&value.to_le_bytes());
                value
            }
        }
    }
}

impl fmt::Display for Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_types_map_to_their_dtype() {
        assert_eq!(Dtype::of::<f32>(), Dtype::F32);
        assert_eq!(Dtype::of::<f64>(), Dtype::F64);
    }

    #[test]
    fn encode_then_decode_rounds_to_nearest() {
        // F16 values near 1 are 2^-10 apart: 1 + 2^-12 rounds down, 1 + 3 * 2^-11 + 2^-13
        // rounds up to 1 + 2^-9, and the tie 1 + 5 * 2^-11 goes to the even 1 + 2^-9.
        let cases = [
            (Dtype::F16, 1.0 + 2f64.powi(-12), 1.0),
            (
                Dtype::F16,
                1.0 + 3.0 * 2f64.powi(-11) + 2f64.powi(-13),
                1.0 + 2f64.powi(-9),
            ),
            (Dtype::F16, 1.0 + 5.0 * 2f64.powi(-11), 1.0 + 2f64.powi(-9)),
            (Dtype::BF16, 1.0 + 2f64.powi(-9), 1.0),
            (Dtype::BF16, -3.0, -3.0),
            (Dtype::F32, 0.1, f64::from(0.1f32)),
            (Dtype::F64, 0.1, 0.1),
        ];
        for (dtype, value, expected) in cases {
            let mut bytes = Vec::new();
            let stored = dtype.encode(value, &mut bytes);
            assert_eq!(bytes.len(), dtype.size(), "{dtype}");
            assert_eq!(stored, expected, "{dtype} stores {value}");
            assert_eq!(dtype.decode(&bytes), expected, "{dtype} decodes {value}");
        }
    }

    #[test]
    fn f16_overflows_to_infinity() {
        let mut bytes = Vec::new();
        assert!(Dtype::F16.encode(70000.0, &mut bytes).is_infinite());
        assert_eq!(Dtype::BF16.encode(70000.0, &mut bytes), 70144.0);
    }
}
