//! Every parser of what people upload, fed arbitrary and crafted bytes: it answers `Ok` or a clear `Err`,
//! never panics, never aborts, and stays within a memory bound (measured by this test binary's own
//! allocator) and a time bound. A cargo integration test target (see Cargo.toml), run by `make unit`.
//!
//! The parsers: the roster (.xlsx and CSV, `hongyan::server::read_roster`), the evidence photo's data URL
//! (`hongyan::study::check_photo`) and the file or pasted text of unsent records (`UnsentFile` JSON, read
//! by the phone and by `POST /api/v1/sync/import`).

use std::io::{Cursor, Read, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hongyan::api::UnsentFile;
use hongyan::server::read_roster;
use hongyan::study::check_photo;
use peak_alloc::PeakAlloc;
use proptest::prelude::*;

#[global_allocator]
static MEMORY: PeakAlloc = PeakAlloc;

/// Most memory one parse may take above what was in use before it.
const MEMORY_BOUND: usize = 400 * 1024 * 1024;
/// A sanity bound against super-linear blow-ups, far above what any input here needs.
const TIME_BOUND: Duration = Duration::from_secs(20);

/// One measurement at a time: the peak is process-wide.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Runs `parse`, failing if it takes more memory or time than the bounds; answers its result.
fn bounded<T>(what: &str, parse: impl FnOnce() -> T) -> T {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let before = MEMORY.current_usage();
    MEMORY.reset_peak_usage();
    let started = Instant::now();
    let out = parse();
    let took = started.elapsed();
    let peak = MEMORY.peak_usage().saturating_sub(before);
    assert!(
        peak <= MEMORY_BOUND,
        "{what}: took {} MB",
        peak / 1024 / 1024
    );
    assert!(took <= TIME_BOUND, "{what}: took {took:?}");
    out
}

/// A roster's reader answered, with a message a person can act on when it refused.
fn read(what: &str, bytes: &[u8]) -> Result<Vec<Vec<String>>, String> {
    let out = bounded(what, || read_roster(bytes));
    if let Err(message) = &out {
        assert!(
            !message.is_empty() && !message.contains("Error"),
            "{what}: {message}"
        );
    }
    out
}

/// A real workbook (as Excel or WPS save one) with a heading row and one member.
fn workbook() -> Vec<u8> {
    static BYTES: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BYTES.get_or_init(write_workbook).clone()
}

fn write_workbook() -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (col, heading) in ["姓名", "手机号", "支部"].into_iter().enumerate() {
        sheet.write_string(0, col as u16, heading).unwrap();
    }
    sheet.write_string(1, 0, "吴刚").unwrap();
    sheet.write_number(1, 1, 13_900_000_001.0).unwrap();
    sheet.write_string(1, 2, "一支部").unwrap();
    book.save_to_buffer().unwrap()
}

/// The workbook with some entries rewritten (or added) by `edit(name, contents)`.
fn rezip(
    base: &[u8],
    edit: impl Fn(&str, Vec<u8>) -> Vec<u8>,
    extra: &[(&str, Vec<u8>)],
) -> Vec<u8> {
    let mut zip = zip::ZipArchive::new(Cursor::new(base)).unwrap();
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).unwrap();
        let name = entry.name().unwrap().into_owned();
        let mut contents = Vec::new();
        entry.read_to_end(&mut contents).unwrap();
        out.start_file(name.as_str(), options).unwrap();
        out.write_all(&edit(&name, contents)).unwrap();
    }
    for (name, contents) in extra {
        out.start_file(*name, options).unwrap();
        out.write_all(contents).unwrap();
    }
    out.finish().unwrap().into_inner()
}

fn replace(contents: Vec<u8>, from: &str, to: &str) -> Vec<u8> {
    String::from_utf8(contents)
        .unwrap()
        .replace(from, to)
        .into_bytes()
}

#[test]
fn the_plain_workbook_reads_back() {
    let rows = read("workbook", &workbook()).unwrap();
    assert_eq!(rows[0], ["姓名", "手机号", "支部"]);
    assert_eq!(rows[1], ["吴刚", "13900000001", "一支部"]);
}

#[test]
fn a_workbook_declaring_billions_of_shared_strings_is_refused_without_reserving_them() {
    let bomb = rezip(
        &workbook(),
        |name, c| {
            if name.ends_with("sharedStrings.xml") {
                let text = String::from_utf8(c).unwrap();
                let at = text.find("uniqueCount=\"").unwrap() + "uniqueCount=\"".len();
                let end = at + text[at..].find('"').unwrap();
                format!("{}4000000000{}", &text[..at], &text[end..]).into_bytes()
            } else {
                c
            }
        },
        &[],
    );
    assert!(bomb.len() < 16 * 1024, "a few KB: {}", bomb.len());
    let e = read("uniqueCount", &bomb).unwrap_err();
    assert!(e.contains("过大"), "{e}");
}

