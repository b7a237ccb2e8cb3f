//! Times and weighs each stage of importing one file, the way `apsync import` does it
//! (`src/pipeline/import.rs`), through apsync's public API:
//!
//!   apsync-stage-timer CONFIG PROVIDER FILE [JSON-OUT]
//!
//! The store named by CONFIG (or `APSYNC__DATABASE__URL`) must hold the roster and no marks yet.
//! For each stage: wall seconds, the heap it leaves live, and the heap's peak during it (a
//! counting allocator; RSS is a little above the heap). Then the parts of `normalise`'s per-mark
//! `settle` timed on their own over the same observations, and the store's costs: a first
//! import (every mark new), the same marks again from other bytes (every mark unchanged), and a
//! document with no marks (hash + BLOB only).

use std::alloc::{GlobalAlloc, Layout, System};
use std::error::Error;
use std::hint::black_box;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::Instant;

use apsync::cli::Context;
use apsync::pipeline::normalise::{ProviderRules, RosterIndex, normalise};
use apsync::pipeline::{decode, decode_table};
use apsync::store::NewDocument;
use chrono::Utc;
use serde_json::json;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(n: usize) {
    let now = LIVE.fetch_add(n, Relaxed) + n;
    PEAK.fetch_max(now, Relaxed);
}

