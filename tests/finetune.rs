//! Transfer learning: frozen layers, re-initialising layers by name and per-layer learning
//! rates, on small networks and on the iris data in `data/`.

use std::mem::size_of;

use static_nn::core::optim::OptimError;
use static_nn::core::train::TrainError;
use static_nn::prelude::*;

network! {
    /// A trainable layer, a frozen one and a trainable head.
    struct FrozenMiddle<f64> {
        input: [3],
        first: Dense(4), Tanh,
        #[frozen] middle: Dense(4), Tanh,
        out: Dense(2),
    }

    /// `FrozenMiddle` with every layer trainable.
    struct OpenMiddle<f64> {
        input: [3],
        first: Dense(4), Tanh,
        middle: Dense(4), Tanh,
        out: Dense(2),
    }
}

network! {
    /// A backbone to nest in other networks.
    struct Features<f64> {
        input: [3],
        hidden: Dense(5), Relu,
        features: Dense(4, init = HeNormal), Relu,
    }

    /// A frozen backbone with a new head.
    struct FrozenBackbone<f64> {
        input: [3],
        #[frozen] backbone: Features,
        head: Dense(2),
    }

    /// The same architecture with the backbone trainable.
    struct OpenBackbone<f64> {
        input: [3],
        backbone: Features,
        head: Dense(2),
    }

}

network! {
    /// Iris classifier whose middle layer is frozen during training.
    struct IrisFrozen<f32> {
        input: [4],
        norm: Standardize<f32, 4> -> [4],
        first: Dense(8), Tanh,
        #[frozen] middle: Dense(8), Tanh,
        out: Dense(3),
    }

    /// `IrisFrozen` with every layer trainable.
    struct IrisOpen<f32> {
        input: [4],
        norm: Standardize<f32, 4> -> [4],
        first: Dense(8), Tanh,
        middle: Dense(8), Tanh,
        out: Dense(3),
    }
}

/// Returns the bits of every tensor, so comparisons are exact and NaN-safe.
fn tensor_bits<T: Copy + Into<f64>, N: Tensors<T>>(net: &N) -> Vec<Vec<u64>> {
    (0..N::COUNT)
        .map(|i| {
            let values = net.tensor(i).unwrap_or(&[]);
            values.iter().map(|&v| v.into().to_bits()).collect()
        })
        .collect()
}

fn tensor_name<T, N: Tensors<T>>(i: usize) -> String {
    N::tensor_info(i).map_or_else(String::new, |info| info.name.to_string())
}

/// Builds a `FrozenMiddle` and an `OpenMiddle` with the same weights, the frozen layer
/// included.
fn twin_networks() -> (FrozenMiddle, OpenMiddle) {
    let open = OpenMiddle::new(11);
    let mut frozen = FrozenMiddle::new(11);
    frozen.first = open.first.clone();
    frozen.middle = Frozen(open.middle.clone());
    frozen.out = open.out.clone();
    (frozen, open)
}

fn iris(name: &str) -> Dataset<f32, 4, 3> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name);
    Dataset::read_csv_classification(path).unwrap()
}

type DenseGrads4x4 = static_nn::core::DenseGrads<f64, 4, 4>;

#[test]
fn frozen_layer_has_no_gradient_buffer() {
    assert_eq!(<OpenMiddleGrads as Tensors<f64>>::COUNT, 6);
    assert_eq!(<FrozenMiddleGrads as Tensors<f64>>::COUNT, 4);
    assert_eq!(
        size_of::<FrozenMiddleGrads>(),
        size_of::<OpenMiddleGrads>() - size_of::<DenseGrads4x4>()
    );
    // The optimizer state is typed like the gradients, so it shrinks too.
    assert_eq!(
        size_of::<Adam<FrozenMiddleGrads>>() + 2 * size_of::<DenseGrads4x4>(),
        size_of::<Adam<OpenMiddleGrads>>()
    );
}

