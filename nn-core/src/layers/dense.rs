//! The fully connected layer.

use nalgebra::{SMatrix, SVector};

use crate::float::Float;
use crate::init::Init;
use crate::kernel;
use crate::layer::{self, Layer};
use crate::rng::Rng;
use crate::team::{self, SharedGrads, Team};
use crate::tensors::{Shape, TensorInfo, TensorName, Tensors};

/// A fully connected layer: `y = weight * x + bias`.
///
/// `weight` has `OUT` rows and `IN` columns, the shape of PyTorch's `nn.Linear(IN, OUT)`
/// weight. nalgebra stores it column by column, so weight files transpose it.
///
/// On x86-64 the layer and its [`DenseGrads`] are aligned to 64 bytes, the size of a
/// cache line and of an AVX-512 vector. The weight's first column then starts on a line,
/// and so does every column when `OUT` is a multiple of 16 (`f32`) or 8 (`f64`). The
/// SIMD kernels' vector loads of such columns do not straddle two lines. `size_of` exceeds the bytes of
/// the values by the padding at the end, less than 64 bytes. Other targets add no
/// padding, so there a network's `PARAM_BYTES` is the size of its struct.
#[derive(Clone, Debug, PartialEq)]
#[repr(C)]
#[cfg_attr(target_arch = "x86_64", repr(align(64)))]
pub struct Dense<T: Float, const IN: usize, const OUT: usize> {
    /// The weight matrix, `OUT x IN`.
    pub weight: SMatrix<T, OUT, IN>,
    /// The bias vector.
    pub bias: SVector<T, OUT>,
}

// SAFETY: both fields are matrices of `Pod` floats, for which all-zero bytes are 0.0.
unsafe impl<T: Float, const IN: usize, const OUT: usize> bytemuck::Zeroable for Dense<T, IN, OUT> {}

/// The parameter gradients of a [`Dense`] layer, shaped like its parameters and aligned
/// like them.
#[derive(Clone, Debug, PartialEq)]
#[repr(C)]
#[cfg_attr(target_arch = "x86_64", repr(align(64)))]
pub struct DenseGrads<T: Float, const IN: usize, const OUT: usize> {
    /// The gradient of the weight matrix.
    pub weight: SMatrix<T, OUT, IN>,
    /// The gradient of the bias vector.
    pub bias: SVector<T, OUT>,
}

// SAFETY: as for `Dense`.
unsafe impl<T: Float, const IN: usize, const OUT: usize> bytemuck::Zeroable
    for DenseGrads<T, IN, OUT>
{
}

impl<T: Float, const IN: usize, const OUT: usize> Dense<T, IN, OUT> {
    /// Fills the weight with `init` and sets the bias to zero.
    pub fn init_with(&mut self, init: Init, rng: &mut Rng) {
        init.fill(self.weight.as_mut_slice(), IN, OUT, rng);
        self.bias.as_mut_slice().fill(T::zero());
    }
}

/// The tensor list shared by the layer and its gradients: weight, then bias.
fn dense_tensor_info<const IN: usize, const OUT: usize>(i: usize) -> Option<TensorInfo> {
    match i {
        0 => Some(TensorInfo {
            name: TensorName::new("weight"),
            shape: Shape::matrix(OUT, IN),
            column_major: true,
        }),
        1 => Some(TensorInfo {
            name: TensorName::new("bias"),
            shape: Shape::vector(OUT),
            column_major: false,
        }),
        _ => None,
    }
}

macro_rules! impl_dense_tensors {
    ($ty:ident) => {
        impl<T: Float, const IN: usize, const OUT: usize> Tensors<T> for $ty<T, IN, OUT> {
            const COUNT: usize = 2;
            const PARAMS: usize = OUT * IN + OUT;

            fn tensor(&self, i: usize) -> Option<&[T]> {
                match i {
                    0 => Some(self.weight.as_slice()),
                    1 => Some(self.bias.as_slice()),
                    _ => None,
                }
            }

            fn tensor_mut(&mut self, i: usize) -> Option<&mut [T]> {
                match i {
                    0 => Some(self.weight.as_mut_slice()),
                    1 => Some(self.bias.as_mut_slice()),
                    _ => None,
                }
            }

            fn tensor_info(i: usize) -> Option<TensorInfo> {
                dense_tensor_info::<IN, OUT>(i)
            }
        }
    };
}

impl_dense_tensors!(Dense);
impl_dense_tensors!(DenseGrads);

impl<T: Float, const IN: usize, const OUT: usize> Layer<T, IN, OUT> for Dense<T, IN, OUT> {
    type Trace<const B: usize> = SMatrix<T, IN, B>;
    type Grads = DenseGrads<T, IN, OUT>;
    const KIND: &'static str = "Dense";