// SAFETY: every call is passed through to the system allocator unchanged; only counts are kept.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            grew(l.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(l) };
        if !p.is_null() {
            grew(l.size());
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        LIVE.fetch_sub(l.size(), Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            if new >= l.size() {
                grew(new - l.size());
            } else {
                LIVE.fetch_sub(l.size() - new, Relaxed);
            }
        }
        q
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const MIB: f64 = 1024.0 * 1024.0;

struct Report {
    stages: Vec<serde_json::Value>,
    marks: usize,
}

struct Started {
    at: Instant,
    live: usize,
}

fn start() -> Started {
    let live = LIVE.load(Relaxed);
    PEAK.store(live, Relaxed);
    Started { at: Instant::now(), live }
}

impl Report {
    fn end(&mut self, name: &str, s: Started, note: String) -> f64 {
        let secs = s.at.elapsed().as_secs_f64();
        let live = LIVE.load(Relaxed);
        let peak = PEAK.load(Relaxed);
        let per_mark_us = if self.marks > 0 { secs * 1e6 / self.marks as f64 } else { 0.0 };
        println!(
            "{name:58} {secs:8.3} {per_mark_us:8.2} {:9.1} {:9.1} {:9.1}  {note}",
            live as f64 / MIB,
            (peak.saturating_sub(s.live)) as f64 / MIB,
            peak as f64 / MIB,
        );
        self.stages.push(json!({
            "stage": name, "seconds": secs, "us_per_mark": per_mark_us,
            "heap_live_after_mb": live as f64 / MIB,
            "heap_peak_above_start_mb": (peak.saturating_sub(s.live)) as f64 / MIB,
            "heap_peak_mb": peak as f64 / MIB, "note": note,
        }));
        secs
    }
}

fn vm(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, config, provider_id, file, rest @ ..] = args.as_slice() else {
        return Err("usage: apsync-stage-timer CONFIG PROVIDER FILE [JSON-OUT]".into());
    };
    let now = Utc::now();
    let ctx = Context::open(Path::new(config), now).await.map_err(|e| e.to_string())?;
    let cfg = &ctx.loaded.config;
    let provider = cfg.provider(provider_id).ok_or("no such provider")?;
    let format = provider.format.as_ref().ok_or("the provider has no format")?;
    let name = Path::new(file)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut r = Report {
        stages: Vec::new(),
        marks: 0,
    };
    println!(
        "{:58} {:>8} {:>8} {:>9} {:>9} {:>9}",
        "stage", "seconds", "us/mark", "live MiB", "+peak MiB", "peak MiB"
    );

    let s = start();
    let pupils: Vec<_> = ctx.store.pupils().await?.into_iter().map(|p| p.record).collect();
    let placements = ctx.store.placements().await?;
    let index = RosterIndex::new(pupils, &placements);
    r.end(
        "roster: load pupils + placements, index",
        s,
        format!("{} placements", placements.len()),
    );

    let s = start();
    let bytes = std::fs::read(file)?;
    r.end("read: whole file into memory", s, format!("{} bytes", bytes.len()));

    let s = start();
    let table = decode_table(&bytes, &name, format)?;
    let rows = table.rows.len();
    r.end("decode 1/2: text + CSV -> Table (held, then dropped)", s, format!("{rows} rows"));
    drop(table);

    let s = start();
    let decoded = decode(&bytes, &name, format)?;
    let observations = decoded.observations.len();
    r.marks = observations;
    r.end(
        "decode (all): table + layout -> observations",
        s,
        format!("{observations} observations, {} problems", decoded.problems.len()),
    );

    let rules = ProviderRules {
        id: &provider.id,
        present_code: provider.present_code,
        marks: &format.marks,
    };
    let s = start();
    let normalised = normalise(decoded, rules, &index, &placements, &cfg.calendar);
    r.end(
        "normalise: match, calendar, placement, code, dedupe",
        s,
        format!("{} marks, {} reviews", normalised.marks.len(), normalised.reviews.len()),
    );

    let doc = |bytes: Vec<u8>, tag: &str| NewDocument {
        provider_id: provider.id.clone(),
        connector: "manual".into(),
        external_id: format!("{file}{tag}"),
        file_name: name.clone(),
        media_type: None,
        bytes,
        metadata: json!({ "path": file }),
        received_at: now,
        rejected: None,
    };
    let first = doc(bytes, "");
    let s = start();
    let summary = ctx
        .store
        .import_document(&first, &normalised.marks, &normalised.reviews, None, now)
        .await?;
    r.end(
        &format!("store ({}): first import, every mark new", ctx.store.backend_name()),
        s,
        format!("added {} review {}", summary.marks_added, summary.review_items),
    );

    let mut again = first.clone();
    again.bytes.push(b'\n');
    let s = start();
    let summary = ctx
        .store
        .import_document(&again, &normalised.marks, &normalised.reviews, None, now)
        .await?;
    r.end(
        "store again, same marks from other bytes (all unchanged)",
        s,
        format!("unchanged {}", summary.marks_unchanged),
    );

    let mut bare = again.clone();
    bare.bytes.push(b'\n');
    let s = start();
    ctx.store.import_document(&bare, &[], &[], None, now).await?;
    r.end("store a document with no marks: sha256 + BLOB row", s, String::new());
    drop((again, bare, normalised));

    // The parts of normalise's per-observation settle(), each over every observation.
    let decoded = decode(&first.bytes, &name, format)?;
    let obs = &decoded.observations;
    let s = start();
    let upns: Vec<_> = obs
        .iter()
        .filter_map(|o| index.find(&provider.id, &o.identity).ok().map(|p| p.upn.clone()))
        .collect();
    r.end("  settle part: roster.find (match the pupil)", s, format!("{} found", upns.len()));
    let s = start();
    let school = obs.iter().filter(|o| cfg.calendar.is_school_day(o.date)).count();
    r.end("  settle part: calendar.is_school_day", s, format!("{school} school days"));
    let s = start();
    let mut by_pupil: std::collections::HashMap<&str, Vec<_>> = std::collections::HashMap::new();
    for p in placements.iter().filter(|p| p.provider_id == provider.id) {
        by_pupil.entry(p.upn.as_str()).or_default().push(p);
    }
    let covered = obs
        .iter()
        .zip(&upns)
        .filter(|(o, upn)| {
            by_pupil
                .get(upn.as_str())
                .is_some_and(|list| list.iter().any(|p| p.expects(o.date, o.session)))
        })
        .count();
    r.end(
        "  settle part: placement covers the session (by pupil)",
        s,
        format!("{covered} covered"),
    );
    let s = start();
    let resolved = obs
        .iter()
        .map(|o| black_box(format.marks.resolve(&o.mark, o.reason.as_deref())))
        .count();
    r.end("  settle part: marks.resolve (vocabulary)", s, format!("{resolved}"));
    let s = start();
    let cloned: Vec<_> = obs
        .iter()
        .map(|o| (o.locator.clone(), o.raw_row.clone(), o.comment.clone(), o.mark.clone()))
        .collect();
    r.end(
        "  settle part: cloning locator/raw_row/comment/mark",
        s,
        format!("{}", cloned.len()),
    );
    drop(cloned);

    let hwm = vm("VmHWM:").unwrap_or(0.0);
    println!("process peak RSS (VmHWM): {hwm:.1} MiB");
    println!(
        "sizes: Observation {} B, NewMark {} B, Cell {} B (+ heap per string)",
        std::mem::size_of::<apsync::pipeline::Observation>(),
        std::mem::size_of::<apsync::store::NewMark>(),
        std::mem::size_of::<apsync::pipeline::decode::Cell>(),
    );
    if let Some(out) = rest.first() {
        let report = json!({ "file": file, "rows": rows, "observations": observations,
            "backend": ctx.store.backend_name(), "peak_rss_mb": hwm, "stages": r.stages });
        std::fs::write(out, serde_json::to_string_pretty(&report)?)?;
    }
    Ok(())
}
