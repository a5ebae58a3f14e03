//! Data augmentation transforms on hand-made images: what each transform does, seeded
//! reproducibility, the statistics of noise and scaling, zero-strength identities, the
//! rejection of invalid settings, and augmentation inside the training loop.

use static_nn::core::augment::{
    Augment, AugmentError, HorizontalFlip, Image, NoAugmentation, Noise, RandomApply,
    RandomErasing, RandomScale, Rotate, Shift,
};
use static_nn::prelude::*;

/// Returns a 5x5 image with every pixel 0 except `(row, col)`, which is 1.
fn dot(row: usize, col: usize) -> SVector<f32, 25> {
    let mut image = SVector::zeros();
    image[row * 5 + col] = 1.0;
    image
}

/// Returns a 4x4 image whose pixel `(r, c)` is `4 * r + c`, so no two pixels are equal.
fn numbered() -> SVector<f32, 16> {
    SVector::from_fn(|i, _| i as f32)
}

/// Returns an 8x8 image of uniform random values in [0, 16), like a raw digit.
fn random_digit(seed: u64) -> SVector<f32, 64> {
    let mut rng = Rng::seed_from_u64(seed);
    SVector::from_fn(|_, _| rng.uniform(0.0, 16.0))
}

fn assert_close<const N: usize>(actual: &SVector<f32, N>, expected: &SVector<f32, N>, tol: f32) {
    for i in 0..N {
        assert!(
            (actual[i] - expected[i]).abs() <= tol,
            "value {i}: {} instead of {}\nactual: {actual:?}\nexpected: {expected:?}",
            actual[i],
            expected[i]
        );
    }
}

#[test]
fn shift_one_row_down_moves_the_pixel() {
    let mut image = dot(1, 3);
    Image::<5, 5>::shift(&mut image, 1, 0, 0.0);
    assert_eq!(image, dot(2, 3));
}

#[test]
fn shift_one_column_left_moves_the_pixel() {
    let mut image = dot(1, 3);
    Image::<5, 5>::shift(&mut image, 0, -1, 0.0);
    assert_eq!(image, dot(1, 2));
}

#[test]
fn shift_fills_entering_pixels() {
    let mut image = numbered();
    Image::<4, 4>::shift(&mut image, 0, 2, -5.0);
    for r in 0..4 {
        assert_eq!(image[r * 4], -5.0, "row {r}");
        assert_eq!(image[r * 4 + 1], -5.0, "row {r}");
        assert_eq!(image[r * 4 + 2], (r * 4) as f32, "row {r}");
        assert_eq!(image[r * 4 + 3], (r * 4 + 1) as f32, "row {r}");
    }
}

#[test]
fn random_shift_stays_within_range() {
    let shift = Shift::<5, 5>::new(1).unwrap();
    let mut rng = Rng::seed_from_u64(3);
    let mut seen = [[false; 3]; 3];
    for _ in 0..200 {
        let mut image = dot(2, 2);
        shift.apply(&mut image, &mut rng);
        let index = image
            .iter()
            .position(|&v| v == 1.0)
            .expect("the dot stays in view");
        let (rows, cols) = (index / 5, index % 5);
        assert!(
            (1..=3).contains(&rows) && (1..=3).contains(&cols),
            "dot at {rows}, {cols}"
        );
        assert_eq!(image.sum(), 1.0, "only the dot moves");
        seen[rows - 1][cols - 1] = true;
    }
    assert_eq!(seen, [[true; 3]; 3], "every offset in -1..=1 occurs");
}

#[test]
fn flip_mirrors_each_row() {
    let flip = HorizontalFlip::<4, 4>::new(1.0).unwrap();
    let mut image = numbered();
    flip.apply(&mut image, &mut Rng::seed_from_u64(0));
    let expected = SVector::<f32, 16>::from_fn(|i, _| (i / 4 * 4 + 3 - i % 4) as f32);
    assert_eq!(image, expected);

    flip.apply(&mut image, &mut Rng::seed_from_u64(0));
    assert_eq!(image, numbered(), "flipping twice restores the image");
}

#[test]
fn flip_probability_sets_the_share_of_flipped_images() {
    let flip = HorizontalFlip::<4, 4>::new(0.25).unwrap();
    let mut rng = Rng::seed_from_u64(12);
    let trials = 4_000;
    let mut flipped = 0;
    for _ in 0..trials {
        let mut image = numbered();
        flip.apply(&mut image, &mut rng);
        if image != numbered() {
            flipped += 1;
        }
    }
    // The standard deviation of the count is sqrt(4000 * 0.25 * 0.75) = 27.
    assert!(
        (900..1100).contains(&flipped),
        "{flipped} of {trials} flipped"
    );
}

