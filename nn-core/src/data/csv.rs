//! CSV input: a header line, then one sample per line.

use std::format;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::string::{String, ToString};
use std::vec::Vec;

use ::csv::{ReaderBuilder, StringRecord, Trim};
use nalgebra::SVector;

use super::{DataError, Dataset, Position, one_hot};
use crate::float::Float;

impl<T: Float, const IN: usize, const OUT: usize> Dataset<T, IN, OUT> {
    /// Reads a classification set from a CSV file with `OUT` classes.
    ///
    /// The first line is a header. Each following line has `IN` numeric feature columns
    /// and then one label column with a class index in `0..OUT`. The targets are the
    /// labels' one-hot vectors. Fields are comma-separated and surrounding spaces are
    /// ignored. A label may be written as an integer (`2`) or as a decimal with no
    /// fractional part (`2.0`).
    ///
    /// # Errors
    ///
    /// [`DataError::Io`] when the file cannot be read, [`DataError::Empty`] when it has no
    /// data rows, [`DataError::ColumnCount`] for a line (header included) without
    /// `IN + 1` fields, [`DataError::NotANumber`] and [`DataError::NotFinite`] for a bad
    /// feature, [`DataError::LabelNotInteger`] and [`DataError::LabelOutOfRange`] for a
    /// bad label, and [`DataError::Csv`] for malformed CSV such as invalid UTF-8.
    pub fn read_csv_classification(path: impl AsRef<Path>) -> Result<Self, DataError> {
        let path = path.as_ref();
        Self::parse_csv_classification(open(path)?, path)
    }

    /// Reads a classification set like
    /// [`read_csv_classification`](Self::read_csv_classification), from any reader.
    /// `source` names the data in error messages.
    ///
    /// # Errors
    ///
    /// As for [`read_csv_classification`](Self::read_csv_classification).
    pub fn parse_csv_classification(
        reader: impl Read,
        source: impl AsRef<Path>,
    ) -> Result<Self, DataError> {
        let layout = format!("{IN} feature columns then a label column");
        let table = Table::new(source.as_ref(), IN + 1, layout);
        let mut inputs = Vec::new();
        let mut targets = Vec::new();
        let mut labels = Vec::new();
        table.read(reader, |row| {
            let label = row.label(IN, OUT)?;
            inputs.push(row.vector::<T, IN>(0)?);
            // `label` is below OUT, so `one_hot` returns a vector.
            targets.push(one_hot(label).unwrap_or_else(SVector::zeros));
            labels.push(label);
            Ok(())
        })?;
        Ok(Self {
            inputs,
            targets,
            labels: Some(labels),
        })
    }

    /// Reads a regression set from a CSV file.
    ///
    /// The first line is a header. Each following line has `IN + OUT` numeric columns:
    /// the first `IN` are the inputs and the last `OUT` are the targets.
    ///
    /// # Errors
    ///
    /// [`DataError::Io`] when the file cannot be read, [`DataError::Empty`] when it has no
    /// data rows, [`DataError::ColumnCount`] for a line (header included) without
    /// `IN + OUT` fields, [`DataError::NotANumber`] and [`DataError::NotFinite`] for a bad
    /// value, and [`DataError::Csv`] for malformed CSV such as invalid UTF-8.
    pub fn read_csv_regression(path: impl AsRef<Path>) -> Result<Self, DataError> {
        let path = path.as_ref();
        Self::parse_csv_regression(open(path)?, path)
    }

    /// Reads a regression set like [`read_csv_regression`](Self::read_csv_regression),
    /// from any reader. `source` names the data in error messages.
    ///
    /// # Errors
    ///
    /// As for [`read_csv_regression`](Self::read_csv_regression).
    pub fn parse_csv_regression(
        reader: impl Read,
        source: impl AsRef<Path>,
    ) -> Result<Self, DataError> {
        let layout = format!("{IN} input columns then {OUT} target columns");
        let table = Table::new(source.as_ref(), IN + OUT, layout);
        let mut inputs = Vec::new();
        let mut targets = Vec::new();
        table.read(reader, |row| {
            inputs.push(row.vector::<T, IN>(0)?);
            targets.push(row.vector::<T, OUT>(IN)?);
            Ok(())
        })?;
        Ok(Self {
            inputs,
            targets,
            labels: None,
        })
    }
}

/// Opens a file for buffered reading.
fn open(path: &Path) -> Result<BufReader<File>, DataError> {
    let file = File::open(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(BufReader::new(file))
}

/// The expected shape of a CSV file.
struct Table<'a> {
    path: &'a Path,
    columns: usize,
    /// A description of the expected columns, for error messages.
    layout: String,
}

impl<'a> Table<'a> {
    fn new(path: &'a Path, columns: usize, layout: String) -> Self {
        Self {
            path,
            columns,
            layout,
        }
    }