#[test]
fn frozen_tensors_listed_not_trainable() {
    assert_eq!(<FrozenMiddle as Tensors<f64>>::COUNT, 6);
    assert_eq!(FrozenMiddle::PARAMS, OpenMiddle::PARAMS);
    assert_eq!(
        FrozenMiddle::TRAINABLE_PARAMS,
        OpenMiddle::PARAMS - (4 * 4 + 4)
    );
    assert_eq!(OpenMiddle::TRAINABLE_PARAMS, OpenMiddle::PARAMS);

    let all: Vec<String> = (0..6).map(tensor_name::<f64, FrozenMiddle>).collect();
    assert_eq!(
        all,
        [
            "first.weight",
            "first.bias",
            "middle.weight",
            "middle.bias",
            "out.weight",
            "out.bias"
        ]
    );

    assert_eq!(<FrozenMiddle as Tensors<f64>>::TRAINABLE_COUNT, 4);
    let trainable: Vec<String> = (0..4)
        .map(|i| {
            let info = FrozenMiddle::trainable_tensor_info(i).unwrap();
            info.name.to_string()
        })
        .collect();
    assert_eq!(
        trainable,
        ["first.weight", "first.bias", "out.weight", "out.bias"]
    );
    assert!(FrozenMiddle::trainable_tensor_info(4).is_none());

    // Trainable tensor `i` has the shape of gradient tensor `i`.
    for i in 0..4 {
        let net = FrozenMiddle::trainable_tensor_info(i).unwrap();
        let grads = <FrozenMiddleGrads as Tensors<f64>>::tensor_info(i).unwrap();
        assert_eq!(net.shape, grads.shape, "tensor {i}");
        assert_eq!(net.name, grads.name, "tensor {i}");
    }
}

#[test]
fn frozen_layer_reads_through_deref() {
    let (frozen, open) = twin_networks();
    assert_eq!(frozen.middle.weight, open.middle.weight);
    assert_eq!(frozen.middle.bias, open.middle.bias);
}

#[test]
fn frozen_layer_computes_the_same_outputs() {
    let (frozen, open) = twin_networks();
    let x = SMatrix::<f64, 3, 2>::new(0.3, -0.7, 1.1, 0.5, -0.2, 0.9);
    assert_eq!(frozen.forward_batch(&x), open.forward_batch(&x));
}

#[test]
fn gradients_flow_through_frozen_layer() {
    let (frozen, open) = twin_networks();
    let x = SMatrix::<f64, 3, 2>::new(0.3, -0.7, 1.1, 0.5, -0.2, 0.9);
    let grad_out = SMatrix::<f64, 2, 2>::new(1.0, -0.5, 0.25, 2.0);

    let (frozen_y, frozen_trace) = frozen.forward_train(&x, &mut Rng::seed_from_u64(1));
    let (open_y, open_trace) = open.forward_train(&x, &mut Rng::seed_from_u64(1));
    assert_eq!(frozen_y, open_y);
    let (frozen_grads, frozen_dx) = frozen.backward(&frozen_trace, &grad_out);
    let (open_grads, open_dx) = open.backward(&open_trace, &grad_out);

    // The first layer lies before the frozen one, and its gradient is unchanged by
    // freezing.
    assert!(frozen_grads.first.weight.iter().any(|&g| g != 0.0));
    assert_eq!(frozen_grads.first.weight, open_grads.first.weight);
    assert_eq!(frozen_grads.first.bias, open_grads.first.bias);
    assert_eq!(frozen_grads.out.weight, open_grads.out.weight);
    assert_eq!(frozen_dx, open_dx);

    // `accumulate_grads` skips the input gradient but gives the same parameter gradients.
    let mut accumulated = FrozenMiddle::zero_grads();
    frozen.accumulate_grads(&frozen_trace, &grad_out, &mut accumulated);
    assert_eq!(accumulated.first.weight, frozen_grads.first.weight);
    assert_eq!(accumulated.out.bias, frozen_grads.out.bias);
}

#[test]
fn gradient_check_through_frozen_layer() {
    let (mut frozen, _) = twin_networks();
    let x = SMatrix::<f64, 3, 2>::new(0.3, -0.7, 1.1, 0.5, -0.2, 0.9);
    let check = frozen.gradient_check_batch(&x);
    assert!(check.max_error < 1e-6, "{check:?}");
    // Every trainable parameter and every input value, but no frozen parameter.
    assert_eq!(check.checked, FrozenMiddle::TRAINABLE_PARAMS + 3 * 2);
}

#[test]
fn new_leaves_frozen_layer_zero() {
    let net = FrozenMiddle::new(3);
    assert!(net.middle.weight.iter().all(|&w| w == 0.0));
    assert!(net.first.weight.iter().any(|&w| w != 0.0));
    assert!(net.out.weight.iter().any(|&w| w != 0.0));
}