#[test]
fn rotation_by_90_degrees_keeps_a_plus_sign() {
    // A plus sign through the centre of a 5x5 image is symmetric under quarter turns.
    let plus = SVector::<f32, 25>::from_fn(|i, _| f32::from(i / 5 == 2 || i % 5 == 2));
    let rotate = Rotate::<5, 5>::between(90.0, 90.0).unwrap();
    let mut image = plus;
    rotate.apply(&mut image, &mut Rng::seed_from_u64(1));
    assert_close(&image, &plus, 1e-5);
}

#[test]
fn rotation_by_90_degrees_turns_a_bar_upright() {
    let horizontal = SVector::<f32, 25>::from_fn(|i, _| f32::from(i / 5 == 2));
    let vertical = SVector::<f32, 25>::from_fn(|i, _| f32::from(i % 5 == 2));
    let mut image = horizontal;
    Image::<5, 5>::rotate(&mut image, 90.0, 0.0);
    assert_close(&image, &vertical, 1e-5);
}

#[test]
fn positive_angle_turns_counter_clockwise() {
    // The top-centre pixel goes to the left-centre pixel, not the right one.
    let mut image = dot(0, 2);
    Image::<5, 5>::rotate(&mut image, 90.0, 0.0);
    assert_close(&image, &dot(2, 0), 1e-5);
    let mut image = dot(0, 2);
    Image::<5, 5>::rotate(&mut image, -90.0, 0.0);
    assert_close(&image, &dot(2, 4), 1e-5);
}

#[test]
fn rotation_interpolates_between_pixels() {
    // After 45 degrees the dot right of the centre sits between two pixels diagonally
    // up and right; bilinear interpolation spreads it over its neighbours.
    let mut image = dot(2, 3);
    Image::<5, 5>::rotate(&mut image, 45.0, 0.0);
    let total: f32 = image.sum();
    assert!((total - 1.0).abs() < 0.05, "total {total}");
    let largest = image.max();
    assert!(largest < 0.6, "the dot was not spread: {image:?}");
    assert!(
        image[5 + 3] > 0.1,
        "nothing at the pixel up and right: {image:?}"
    );
}

#[test]
fn rotation_keeps_constant_image_constant() {
    // Bilinear weights sum to 1, so a constant image with the same fill stays constant.
    let constant = SVector::<f32, 64>::from_element(3.0);
    let rotate = Rotate::<8, 8>::new(30.0).unwrap().fill_value(3.0).unwrap();
    let mut rng = Rng::seed_from_u64(6);
    for _ in 0..20 {
        let mut image = constant;
        rotate.apply(&mut image, &mut rng);
        assert_close(&image, &constant, 1e-5);
    }
}

