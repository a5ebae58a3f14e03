use static_nn::prelude::*;

network! {
    struct Features<f32> {
        input: [8],
        hidden: Dense(6), Relu,
    }

    struct WideFeatures<f32> {
        input: [8],
        hidden: Dense(12), Relu,
    }

    struct Pretrained<f32> {
        input: [8],
        backbone: WideFeatures,
        head: Dense(3),
    }

    struct Finetuned<f32> {
        input: [8],
        #[frozen] backbone: Features,
        head: Dense(2),
    }
}

fn main() {
    let pretrained = Pretrained::new(1);
    let mut finetuned = Finetuned::new(2);
    finetuned.backbone = Frozen(pretrained.backbone);
}