#[test]
fn network_init_keeps_frozen_layer() {
    let (mut frozen, _) = twin_networks();
    let before = frozen.middle.0.clone();
    let first_before = frozen.first.clone();
    <FrozenMiddle as Network>::init(&mut frozen, &mut Rng::seed_from_u64(99));
    assert_eq!(frozen.middle.0, before);
    assert_ne!(frozen.first, first_before);
}

#[test]
fn fit_keeps_frozen_weights_bit_identical() {
    let train = iris("iris_train.csv");
    let test = iris("iris_test.csv");
    let pretrained = IrisOpen::new(5);
    let mut net = IrisFrozen::new(7);
    net.norm = Standardizer::fit(train.inputs()).unwrap().to_layer();
    net.middle = Frozen(pretrained.middle.clone());
    let before = tensor_bits(&net);

    let mut optimizer = Adam::new(AdamConfig {
        learning_rate: 1e-2,
        ..AdamConfig::default()
    })
    .unwrap();
    let config = TrainConfig::<16>::new(30).seed(1).quiet();
    let history = fit(
        &mut net,
        &mut optimizer,
        &SoftmaxCrossEntropy,
        &train,
        Some(&test),
        &config,
    )
    .unwrap();

    let after = tensor_bits(&net);
    let names: Vec<String> = (0..<IrisFrozen as Tensors<f32>>::COUNT)
        .map(tensor_name::<f32, IrisFrozen>)
        .collect();
    for (i, name) in names.iter().enumerate() {
        if name.starts_with("middle.") {
            assert_eq!(after[i], before[i], "{name} changed");
        } else if name.ends_with(".weight") {
            assert_ne!(after[i], before[i], "{name} did not train");
        }
    }
    assert_eq!(net.middle.weight, pretrained.middle.weight);

    let first = history.epochs.first().unwrap().train_loss;
    let last = history.last().unwrap().train_loss;
    assert!(last < first / 2.0, "loss went from {first} to {last}");
}

#[test]
fn unfrozen_copy_moves_weights_by_type() {
    let (frozen, _) = twin_networks();
    let mut phase2 = OpenMiddle::new(0);
    phase2.first = frozen.first.clone();
    phase2.middle = frozen.middle.clone().into_inner();
    phase2.out = frozen.out.clone();
    assert_eq!(tensor_bits(&phase2), tensor_bits(&frozen));
    assert_eq!(<OpenMiddle as Tensors<f64>>::TRAINABLE_COUNT, 6);
}

#[test]
fn frozen_backbone_network() {
    assert_eq!(<FrozenBackboneGrads as Tensors<f64>>::COUNT, 2);
    assert_eq!(<OpenBackboneGrads as Tensors<f64>>::COUNT, 6);
    assert_eq!(
        size_of::<FrozenBackboneGrads>() + size_of::<FeaturesGrads>(),
        size_of::<OpenBackboneGrads>()
    );
    assert_eq!(<FrozenBackbone as Tensors<f64>>::COUNT, 6);
    assert_eq!(
        FrozenBackbone::trainable_tensor_info(0).map(|info| info.name.to_string()),
        Some("head.weight".to_string())
    );

    let mut net = FrozenBackbone::new(1);
    net.backbone = Frozen(Features::new(2));
    let mut open = OpenBackbone::new(1);
    open.backbone = Features::new(2);
    open.head = net.head.clone();
    let x = SVector::<f64, 3>::new(0.5, -1.0, 2.0);
    assert_eq!(net.forward(&x), open.forward(&x));

    let check = net.gradient_check(&x);
    assert!(check.max_error < 1e-6, "{check:?}");
    assert_eq!(check.checked, FrozenBackbone::TRAINABLE_PARAMS + 3);

    let summary = FrozenBackbone::summary().to_string();
    assert!(summary.contains("backbone (frozen Features)"), "{summary}");
}

#[test]
fn reinit_changes_only_named_layer() {
    let (mut net, _) = twin_networks();
    // Nonzero biases, so that resetting a bias to zero shows.
    net.first.bias.as_mut_slice().fill(0.5);
    net.out.bias.as_mut_slice().fill(0.5);
    let before = tensor_bits(&net);
    let mut expected = net.out.clone();
    expected.init_with(Init::GlorotUniform, &mut Rng::seed_from_u64(21));

    net.reinit("out", &mut Rng::seed_from_u64(21)).unwrap();
    let after = tensor_bits(&net);
    assert_eq!(net.out, expected);
    for i in 0..4 {
        assert_eq!(
            after[i],
            before[i],
            "{} changed",
            tensor_name::<f64, FrozenMiddle>(i)
        );
    }
    assert_ne!(after[4], before[4], "out.weight did not change");
    assert_ne!(after[5], before[5], "out.bias did not change");
}

