//! Finds the line of a dotted key in YAML text.
//!
//! The YAML parser reports positions for syntax and type errors only; problems found later (an
//! unknown relationship target, say) know just their key. This walks the text by indentation,
//! the way a person would look for the key, and understands block mappings, block sequences
//! (`- item`) and keys of a flow mapping on the same line (`sku: { type: string }`).

/// The 1-based line where `key` is written, or the line of its deepest ancestor found.
pub(crate) fn line_of(text: &str, key: &[String]) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = None;
    let mut start = 0;
    let mut parent_indent: Option<usize> = None;
    'segments: for (depth, segment) in key.iter().enumerate() {
        // A segment may sit in the flow mapping on its parent's line.
        if let Some(line) = found {
            let text: &str = lines[line - 1];
            if depth > 0 && flow_has_key(text, segment) {
                return Some(line);
            }
        }
        let sequence_index = segment.parse::<usize>().ok();
        let mut seen_items = 0;
        for (i, raw) in lines.iter().enumerate().skip(start) {
            let trimmed = raw.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let indent = raw.len() - trimmed.len();
            if parent_indent.is_some_and(|p| indent <= p) {
                break;
            }
            if let Some(index) = sequence_index {
                if trimmed.starts_with("- ") || trimmed == "-" {
                    if seen_items == index {
                        found = Some(i + 1);
                        start = i + 1;
                        parent_indent = Some(indent);
                        continue 'segments;
                    }
                    seen_items += 1;
                }
                continue;
            }
            if is_key_line(trimmed, segment) {
                found = Some(i + 1);
                start = i + 1;
                parent_indent = Some(indent);
                continue 'segments;
            }
        }
        break;
    }
    found
}

fn is_key_line(trimmed: &str, key: &str) -> bool {
    let body = trimmed.strip_prefix("- ").unwrap_or(trimmed);
    [key.to_owned(), format!("\"{key}\""), format!("'{key}'")]
        .iter()
        .any(|k| {
            body.strip_prefix(k.as_str())
                .is_some_and(|rest| rest.trim_start().starts_with(':'))
        })
}

fn flow_has_key(line: &str, key: &str) -> bool {
    let Some(open) = line.find('{') else {
        return false;
    };
    line[open + 1..]
        .split([',', '{'])
        .any(|part| is_key_line(part.trim_start(), key))
}

#[cfg(test)]
mod tests {
    use super::line_of;

    fn key(s: &str) -> Vec<String> {
        s.split('.').map(str::to_owned).collect()
    }

    #[test]
    fn finds_nested_block_and_flow_keys() {
        let text = "types:\n  a:\n    id: x\n  b:\n    id: y\n    attributes:\n      n: { type: string, max: 1 }\n    sorters:\n      - id\n      - n\n";
        assert_eq!(line_of(text, &key("types.b.id")), Some(5));
        assert_eq!(line_of(text, &key("types.b.attributes.n.max")), Some(7));
        assert_eq!(line_of(text, &key("types.b.sorters.1")), Some(10));
        assert_eq!(line_of(text, &key("types.c")), Some(1));
    }
}
