//! Elementwise optimizer updates: the slices that one update reads and writes, the runners
//! that cut them into ranges for several threads, and the dispatch to 256-bit vector code.
//!
//! Every optimizer of this module updates each parameter value from that value, its
//! gradient and its own state values alone. A tensor can therefore be cut into ranges that
//! are updated separately, in any order or at the same time, with the same result as one
//! pass over the whole tensor. [`UpdateRunner`] does the cutting: [`SingleThread`] runs each
//! tensor in one pass, and `train::parallel::ParallelGrads` (`std` feature) spreads large
//! tensors over its threads.

use crate::float::Float;

/// The maximum number of state buffers of an update: RMSProp's square average, gradient
/// average and momentum buffer.
pub const MAX_STATE_BUFFERS: usize = 3;

/// The values of one parameter tensor, or of a range of it, that an elementwise update
/// reads and writes.
///
/// All non-empty slices have the same length, and value `i` of each belongs to parameter
/// `params[i]`. An optimizer with fewer than [`MAX_STATE_BUFFERS`] buffers leaves the
/// remaining entries of `state` empty.
#[derive(Debug)]
pub struct UpdateSlices<'a, T> {
    /// The parameter values.
    pub params: &'a mut [T],
    /// The gradients of the parameters.
    pub grads: &'a [T],
    /// The optimizer's state values for the parameters, one slice per buffer in the
    /// optimizer's order.
    pub state: [&'a mut [T]; MAX_STATE_BUFFERS],
}

impl<'a, T> UpdateSlices<'a, T> {
    /// The number of parameter values.
    pub fn len(&self) -> usize {
        self.params.len()
    }

    /// Whether there are no parameter values.
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }

    /// Splits into the values before `mid` and the values from `mid` on, like
    /// `slice::split_at_mut`. A `mid` beyond the end splits at the end, and empty state
    /// slices stay empty on both sides.
    pub fn split_at(self, mid: usize) -> (Self, Self) {
        let mid = mid.min(self.params.len());
        let (params_low, params_high) = self.params.split_at_mut(mid);
        let (grads_low, grads_high) = self.grads.split_at(mid.min(self.grads.len()));
        let [a, b, c] = self
            .state
            .map(|values| values.split_at_mut(mid.min(values.len())));
        let low = UpdateSlices {
            params: params_low,
            grads: grads_low,
            state: [a.0, b.0, c.0],
        };
        let high = UpdateSlices {
            params: params_high,
            grads: grads_high,
            state: [a.1, b.1, c.1],
        };
        (low, high)
    }
}

/// Runs the elementwise update of one tensor in an optimizer step, on the calling thread
/// or cut into ranges on several threads.
///
/// [`Optimizer::step_scaled_with`](super::Optimizer::step_scaled_with) hands each tensor's
/// slices to the runner together with `update`. `update` treats every value independently
/// of the others, so a runner may call it on any ranges that together cover `slices` once,
/// in any order and at the same time. The parameters then come out bit-identical to one
/// call on the whole of `slices`.
pub trait UpdateRunner<T> {
    /// Calls `update` on ranges of `slices` that together cover every value exactly once.
    /// An implementation that skips or repeats values gives wrong parameters.
    fn run(&self, slices: UpdateSlices<'_, T>, update: &(dyn Fn(UpdateSlices<'_, T>) + Sync));
}

/// Runs every update on the calling thread, in one pass per tensor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SingleThread;

impl<T> UpdateRunner<T> for SingleThread {
    fn run(&self, slices: UpdateSlices<'_, T>, update: &(dyn Fn(UpdateSlices<'_, T>) + Sync)) {
        update(slices);
    }
}

/// An elementwise update rule with its coefficients for one step and one tensor.
///
/// `apply` is one loop over the values whose body does not branch on them, and its
/// implementations are `#[inline(always)]`, so that [`apply_vectorized`] can compile the
/// loop a second time for 256-bit vectors.
///
/// The loop body reads every value of its index into locals before it writes any. The
/// slices arrive in a struct, so the compiler must assume that they may overlap, and it
/// can keep each read after the writes that the source puts before it. A read that
/// follows a write to an address with the same last 12 bits may then wait for that write,
/// because a core may compare only those bits at first. Large tensors allocated one by
/// one can all share those bits. On the AMD EPYC family 23 machine of `BENCHMARKS.md`,
/// Adam's update of a 100,352-value tensor from the L3 cache, with all slices starting on
/// a page, took 138-142 µs with the reads after the writes. With the reads first it took
/// 47-50 µs (`cargo bench --bench optimizer_update`).
pub(crate) trait VectorRule<T> {
    /// Updates every value of `slices`.
    fn apply(&self, slices: UpdateSlices<'_, T>);
}

/// Applies `rule` to `slices` with 256-bit vectors (AVX) where the CPU has them, else with
/// the target's own vectors (SSE2 on the baseline x86-64 target).
///
/// Both versions compute the same bits: AVX adds wider registers but no new rounding,
/// and Rust never fuses a multiply and an add on its own, so both round every operation
/// as the source writes it.
#[inline]
pub(crate) fn apply_vectorized<T: Float, R: VectorRule<T>>(rule: &R, slices: UpdateSlices<'_, T>) {
    #[cfg(all(feature = "std", target_arch = "x86_64", not(target_feature = "avx")))]
    if std::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU runs AVX instructions, which is all `apply_avx` requires.
        unsafe { apply_avx(rule, slices) };
        return;
    }
    rule.apply(slices);
}