#[test]
fn reinit_uses_declared_initialiser() {
    let mut net = Features::new(1);
    let mut expected = net.features.clone();
    expected.init_with(Init::HeNormal, &mut Rng::seed_from_u64(8));
    net.reinit("features", &mut Rng::seed_from_u64(8)).unwrap();
    assert_eq!(net.features, expected);
}

#[test]
fn reinit_initialises_named_frozen_layer() {
    let mut net = FrozenMiddle::new(3);
    assert!(net.middle.weight.iter().all(|&w| w == 0.0));
    let first = net.first.clone();
    net.reinit("middle", &mut Rng::seed_from_u64(4)).unwrap();
    assert!(net.middle.weight.iter().any(|&w| w != 0.0));
    assert_eq!(net.first, first);
}

#[test]
fn reinit_of_nested_network_layer() {
    let mut net = FrozenBackbone::new(1);
    net.backbone = Frozen(Features::new(2));
    let before = tensor_bits(&net);
    let mut expected = net.backbone.hidden.clone();
    expected.init_with(Init::HeUniform, &mut Rng::seed_from_u64(6));

    // The nested network's own `reinit`, reached through `Frozen`'s `DerefMut`.
    net.backbone
        .reinit("hidden", &mut Rng::seed_from_u64(6))
        .unwrap();
    assert_eq!(net.backbone.hidden, expected);
    let after = tensor_bits(&net);
    // Tensors 0 and 1 are `backbone.hidden`; its bias was zero before and after.
    assert_ne!(after[0], before[0]);
    assert_eq!(after[2..], before[2..]);
}

#[test]
fn reinit_of_whole_nested_network() {
    let mut net = OpenBackbone::new(1);
    let head = net.head.clone();
    let mut expected = net.backbone.clone_weights();
    <Features as Network>::init(&mut expected, &mut Rng::seed_from_u64(9));
    net.reinit("backbone", &mut Rng::seed_from_u64(9)).unwrap();
    assert_eq!(tensor_bits(&net.backbone), tensor_bits(&expected));
    assert_eq!(net.head, head);
}

impl Features {
    fn clone_weights(&self) -> Features {
        Features {
            hidden: self.hidden.clone(),
            features: self.features.clone(),
        }
    }
}

#[test]
fn reinit_rejects_unknown_name() {
    let (mut net, _) = twin_networks();
    let before = tensor_bits(&net);
    let error = net.reinit("hiden", &mut Rng::seed_from_u64(1)).unwrap_err();
    assert_eq!(error.name(), "hiden");
    assert_eq!(
        error.to_string(),
        "unknown layer `hiden`; the layers with parameters are `first`, `middle`, `out`"
    );
    assert_eq!(tensor_bits(&net), before);

    let mut nested = FrozenBackbone::new(1);
    let error = nested
        .reinit("backbone.hidden", &mut Rng::seed_from_u64(1))
        .unwrap_err();
    assert_eq!(error.valid_names(), ["backbone", "head"]);
    assert_eq!(
        error.to_string(),
        "unknown layer `backbone.hidden`; the layers with parameters are `backbone`, `head`; \
         call the nested network's own `reinit` for a layer inside it"
    );
}

fn sgd(learning_rate: f64) -> Sgd<OpenMiddleGrads> {
    Sgd::new(SgdConfig {
        learning_rate,
        ..SgdConfig::default()
    })
    .unwrap()
}

