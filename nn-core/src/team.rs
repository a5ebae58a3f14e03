//! Training steps that several threads run together, each thread on its share of the
//! large layers (the layer split).
//!
//! In the layer split every thread of a [`Team`] runs the whole training pass on the whole
//! batch. A large [`Dense`](crate::Dense) layer gives each thread a contiguous range of
//! its input columns (see [`column_range`]). A thread multiplies only its columns of the
//! weight matrix, the partial outputs are summed over the team ([`Team::all_reduce`]), and
//! each thread accumulates the weight gradients of its own columns. Every other layer
//! runs on every thread with the same inputs, so its outputs are the same bits everywhere,
//! and the team's first thread alone accumulates its gradients.
//!
//! Each thread thus reads and writes only its own part of the large weight matrices, their
//! gradients and, when the optimizer update is cut the same way, their optimizer state,
//! which stay in that core's cache from step to step. What crosses between cores is one
//! `outputs x batch` matrix per large layer in the forward pass and, for a large layer
//! that is not the network's first trainable one, one `inputs x batch` matrix in the
//! backward pass.
//!
//! This module holds what the layers need and works without `std`. The threads
//! themselves are `train::parallel::ParallelGrads` (`std` feature).

use core::marker::PhantomData;

use crate::float::Float;
use crate::layers::NoGrads;

/// The number of weights from which a [`Dense`](crate::Dense) layer is split over the
/// threads of a team: the same size from which `train::parallel` cuts an optimizer
/// update into one range per thread, so a thread updates the columns it computed.
pub const SPLIT_MIN_WEIGHTS: usize = 16 * 1024;

/// The threads that run one training step together.
///
/// Every thread calls the same layer methods in the same order with its own `Team` value,
/// which gives its [`index`](Team::index), and [`all_reduce`](Team::all_reduce)
/// returns only when every thread of the team has called it.
///
/// # Safety
///
/// Layers write gradients through a [`SharedGrads`] according to the index alone, so
/// the threads that share one handle must see distinct indices from 0 to `size() - 1`,
/// and `size()` must be the same on all of them.
pub unsafe trait Team<T>: Sync {
    /// Returns the position of the calling thread in the team, from 0 to `size() - 1`. Thread 0
    /// accumulates the gradients of the layers that are not split.
    fn index(&self) -> usize;

    /// Returns the number of threads in the team.
    fn size(&self) -> usize;

    /// Returns the indices of the team members whose shares the calling thread computes: its own
    /// index alone, unless one thread plays several members (see [`Serial`]).
    ///
    /// A layer computes the shares of these members in this order and combines them as
    /// [`all_reduce`](Team::all_reduce) would, so the results do not depend on which
    /// thread plays which member.
    fn members(&self) -> core::ops::Range<usize> {
        self.index()..self.index() + 1
    }

    /// Returns whether layers set their share of the gradients to this step's values
    /// instead of adding to them, which spares zeroing the gradients before the step. The default
    /// is `false`.
    fn overwrite_grads(&self) -> bool {
        false
    }

    /// Replaces `values` on every thread with the sum over the threads of their `values`,
    /// added in the order of the threads' indices, so every thread gets the same bits.
    ///
    /// Every thread must pass a slice of the same length.
    fn all_reduce(&self, values: &mut [T]);
}

/// A team of one thread: the whole network on the calling thread.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Solo;

// SAFETY: a team of one thread has the one index 0.
unsafe impl<T> Team<T> for Solo {
    fn index(&self) -> usize {
        0
    }

    fn size(&self) -> usize {
        1
    }

    fn all_reduce(&self, _values: &mut [T]) {}
}

/// One thread playing every member of a team of `size` threads, one after the other.
///
/// Layers compute the shares of all members and add them in the order of the members'
/// indices, as the threads of a real team do in [`Team::all_reduce`]. A step with
/// `Serial { size }` therefore gives the same bits as one on `size` threads. `ParallelGrads` runs
/// it on the calling thread when other threads only slow a step down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Serial {
    /// The number of members.
    pub size: usize,
    /// The value of [`Team::overwrite_grads`].
    pub overwrite_grads: bool,
}

// SAFETY: the one thread has index 0 and writes every member's share itself.
unsafe impl<T> Team<T> for Serial {
    fn index(&self) -> usize {
        0
    }

    fn size(&self) -> usize {
        self.size
    }

    fn members(&self) -> core::ops::Range<usize> {
        0..self.size.max(1)
    }

    fn overwrite_grads(&self) -> bool {
        self.overwrite_grads
    }

    fn all_reduce(&self, _values: &mut [T]) {}
}

