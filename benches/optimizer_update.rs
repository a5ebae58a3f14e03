//! The optimizers' elementwise update of one large tensor, with its four slices placed
//! at chosen offsets from a page.
//!
//! Large tensors allocated one by one (a network and its gradients through `new_boxed`
//! and `zero_grads_boxed`, Adam's moments through `Adam::new_boxed`) usually get pages of
//! their own from the allocator, so their values share the same offsets from a page. A
//! loop that writes one slice and then reads another at the same offset can make the
//! CPU wait (see `VectorRule` in `nn-core/src/optim/elementwise.rs`). This benchmark
//! times the update of the 100,352 weights of the 784-128-10 network's hidden layer:
//!
//! - `same_offset`: parameters, gradients and the state slices all start on a page;
//! - `staggered`: they start 0, 832, 1664, 2496 and 3328 bytes after one.
//!
//! The library's update is reached through its public extension point: a
//! [`UpdateRunner`] that calls the optimizer's update on the benchmark's own slices
//! instead of the network's. Before each timed update the program overwrites 4 MiB of
//! other memory, so the tensor comes from the L3 cache, as after the forward and backward
//! passes of a training step. For Adam the baseline is a hand-written loop over the same
//! slices, taken as four function arguments that the compiler may assume do not overlap
//! (`hand_written`). A second baseline adds the library's flush of subnormal moments to
//! zero (`hand_written_flush`). Every case starts from fresh slices, and a check
//! after each one panics unless it changed 99% of the parameters and left every value
//! finite.
//! The program also prints where the allocator put the hidden weights of a network from
//! `new_boxed` and of gradients from `zero_grads_boxed`, relative to a page.
//!
//! Run with `cargo bench --bench optimizer_update` (about 30 seconds).

use std::alloc::{Layout, alloc_zeroed, dealloc};
use std::cell::RefCell;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use static_nn::core::optim::{MAX_STATE_BUFFERS, UpdateRunner, UpdateSlices};
use static_nn::prelude::*;

network! {
    /// The 784-128-10 network (MNIST-sized).
    struct Mnist<f32> {
        input: [784],
        hidden: Dense(128), Relu,
        out: Dense(10),
    }
}

/// The number of values of the updated tensor: the hidden layer's weights.
const LEN: usize = 128 * 784;

/// The page size the offsets are counted from.
const PAGE: usize = 4096;

/// `LEN` values that start `offset` bytes after the start of a page.
struct PageSlice {
    base: *mut u8,
    layout: Layout,
    offset: usize,
}

impl PageSlice {
    /// Allocates zeroed values `offset` bytes (a multiple of 4) after a page.
    fn new(offset: usize) -> Self {
        assert!(
            offset.is_multiple_of(4),
            "offset {offset} is not a multiple of 4"
        );
        assert!(offset < PAGE, "offset {offset} is not within a page");
        let layout = Layout::from_size_align(LEN * 4 + PAGE, PAGE).expect("valid layout");
        // SAFETY: the layout has a non-zero size.
        let base = unsafe { alloc_zeroed(layout) };
        assert!(!base.is_null(), "out of memory");
        // SAFETY: `offset` is within the allocation.
        let start = unsafe { base.add(offset) } as usize;
        assert_eq!(start % PAGE, offset, "the values start at the wrong offset");
        Self {
            base,
            layout,
            offset,
        }
    }

    fn values(&mut self) -> &mut [f32] {
        // SAFETY: the allocation has room for `offset + 4 * LEN` bytes, zeroed or written as
        // `f32` since, and `offset` keeps them aligned for `f32`.
        unsafe { std::slice::from_raw_parts_mut(self.base.add(self.offset).cast(), LEN) }
    }
}

impl Drop for PageSlice {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { dealloc(self.base, self.layout) }
    }
}

/// Parameters, gradients and state slices of one tensor, and the parameters' first
/// values.
struct Slices {
    params: PageSlice,
    grads: PageSlice,
    state: [PageSlice; MAX_STATE_BUFFERS],
    initial: Vec<f32>,
}