#[test]
fn layer_rates_scale_first_sgd_step() {
    let (_, start) = twin_networks();
    let x = SMatrix::<f64, 3, 2>::new(0.3, -0.7, 1.1, 0.5, -0.2, 0.9);
    let (y, trace) = start.forward_train(&x, &mut Rng::seed_from_u64(1));
    let (grads, _) = start.backward(&trace, &y);

    let mut plain = OpenMiddle::new(11);
    sgd(0.1).step(&mut plain, &grads).unwrap();

    let rates = LayerRates::new()
        .set("first", 0.0)
        .and_then(|rates| rates.set("out", 2.0))
        .unwrap();
    let mut scaled = OpenMiddle::new(11);
    sgd(0.1)
        .step_scaled(&mut scaled, &grads, &rates.lr_scale::<f64, OpenMiddle>())
        .unwrap();

    // Factor 0: unchanged. Factor 1 (no name matches `middle`): the plain step.
    assert_eq!(scaled.first, start.first);
    assert_eq!(scaled.middle, plain.middle);
    assert_ne!(scaled.middle, start.middle);
    // Factor 2: twice as far as the plain step.
    for i in 0..scaled.out.weight.len() {
        let plain_move = plain.out.weight[i] - start.out.weight[i];
        let scaled_move = scaled.out.weight[i] - start.out.weight[i];
        assert!(plain_move != 0.0, "weight {i} did not move");
        assert!(
            (scaled_move - 2.0 * plain_move).abs() <= 1e-12 * plain_move.abs().max(1.0),
            "weight {i}: moved {scaled_move}, plain step {plain_move}"
        );
    }
}

#[test]
fn layer_rates_in_fit() {
    let train = iris("iris_train.csv");
    let mut net = IrisOpen::new(7);
    net.norm = Standardizer::fit(train.inputs()).unwrap().to_layer();
    let first = net.first.clone();
    let middle = net.middle.clone();

    let mut optimizer = Sgd::new(SgdConfig {
        learning_rate: 0.05,
        momentum: 0.9,
        ..SgdConfig::default()
    })
    .unwrap();
    let rates = LayerRates::new()
        .set("first", 0.0)
        .and_then(|rates| rates.set("middle", 0.5))
        .unwrap();
    let config = TrainConfig::<16>::new(3).seed(2).quiet().layer_rates(rates);
    fit(
        &mut net,
        &mut optimizer,
        &SoftmaxCrossEntropy,
        &train,
        None,
        &config,
    )
    .unwrap();

    assert_eq!(net.first, first);
    assert_ne!(net.middle, middle);
    // Factor 0 leaves the optimizer state of the skipped tensors untouched too.
    let momentum = optimizer.momentum_buffer().unwrap();
    assert!(momentum.first.weight.iter().all(|&m| m == 0.0));
    assert!(momentum.middle.weight.iter().any(|&m| m != 0.0));
}

#[test]
fn fit_rejects_unmatched_layer_rates() {
    let train = iris("iris_train.csv");
    for name in ["frist", "middle"] {
        let mut net = IrisFrozen::new(7);
        let before = tensor_bits(&net);
        let mut optimizer = Sgd::new(SgdConfig::default()).unwrap();
        let rates = LayerRates::new().set(name, 0.5).unwrap();
        let config = TrainConfig::<16>::new(1).quiet().layer_rates(rates);
        let error = fit(
            &mut net,
            &mut optimizer,
            &SoftmaxCrossEntropy,
            &train,
            None,
            &config,
        )
        .unwrap_err();
        match error {
            TrainError::Optimizer(OptimError::LayerRateMatchesNothing { prefix }) => {
                assert_eq!(prefix, name);
            }
            other => panic!("{name}: expected LayerRateMatchesNothing, got {other:?}"),
        }
        assert_eq!(tensor_bits(&net), before, "{name}: the network changed");
    }
}

/// A frozen layer declared without the prelude in scope, with warnings denied.
mod no_prelude {
    #![no_implicit_prelude]
    #![deny(warnings)]

    ::static_nn::network! {
        /// A frozen layer declared without the prelude in scope.
        pub struct BareFrozen<f32> {
            input: [2],
            /// The frozen layer, documented.
            #[frozen] hidden: Dense(3), Relu,
            out: Dense(1),
        }
    }
}

#[test]
fn frozen_layer_without_implicit_prelude() {
    use no_prelude::{BareFrozen, BareFrozenGrads};

    let mut net = BareFrozen::new(1);
    net.reinit("hidden", &mut Rng::seed_from_u64(2)).unwrap();
    assert!(net.hidden.weight.iter().any(|&w| w != 0.0));
    assert_eq!(<BareFrozenGrads as Tensors<f32>>::COUNT, 2);

    let x = SVector::<f32, 2>::new(0.5, -0.25);
    let (y, trace) = net.forward_train(&x, &mut Rng::seed_from_u64(3));
    let (grads, _) = net.backward(&trace, &y);
    assert_eq!(grads.out.weight.len(), 3);
}