#[test]
fn rotation_of_non_square_image_by_half_turn() {
    let mut image = SVector::<f32, 6>::from_column_slice(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    Image::<2, 3>::rotate(&mut image, 180.0, 0.0);
    let expected = SVector::<f32, 6>::from_column_slice(&[6.0, 5.0, 4.0, 3.0, 2.0, 1.0]);
    assert_close(&image, &expected, 1e-5);
}

/// Returns the rectangle `(top, left, bottom, right)`, bounds exclusive, spanned by the
/// pixels of an 8x8 image equal to `value`, or `None` if there are none.
fn bounding_box(image: &SVector<f32, 64>, value: f32) -> Option<(usize, usize, usize, usize)> {
    let positions: Vec<(usize, usize)> = (0..64)
        .filter(|&i| image[i] == value)
        .map(|i| (i / 8, i % 8))
        .collect();
    let top = positions.iter().map(|p| p.0).min()?;
    let bottom = positions.iter().map(|p| p.0).max()? + 1;
    let left = positions.iter().map(|p| p.1).min()?;
    let right = positions.iter().map(|p| p.1).max()? + 1;
    Some((top, left, bottom, right))
}

#[test]
fn erasing_sets_exactly_a_rectangle() {
    let erasing = RandomErasing::<8, 8>::new(1.0)
        .unwrap()
        .scale(0.1, 0.3)
        .unwrap()
        .value(-1.0)
        .unwrap();
    let mut rng = Rng::seed_from_u64(21);
    let mut erased_images = 0;
    let mut touches = [false; 4];
    for _ in 0..300 {
        let mut image = SVector::<f32, 64>::from_element(2.0);
        erasing.apply(&mut image, &mut rng);
        let Some((top, left, bottom, right)) = bounding_box(&image, -1.0) else {
            continue;
        };
        erased_images += 1;
        touches[0] |= top == 0;
        touches[1] |= left == 0;
        touches[2] |= bottom == 8;
        touches[3] |= right == 8;
        for r in 0..8 {
            for c in 0..8 {
                let inside = (top..bottom).contains(&r) && (left..right).contains(&c);
                let expected = if inside { -1.0 } else { 2.0 };
                assert_eq!(image[r * 8 + c], expected, "pixel ({r}, {c}) of {image:?}");
            }
        }
        let area = (bottom - top) * (right - left);
        // 10% to 30% of 64 pixels, give or take the rounding of each side.
        assert!((3..=30).contains(&area), "area {area}");
    }
    // A size fails to fit only when a side rounds beyond 8 pixels, so nearly every
    // image is erased.
    assert!(erased_images > 290, "only {erased_images} of 300 erased");
    // Positions are uniform over those where the rectangle fits, so some rectangles
    // touch each edge (top, left, bottom, right).
    assert_eq!(touches, [true; 4], "edges touched");
}

#[test]
fn erasing_probability_sets_the_share_of_erased_images() {
    let erasing = RandomErasing::<8, 8>::new(0.5).unwrap();
    let mut rng = Rng::seed_from_u64(5);
    let trials = 2_000;
    let mut erased = 0;
    for _ in 0..trials {
        let mut image = SVector::<f32, 64>::from_element(1.0);
        erasing.apply(&mut image, &mut rng);
        if image.iter().any(|&v| v == 0.0) {
            erased += 1;
        }
    }
    // The standard deviation of the count is sqrt(2000 * 0.5 * 0.5) = 22.
    assert!((900..1100).contains(&erased), "{erased} of {trials} erased");
}

/// Returns every transform at once, for 8x8 images.
fn all_transforms() -> impl Augment<f32, 64> {
    (
        Shift::<8, 8>::new(2).unwrap(),
        Rotate::<8, 8>::new(15.0).unwrap(),
        HorizontalFlip::<8, 8>::new(0.5).unwrap(),
        RandomErasing::<8, 8>::new(0.5).unwrap(),
        RandomApply::new(RandomScale::new(0.2).unwrap(), 0.5).unwrap(),
        Noise::new(0.5).unwrap(),
    )
}

#[test]
fn same_seed_gives_same_samples() {
    let augment = all_transforms();
    let mut first_rng = Rng::seed_from_u64(77);
    let mut second_rng = Rng::seed_from_u64(77);
    for sample in 0..50 {
        let mut first = random_digit(sample);
        let mut second = first;
        augment.apply(&mut first, &mut first_rng);
        augment.apply(&mut second, &mut second_rng);
        assert_eq!(first, second, "sample {sample}");
    }
}

#[test]
fn different_seeds_give_different_samples() {
    let augment = all_transforms();
    let original = random_digit(0);
    let mut first = original;
    let mut second = original;
    augment.apply(&mut first, &mut Rng::seed_from_u64(1));
    augment.apply(&mut second, &mut Rng::seed_from_u64(2));
    assert_ne!(first, original);
    assert_ne!(first, second);
}

#[test]
fn each_transform_is_reproducible_and_seed_dependent() {
    fn check(name: &str, augment: &dyn Augment<f32, 64>) {
        let original = random_digit(9);
        let run = |seed: u64| {
            let mut sample = original;
            augment.apply(&mut sample, &mut Rng::seed_from_u64(seed));
            sample
        };
        assert_eq!(run(4), run(4), "{name}: same seed");
        // One seed may leave the image unchanged by chance (a zero shift, no flip), but
        // not all of ten.
        let outcomes: Vec<_> = (10..20).map(run).collect();
        assert!(
            outcomes.iter().any(|sample| *sample != outcomes[0]),
            "{name}: ten seeds gave the same sample"
        );
    }
    check("Noise", &Noise::new(1.0).unwrap());
    check("RandomScale", &RandomScale::new(0.5).unwrap());
    check("Shift", &Shift::<8, 8>::new(1).unwrap());
    check("Rotate", &Rotate::<8, 8>::new(20.0).unwrap());
    check("HorizontalFlip", &HorizontalFlip::<8, 8>::new(0.5).unwrap());
    check("RandomErasing", &RandomErasing::<8, 8>::new(0.5).unwrap());
    let sometimes = RandomApply::new(Noise::new(1.0).unwrap(), 0.5).unwrap();
    check("RandomApply", &sometimes);
}

#[test]
fn noise_mean_and_std_dev() {
    let noise = Noise::new(0.7).unwrap();
    let mut rng = Rng::seed_from_u64(31);
    let (mut sum, mut sum_sq, mut count) = (0.0f64, 0.0f64, 0usize);
    for _ in 0..2_000 {
        let original = SVector::<f64, 64>::from_element(5.0);
        let mut sample = original;
        noise.apply(&mut sample, &mut rng);
        for delta in (sample - original).iter() {
            sum += delta;
            sum_sq += delta * delta;
            count += 1;
        }
    }
    let mean = sum / count as f64;
    let std_dev = (sum_sq / count as f64 - mean * mean).sqrt();
    // 128,000 draws: the standard error of the mean is 0.7 / 358 = 0.002.
    assert!(mean.abs() < 0.01, "mean {mean}");
    assert!((std_dev - 0.7).abs() < 0.01, "standard deviation {std_dev}");
}

#[test]
fn noise_is_independent_across_values() {
    let noise = Noise::new(1.0).unwrap();
    let mut rng = Rng::seed_from_u64(32);
    let mut products = 0.0f64;
    let trials = 20_000;
    for _ in 0..trials {
        let mut sample = SVector::<f64, 2>::zeros();
        noise.apply(&mut sample, &mut rng);
        products += sample[0] * sample[1];
    }
    let correlation = products / trials as f64;
    // The standard error of the correlation of independent values is 1 / sqrt(20000).
    assert!(correlation.abs() < 0.03, "correlation {correlation}");
}

#[test]
fn scaling_factor_is_uniform_in_range() {
    let strength = 0.3;
    let scale = RandomScale::new(strength).unwrap();
    let mut rng = Rng::seed_from_u64(41);
    let trials = 20_000;
    let (mut sum, mut sum_sq) = (0.0f64, 0.0f64);
    let (mut low, mut high) = (f64::INFINITY, f64::NEG_INFINITY);
    for _ in 0..trials {
        let mut sample = SVector::<f64, 3>::new(2.0, -1.0, 0.5);
        scale.apply(&mut sample, &mut rng);
        let factor = sample[0] / 2.0;
        assert!((sample[1] + factor).abs() < 1e-12, "one factor per sample");
        sum += factor;
        sum_sq += factor * factor;
        low = low.min(factor);
        high = high.max(factor);
    }
    let mean = sum / trials as f64;
    let variance = sum_sq / trials as f64 - mean * mean;
    assert!(
        low >= 1.0 - strength && high < 1.0 + strength,
        "range [{low}, {high}]"
    );
    assert!(
        low < 0.71 && high > 1.29,
        "range [{low}, {high}] does not fill [0.7, 1.3)"
    );
    assert!((mean - 1.0).abs() < 0.005, "mean {mean}");
    // A uniform distribution on an interval of width 2s has variance s^2 / 3 = 0.03.
    assert!((variance - 0.03).abs() < 0.002, "variance {variance}");
}

#[test]
fn zero_strength_settings_are_the_identity() {
    let identities: [(&str, &dyn Augment<f32, 64>); 7] = [
        ("Noise", &Noise::new(0.0).unwrap()),
        ("RandomScale", &RandomScale::new(0.0).unwrap()),
        ("Shift", &Shift::<8, 8>::new(0).unwrap()),
        ("Rotate", &Rotate::<8, 8>::new(0.0).unwrap()),
        ("HorizontalFlip", &HorizontalFlip::<8, 8>::new(0.0).unwrap()),
        ("RandomErasing", &RandomErasing::<8, 8>::new(0.0).unwrap()),
        (
            "RandomApply",
            &RandomApply::new(Noise::new(5.0).unwrap(), 0.0).unwrap(),
        ),
    ];
    let mut rng = Rng::seed_from_u64(51);
    for (name, identity) in identities {
        for seed in 0..20 {
            let original = random_digit(seed);
            let mut sample = original;
            identity.apply(&mut sample, &mut rng);
            assert_eq!(sample, original, "{name} changed sample {seed}");
        }
    }
}

/// Returns the setting named in an [`AugmentError::InvalidSetting`].
fn rejected_setting<A>(result: Result<A, AugmentError>) -> &'static str {
    match result {
        Ok(_) => panic!("the invalid setting was accepted"),
        Err(AugmentError::InvalidSetting { setting, .. }) => setting,
    }
}