    fn forward<const B: usize>(&self, x: &SMatrix<T, IN, B>) -> SMatrix<T, OUT, B> {
        kernel::affine(&self.weight, &self.bias, x)
    }

    fn forward_train<const B: usize>(
        &self,
        x: &SMatrix<T, IN, B>,
        _rng: &mut Rng,
    ) -> (SMatrix<T, OUT, B>, Self::Trace<B>) {
        (self.forward(x), *x)
    }

    fn input_trace<const B: usize>(x: &SMatrix<T, IN, B>) -> Option<&Self::Trace<B>> {
        Some(x)
    }

    fn forward_train_untraced<const B: usize>(
        &self,
        x: &SMatrix<T, IN, B>,
        _rng: &mut Rng,
    ) -> SMatrix<T, OUT, B> {
        self.forward(x)
    }

    fn forward_train_team_untraced<const B: usize>(
        &self,
        x: &SMatrix<T, IN, B>,
        rng: &mut Rng,
        team: &dyn Team<T>,
    ) -> SMatrix<T, OUT, B> {
        if !is_split::<T, IN, OUT>(team.size()) {
            return self.forward_train_untraced(x, rng);
        }
        let mut members = team.members();
        let first = members.next().unwrap_or(0);
        let mut y =
            kernel::partial_product(&self.weight, x, team::column_range(IN, first, team.size()));
        for member in members {
            let columns = team::column_range(IN, member, team.size());
            add_assign(&mut y, &kernel::partial_product(&self.weight, x, columns));
        }
        team.all_reduce(y.as_mut_slice());
        for column in y.as_mut_slice().chunks_exact_mut(OUT) {
            for (value, &bias) in column.iter_mut().zip(self.bias.as_slice()) {
                *value += bias;
            }
        }
        y
    }

    fn backward<const B: usize>(
        &self,
        trace: &Self::Trace<B>,
        grad_out: &SMatrix<T, OUT, B>,
        grads: &mut Self::Grads,
    ) -> SMatrix<T, IN, B> {
        self.accumulate_grads(trace, grad_out, grads);
        self.backward_input(trace, grad_out)
    }

    fn backward_input<const B: usize>(
        &self,
        _trace: &Self::Trace<B>,
        grad_out: &SMatrix<T, OUT, B>,
    ) -> SMatrix<T, IN, B> {
        kernel::transpose_mul(&self.weight, grad_out)
    }

    fn accumulate_grads<const B: usize>(
        &self,
        trace: &Self::Trace<B>,
        grad_out: &SMatrix<T, OUT, B>,
        grads: &mut Self::Grads,
    ) {
        // Accumulated in place, without a weight-sized temporary: large networks train on
        // a 2 MiB thread stack.
        kernel::accumulate_outer(grad_out, trace, &mut grads.weight);
        kernel::accumulate_column_sum(grad_out, &mut grads.bias);
    }

    fn init(&mut self, rng: &mut Rng) {
        self.init_with(Init::GlorotUniform, rng);
    }

    fn split_params(threads: usize) -> usize {
        if is_split::<T, IN, OUT>(threads) {
            OUT * IN
        } else {
            0
        }
    }

    /// Splits the layer over the team's threads by input columns, when
    /// [`split_params`](Layer::split_params) is not zero: each thread multiplies its columns of
    /// the weights with its rows of `x`, and the team sums the partial outputs.
    fn forward_train_team<const B: usize>(
        &self,
        x: &SMatrix<T, IN, B>,
        rng: &mut Rng,
        team: &dyn Team<T>,
    ) -> (SMatrix<T, OUT, B>, Self::Trace<B>) {
        (self.forward_train_team_untraced(x, rng, team), *x)
    }

    unsafe fn backward_team<const B: usize>(
        &self,
        trace: &Self::Trace<B>,
        grad_out: &SMatrix<T, OUT, B>,
        grads: SharedGrads<'_, Self::Grads>,
        team: &dyn Team<T>,
    ) -> SMatrix<T, IN, B> {
        if !is_split::<T, IN, OUT>(team.size()) {
            if team.overwrite_grads() {
                // SAFETY: the caller keeps the contract of `backward_team`.
                unsafe { set_leader_grads(trace, grad_out, grads, team) };
                return self.backward_input(trace, grad_out);
            }
            // SAFETY: the caller keeps the contract of `backward_team`.
            return unsafe { layer::backward_team_whole(self, trace, grad_out, grads, team) };
        }
        // SAFETY: the caller keeps the contract of `backward_team`, which is the same.
        unsafe { self.accumulate_grads_team(trace, grad_out, grads, team) };
        let mut members = team.members();
        let first = members.next().unwrap_or(0);
        let columns = team::column_range(IN, first, team.size());
        let mut grad_in = kernel::transpose_mul_rows(&self.weight, grad_out, columns);
        for member in members {
            let columns = team::column_range(IN, member, team.size());
            add_assign(
                &mut grad_in,
                &kernel::transpose_mul_rows(&self.weight, grad_out, columns),
            );
        }
        team.all_reduce(grad_in.as_mut_slice());
        grad_in
    }

