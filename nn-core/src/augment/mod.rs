//! Data augmentation: random transforms applied to each training sample as the training
//! loop draws it, never to the stored data.
//!
//! Transforms for any sample: [`Noise`] (additive Gaussian noise), [`RandomScale`] (one
//! random factor per sample) and [`RandomApply`] (another transform with a probability).
//! Transforms for images of `H` rows and `W` columns stored row-major: [`Shift`],
//! [`Rotate`], [`HorizontalFlip`] and [`RandomErasing`], built on the deterministic
//! operations of [`Image`]. An image transform declared for `H * W` pixels fails to
//! build on samples of another length ([`Image`] explains why `cargo check` misses it).
//!
//! Constructors check their settings and return [`AugmentError`] for invalid ones.
//! Nothing here allocates, and every random choice comes from the [`Rng`] passed to
//! [`Augment::apply`], so the same seed gives the same augmented samples.
//!
//! Transforms act on the raw sample, before a standardising first layer of the network,
//! so fit that layer's statistics to augmented samples. Fitted to the stored samples, a
//! pixel that is almost always 0 gets a tiny standard deviation, and the ink or noise
//! that a transform puts there becomes an input of many standard deviations.
//!
//! ```
//! use nn_core::augment::{Augment, Noise, Rotate, Shift};
//! use nn_core::{Rng, SVector};
//!
//! // Shift 8x8 digits by up to one pixel, rotate them by up to 10 degrees and add noise.
//! let augment = (
//!     Shift::<8, 8>::new(1)?,
//!     Rotate::<8, 8>::new(10.0)?,
//!     Noise::new(0.5)?,
//! );
//! let mut first = SVector::<f32, 64>::from_element(8.0);
//! let mut second = first;
//! augment.apply(&mut first, &mut Rng::seed_from_u64(1));
//! augment.apply(&mut second, &mut Rng::seed_from_u64(1));
//! assert_eq!(first, second);
//! # Ok::<(), nn_core::augment::AugmentError>(())
//! ```

mod erasing;
mod error;
mod flip;
mod image;
mod noise;
mod random_apply;
mod rotate;
mod scale;
mod shift;

use nalgebra::SVector;

use crate::float::Float;
use crate::rng::Rng;

pub use erasing::RandomErasing;
pub use error::AugmentError;
pub use flip::HorizontalFlip;
pub use image::Image;
pub use noise::Noise;
pub use random_apply::RandomApply;
pub use rotate::Rotate;
pub use scale::RandomScale;
pub use shift::Shift;

/// A random transform of one sample of `N` values.
///
/// Transforms compose as tuples of up to six:
/// `(Noise::new(0.1)?, Shift::<8, 8>::new(2)?)` applies the noise, then the shift. Every
/// transform draws only from `rng`, so a seeded training run is reproducible.
pub trait Augment<T: Float, const N: usize> {
    /// Transforms `sample` in place.
    fn apply(&self, sample: &mut SVector<T, N>, rng: &mut Rng);
}

/// The identity: no augmentation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoAugmentation;

impl<T: Float, const N: usize> Augment<T, N> for NoAugmentation {
    fn apply(&self, _sample: &mut SVector<T, N>, _rng: &mut Rng) {}
}

impl<T: Float, const N: usize, A: Augment<T, N> + ?Sized> Augment<T, N> for &A {
    fn apply(&self, sample: &mut SVector<T, N>, rng: &mut Rng) {
        (**self).apply(sample, rng);
    }
}

macro_rules! impl_tuple {
    ($($name:ident $index:tt),+) => {
        impl<T: Float, const N: usize, $($name: Augment<T, N>),+> Augment<T, N> for ($($name,)+) {
            fn apply(&self, sample: &mut SVector<T, N>, rng: &mut Rng) {
                $(self.$index.apply(sample, rng);)+
            }
        }
    };
}

impl_tuple!(A 0);
impl_tuple!(A 0, B 1);
impl_tuple!(A 0, B 1, C 2);
impl_tuple!(A 0, B 1, C 2, D 3);
impl_tuple!(A 0, B 1, C 2, D 3, E 4);
impl_tuple!(A 0, B 1, C 2, D 3, E 4, F 5);
