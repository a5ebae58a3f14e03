//! Per-layer learning rates: factors on the learning rate, chosen by layer name.

use crate::optim::OptimError;
use crate::tensors::Trainable;

/// The number of names a [`LayerRates`] holds.
pub const MAX_LAYER_RATES: usize = 16;

/// Learning-rate factors chosen by layer or tensor name, for
/// [`Optimizer::step_scaled`](crate::optim::Optimizer::step_scaled) and the training loop
/// (`TrainConfig::layer_rates`).
///
/// A name matches a trainable tensor when it equals the tensor's dotted name (`out.bias`)
/// or the part of it before a dot: `backbone` matches `backbone.hidden.weight` but not
/// `backbone2.weight`. The empty name matches every tensor, so it sets a default. The
/// longest matching name wins, and tensors that no name matches keep factor 1.
///
/// A factor of 0 leaves the tensor and its optimizer state untouched, like a frozen layer,
/// but its gradient is still computed; declare the layer `#[frozen]` to skip that too.
/// The names are stored inline, so no allocation is needed, for up to
/// [`MAX_LAYER_RATES`] names.
///
/// ```
/// use nn_core::bytemuck::Zeroable;
/// use nn_core::optim::{LayerRates, Optimizer, Sgd, SgdConfig};
/// use nn_core::{Dense, DenseGrads};
///
/// let rates = LayerRates::new().set("bias", 2.0)?;
/// assert_eq!(rates.factor_for("weight"), 1.0);
/// assert_eq!(rates.factor_for("bias"), 2.0);
///
/// let mut layer = Dense::<f32, 2, 1>::zeroed();
/// let mut grads = DenseGrads::<f32, 2, 1>::zeroed();
/// grads.bias[0] = 1.0;
/// let mut sgd = Sgd::new(SgdConfig { learning_rate: 0.1, ..SgdConfig::default() })?;
/// let scale = rates.lr_scale::<f32, Dense<f32, 2, 1>>();
/// sgd.step_scaled(&mut layer, &grads, &scale)?;
/// assert!((layer.bias[0] + 0.2).abs() < 1e-7);
/// # Ok::<(), nn_core::optim::OptimError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayerRates {
    entries: [(&'static str, f64); MAX_LAYER_RATES],
    len: usize,
}

impl Default for LayerRates {
    fn default() -> Self {
        Self::new()
    }
}

impl LayerRates {
    /// Creates the factors with no names, so every tensor keeps factor 1.
    pub fn new() -> Self {
        Self {
            entries: [("", 1.0); MAX_LAYER_RATES],
            len: 0,
        }
    }

    /// Sets the factor of the trainable tensors that `name` matches, replacing an earlier
    /// factor for the same name.
    ///
    /// Names are `'static` because they are the layer names of a declaration, fixed in
    /// the source. That keeps `LayerRates` and its errors small and free of allocation.
    ///
    /// # Errors
    ///
    /// [`OptimError::InvalidLayerRate`] unless `factor` is finite and not negative, and
    /// [`OptimError::TooManyLayerRates`] when [`MAX_LAYER_RATES`] other names are set.
    pub fn set(mut self, name: &'static str, factor: f64) -> Result<Self, OptimError> {
        let prefix = name;
        if !(factor >= 0.0 && factor.is_finite()) {
            return Err(OptimError::InvalidLayerRate { prefix, factor });
        }
        if let Some(entry) = self.entries[..self.len]
            .iter_mut()
            .find(|(existing, _)| *existing == prefix)
        {
            entry.1 = factor;
            return Ok(self);
        }
        if self.len == MAX_LAYER_RATES {
            return Err(OptimError::TooManyLayerRates { prefix });
        }
        self.entries[self.len] = (prefix, factor);
        self.len += 1;
        Ok(self)
    }

    /// Returns the names and factors in the order they were first set.
    pub fn entries(&self) -> impl Iterator<Item = (&'static str, f64)> + '_ {
        self.entries[..self.len].iter().copied()
    }

    /// Returns the factor for the tensor named `tensor`: that of the longest matching
    /// name, or 1.
    pub fn factor_for(&self, tensor: &str) -> f64 {
        self.entries[..self.len]
            .iter()
            .filter(|(name, _)| matches(name, tensor))
            .max_by_key(|(name, _)| name.len())
            .map_or(1.0, |(_, factor)| *factor)
    }

    /// Returns the learning-rate scale of trainable tensor `i` of `P` as `step_scaled`
    /// takes it: the factor, or `None` for a factor of 0 and for `i` past the last tensor.
    pub fn scale<T, P: Trainable<T>>(&self, i: usize) -> Option<f64> {
        let info = P::trainable_tensor_info(i)?;
        let factor = self.factor_for(info.name.as_str());
        (factor != 0.0).then_some(factor)
    }

    /// Returns [`scale`](Self::scale) for `P` as the closure `step_scaled` takes.
    pub fn lr_scale<T, P: Trainable<T>>(&self) -> impl Fn(usize) -> Option<f64> + '_ {
        move |i| self.scale::<T, P>(i)
    }

    /// Checks that every name matches at least one trainable tensor of `P`.
    ///
    /// # Errors
    ///
    /// [`OptimError::LayerRateMatchesNothing`] for the first name that matches none: a
    /// misspelt name, or the name of a frozen layer.
    pub fn check<T, P: Trainable<T>>(&self) -> Result<(), OptimError> {
        for (prefix, _) in &self.entries[..self.len] {
            let matched = (0..P::TRAINABLE_COUNT).any(|i| {
                let info = P::trainable_tensor_info(i);
                info.is_some_and(|info| matches(prefix, info.name.as_str()))
            });
            if !matched {
                return Err(OptimError::LayerRateMatchesNothing { prefix });
            }
        }
        Ok(())
    }
}

/// Returns whether `name` matches `tensor`: equal, a prefix ending at a dot, or empty.
fn matches(name: &str, tensor: &str) -> bool {
    match tensor.strip_prefix(name) {
        Some(rest) => name.is_empty() || rest.is_empty() || rest.starts_with('.'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{Dense, Frozen};

    #[test]
    fn longest_matching_name_wins() {
        let rates = LayerRates::new()
            .set("", 0.5)
            .and_then(|rates| rates.set("backbone", 0.1))
            .and_then(|rates| rates.set("backbone.out.bias", 3.0))
            .unwrap();
        assert_eq!(rates.factor_for("head.weight"), 0.5);
        assert_eq!(rates.factor_for("backbone.hidden.weight"), 0.1);
        assert_eq!(rates.factor_for("backbone.out.bias"), 3.0);
        assert_eq!(rates.factor_for("backbone.out.weight"), 0.1);
    }

    #[test]
    fn name_matches_only_up_to_a_dot() {
        let rates = LayerRates::new().set("hidden", 2.0).unwrap();
        assert_eq!(rates.factor_for("hidden.weight"), 2.0);
        assert_eq!(rates.factor_for("hidden"), 2.0);
        assert_eq!(rates.factor_for("hidden2.weight"), 1.0);
        assert_eq!(rates.factor_for("out.weight"), 1.0);
    }

    #[test]
    fn setting_a_name_again_replaces_its_factor() {
        let rates = LayerRates::new()
            .set("out", 2.0)
            .and_then(|rates| rates.set("out", 4.0))
            .unwrap();
        assert_eq!(rates.entries().count(), 1);
        assert_eq!(rates.factor_for("out.bias"), 4.0);
    }

    #[test]
    fn zero_factor_skips_the_tensor() {
        let rates = LayerRates::new().set("weight", 0.0).unwrap();
        assert_eq!(rates.scale::<f32, Dense<f32, 2, 1>>(0), None);
        assert_eq!(rates.scale::<f32, Dense<f32, 2, 1>>(1), Some(1.0));
        assert_eq!(rates.scale::<f32, Dense<f32, 2, 1>>(2), None);
    }

    #[test]
    fn invalid_factors_are_errors() {
        for factor in [-0.5, f64::NAN, f64::INFINITY] {
            let error = LayerRates::new().set("out", factor).unwrap_err();
            assert!(
                matches!(error, OptimError::InvalidLayerRate { prefix: "out", .. }),
                "{error:?}"
            );
        }
        let error = LayerRates::new().set("out", -1.0).unwrap_err();
        assert_eq!(
            std::format!("{error}"),
            "invalid learning-rate factor -1 for `out`: expected a finite number >= 0"
        );
    }

    #[test]
    fn too_many_names_are_an_error() {
        const NAMES: [&str; MAX_LAYER_RATES] = [
            "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p",
        ];
        let mut rates = LayerRates::new();
        for name in NAMES {
            rates = rates.set(name, 1.0).unwrap();
        }
        // Replacing an existing factor still works when full.
        rates = rates.set("a", 2.0).unwrap();
        let error = rates.set("extra", 1.0).unwrap_err();
        assert!(
            matches!(error, OptimError::TooManyLayerRates { prefix: "extra" }),
            "{error:?}"
        );
    }

    #[test]
    fn check_rejects_names_without_trainable_tensors() {
        let rates = LayerRates::new().set("bias", 2.0).unwrap();
        assert_eq!(rates.check::<f32, Dense<f32, 2, 1>>(), Ok(()));
        let error = rates.check::<f32, Frozen<Dense<f32, 2, 1>>>().unwrap_err();
        assert!(
            matches!(
                error,
                OptimError::LayerRateMatchesNothing { prefix: "bias" }
            ),
            "{error:?}"
        );
        let misspelt = LayerRates::new().set("biass", 2.0).unwrap();
        assert!(misspelt.check::<f32, Dense<f32, 2, 1>>().is_err());
    }
}