#[test]
fn invalid_settings_are_rejected_with_errors() {
    assert_eq!(rejected_setting(Noise::new(-0.1)), "std_dev");
    assert_eq!(rejected_setting(Noise::new(f64::NAN)), "std_dev");
    assert_eq!(rejected_setting(RandomScale::new(1.5)), "strength");
    assert_eq!(rejected_setting(RandomScale::new(-0.5)), "strength");

    let noise = Noise::new(1.0).unwrap();
    assert_eq!(
        rejected_setting(RandomApply::new(noise, 1.01)),
        "probability"
    );
    assert_eq!(
        rejected_setting(RandomApply::new(noise, -0.01)),
        "probability"
    );

    assert_eq!(
        rejected_setting(HorizontalFlip::<8, 8>::new(2.0)),
        "probability"
    );
    assert_eq!(
        rejected_setting(HorizontalFlip::<8, 8>::new(f64::NAN)),
        "probability"
    );
    assert_eq!(
        rejected_setting(RandomErasing::<8, 8>::new(-0.2)),
        "probability"
    );

    assert_eq!(rejected_setting(Shift::<8, 8>::new(8)), "max_rows");
    assert_eq!(rejected_setting(Shift::<8, 4>::per_axis(2, 4)), "max_cols");

    assert_eq!(rejected_setting(Rotate::<8, 8>::new(-5.0)), "max_degrees");
    assert_eq!(
        rejected_setting(Rotate::<8, 8>::between(20.0, 10.0)),
        "min_degrees"
    );
}

