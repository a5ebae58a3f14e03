use static_nn::core::augment::{Augment, Shift};
use static_nn::prelude::*;

fn main() {
    // A transform for 8x8 images applied to the 64 values of an 8x8 digit.
    let shift = Shift::<8, 8>::new(2).unwrap();
    let mut digit = SVector::<f32, 64>::zeros();
    shift.apply(&mut digit, &mut Rng::seed_from_u64(0));
}
