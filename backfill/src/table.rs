//! Plain-text tables for the reports: a header, aligned columns, numbers to the right.

/// Renders `rows` under `header`; a column whose cells all parse as numbers (or are empty)
/// is right-aligned.
pub(crate) fn render(header: &[&str], rows: &[Vec<String>]) -> String {
    let columns = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(columns) {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let numeric: Vec<bool> = (0..columns)
        .map(|i| {
            rows.iter().all(|r| {
                r.get(i)
                    .is_none_or(|c| c.is_empty() || c.replace(',', "").parse::<f64>().is_ok())
            })
        })
        .collect();
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut out = String::new();
        for (i, cell) in cells.enumerate().take(columns) {
            if i > 0 {
                out.push_str("  ");
            }
            let pad = widths[i].saturating_sub(cell.chars().count());
            if numeric[i] && i > 0 {
                out.push_str(&" ".repeat(pad));
                out.push_str(cell);
            } else {
                out.push_str(cell);
                out.push_str(&" ".repeat(pad));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(&mut header.iter().copied());
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    out.push_str(&line(&mut rule.iter().map(String::as_str)));
    for row in rows {
        out.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn aligns_text_left_and_numbers_right() {
        let rows = vec![
            vec!["payments".to_string(), "6".to_string(), "ok".to_string()],
            vec![
                "users".to_string(),
                "1200".to_string(),
                "2 gaps".to_string(),
            ],
        ];
        assert_eq!(
            render(&["collection", "docs", "result"], &rows),
            "collection  docs  result\n\
             ----------  ----  ------\n\
             payments       6  ok\n\
             users       1200  2 gaps\n"
        );
    }
}
