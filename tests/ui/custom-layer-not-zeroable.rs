use static_nn::core::layers::NoGrads;
use static_nn::core::tensors::TensorInfo;
use static_nn::prelude::*;

/// Multiplies by a fixed factor, but does not implement `Zeroable`.
#[derive(Clone, Copy, Debug)]
struct Scale(core::num::NonZeroU8);

impl Tensors<f32> for Scale {
    const COUNT: usize = 0;
    const PARAMS: usize = 0;

    fn tensor(&self, _i: usize) -> Option<&[f32]> {
        None
    }

    fn tensor_mut(&mut self, _i: usize) -> Option<&mut [f32]> {
        None
    }

    fn tensor_info(_i: usize) -> Option<TensorInfo> {
        None
    }
}

impl<const N: usize> Layer<f32, N, N> for Scale {
    type Trace<const B: usize> = ();
    type Grads = NoGrads;
    const KIND: &'static str = "Scale";

    fn forward<const B: usize>(&self, x: &SMatrix<f32, N, B>) -> SMatrix<f32, N, B> {
        x * f32::from(self.0.get())
    }

    fn forward_train<const B: usize>(
        &self,
        x: &SMatrix<f32, N, B>,
        _rng: &mut Rng,
    ) -> (SMatrix<f32, N, B>, ()) {
        (self.forward(x), ())
    }

    fn backward<const B: usize>(
        &self,
        _trace: &(),
        grad_out: &SMatrix<f32, N, B>,
        _grads: &mut NoGrads,
    ) -> SMatrix<f32, N, B> {
        grad_out * f32::from(self.0.get())
    }

    fn init(&mut self, _rng: &mut Rng) {}
}

network! {
    struct Net<f32> {
        input: [4],
        scale: Scale -> [4],
        out: Dense(2),
    }
}

fn main() {}