    unsafe fn accumulate_grads_team<const B: usize>(
        &self,
        trace: &Self::Trace<B>,
        grad_out: &SMatrix<T, OUT, B>,
        grads: SharedGrads<'_, Self::Grads>,
        team: &dyn Team<T>,
    ) {
        if !is_split::<T, IN, OUT>(team.size()) {
            if team.overwrite_grads() {
                // SAFETY: the caller keeps the contract of `accumulate_grads_team`.
                unsafe { set_leader_grads(trace, grad_out, grads, team) };
            } else {
                // SAFETY: the caller keeps the contract of `accumulate_grads_team`.
                unsafe { layer::accumulate_grads_team_whole(self, trace, grad_out, grads, team) };
            }
            return;
        }
        // The members a thread plays form a contiguous run of indices, so their columns
        // are one contiguous range.
        let members = team.members();
        if members.is_empty() {
            return;
        }
        let start = team::column_range(IN, members.start, team.size()).start;
        let end = team::column_range(IN, members.end - 1, team.size()).end;
        let base = grads.as_ptr();
        // SAFETY: `base` points to the gradients the handle borrows. The threads sharing
        // them play disjoint members (the caller guarantees distinct indices), hence own
        // disjoint ranges of weight columns, and only the thread with index 0 writes the
        // bias gradient, so no two threads touch the same value. The field pointers are
        // formed without references to the whole gradients.
        let (weight_grad, bias_grad) = unsafe {
            let weight = (&raw mut (*base).weight).cast::<T>();
            let weight_columns = team::range_mut(weight, OUT * IN, start * OUT..end * OUT);
            let bias = (team.index() == 0).then(|| &mut (*base).bias);
            (weight_columns, bias)
        };
        // Each member's columns are its own, so with `overwrite_grads` each sets them.
        for member in members {
            let columns = team::column_range(IN, member, team.size());
            let offset = (columns.start - start) * OUT;
            let part = &mut weight_grad[offset..offset + columns.len() * OUT];
            if team.overwrite_grads() {
                kernel::set_outer_columns(grad_out, trace, columns, part);
            } else {
                kernel::accumulate_outer_columns(grad_out, trace, columns, part);
            }
        }
        if let Some(bias_grad) = bias_grad {
            if team.overwrite_grads() {
                bias_grad.as_mut_slice().fill(T::zero());
            }
            kernel::accumulate_column_sum(grad_out, bias_grad);
        }
    }
}

/// Sets the gradients of an unsplit [`Dense`] layer to this batch's on thread 0 of
/// `team`, with the values that zeroing them and `accumulate_grads` give. The blocked
/// kernel then does not read the old weight gradient. Other threads do nothing.
///
/// # Safety
///
/// As for [`Layer::accumulate_grads_team`]: thread 0 alone writes these gradients.
unsafe fn set_leader_grads<T: Float, const IN: usize, const OUT: usize, const B: usize>(
    trace: &SMatrix<T, IN, B>,
    grad_out: &SMatrix<T, OUT, B>,
    grads: SharedGrads<'_, DenseGrads<T, IN, OUT>>,
    team: &dyn Team<T>,
) {
    // SAFETY: forwarded from the caller.
    let Some(grads) = (unsafe { layer::leader_grads_unzeroed(grads, team) }) else {
        return;
    };
    kernel::set_outer(grad_out, trace, &mut grads.weight);
    grads.bias.as_mut_slice().fill(T::zero());
    kernel::accumulate_column_sum(grad_out, &mut grads.bias);
}

/// Adds `other` to `sum` value by value, as [`Team::all_reduce`] adds the threads' values.
fn add_assign<T: Float, const R: usize, const C: usize>(
    sum: &mut SMatrix<T, R, C>,
    other: &SMatrix<T, R, C>,
) {
    for (value, &added) in sum.as_mut_slice().iter_mut().zip(other.as_slice()) {
        *value += added;
    }
}

/// Whether a [`Dense`] layer is split over a team of `threads` threads. It is when there
/// are several threads, the layer has at least [`team::SPLIT_MIN_WEIGHTS`] weights and one
/// input column per thread, and the blocked kernel runs with SIMD instructions: the split
/// uses that kernel for every product, because its column ranges are runtime values.
fn is_split<T: Float, const IN: usize, const OUT: usize>(threads: usize) -> bool {
    threads > 1
        && IN >= threads
        && OUT * IN >= team::SPLIT_MIN_WEIGHTS
        && kernel::blocked::has_simd::<T>()
}