#[test]
fn a_cell_at_the_last_row_and_column_does_not_make_a_sheet_of_seventeen_billion_cells() {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "姓名").unwrap();
    sheet.write_string(1_048_575, 16_383, "x").unwrap();
    let far = book.save_to_buffer().unwrap();
    let e = read("far cell", &far).unwrap_err();
    assert!(e.contains("最多导入"), "{e}");
    // Far to the right only: the column is ignored, the roster reads.
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "姓名").unwrap();
    sheet.write_string(0, 16_383, "x").unwrap();
    let rows = read("far column", &book.save_to_buffer().unwrap()).unwrap();
    assert_eq!(rows, [["姓名"]]);
    // A dimension that claims the whole sheet.
    let claims = rezip(
        &workbook(),
        |name, c| {
            if name.contains("worksheets/") {
                replace(
                    c,
                    "<dimension ref=\"A1:C2\"/>",
                    "<dimension ref=\"A1:XFD1048576\"/>",
                )
            } else {
                c
            }
        },
        &[],
    );
    assert_eq!(read("dimension", &claims).unwrap().len(), 2);
}

#[test]
fn a_zip_bomb_and_a_zip_of_many_entries_are_refused() {
    let zeros = vec![b' '; 200 * 1024 * 1024];
    let bomb = rezip(
        &workbook(),
        |name, c| {
            if name.ends_with("sharedStrings.xml") {
                let mut padded = c;
                let at = padded.len() - "</sst>".len();
                padded.splice(at..at, zeros.iter().copied());
                padded
            } else {
                c
            }
        },
        &[],
    );
    drop(zeros);
    assert!(bomb.len() < 1024 * 1024, "{}", bomb.len());
    assert!(read("deflate bomb", &bomb).unwrap_err().contains("过大"));
    let many: Vec<(String, Vec<u8>)> = (0..2_000).map(|i| (format!("x/{i}"), Vec::new())).collect();
    let many: Vec<(&str, Vec<u8>)> = many.iter().map(|(n, c)| (n.as_str(), c.clone())).collect();
    let crowded = rezip(&workbook(), |_, c| c, &many);
    assert!(read("many entries", &crowded).unwrap_err().contains("过大"));
}

#[test]
fn one_long_shared_string_in_every_cell_is_cut_before_it_is_copied() {
    let long = "长".repeat(32_000);
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    // Copied whole into every cell, this would be a gigabyte.
    for row in 0..2_000 {
        for col in 0..5 {
            sheet.write_string(row, col, &long).unwrap();
        }
    }
    let file = book.save_to_buffer().unwrap();
    let rows = read("long shared string", &file).unwrap();
    assert_eq!(rows.len(), 2_000);
    assert_eq!(rows[1999][4].chars().count(), 200);
}

#[test]
fn csv_that_was_quadratic_reads_in_one_pass() {
    // An opening quote, then a hundred thousand lines: each line used to recount the whole record.
    let mut crafted = String::from("姓名,手机号,支部\n\"");
    for _ in 0..100_000 {
        crafted.push_str("a,b\n");
    }
    let e = read("open quote", crafted.as_bytes());
    assert!(e.is_err() || e.unwrap().len() <= 100_012);
    // Millions of blank lines before one row: refused at the row limit, without a row for each line.
    let blank = "\n".repeat(8 * 1024 * 1024) + "张三";
    assert!(
        read("blank lines", blank.as_bytes())
            .unwrap_err()
            .contains("最多导入")
    );
    let wide = format!("姓名,手机号,支部{}\n", ",x".repeat(2_000_000));
    assert_eq!(read("wide", wide.as_bytes()).unwrap()[0].len(), 64);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1_000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_break_the_roster_reader(bytes in proptest::collection::vec(any::<u8>(), 0..4_096)) {
        let _ = read("arbitrary", &bytes);
    }

    #[test]
    fn arbitrary_bytes_after_a_zip_signature_never_break_it(bytes in proptest::collection::vec(any::<u8>(), 0..4_096)) {
        let mut file = b"PK\x03\x04".to_vec();
        file.extend(bytes);
        let _ = read("zip signature", &file);
    }

    #[test]
    fn a_workbook_with_bytes_flipped_never_breaks_it(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..16)) {
        let mut file = workbook();
        for (at, byte) in flips {
            let at = at % file.len();
            file[at] = byte;
        }
        let _ = read("flipped workbook", &file);
    }

    #[test]
    fn arbitrary_text_never_breaks_the_csv_reader(text in "[\"a,\\t\\r\\n张]{0,2000}") {
        let _ = read("csv", text.as_bytes());
    }

    #[test]
    fn arbitrary_data_urls_never_break_the_photo_check(tail in "[A-Za-z0-9+/=<> ]{0,200}", kind in 0..4usize) {
        let prefix = ["data:image/jpeg;base64,", "data:image/png;base64,", "data:image/webp;base64,", "data:"][kind];
        let _ = bounded("photo", || check_photo(&format!("{prefix}{tail}")));
    }

    #[test]
    fn arbitrary_bytes_never_break_the_unsent_records_reader(bytes in proptest::collection::vec(any::<u8>(), 0..4_096)) {
        let _ = bounded("unsent", || serde_json::from_slice::<UnsentFile>(&bytes));
        if let Ok(text) = std::str::from_utf8(&bytes) {
            let _ = bounded("pasted", || serde_json::from_str::<UnsentFile>(text.trim()));
        }
    }
}
