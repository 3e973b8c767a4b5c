//! The output of the `anonymize` engine: an anonymized table, column by column, as the cells a
//! reader will see. The release of a generalizing method (`pipeline::generalize`) takes its rows
//! from it; the engine and its property tests read it back to count classes.

/// The text a suppressed record shows in every column.
pub const SUPPRESSED: &str = "*";

/// The cells of one output column.
#[derive(Debug, Clone, PartialEq)]
pub enum Cells {
    /// One text per row.
    Text(Vec<String>),
    /// Row `r` shows `labels[codes[r]]`: generalized columns repeat few labels, and coding them
    /// spares one allocation per cell.
    Coded {
        /// The distinct texts (a text may repeat, e.g. `*` added for suppression).
        labels: Vec<String>,
        /// Each row's label.
        codes: Vec<u32>,
    },
}

impl Cells {
    /// Row `r` shows `labels[codes[r]]`, or `*` where `suppressed[r]`.
    pub fn suppressible(mut labels: Vec<String>, codes: &[u32], suppressed: &[bool]) -> Self {
        let star = labels.len() as u32;
        labels.push(SUPPRESSED.to_owned());
        let codes = codes
            .iter()
            .zip(suppressed)
            .map(|(&code, &suppressed)| if suppressed { star } else { code })
            .collect();
        Cells::Coded { labels, codes }
    }
}

/// One column of an anonymized table.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputColumn {
    /// The column's name, as in the input.
    pub name: String,
    /// Whether every cell is a number, empty or `*` (written as a float column to Parquet).
    pub numeric: bool,
    /// Every row's cell.
    pub cells: Cells,
}

impl OutputColumn {
    /// Number of rows.
    pub fn len(&self) -> usize {
        match &self.cells {
            Cells::Text(cells) => cells.len(),
            Cells::Coded { codes, .. } => codes.len(),
        }
    }

    /// Whether the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The text of one row.
    pub fn cell(&self, row: usize) -> &str {
        match &self.cells {
            Cells::Text(cells) => &cells[row],
            Cells::Coded { labels, codes } => &labels[codes[row] as usize],
        }
    }

    /// A number per row identifying its text: equal numbers ⇔ equal texts.
    pub fn cell_ids(&self) -> Vec<u32> {
        match &self.cells {
            Cells::Coded { labels, codes } => {
                // Labels may repeat (e.g. `*` added for suppression): map each to its first copy.
                let mut first: std::collections::HashMap<&str, u32> =
                    std::collections::HashMap::with_capacity(labels.len());
                let canonical: Vec<u32> = labels
                    .iter()
                    .enumerate()
                    .map(|(i, label)| *first.entry(label.as_str()).or_insert(i as u32))
                    .collect();
                codes.iter().map(|&c| canonical[c as usize]).collect()
            }
            Cells::Text(cells) => {
                let mut ids: std::collections::HashMap<&str, u32> =
                    std::collections::HashMap::new();
                cells
                    .iter()
                    .map(|cell| {
                        let next = ids.len() as u32;
                        *ids.entry(cell.as_str()).or_insert(next)
                    })
                    .collect()
            }
        }
    }
}

/// An anonymized table, column-major.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputTable {
    /// The columns, in the input's order (direct identifiers dropped).
    pub columns: Vec<OutputColumn>,
}

impl OutputTable {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, OutputColumn::len)
    }
}