/// Returns the range of the `columns` input columns of a split layer that thread `index`
/// of a team of `size` threads owns: contiguous runs of `columns.div_ceil(size)` columns
/// in thread order, the last one shorter or empty.
///
/// Weights are stored column by column, so these ranges are contiguous in memory, and
/// they match the ranges in which `train::parallel` cuts the optimizer update of a tensor
/// whenever the column count is a multiple of the thread count.
pub fn column_range(columns: usize, index: usize, size: usize) -> core::ops::Range<usize> {
    let per_thread = columns.div_ceil(size.max(1));
    let start = (index * per_thread).min(columns);
    let end = ((index + 1) * per_thread).min(columns);
    start..end
}

/// Write access to gradients that the threads of a team share.
///
/// The threads of a team write to disjoint parts of the same gradients: each to the
/// columns of the split layers it owns, thread 0 also to the other layers. A `&mut`
/// reference cannot be shared that way, so layers receive this handle, which gives
/// access only through `unsafe` methods whose callers keep the parts disjoint. Created
/// from a `&mut`, it borrows the gradients for as long as the step lasts.
pub struct SharedGrads<'a, G> {
    grads: *mut G,
    _borrow: PhantomData<&'a mut G>,
}

// SAFETY: the handle is a pointer to gradients borrowed mutably for `'a`. Sending or
// sharing it between threads is sound as long as the threads write disjoint parts, which
// every method that writes requires of its caller.
unsafe impl<G: Send> Send for SharedGrads<'_, G> {}
// SAFETY: as for `Send`.
unsafe impl<G: Send> Sync for SharedGrads<'_, G> {}

impl<G> Clone for SharedGrads<'_, G> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<G> Copy for SharedGrads<'_, G> {}

impl SharedGrads<'static, NoGrads> {
    /// Returns a handle to the empty gradients of a layer without parameters.
    pub fn none() -> Self {
        Self {
            // A dangling pointer is valid for every access to a zero-sized value.
            grads: core::ptr::NonNull::dangling().as_ptr(),
            _borrow: PhantomData,
        }
    }
}

impl<'a, G> SharedGrads<'a, G> {
    /// Shares `grads` with the threads of a team for one step.
    ///
    /// # Safety
    ///
    /// Every thread that uses the handle or a copy of it must pass it only to the team
    /// methods of [`Layer`](crate::Layer) (or to code that keeps the same rules), all
    /// with one [`Team`] whose index differs between the threads. A single thread that
    /// passes [`Solo`] meets this.
    pub unsafe fn new(grads: &'a mut G) -> Self {
        Self {
            grads,
            _borrow: PhantomData,
        }
    }

    /// Returns the gradients as a `&mut`.
    ///
    /// # Safety
    ///
    /// While the reference lives, no other thread may read or write these gradients, and
    /// the calling thread may not use another handle to them.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn get_mut(&self) -> &'a mut G {
        // SAFETY: the pointer came from a `&'a mut G`; the caller guarantees exclusive use.
        unsafe { &mut *self.grads }
    }

    /// Returns a handle to a part of the gradients, such as one layer's field of a
    /// network's gradients.
    ///
    /// # Safety
    ///
    /// `part` must return a pointer into the value that its argument points to, derived
    /// from that argument without creating a reference (with `&raw mut (*g).field`), to
    /// a valid `H`.
    pub unsafe fn part<H>(&self, part: impl FnOnce(*mut G) -> *mut H) -> SharedGrads<'a, H> {
        SharedGrads {
            grads: part(self.grads),
            _borrow: PhantomData,
        }
    }

    /// Returns the raw pointer to the gradients.
    pub fn as_ptr(&self) -> *mut G {
        self.grads
    }
}

/// Returns `values[range]` of a slice reached through a shared handle, for writing.
///
/// # Safety
///
/// `base` must point to `len` valid values that the handle's borrow covers, `range` must
/// lie within `0..len`, and no other thread may read or write the values of `range`
/// while the slice lives.
pub(crate) unsafe fn range_mut<'a, T: Float>(
    base: *mut T,
    len: usize,
    range: core::ops::Range<usize>,
) -> &'a mut [T] {
    debug_assert!(range.start <= range.end && range.end <= len);
    // SAFETY: the caller guarantees that the range is in bounds and used exclusively.
    unsafe { core::slice::from_raw_parts_mut(base.add(range.start), range.end - range.start) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_ranges_cover_every_column_once() {
        for columns in [0, 1, 7, 784, 785] {
            for size in 1..=5 {
                let mut next = 0;
                for index in 0..size {
                    let range = column_range(columns, index, size);
                    assert_eq!(range.start, next, "{columns} columns, {size} threads");
                    next = range.end;
                }
                assert_eq!(next, columns, "{columns} columns, {size} threads");
            }
        }
    }

    #[test]
    fn column_ranges_match_update_ranges_for_even_splits() {
        // 128 x 784 weights on two threads: 392 columns are 50,176 values, half of them.
        let range = column_range(784, 1, 2);
        assert_eq!(range, 392..784);
        assert_eq!(range.start * 128, (784 * 128usize).div_ceil(2));
    }
}
