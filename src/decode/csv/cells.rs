//! Splitting a CSV line into cells (RFC 4180 quoting, any one-character delimiter) and reading
//! the numbers in them.

/// Splits one CSV line into `cells` (reusing their allocations) at `delimiter`, honouring RFC 4180
/// quotes (a doubled quote inside stands for one). On an unclosed quote returns the index of the cell it opened.
pub(super) fn split_cells(
    line: &str,
    delimiter: char,
    quote: Option<char>,
    cells: &mut Vec<String>,
) -> Result<(), usize> {
    let mut used = 0;
    let mut next = |cells: &mut Vec<String>| -> usize {
        if used == cells.len() {
            cells.push(String::new());
        } else {
            cells[used].clear();
        }
        used += 1;
        used - 1
    };
    let mut current = next(cells);
    let mut in_quotes = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        let is_quote = Some(c) == quote;
        match (is_quote, in_quotes) {
            (true, true) if chars.peek() == Some(&c) => {
                chars.next();
                cells[current].push(c);
            }
            (true, true) => in_quotes = false,
            (true, false) if cells[current].trim().is_empty() => {
                cells[current].clear();
                in_quotes = true;
            }
            (false, false) if c == delimiter => current = next(cells),
            _ => cells[current].push(c),
        }
    }
    cells.truncate(used);
    if in_quotes {
        Err(current)
    } else {
        Ok(())
    }
}

/// A decimal number; a lone decimal comma (`57,8794` in a quoted cell) is read as a point.
pub(super) fn parse_number(text: &str) -> Option<f64> {
    let value = if text.contains(',') && !text.contains('.') {
        text.replacen(',', ".", 1).parse::<f64>().ok()?
    } else {
        text.parse::<f64>().ok()?
    };
    value.is_finite().then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_cells_keep_delimiters_and_doubled_quotes() {
        let mut cells = Vec::new();
        split_cells(r#"1,"KAPITAN, ""BELOUSOV""",3"#, ',', Some('"'), &mut cells).unwrap();
        assert_eq!(cells, vec!["1", r#"KAPITAN, "BELOUSOV""#, "3"]);
        assert_eq!(
            split_cells(r#"1,"open,2"#, ',', Some('"'), &mut cells),
            Err(1)
        );
        split_cells("1;'a;b';57,8", ';', Some('\''), &mut cells).unwrap();
        assert_eq!(cells, vec!["1", "a;b", "57,8"]);
        assert_eq!(parse_number(&cells[2]), Some(57.8));
        split_cells("1\t\"x\t2", '\t', None, &mut cells).unwrap();
        assert_eq!(cells, vec!["1", "\"x", "2"]);
    }
}
