//! Data augmentation: random transforms applied to each training sample as the training
//! loop draws it, never to the stored data.

use nalgebra::SVector;

use crate::float::Float;
use crate::rng::Rng;

/// A random transform of one sample of `N` values.
///
/// Transforms compose as tuples: `(Noise::new(0.1), Shift::new(2))` applies the noise,
/// then the shift. Every transform draws only from `rng`, so a seeded training run is
/// reproducible.
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
