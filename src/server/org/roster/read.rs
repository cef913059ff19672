//! Reading a roster file into rows of text, with every resource the file could claim bounded first.
//!
//! A roster comes from whoever holds an admin's login, so it is treated as hostile bytes. A few-KB .xlsx
//! can declare a billion shared strings or put one cell at `A1` and another at `XFD1048576`; readers that
//! trust those numbers reserve gigabytes and abort the process. So the zip is checked before any
//! spreadsheet parsing (how many entries, how large each really inflates — counted, not taken from the
//! header — and the shared-string count it declares), the sheet is then read cell by cell with the row and
//! column limits applied while reading, and each cell's text is capped. CSV is read in one linear pass.
//! Callers run this on a blocking thread ([`super::parse_off_the_runtime`]).

use std::collections::BTreeMap;
use std::io::{Cursor, Read};

use super::MAX_ROWS;

/// Columns read from each row; a roster has a dozen, anything past this is ignored.
pub const MAX_COLUMNS: u32 = 64;
/// Characters kept of one cell (names, phones and branch names are far shorter).
pub const MAX_CELL_CHARS: usize = 200;
/// Entries a workbook's zip may hold (a plain workbook has about ten).
const MAX_ZIP_ENTRIES: usize = 256;
/// What one entry may inflate to, and all of them together.
const MAX_ENTRY_BYTES: u64 = 64 * 1024 * 1024;
const MAX_INFLATED_BYTES: u64 = 160 * 1024 * 1024;
/// Shared strings a workbook may declare (50,000 rows of a dozen distinct texts is 600,000).
const MAX_SHARED_STRINGS: u64 = 1_000_000;
/// Text kept from all cells together.
const MAX_TABLE_BYTES: usize = 48 * 1024 * 1024;

const NOT_A_ROSTER: &str = "无法读取该文件：请上传 .xlsx 或 CSV 格式的名册";
const TOO_LARGE: &str =
    "名册文件过大或结构异常：请只保留名册所在的工作表，另存为 .xlsx 或 CSV 后再上传";

fn too_many_rows() -> String {
    format!("一次最多导入{MAX_ROWS}行，请分成几个文件")
}

/// The file's cells as text, row by row, numbered as the spreadsheet shows them (row 1 is `table[0]`).
/// xlsx: the first sheet; CSV: UTF-8 (with or without BOM) or GBK, comma- or tab-separated.
pub fn read_table(bytes: &[u8]) -> Result<Vec<Vec<String>>, String> {
    if bytes.is_empty() {
        return Err("文件是空的".to_owned());
    }
    if bytes.starts_with(b"\xD0\xCF\x11\xE0") {
        return Err("这是旧版 .xls 文件：请在 Excel 中另存为 .xlsx 或 CSV 后再上传".to_owned());
    }
    if bytes.starts_with(b"PK\x03\x04") {
        check_zip(bytes)?;
        read_xlsx(bytes)
    } else {
        read_csv(bytes)
    }
}

/// Refuses a zip whose entries are too many or inflate too far (measured by inflating, since a header
/// can lie), or whose shared-string table claims more strings than a roster can hold.
fn check_zip(bytes: &[u8]) -> Result<(), String> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| NOT_A_ROSTER)?;
    if zip.len() > MAX_ZIP_ENTRIES {
        return Err(TOO_LARGE.to_owned());
    }
    let mut total = 0u64;
    let mut sink = vec![0u8; 64 * 1024];
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|_| NOT_A_ROSTER)?;
        if entry.size() > MAX_ENTRY_BYTES {
            return Err(TOO_LARGE.to_owned());
        }
        // Wherever the workbook's relationships put it (the reader follows them), by any case.
        let shared_strings = entry
            .name()
            .map_err(|_| NOT_A_ROSTER)?
            .to_ascii_lowercase()
            .ends_with("sharedstrings.xml");
        let mut head = Vec::new();
        let mut inflated = 0u64;
        loop {
            let n = match entry.read(&mut sink) {
                Ok(0) => break,
                Ok(n) => n,
                Err(_) => return Err(NOT_A_ROSTER.to_owned()),
            };
            inflated += n as u64;
            total += n as u64;
            if inflated > MAX_ENTRY_BYTES || total > MAX_INFLATED_BYTES {
                return Err(TOO_LARGE.to_owned());
            }
            if shared_strings && head.len() < 4096 {
                head.extend_from_slice(&sink[..n.min(4096 - head.len())]);
            }
        }
        if shared_strings && declared_count(&head, b"uniqueCount") > MAX_SHARED_STRINGS {
            return Err(TOO_LARGE.to_owned());
        }
    }
    Ok(())
}

