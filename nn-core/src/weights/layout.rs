//! The map between the row-major order of weight files and the memory order of tensors.

use crate::tensors::Shape;

/// Returns the position in a tensor's slice of the element at position `row_major` of the
/// same tensor stored row-major (C order, last index fastest), as safetensors and PyTorch
/// store it.
///
/// A `column_major` tensor stores its first index fastest (Fortran order), which for a
/// matrix means column by column, as nalgebra does. Vectors are the same in both orders.
pub(super) fn memory_index(shape: &Shape, column_major: bool, row_major: usize) -> usize {
    let dims = shape.dims();
    if !column_major || dims.len() < 2 {
        return row_major;
    }

    // Split the row-major position into one index per dimension, last dimension first,
    // then weigh each index with its column-major stride.
    let mut rest = row_major;
    let mut index = [0; 4];
    for (axis, &dim) in dims.iter().enumerate().rev() {
        index[axis] = rest % dim;
        rest /= dim;
    }
    let mut position = 0;
    let mut stride = 1;
    for (axis, &dim) in dims.iter().enumerate() {
        position += index[axis] * stride;
        stride *= dim;
    }
    position
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix_positions_transpose() {
        // A 2x3 matrix [[a, b, c], [d, e, f]] is a b c d e f row-major and a d b e c f
        // column-major.
        let shape = Shape::matrix(2, 3);
        let positions: std::vec::Vec<usize> =
            (0..6).map(|i| memory_index(&shape, true, i)).collect();
        assert_eq!(positions, [0, 2, 4, 1, 3, 5]);
    }

    #[test]
    fn row_major_and_vector_positions_are_unchanged() {
        for i in 0..6 {
            assert_eq!(memory_index(&Shape::matrix(2, 3), false, i), i);
            assert_eq!(memory_index(&Shape::vector(6), true, i), i);
        }
    }
}
