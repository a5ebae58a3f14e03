use static_nn::prelude::*;

network! {
    /// Classifies 8x8 grey-scale digits.
    #[derive(Clone, Debug, PartialEq)]
    pub struct DigitNet<f32> {
        input: [64],
        hidden: Dense(32), Relu,
        Dropout(0.2),
        out: Dense(32 -> 10),
    }
}

network! {
    struct Head<f32> {
        input: [8],
        backbone: Small,
        out: Dense(2), Softmax,
    }
    struct Small<f32> {
        input: [8],
        a: Dense(4), Tanh,
    }
}

network! {
    struct Wide<f64> {
        input: [3],
        a: Dense(5), LeakyRelu(0.1), Elu, Gelu, Sigmoid,
        b: Dense(4), Identity,
    }
}

#[test]
fn smoke() {
    let net = DigitNet::new(1);
    let y = net.forward(&SVector::<f32, 64>::repeat(1.0));
    println!("{y}");
    println!("{}", DigitNet::summary());
    println!("{}", Head::summary());
    let mut w = Wide::new(3);
    let r = w.gradient_check(&SVector::<f64, 3>::new(0.3, -0.2, 0.5));
    println!("{r:?}");
    let mut h = Head::new(3);
    let r = h.gradient_check_batch(&SMatrix::<f32, 8, 3>::repeat(0.5));
    println!("{r:?}");
    for i in 0..<Head as Tensors<f32>>::COUNT {
        println!("{:?}", <Head as Tensors<f32>>::tensor_info(i));
    }
}