#[test]
fn erasing_scale_outside_unit_interval_is_rejected() {
    let erasing = RandomErasing::<8, 8>::new(0.5).unwrap();
    assert_eq!(rejected_setting(erasing.scale(0.0, 0.5)), "scale minimum");
    assert_eq!(rejected_setting(erasing.scale(-0.1, 0.5)), "scale minimum");
    assert_eq!(rejected_setting(erasing.scale(0.1, 1.01)), "scale maximum");
    assert_eq!(rejected_setting(erasing.scale(0.4, 0.2)), "scale minimum");
    assert_eq!(rejected_setting(erasing.ratio(0.0, 1.0)), "ratio minimum");
    assert_eq!(rejected_setting(erasing.value(f64::INFINITY)), "value");
    assert!(erasing.scale(0.5, 1.0).is_ok());
}

#[test]
fn error_message_names_value_and_valid_range() {
    let error = RandomErasing::<8, 8>::new(0.5)
        .unwrap()
        .scale(0.1, 1.5)
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid RandomErasing scale maximum 1.5: expected a fraction of the image area in (0, 1]"
    );
    let error = Noise::new(-2.0).unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid Noise std_dev -2: expected a finite number >= 0"
    );
}

network! {
    struct TinyDigitNet<f32> {
        input: [64],
        hidden: Dense(16), Relu,
        out: Dense(10),
    }
}

/// Trains a fresh network for two epochs on the first 320 training digits with
/// `augment` and returns the parameters of its first layer.
fn train_two_epochs<A: Augment<f32, 64>>(augment: A) -> Vec<f32> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/digits_train.csv");
    let all = Dataset::<f32, 64, 10>::read_csv_classification(path).unwrap();
    let indices: Vec<usize> = (0..320).collect();
    let train = all.select(&indices).unwrap();
    let mut net = TinyDigitNet::new(8);
    let mut optimizer = Adam::new(AdamConfig::default()).unwrap();
    let config = TrainConfig::<32>::new(2).seed(8).quiet().augment(augment);
    fit(
        &mut net,
        &mut optimizer,
        &SoftmaxCrossEntropy,
        &train,
        None,
        &config,
    )
    .unwrap();
    net.tensor(0).unwrap().to_vec()
}

#[test]
fn training_with_augmentation_is_reproducible() {
    let augment = || (Shift::<8, 8>::new(1).unwrap(), Noise::new(0.5).unwrap());
    let first = train_two_epochs(augment());
    let second = train_two_epochs(augment());
    assert_eq!(first, second, "the same seed gave different weights");

    let plain = train_two_epochs(NoAugmentation);
    assert_ne!(first, plain, "augmentation did not change training");
}