/// The number an attribute of the `<sst>` element declares (0 when absent; saturating when absurd).
fn declared_count(head: &[u8], attribute: &[u8]) -> u64 {
    let Some(sst) = find(head, b"<sst") else {
        return 0;
    };
    let tag = &head[sst..];
    let tag = &tag[..find(tag, b">").unwrap_or(tag.len())];
    let mut needle = attribute.to_vec();
    needle.extend_from_slice(b"=\"");
    let Some(at) = find(tag, &needle) else {
        return 0;
    };
    tag[at + needle.len()..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .fold(0u64, |n, &d| {
            n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
        })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The first sheet, read cell by cell: columns past [`MAX_COLUMNS`] are skipped, a row past the limit
/// stops the read, and every cell keeps at most [`MAX_CELL_CHARS`].
fn read_xlsx(bytes: &[u8]) -> Result<Vec<Vec<String>>, String> {
    use calamine::{Reader, Xlsx};
    let mut book: Xlsx<_> =
        calamine::open_workbook_from_rs(Cursor::new(bytes)).map_err(|_| NOT_A_ROSTER)?;
    let first = book
        .sheet_names()
        .first()
        .cloned()
        .ok_or("表格里没有工作表")?;
    let mut cells = book
        .worksheet_cells_reader(&first)
        .map_err(|_| NOT_A_ROSTER)?;
    let mut rows: BTreeMap<u32, Vec<(u32, String)>> = BTreeMap::new();
    let mut kept = 0usize;
    while let Some(cell) = cells.next_cell().map_err(|_| NOT_A_ROSTER)? {
        let (row, column) = cell.get_position();
        if row as usize >= MAX_ROWS + 10 {
            return Err(too_many_rows());
        }
        if column >= MAX_COLUMNS {
            continue;
        }
        let text = cell_text(cell.get_value());
        if text.is_empty() {
            continue;
        }
        kept += text.len();
        if kept > MAX_TABLE_BYTES {
            return Err(TOO_LARGE.to_owned());
        }
        rows.entry(row).or_default().push((column, text));
    }
    let height = rows.keys().next_back().map_or(0, |&r| r as usize + 1);
    let mut table = vec![Vec::new(); height];
    for (row, mut cells) in rows {
        cells.sort_by_key(|&(column, _)| column);
        let width = cells.last().map_or(0, |&(c, _)| c as usize + 1);
        let mut line = vec![String::new(); width];
        for (column, text) in cells {
            line[column as usize] = text;
        }
        table[row as usize] = line;
    }
    Ok(table)
}

/// A cell as text, at most [`MAX_CELL_CHARS`]; a phone number Excel stored as a number reads back without
/// `.0`. A shared string is cut before it is copied (one long string may be used by every cell).
fn cell_text(cell: &calamine::DataRef<'_>) -> String {
    use calamine::{Data, DataRef};
    let text = match cell {
        DataRef::Empty => return String::new(),
        DataRef::SharedString(s) => return capped(s),
        DataRef::String(s) => return capped(s),
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        other => Data::from(other.clone()).to_string(),
    };
    capped(&text)
}

fn capped(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(MAX_CELL_CHARS) {
        Some((end, _)) => text[..end].to_owned(),
        None => text.to_owned(),
    }
}

/// CSV in one pass: the csv reader walks the text once, and each record keeps the line it starts on, so
/// row numbers stay as the spreadsheet shows them (blank lines and cells over several lines included).
fn read_csv(bytes: &[u8]) -> Result<Vec<Vec<String>>, String> {
    // Text in UTF-8 or GBK has no NUL byte: a file that does is not a CSV in a strange encoding but
    // another kind of file (a picture, a document, a damaged spreadsheet). UTF-16 (Excel's "Unicode 文本")
    // is all NULs and is read as what it is.
    if utf16(bytes).is_none() && bytes.iter().take(4096).any(|&b| b == 0) {
        return Err(NOT_A_ROSTER.to_owned());
    }
    let text = decode(bytes)
        .ok_or("文件编码无法识别：请在 Excel 中另存为“CSV UTF-8（逗号分隔）”或 .xlsx 后再上传")?;
    if text.contains('\0') {
        return Err(NOT_A_ROSTER.to_owned());
    }
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let first = text.lines().next().unwrap_or("");
    let delimiter = if first.matches('\t').count() > first.matches(',').count() {
        b'\t'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut table: Vec<Vec<String>> = Vec::new();
    let mut record = csv::StringRecord::new();
    let mut kept = 0usize;
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(_) => return Err(NOT_A_ROSTER.to_owned()),
        }
        // The reader's position is where it began reading, before any blank lines it skipped.
        let (mut at, mut line) = record.position().map_or((0, table.len() + 1), |p| {
            (p.byte() as usize, p.line() as usize)
        });
        while text.as_bytes().get(at) == Some(&b'\n') {
            at += 1;
            line += 1;
        }
        if line > MAX_ROWS + 10 {
            return Err(too_many_rows());
        }
        // Rows between records are blank lines, or the further lines of a cell over several lines.
        table.resize(line - 1, Vec::new());
        let cells: Vec<String> = record
            .iter()
            .take(MAX_COLUMNS as usize)
            .map(capped)
            .collect();
        kept += cells.iter().map(String::len).sum::<usize>();
        if kept > MAX_TABLE_BYTES {
            return Err(TOO_LARGE.to_owned());
        }
        table.push(cells);
    }
    Ok(table)
}

/// UTF-16 with its byte order mark, as Excel saves "Unicode 文本" (tab-separated): the encoding and the
/// text after the mark.
fn utf16(bytes: &[u8]) -> Option<(&'static encoding_rs::Encoding, &[u8])> {
    let (encoding, bom) = encoding_rs::Encoding::for_bom(bytes)?;
    (encoding == encoding_rs::UTF_16LE || encoding == encoding_rs::UTF_16BE)
        .then(|| (encoding, &bytes[bom..]))
}

/// UTF-16 with a byte order mark; else UTF-8 (a BOM is dropped) or, failing that, GBK / GB18030 as Excel
/// on a Chinese PC saves CSV.
fn decode(bytes: &[u8]) -> Option<String> {
    if let Some((encoding, text)) = utf16(bytes) {
        return encoding
            .decode_without_bom_handling_and_without_replacement(text)
            .map(|text| text.into_owned());
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => Some(text.to_owned()),
        Err(_) => encoding_rs::GB18030
            .decode_without_bom_handling_and_without_replacement(bytes)
            .map(|text| text.into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(rows: &[&[&str]]) -> Vec<Vec<String>> {
        rows.iter()
            .map(|r| r.iter().map(|c| (*c).to_owned()).collect())
            .collect()
    }

    #[test]
    fn csv_is_read_as_utf8_with_or_without_bom_and_as_gbk() {
        let text = "姓名,手机号,支部\n张三,13800000001,一支部\n";
        let expect = table(&[
            &["姓名", "手机号", "支部"],
            &["张三", "13800000001", "一支部"],
        ]);
        assert_eq!(read_table(text.as_bytes()).unwrap(), expect);
        let bom = [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat();
        assert_eq!(read_table(&bom).unwrap(), expect);
        let (gbk, _, unmappable) = encoding_rs::GBK.encode(text);
        assert!(!unmappable && std::str::from_utf8(&gbk).is_err());
        assert_eq!(read_table(&gbk).unwrap(), expect);
        let tabs = text.replace(',', "\t");
        assert_eq!(read_table(tabs.as_bytes()).unwrap(), expect);
    }

    #[test]
    fn rows_keep_the_numbers_the_spreadsheet_shows() {
        let text = "姓名,手机号\r\n\r\n\"张\r\n三\",138\r\n李四,139\r\n";
        let rows = read_table(text.as_bytes()).unwrap();
        assert_eq!(rows.len(), 5);
        assert_eq!(rows[2], ["张\n三", "138"]);
        assert_eq!(
            rows[4],
            ["李四", "139"],
            "line 5, after a blank line and a cell over two lines"
        );
    }

    #[test]
    fn files_that_are_not_rosters_are_refused_with_what_to_do() {
        assert!(read_table(b"").unwrap_err().contains("空"));
        assert!(
            read_table(b"\xD0\xCF\x11\xE0rest")
                .unwrap_err()
                .contains(".xls")
        );
        assert!(
            read_table(b"PK\x03\x04garbage")
                .unwrap_err()
                .contains("无法读取")
        );
        assert!(
            read_table(&[0xff, 0xff, 0x00, 0x41])
                .unwrap_err()
                .contains("无法读取")
        );
        // Excel's "Unicode 文本": UTF-16 with its mark, tab-separated.
        let text = "姓名\t手机号\t支部\n张三\t13800000001\t一支部\n";
        let le: Vec<u8> = [0xff, 0xfe]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let be: Vec<u8> = [0xfe, 0xff]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        for file in [le, be] {
            assert_eq!(
                read_table(&file).unwrap()[1],
                ["张三", "13800000001", "一支部"]
            );
        }
        // A picture or a damaged .xlsx is not called a CSV in an unknown encoding.
        let png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe";
        assert!(read_table(png).unwrap_err().contains("无法读取"));
        // Text in an encoding that is neither UTF-8 nor GBK is.
        assert!(
            read_table(b"\xff\xff\xff,\x80\x80")
                .unwrap_err()
                .contains("编码")
        );
    }

    #[test]
    fn the_shared_string_count_is_read_from_the_sst_element_only() {
        let head = br#"<?xml version="1.0"?><sst xmlns="x" count="12" uniqueCount="99999999999999999999999"><si>"#;
        assert_eq!(declared_count(head, b"uniqueCount"), u64::MAX);
        assert_eq!(declared_count(head, b"count"), 12);
        assert_eq!(declared_count(b"<sst>", b"uniqueCount"), 0);
        assert_eq!(declared_count(b"no table", b"uniqueCount"), 0);
    }

    #[test]
    fn a_cell_keeps_at_most_its_limit_of_characters() {
        let long = "长".repeat(MAX_CELL_CHARS + 5);
        assert_eq!(capped(&long).chars().count(), MAX_CELL_CHARS);
        assert_eq!(capped("  张三 "), "张三");
    }
}
