use static_nn::prelude::*;

network! {
    struct Phase1<f32> {
        input: [4],
        #[frozen] backbone: Dense(8), Relu,
        head: Dense(2),
    }

    struct Phase2<f32> {
        input: [4],
        backbone: Dense(8), Relu,
        head: Dense(2),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let train = Dataset::<f32, 4, 2>::from_labels(vec![SVector::zeros(); 8], vec![0; 8])?;
    let config = TrainConfig::<4>::new(1).quiet();
    let mut phase1 = Phase1::new(1);
    let mut optimizer = Adam::<Phase1Grads>::new(AdamConfig::default())?;
    fit(
        &mut phase1,
        &mut optimizer,
        &SoftmaxCrossEntropy,
        &train,
        None,
        &config,
    )?;

    let mut phase2 = Phase2::new(2);
    phase2.backbone = phase1.backbone.into_inner();
    phase2.head = phase1.head;
    fit(
        &mut phase2,
        &mut optimizer,
        &SoftmaxCrossEntropy,
        &train,
        None,
        &config,
    )?;
    Ok(())
}
