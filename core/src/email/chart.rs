//! The digest's chart: each pupil's weekly attendance this term against the school's target, one
//! small panel per pupil, drawn with plotters and the embedded DejaVu Sans (no system fonts).

use std::sync::Once;

use plotters::prelude::*;
use plotters::style::FontStyle;

use super::EmailError;

/// The font every label is drawn with, embedded so the server needs no fonts installed.
static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
const FAMILY: &str = "apsync-sans";

/// One pupil's line: a label and a percentage per week (`None` for a week without sessions).
#[derive(Debug, Clone, PartialEq)]
pub struct ChartSeries {
    /// `Jayden C. (Y10)`.
    pub label: String,
    /// Attendance per week, oldest first.
    pub weekly: Vec<Option<f64>>,
}

fn register_font() -> Result<(), EmailError> {
    static ONCE: Once = Once::new();
    let mut result = Ok(());
    ONCE.call_once(|| {
        result = plotters::style::register_font(FAMILY, FontStyle::Normal, FONT)
            .map_err(|_| EmailError::Build("the embedded chart font could not be loaded".into()));
    });
    result
}

/// `w3` at whole weeks; nothing between them.
fn week_label(w: &f64) -> String {
    if *w >= 1.0 && (w - w.round()).abs() < 1e-9 {
        format!("w{}", w.round())
    } else {
        String::new()
    }
}

fn draw_err<E: std::fmt::Debug>(e: E) -> EmailError {
    EmailError::Build(format!("cannot draw the chart: {e:?}"))
}

/// A PNG of small multiples: one panel per pupil, weeks along, 0-100% up, the target dashed.
pub fn weekly_chart(series: &[ChartSeries], target: f64) -> Result<Vec<u8>, EmailError> {
    register_font()?;
    let cols = 2usize;
    let rows = series.len().div_ceil(cols).max(1);
    let (width, height) = (640u32, 40 + 150 * u32::try_from(rows).unwrap_or(1));
    let mut rgb = vec![255u8; (width * height * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let title_style = TextStyle::from((FAMILY, 18).into_font()).color(&BLACK);
        root.draw_text(
            &format!("Weekly attendance this term (target {target:.0}%)"),
            &title_style,
            (10, 8),
        )
        .map_err(draw_err)?;
        let body = root.margin(36, 4, 4, 4);
        let panels = body.split_evenly((rows, cols));
        for (panel, s) in panels.iter().zip(series) {
            let weeks = s.weekly.len().max(1);
            // Half a week either side, so the first and last labels sit inside the panel
            // rather than on its edge, where the right-hand column's last one was cut off.
            let last = weeks as f64 + 0.5;
            let mut chart = ChartBuilder::on(panel)
                .caption(&s.label, (FAMILY, 14))
                .margin(6)
                .margin_right(12)
                .x_label_area_size(18)
                .y_label_area_size(34)
                .build_cartesian_2d(0.5f64..last, 0f64..100f64)
                .map_err(draw_err)?;
            chart
                .configure_mesh()
                .x_labels(weeks.min(8) + 1)
                .y_labels(3)
                .x_label_formatter(&week_label)
                .y_label_formatter(&|v| format!("{v:.0}%"))
                .label_style((FAMILY, 11))
                .light_line_style(WHITE)
                .draw()
                .map_err(draw_err)?;
            chart
                .draw_series(DashedLineSeries::new(
                    [(0.5, target), (last, target)],
                    6,
                    4,
                    RGBColor(200, 40, 40).stroke_width(1),
                ))
                .map_err(draw_err)?;
            let points: Vec<(f64, f64)> = s
                .weekly
                .iter()
                .enumerate()
                .filter_map(|(i, v)| v.map(|v| ((i + 1) as f64, v)))
                .collect();
            chart
                .draw_series(LineSeries::new(points.clone(), BLUE.stroke_width(2)))
                .map_err(draw_err)?;
            chart
                .draw_series(points.iter().map(|p| Circle::new(*p, 3, BLUE.filled())))
                .map_err(draw_err)?;
        }
        root.present().map_err(draw_err)?;
    }
    let mut png = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut png, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(draw_err)?;
        writer.write_image_data(&rgb).map_err(draw_err)?;
    }
    Ok(png)
}