    /// Checks the header, then calls `visit` for every data row.
    fn read(
        &self,
        reader: impl Read,
        mut visit: impl FnMut(&Row<'_>) -> Result<(), DataError>,
    ) -> Result<(), DataError> {
        // `flexible` lets this code report a wrong column count with the expected layout,
        // instead of the parser's comparison with the first line.
        let mut csv = ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .trim(Trim::All)
            .from_reader(reader);
        let header = csv.headers().map_err(|e| self.csv_error(e))?.clone();
        if header.is_empty() {
            return Err(self.empty());
        }
        self.check_columns(&header, 1)?;

        let mut record = StringRecord::new();
        let mut rows = 0usize;
        while csv
            .read_record(&mut record)
            .map_err(|e| self.csv_error(e))?
        {
            let line = record.position().map_or(0, |position| position.line());
            self.check_columns(&record, line)?;
            visit(&Row {
                table: self,
                header: &header,
                record: &record,
                line,
            })?;
            rows += 1;
        }
        if rows == 0 {
            return Err(self.empty());
        }
        Ok(())
    }

    fn check_columns(&self, record: &StringRecord, line: u64) -> Result<(), DataError> {
        if record.len() == self.columns {
            return Ok(());
        }
        Err(DataError::ColumnCount {
            path: self.path.to_path_buf(),
            line,
            expected: self.columns,
            found: record.len(),
            layout: self.layout.clone(),
        })
    }

    fn empty(&self) -> DataError {
        DataError::Empty {
            path: self.path.to_path_buf(),
        }
    }

    fn csv_error(&self, error: ::csv::Error) -> DataError {
        let line = error.position().map_or(0, |position| position.line());
        let message = error.to_string();
        match error.into_kind() {
            ::csv::ErrorKind::Io(source) => DataError::Io {
                path: self.path.to_path_buf(),
                source,
            },
            ::csv::ErrorKind::Utf8 { err, .. } => DataError::Csv {
                path: self.path.to_path_buf(),
                line,
                message: format!("field {} is not valid UTF-8", err.field() + 1),
            },
            _ => DataError::Csv {
                path: self.path.to_path_buf(),
                line,
                message,
            },
        }
    }
}

/// One data row of a CSV file, with what its error messages need.
struct Row<'a> {
    table: &'a Table<'a>,
    header: &'a StringRecord,
    record: &'a StringRecord,
    line: u64,
}

impl Row<'_> {
    /// Parses `N` numbers starting at column `first` (counting from 0).
    fn vector<T: Float, const N: usize>(&self, first: usize) -> Result<SVector<T, N>, DataError> {
        let mut vector = SVector::<T, N>::zeros();
        for i in 0..N {
            vector[i] = self.number(first + i)?;
        }
        Ok(vector)
    }

    /// Parses the number in column `column` (counting from 0).
    fn number<T: Float>(&self, column: usize) -> Result<T, DataError> {
        let field = self.field(column);
        let Ok(value) = field.parse::<f64>() else {
            return Err(DataError::NotANumber {
                path: self.table.path.to_path_buf(),
                line: self.line,
                column: column + 1,
                name: self.column_name(column),
                value: field.to_string(),
            });
        };
        // The check after conversion also catches values too large for f32.
        let converted = T::from_f64_lossy(value);
        if !converted.as_f64().is_finite() {
            return Err(DataError::NotFinite {
                path: self.table.path.to_path_buf(),
                line: self.line,
                column: column + 1,
                name: self.column_name(column),
                value: field.to_string(),
                scalar: T::NAME,
            });
        }
        Ok(converted)
    }

    /// Parses the class label in column `column` (counting from 0) and checks that it is
    /// below `classes`.
    fn label(&self, column: usize, classes: usize) -> Result<usize, DataError> {
        let field = self.field(column);
        let Some(label) = parse_integer(field) else {
            return Err(DataError::LabelNotInteger {
                path: self.table.path.to_path_buf(),
                line: self.line,
                column: column + 1,
                value: field.to_string(),
                classes,
            });
        };
        match usize::try_from(label) {
            Ok(index) if index < classes => Ok(index),
            _ => Err(DataError::LabelOutOfRange {
                path: self.table.path.to_path_buf(),
                position: Position::Line(self.line),
                label,
                classes,
            }),
        }
    }

    fn field(&self, column: usize) -> &str {
        self.record.get(column).unwrap_or("")
    }

    fn column_name(&self, column: usize) -> String {
        self.header.get(column).unwrap_or("").to_string()
    }
}

/// Parses an integer written as `3`, `-1` or `3.0`; returns `None` for anything else.
fn parse_integer(field: &str) -> Option<i64> {
    if let Ok(integer) = field.parse::<i64>() {
        return Some(integer);
    }
    let value = field.parse::<f64>().ok()?;
    // Beyond 2^53 not every integer is representable, so such values are rejected.
    let exact = value.is_finite() && value.fract() == 0.0 && value.abs() <= 9_007_199_254_740_992.0;
    exact.then_some(value as i64)
}
