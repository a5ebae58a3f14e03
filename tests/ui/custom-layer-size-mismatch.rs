use static_nn::core::Tensors;
use static_nn::core::layers::NoGrads;
use static_nn::core::tensors::TensorInfo;
use static_nn::prelude::*;

/// Doubles every value; it maps 16 values to 16 values.
#[derive(Clone, Copy, Debug)]
struct Double;

unsafe impl static_nn::core::bytemuck::Zeroable for Double {}

impl Tensors<f32> for Double {
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

impl Layer<f32, 16, 16> for Double {
    type Trace<const B: usize> = ();
    type Grads = NoGrads;
    const KIND: &'static str = "Double";

    fn forward<const B: usize>(&self, x: &SMatrix<f32, 16, B>) -> SMatrix<f32, 16, B> {
        x * 2.0
    }

    fn forward_train<const B: usize>(
        &self,
        x: &SMatrix<f32, 16, B>,
        _rng: &mut Rng,
    ) -> (SMatrix<f32, 16, B>, ()) {
        (x * 2.0, ())
    }

    fn backward<const B: usize>(
        &self,
        _trace: &(),
        grad_out: &SMatrix<f32, 16, B>,
        _grads: &mut NoGrads,
    ) -> SMatrix<f32, 16, B> {
        grad_out * 2.0
    }

    fn init(&mut self, _rng: &mut Rng) {}
}

network! {
    struct Net<f32> {
        input: [4],
        hidden: Dense(32), Relu,
        double: Double -> [16],
        out: Dense(2),
    }
}

fn main() {}
