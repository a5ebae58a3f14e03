//! Standardisation: per-feature mean and standard deviation, fitted on training data.

use nalgebra::{SMatrix, SVector};

use super::{DataError, Dataset};
use crate::float::Float;

/// The mean and standard deviation of each of `N` features, to map every feature to mean
/// 0 and standard deviation 1 with `(x - mean) / std`.
///
/// Fit it on the training set only and apply the same statistics to validation and test
/// data, so no information from them leaks into training. The standard deviation is the
/// population one (divided by the number of samples, as scikit-learn's `StandardScaler`
/// does). A feature whose values are all equal has a standard deviation of 0; it is
/// stored as 1 instead, so that feature maps to 0 rather than NaN or infinity.
#[derive(Clone, Debug, PartialEq)]
pub struct Standardizer<T: Float, const N: usize> {
    mean: SVector<T, N>,
    std: SVector<T, N>,
}

impl<T: Float, const N: usize> Standardizer<T, N> {
    /// Computes the mean and standard deviation of each feature over `inputs`.
    ///
    /// The sums are accumulated in `f64` and in two passes (mean first, then squared
    /// deviations), which keeps rounding errors small for `f32` data.
    ///
    /// # Errors
    ///
    /// [`DataError::NoSamples`] when `inputs` is empty.
    pub fn fit(inputs: &[SVector<T, N>]) -> Result<Self, DataError> {
        if inputs.is_empty() {
            return Err(DataError::NoSamples);
        }
        let count = inputs.len() as f64;
        let mut mean = [0.0f64; N];
        for input in inputs {
            for (sum, value) in mean.iter_mut().zip(input.iter()) {
                *sum += value.as_f64();
            }
        }
        mean.iter_mut().for_each(|sum| *sum /= count);

        let mut variance = [0.0f64; N];
        let mut constant = [true; N];
        for input in inputs {
            for j in 0..N {
                let value = input[j].as_f64();
                variance[j] += (value - mean[j]) * (value - mean[j]);
                constant[j] &= value == inputs[0][j].as_f64();
            }
        }

        let std = SVector::<T, N>::from_fn(|j, _| {
            let std = T::from_f64_lossy(libm::sqrt(variance[j] / count));
            // A constant feature, or a spread too small for `T`, divides by 1.
            if constant[j] || std <= T::zero() {
                T::one()
            } else {
                std
            }
        });
        Ok(Self {
            mean: SVector::from_fn(|j, _| T::from_f64_lossy(mean[j])),
            std,
        })
    }

    /// Creates a standardizer from known statistics, for example ones saved earlier.
    ///
    /// # Errors
    ///
    /// [`DataError::InvalidStandardDeviation`] for a standard deviation that is not
    /// finite and positive. `mean` is not checked.
    pub fn from_parts(mean: SVector<T, N>, std: SVector<T, N>) -> Result<Self, DataError> {
        for (feature, &value) in std.iter().enumerate() {
            let value = value.as_f64();
            if !(value.is_finite() && value > 0.0) {
                return Err(DataError::InvalidStandardDeviation { feature, value });
            }
        }
        Ok(Self { mean, std })
    }

    /// The mean of each feature.
    pub fn mean(&self) -> &SVector<T, N> {
        &self.mean
    }

    /// The standard deviation of each feature (1 for constant features).
    pub fn std(&self) -> &SVector<T, N> {
        &self.std
    }

    /// Standardises one sample.
    pub fn transform(&self, x: &SVector<T, N>) -> SVector<T, N> {
        self.transform_batch(x)
    }

    /// Standardises a batch, one sample per column.
    pub fn transform_batch<const B: usize>(&self, x: &SMatrix<T, N, B>) -> SMatrix<T, N, B> {
        SMatrix::from_fn(|row, column| (x[(row, column)] - self.mean[row]) / self.std[row])
    }

    /// Standardises the inputs of `data` in place; targets and labels are unchanged.
    pub fn apply<const OUT: usize>(&self, data: &mut Dataset<T, N, OUT>) {
        for input in data.inputs_mut() {
            *input = self.transform(input);
        }
    }

    /// Returns a [`Standardize`](crate::standardize::Standardize) layer with these
    /// statistics, to put first in a network so that deployed code takes raw inputs.
    ///
    /// The layer computes the same `(x - mean) / std` in `T`, so its output equals
    /// [`transform`](Self::transform) bit for bit.
    pub fn to_layer(&self) -> crate::standardize::Standardize<T, N> {
        crate::standardize::Standardize::new(self.mean, self.std)
    }
}
