//! Text layouts shared by the commands, written to give virsh 9.0.0's bytes: its tables
//! (`tools/vsh-table.c`), its `"%-15s %s"` fields, UUIDs and version numbers.

use std::fmt::Write as _;

/// A table as `vshTablePrintToStdout` lays it out: each cell written as `" %s"`, every column
/// but the last padded to its widest cell plus two spaces, and under the header a line of
/// dashes as long as the sum of (widest cell + 3) over the columns. Widths count the header.
///
/// Widths are counted in `char`s; virsh counts terminal columns (`wcwidth`), which differs only
/// for wide or zero-width characters.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    table_row(&mut out, &widths, header.iter().copied());
    out.extend(std::iter::repeat_n('-', widths.iter().map(|w| w + 3).sum()));
    out.push('\n');
    for row in rows {
        table_row(&mut out, &widths, row.iter().map(String::as_str));
    }
    out
}

/// One line of a [`table`].
fn table_row<'a>(
    out: &mut String,
    widths: &[usize],
    cells: impl ExactSizeIterator<Item = &'a str>,
) {
    let last = cells.len().saturating_sub(1);
    for (i, cell) in cells.enumerate() {
        out.push(' ');
        out.push_str(cell);
        if i < last {
            let pad = widths[i] - cell.chars().count() + 2;
            out.extend(std::iter::repeat_n(' ', pad));
        }
    }
    out.push('\n');
}

/// One `"%-W s %s\n"` line: the label padded to `width`, a space, the value.
pub fn field(out: &mut String, width: usize, label: &str, value: impl std::fmt::Display) {
    let _ = writeln!(out, "{label:<width$} {value}");
}

/// A UUID as `virUUIDFormat` writes it: lowercase, hyphens after bytes 4, 6, 8 and 10.
pub fn uuid(bytes: &[u8; 16]) -> String {
    let mut s = String::with_capacity(36);
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Parses a UUID as `virUUIDParse` does: leading blanks, then 32 hex digits in pairs with any
/// hyphens or spaces between pairs, then only blanks.
pub fn parse_uuid(text: &str) -> Option<[u8; 16]> {
    let mut chars = text.trim_start_matches(is_c_space).chars().peekable();
    let mut out = [0u8; 16];
    let mut i = 0;
    while i < 16 {
        let c = chars.next()?;
        if c == '-' || c == ' ' {
            continue;
        }
        let hi = c.to_digit(16)?;
        let lo = chars.next()?.to_digit(16)?;
        out[i] = (hi * 16 + lo) as u8;
        i += 1;
    }
    chars.all(is_c_space).then_some(out)
}

/// C's `isspace` in the C locale.
fn is_c_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

/// A libvirt version number (major × 1,000,000 + minor × 1,000 + micro) as `major.minor.micro`.
pub fn version(v: u64) -> String {
    format!(
        "{}.{}.{}",
        v / 1_000_000,
        (v % 1_000_000) / 1_000,
        v % 1_000
    )
}

/// A C `char` array from the wire (NUL-terminated or full) as text.
pub fn c_string(chars: &[i8]) -> String {
    let bytes: Vec<u8> = chars
        .iter()
        .map(|&c| c as u8)
        .take_while(|&b| b != 0)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// CPU time in nanoseconds as dominfo's `"%.1lfs"` of seconds.
pub fn cpu_time(nanos: u64) -> String {
    format!("{:.1}s", nanos as f64 / 1_000_000_000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_table_matches_virsh_bytes() {
        // virsh 9.0.0 against the test driver, running and shut off.
        let running = table(
            &["Id", "Name", "State"],
            &[vec!["1".into(), "test".into(), "running".into()]],
        );
        assert_eq!(
            running,
            " Id   Name   State\n----------------------\n 1    test   running\n"
        );
        let off = table(
            &["Id", "Name", "State"],
            &[vec!["-".into(), "test".into(), "shut off".into()]],
        );
        assert_eq!(
            off,
            " Id   Name   State\n-----------------------\n -    test   shut off\n"
        );
        let empty = table(&["Id", "Name", "State"], &[]);
        assert_eq!(empty, " Id   Name   State\n--------------------\n");
    }

    #[test]
    fn uuids_round_trip_and_parse_leniently() {
        let text = "6695eb01-f6a4-8304-79aa-97f2502e193f";
        let bytes = parse_uuid(text).unwrap();
        assert_eq!(uuid(&bytes), text);
        assert_eq!(parse_uuid("6695eb01f6a4830479aa97f2502e193f"), Some(bytes));
        assert_eq!(
            parse_uuid("  6695eb01-f6a4-8304-79aa-97f2502e193f \n"),
            Some(bytes)
        );
        assert_eq!(parse_uuid("6695eb01-f6a4-8304-79aa-97f2502e193"), None);
        assert_eq!(parse_uuid("6695eb01-f6a4-8304-79aa-97f2502e193fx"), None);
        assert_eq!(parse_uuid("g695eb01-f6a4-8304-79aa-97f2502e193f"), None);
    }

    #[test]
    fn numbers_print_like_virsh() {
        assert_eq!(version(9_000_000), "9.0.0");
        assert_eq!(version(2), "0.0.2");
        assert_eq!(version(11_003_001), "11.3.1");
        assert_eq!(cpu_time(1_796_619_061_149_000_000), "1796619061.1s");
        assert_eq!(cpu_time(50_000_000), "0.1s");
        let model: Vec<i8> = b"i686\0\0\0".iter().map(|&b| b as i8).collect();
        assert_eq!(c_string(&model), "i686");
        let mut s = String::new();
        field(&mut s, 15, "Security DOI:", "");
        assert_eq!(s, "Security DOI:   \n");
    }
}
