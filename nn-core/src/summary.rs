//! Keras-style summaries of generated networks.

use core::fmt;

/// One row of a [`Summary`]: a layer, its output width and its parameter count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SummaryRow {
    /// The layer's name in the declaration, or `""` for an unnamed layer.
    pub name: &'static str,
    /// The layer's kind, such as `Dense` or `Relu`, or the type of a nested network.
    pub kind: &'static str,
    /// The number of values per sample the layer produces.
    pub output: usize,
    /// The number of scalar parameters the layer holds.
    pub params: usize,
}

/// A table of a network's layers, output shapes and parameter counts, printed with
/// `Display` in the layout Keras uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Summary {
    /// The network's type name.
    pub name: &'static str,
    /// The scalar type, `f32` or `f64`.
    pub scalar: &'static str,
    /// The number of input values per sample.
    pub input: usize,
    /// The layers in declaration order.
    pub rows: &'static [SummaryRow],
}

impl Summary {
    /// The total number of scalar parameters.
    pub fn params(&self) -> usize {
        self.rows.iter().map(|row| row.params).sum()
    }
}

const NAME_WIDTH: usize = 32;
const SHAPE_WIDTH: usize = 16;
const RULE_WIDTH: usize = NAME_WIDTH + SHAPE_WIDTH + 12;

fn rule(f: &mut fmt::Formatter<'_>, c: char) -> fmt::Result {
    for _ in 0..RULE_WIDTH {
        write!(f, "{c}")?;
    }
    writeln!(f)
}

/// Writes `(name (kind))` or `(kind)` padded to the name column.
struct LayerLabel<'a>(&'a SummaryRow);

impl fmt::Display for LayerLabel<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let row = self.0;
        if row.name.is_empty() {
            write!(f, "({})", row.kind)
        } else {
            write!(f, "{} ({})", row.name, row.kind)
        }
    }
}

/// Pads any `Display` value to a width; `fmt` padding does not apply to custom types.
struct Padded<D>(D, usize);

impl<D: fmt::Display> fmt::Display for Padded<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut counter = Counter(0);
        fmt::write(&mut counter, format_args!("{}", self.0))?;
        write!(f, "{}", self.0)?;
        for _ in counter.0..self.1 {
            f.write_str(" ")?;
        }
        Ok(())
    }
}

struct Counter(usize);

impl fmt::Write for Counter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 += s.chars().count();
        Ok(())
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Model: \"{}\" ({}, {} inputs)",
            self.name, self.scalar, self.input
        )?;
        rule(f, '_')?;
        writeln!(
            f,
            "{:<NAME_WIDTH$}{:<SHAPE_WIDTH$}{:>12}",
            "Layer (type)", "Output Shape", "Param #"
        )?;
        rule(f, '=')?;
        for row in self.rows {
            let shape = Padded(format_args!("[{}]", row.output), SHAPE_WIDTH);
            writeln!(
                f,
                "{}{}{:>12}",
                Padded(LayerLabel(row), NAME_WIDTH),
                shape,
                row.params
            )?;
        }
        rule(f, '=')?;
        writeln!(f, "Total params: {}", self.params())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_lists_layers_and_total() {
        const ROWS: &[SummaryRow] = &[
            SummaryRow {
                name: "hidden",
                kind: "Dense",
                output: 32,
                params: 2080,
            },
            SummaryRow {
                name: "",
                kind: "Relu",
                output: 32,
                params: 0,
            },
            SummaryRow {
                name: "out",
                kind: "Dense",
                output: 10,
                params: 330,
            },
        ];
        let summary = Summary {
            name: "DigitNet",
            scalar: "f32",
            input: 64,
            rows: ROWS,
        };
        let text = std::format!("{summary}");
        assert!(text.contains("hidden (Dense)"), "{text}");
        assert!(text.contains("(Relu)"), "{text}");
        assert!(text.contains("[10]"), "{text}");
        assert!(text.contains("Total params: 2410"), "{text}");
    }
}