impl Slices {
    /// Allocates the slices at `offsets` bytes after a page (parameters, gradients, then
    /// state), with parameters and gradients of the sizes training gives.
    fn new(offsets: [usize; 2 + MAX_STATE_BUFFERS]) -> Self {
        let mut slices = Self {
            params: PageSlice::new(offsets[0]),
            grads: PageSlice::new(offsets[1]),
            state: [2, 3, 4].map(|index| PageSlice::new(offsets[index])),
            initial: Vec::new(),
        };
        let mut rng = Rng::seed_from_u64(5);
        for value in slices.params.values() {
            *value = rng.uniform(-0.05, 0.05);
        }
        for value in slices.grads.values() {
            *value = rng.uniform(-0.01, 0.01);
        }
        slices.initial = slices.params.values().to_vec();
        slices
    }
}

/// Runs the optimizer's update of the large tensor on its own [`Slices`].
struct Relocated(RefCell<Slices>);

impl Relocated {
    fn new(offsets: [usize; 2 + MAX_STATE_BUFFERS]) -> Self {
        Self(RefCell::new(Slices::new(offsets)))
    }

    /// Panics unless the case `name` changed 99% of the parameters and left every
    /// parameter and state value finite: an update on NaN values would time another path, and
    /// one that never ran would time nothing.
    fn check_updated(&self, name: &str) {
        let mut slices = self.0.borrow_mut();
        let Slices {
            params,
            state,
            initial,
            ..
        } = &mut *slices;
        let unchanged = params
            .values()
            .iter()
            .zip(initial.iter())
            .filter(|(value, initial)| value == initial)
            .count();
        // A step smaller than half a unit in the last place leaves a parameter as it
        // was, which happens to a few of SGD's.
        assert!(
            unchanged < LEN / 100,
            "{name}: {unchanged} of {LEN} parameters did not change"
        );
        for (label, values) in [("parameter", params.values())]
            .into_iter()
            .chain(state.iter_mut().map(|values| ("state", values.values())))
        {
            let bad = values.iter().filter(|value| !value.is_finite()).count();
            assert_eq!(bad, 0, "{name}: {bad} {label} values are not finite");
        }
    }
}

impl UpdateRunner<f32> for Relocated {
    fn run(&self, slices: UpdateSlices<'_, f32>, update: &(dyn Fn(UpdateSlices<'_, f32>) + Sync)) {
        assert_eq!(slices.len(), LEN, "only the hidden weights are updated");
        let mut own = self.0.borrow_mut();
        let Slices {
            params,
            grads,
            state,
            ..
        } = &mut *own;
        // The optimizer uses the state slices that its own state has.
        let mut used = slices.state.iter().map(|values| !values.is_empty());
        let state = state.each_mut().map(|values| {
            if used.next() == Some(true) {
                values.values()
            } else {
                &mut [][..]
            }
        });
        update(UpdateSlices {
            params: params.values(),
            grads: grads.values(),
            state,
        });
    }
}

/// The offset patterns, in bytes after a page, of parameters, gradients and state.
const LAYOUTS: [(&str, [usize; 2 + MAX_STATE_BUFFERS]); 2] = [
    ("same_offset", [0, 0, 0, 0, 0]),
    ("staggered", [0, 832, 1664, 2496, 3328]),
];

/// Overwrites `memory`, which evicts the tensor from the core's own caches.
fn evict(memory: &mut [f32]) {
    for value in memory.iter_mut() {
        *value += 1.0;
    }
    black_box(memory);
}

/// Adam's update as a plain function of four slices, with `step` as its step count and
/// the default settings. With `FLUSH` it stores subnormal moments as zero, as the
/// library does.
#[inline(always)]
fn adam_by_hand<const FLUSH: bool>(
    params: &mut [f32],
    grads: &[f32],
    first: &mut [f32],
    second: &mut [f32],
    step: i32,
) {
    let (beta1, beta2, lr, eps) = (0.9f32, 0.999f32, 0.001f32, 1e-8f32);
    let step_size = lr / (1.0 - beta1.powi(step));
    let inverse_sqrt_correction = 1.0 / (1.0 - beta2.powi(step)).sqrt();
    let flush = |value: f32| {
        if FLUSH && value.abs() < f32::MIN_POSITIVE {
            0.0
        } else {
            value
        }
    };
    let moments = first.iter_mut().zip(second.iter_mut());
    for ((p, &g), (m, v)) in params.iter_mut().zip(grads).zip(moments) {
        *m = flush(beta1 * *m + (1.0 - beta1) * g);
        *v = flush(beta2 * *v + (1.0 - beta2) * g * g);
        *p -= step_size * *m / (v.sqrt() * inverse_sqrt_correction + eps);
    }
}