/// [`VectorRule::apply`], compiled with AVX enabled.
#[cfg(all(feature = "std", target_arch = "x86_64", not(target_feature = "avx")))]
#[target_feature(enable = "avx")]
fn apply_avx<T: Float, R: VectorRule<T>>(rule: &R, slices: UpdateSlices<'_, T>) {
    rule.apply(slices);
}

/// Returns `value`, or zero when its magnitude is below `smallest_normal`, the type's
/// smallest normal value: a subnormal `value` becomes zero.
///
/// The optimizers store their running averages through it. Many x86-64 cores compute an
/// instruction with a subnormal input or result in microcode, many times slower than
/// usual, and one such lane slows the whole vector. Training produces such values. A
/// weight whose input is almost always zero, such as a border pixel of MNIST, gets a zero
/// gradient in most steps. Adam's moments for it then shrink geometrically through the
/// subnormal range for hundreds (first moment) to thousands (second moment) of steps.
/// Stored as zero, such a value costs at most one slow step.
///
/// Compared with PyTorch, which keeps subnormal values, this changes only running
/// averages below about `1.2e-38` (`f32`). The parameter moves by the learning rate times
/// such a value over a denominator of at least `eps`. That is below half a unit in the
/// last place of any parameter larger than about `1e-25`, so the parameters keep the same
/// bits except for parameters that small. NOTE: this holds for `eps` of about `1e-12`
/// and above (the default is `1e-8`). With a much smaller `eps`, a flushed second moment
/// changes the denominator of Adam and RMSProp, and the parameters differ from PyTorch's.
#[inline(always)]
pub(crate) fn flush_subnormal<T: Float>(value: T, smallest_normal: T) -> T {
    if value.abs() < smallest_normal {
        T::zero()
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use std::vec::Vec;

    use super::*;

    /// Doubles each parameter and adds the gradient and the first state value, so every
    /// input slice shows in the result.
    struct Combine;

    impl VectorRule<f32> for Combine {
        #[inline(always)]
        fn apply(&self, slices: UpdateSlices<'_, f32>) {
            let UpdateSlices {
                params,
                grads,
                state: [first, _, _],
            } = slices;
            for ((p, &g), s) in params.iter_mut().zip(grads).zip(first.iter_mut()) {
                *p = 2.0 * *p + g + *s;
                *s += 1.0;
            }
        }
    }

    fn values(len: usize, offset: f32) -> Vec<f32> {
        (0..len).map(|i| i as f32 * 0.5 + offset).collect()
    }

    #[test]
    fn split_covers_every_value_once() {
        let mut params = values(10, 0.0);
        let grads = values(10, 1.0);
        let mut first = values(10, 2.0);
        let slices = UpdateSlices {
            params: &mut params,
            grads: &grads,
            state: [&mut first, &mut [], &mut []],
        };
        let (low, high) = slices.split_at(4);
        assert_eq!((low.len(), high.len()), (4, 6));
        assert_eq!(low.grads.len(), 4);
        assert_eq!(high.state[0].len(), 6);
        assert!(high.state[1].is_empty(), "empty state must stay empty");
        assert_eq!(high.grads[0], grads[4]);
    }

    #[test]
    fn split_beyond_end_keeps_everything_low() {
        let mut params = values(3, 0.0);
        let grads = values(3, 1.0);
        let slices = UpdateSlices {
            params: &mut params,
            grads: &grads,
            state: [&mut [], &mut [], &mut []],
        };
        let (low, high) = slices.split_at(7);
        assert_eq!(low.len(), 3);
        assert!(high.is_empty());
    }

    #[test]
    fn vectorized_matches_plain_loop() {
        // 1,003 values: whole vectors of 4 and 8 plus a remainder.
        let grads = values(1003, -3.0);
        let (mut plain, mut plain_state) = (values(1003, 0.25), values(1003, 7.0));
        let (mut fast, mut fast_state) = (plain.clone(), plain_state.clone());
        Combine.apply(UpdateSlices {
            params: &mut plain,
            grads: &grads,
            state: [&mut plain_state, &mut [], &mut []],
        });
        apply_vectorized(
            &Combine,
            UpdateSlices {
                params: &mut fast,
                grads: &grads,
                state: [&mut fast_state, &mut [], &mut []],
            },
        );
        assert_eq!(plain, fast);
        assert_eq!(plain_state, fast_state);
        assert_eq!(plain[10], 2.0 * 5.25 + 2.0 + 12.0);
    }
}
