//! Heap constructors for networks too large for the stack (`alloc` feature).

use alloc::boxed::Box;

use crate::network::Network;
use crate::rng::Rng;

/// Creates networks, gradients and optimizer buffers directly on the heap.
///
/// A 784-512-256-10 network holds 2.1 MB of `f32` parameters; building it on the stack
/// and moving it into a `Box` can overflow a 2 MiB thread stack, especially in debug
/// builds. These constructors allocate zeroed memory and initialise it in place.
pub trait HeapNew: Network {
    /// Allocates the network on the heap and initialises it from `seed`.
    fn new_boxed(seed: u64) -> Box<Self>;

    /// Allocates zero gradients for this network on the heap.
    fn zero_grads_boxed() -> Box<Self::Grads>;
}

impl<N: Network> HeapNew for N {
    fn new_boxed(seed: u64) -> Box<Self> {
        let mut network: Box<Self> = bytemuck::zeroed_box();
        network.init(&mut Rng::seed_from_u64(seed));
        network
    }

    fn zero_grads_boxed() -> Box<Self::Grads> {
        bytemuck::zeroed_box()
    }
}