/// [`adam_by_hand`] compiled with AVX, as the library's update runs where the CPU has it.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
fn adam_by_hand_avx<const FLUSH: bool>(
    params: &mut [f32],
    grads: &[f32],
    first: &mut [f32],
    second: &mut [f32],
    step: i32,
) {
    adam_by_hand::<FLUSH>(params, grads, first, second, step);
}

/// Calls the fastest [`adam_by_hand`] this CPU runs.
fn adam_baseline<const FLUSH: bool>(slices: &mut Slices, step: i32) {
    let Slices {
        params,
        grads,
        state: [first, second, _],
        ..
    } = slices;
    let (params, grads) = (params.values(), grads.values());
    let (first, second) = (first.values(), second.values());
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU runs AVX instructions.
        unsafe { adam_by_hand_avx::<FLUSH>(params, grads, first, second, step) };
        return;
    }
    adam_by_hand::<FLUSH>(params, grads, first, second, step);
}

/// Times `update` once per iteration after evicting the tensor, and returns the total.
fn timed(iterations: u64, memory: &mut [f32], mut update: impl FnMut()) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iterations {
        evict(memory);
        let started = Instant::now();
        update();
        total += started.elapsed();
    }
    total
}

/// Returns how many bytes after a page `values` starts.
fn page_offset(values: &[f32]) -> usize {
    values.as_ptr() as usize % PAGE
}

fn optimizer_update(criterion: &mut Criterion) {
    let [(_, same), (_, staggered)] = LAYOUTS;
    assert!(same.iter().all(|&offset| offset == same[0]));
    for (index, offset) in staggered.iter().enumerate() {
        assert!(
            !staggered[..index].contains(offset),
            "staggered offsets repeat"
        );
    }

    let mut memory = vec![0.0f32; 1 << 20];
    let mut net = Mnist::new_boxed(3);
    let grads = Mnist::zero_grads_boxed();
    // The allocator's choice for the tensors of a boxed network and its gradients.
    println!(
        "hidden weights of Mnist::new_boxed: {} bytes after a page; of zero_grads_boxed: {}",
        page_offset(net.tensor(0).expect("hidden weights")),
        page_offset(grads.tensor(0).expect("hidden weight gradient")),
    );
    // Only tensor 0, the hidden weights, is updated.
    let only_hidden = |index: usize| (index == 0).then_some(1.0);
    let mut group = criterion.benchmark_group("optimizer_update/128x784");
    for (layout, offsets) in LAYOUTS {
        // Times `update` as the case `id` of this layout and checks what it did. Each
        // case starts from fresh slices, because another optimizer's state would be
        // invalid for this one (a negative square average, for one).
        let mut case = |id: &str, update: &mut dyn FnMut(&mut Mnist, &Relocated)| {
            let runner = Relocated::new(offsets);
            group.bench_function(format!("{id}/{layout}"), |b| {
                b.iter_custom(|iterations| {
                    timed(iterations, &mut memory, || update(&mut net, &runner))
                })
            });
            runner.check_updated(id);
        };
        let mut adam = Adam::new_boxed(AdamConfig::default()).expect("valid settings");
        case("adam/library", &mut |net, runner| {
            adam.step_scaled_with(net, &*grads, &only_hidden, runner)
                .expect("matching tensors");
        });

        for (id, flush) in [
            ("adam/hand_written", false),
            ("adam/hand_written_flush", true),
        ] {
            let mut step = 0;
            case(id, &mut |_, runner| {
                step = step % 1000 + 1;
                let mut slices = runner.0.borrow_mut();
                if flush {
                    adam_baseline::<true>(&mut slices, step);
                } else {
                    adam_baseline::<false>(&mut slices, step);
                }
            });
        }

        let mut sgd = Sgd::new_boxed(SgdConfig {
            momentum: 0.9,
            ..SgdConfig::default()
        })
        .expect("valid settings");
        case("sgd_momentum/library", &mut |net, runner| {
            sgd.step_scaled_with(net, &*grads, &only_hidden, runner)
                .expect("matching tensors");
        });

        let mut rmsprop = RmsProp::new_boxed(RmsPropConfig {
            momentum: 0.9,
            ..RmsPropConfig::default()
        })
        .expect("valid settings");
        case("rmsprop_momentum/library", &mut |net, runner| {
            rmsprop
                .step_scaled_with(net, &*grads, &only_hidden, runner)
                .expect("matching tensors");
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .sample_size(30);
    targets = optimizer_update
}
criterion_main!(benches);
