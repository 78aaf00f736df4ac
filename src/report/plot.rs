//! The plots of reports and heat maps, drawn with plotters into SVG (for the HTML report and
//! files) or PNG.
//!
//! Text is rendered by plotters' pure-Rust `ab_glyph` backend from an embedded font (DejaVu Sans
//! 2.37 from Debian's `fonts-dejavu-core`, Bitstream Vera licence, see `DejaVuSans-LICENSE.txt`
//! beside this file), so no system font library is needed. The charts are simple enough to draw
//! from rectangles and text on a plotters drawing area.

use std::sync::OnceLock;

use anyhow::{anyhow, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

static FONT: &[u8] = include_bytes!("DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";
const WIDTH: u32 = 960;
const ROW: i32 = 22;
const TOP: i32 = 40;

/// One chart.
#[derive(Clone, Debug)]
pub enum Chart {
    /// Horizontal bars, one per label (a ranked list).
    Bars {
        title: String,
        unit: String,
        bars: Vec<(String, f64)>,
    },
    /// Two bars per label: before and after.
    BeforeAfter {
        title: String,
        unit: String,
        rows: Vec<(String, f64, f64)>,
    },
    /// How full each region is, with the plan's budget as a mark.
    Usage { title: String, rows: Vec<UsageBar> },
    /// One strip per region: its address range, with each section coloured by its heat.
    Strips { title: String, strips: Vec<Strip> },
}

#[derive(Clone, Debug)]
pub struct UsageBar {
    pub name: String,
    pub used: u64,
    pub length: u64,
    /// Where the plan's budget ends, in bytes from the start of the region.
    pub budget: Option<u64>,
}

/// A memory-map strip of one region.
#[derive(Clone, Debug)]
pub struct Strip {
    pub name: String,
    /// Address range drawn.
    pub start: u64,
    pub end: u64,
    pub spans: Vec<Span>,
}

/// A section (or function) in a strip.
#[derive(Clone, Debug)]
pub struct Span {
    pub start: u64,
    pub size: u64,
    /// Cycles (or samples) spent in it; coloured on a log scale against the hottest span.
    pub heat: f64,
}

fn font_ready() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    if *REGISTERED.get_or_init(|| register_font(FAMILY, FontStyle::Normal, FONT).is_ok()) {
        Ok(())
    } else {
        Err(anyhow!("the embedded plot font does not parse"))
    }
}

fn height(chart: &Chart) -> u32 {
    let rows = match chart {
        Chart::Bars { bars, .. } => bars.len() as i32,
        Chart::BeforeAfter { rows, .. } => 2 * rows.len() as i32 + 1,
        Chart::Usage { rows, .. } => rows.len() as i32,
        Chart::Strips { strips, .. } => 2 * strips.len() as i32 + 1,
    };
    (TOP + rows.max(1) * ROW + 30) as u32
}

/// The chart as an SVG document.
pub fn to_svg(chart: &Chart) -> Result<String> {
    font_ready()?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height(chart))).into_drawing_area();
        draw(&root, chart).map_err(|e| anyhow!("drawing the chart: {e}"))?;
        root.present()
            .map_err(|e| anyhow!("drawing the chart: {e}"))?;
    }
    Ok(svg)
}

/// The chart as a PNG image.
pub fn to_png(chart: &Chart) -> Result<Vec<u8>> {
    font_ready()?;
    let (w, h) = (WIDTH, height(chart));
    let mut rgb = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        draw(&root, chart).map_err(|e| anyhow!("drawing the chart: {e}"))?;
        root.present()
            .map_err(|e| anyhow!("drawing the chart: {e}"))?;
    }
    let mut png_bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut png_bytes, w, h);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder
            .write_header()
            .map_err(|e| anyhow!("encoding PNG: {e}"))?;
        writer
            .write_image_data(&rgb)
            .map_err(|e| anyhow!("encoding PNG: {e}"))?;
    }
    Ok(png_bytes)
}

/// Cold to hot: pale yellow, orange, dark red; no heat at all is grey.
pub fn heat_colour(t: f64) -> RGBColor {
    if t <= 0.0 {
        return RGBColor(215, 215, 215);
    }
    let stops = [
        (255.0, 237.0, 160.0),
        (253.0, 141.0, 60.0),
        (189.0, 0.0, 38.0),
    ];
    let t = t.clamp(0.0, 1.0) * 2.0;
    let (a, b, f) = if t < 1.0 {
        (stops[0], stops[1], t)
    } else {
        (stops[1], stops[2], t - 1.0)
    };
    let mix = |x: f64, y: f64| (x + (y - x) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

fn shorten(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let head: String = text.chars().take(width - 1).collect();
    format!("{head}…")
}

fn human(value: f64, unit: &str) -> String {
    let (v, suffix) = if value >= 1e9 {
        (value / 1e9, "G")
    } else if value >= 1e6 {
        (value / 1e6, "M")
    } else if value >= 1e4 {
        (value / 1e3, "k")
    } else {
        (value, "")
    };
    if suffix.is_empty() {
        format!("{v:.0} {unit}")
    } else {
        format!("{v:.2}{suffix} {unit}")
    }
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

const LABEL_W: i32 = 300;
const BAR_W: i32 = WIDTH as i32 - LABEL_W - 150;
const BLUE: RGBColor = RGBColor(70, 120, 180);
const ORANGE: RGBColor = RGBColor(240, 140, 40);

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, chart: &Chart) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let text = TextStyle::from((FAMILY, 13).into_font()).color(&BLACK);
    let title_style = TextStyle::from((FAMILY, 17).into_font()).color(&BLACK);
    let title = match chart {
        Chart::Bars { title, .. }
        | Chart::BeforeAfter { title, .. }
        | Chart::Usage { title, .. }
        | Chart::Strips { title, .. } => title,
    };
    root.draw(&Text::new(title.clone(), (10, 10), title_style))?;
    let bar = |root: &DrawingArea<DB, Shift>, y: i32, frac: f64, h: i32, colour: RGBColor| {
        let w = (frac.clamp(0.0, 1.0) * f64::from(BAR_W)).round() as i32;
        root.draw(&Rectangle::new(
            [(LABEL_W, y), (LABEL_W + w.max(1), y + h)],
            colour.filled(),
        ))
    };
    match chart {
        Chart::Bars { unit, bars, .. } => {
            let max = bars.iter().map(|b| b.1).fold(0.0, f64::max).max(1.0);
            for (i, (label, value)) in bars.iter().enumerate() {
                let y = TOP + i as i32 * ROW;
                root.draw(&Text::new(shorten(label, 42), (10, y + 3), text.clone()))?;
                bar(root, y + 2, value / max, ROW - 5, BLUE)?;
                let w = (value / max * f64::from(BAR_W)).round() as i32;
                root.draw(&Text::new(
                    human(*value, unit),
                    (LABEL_W + w + 6, y + 3),
                    text.clone(),
                ))?;
            }
        }
        Chart::BeforeAfter { unit, rows, .. } => {
            let max = rows
                .iter()
                .map(|r| r.1.max(r.2))
                .fold(0.0, f64::max)
                .max(1.0);
            root.draw(&Rectangle::new(
                [(LABEL_W, TOP), (LABEL_W + 14, TOP + 12)],
                BLUE.filled(),
            ))?;
            root.draw(&Text::new("before", (LABEL_W + 20, TOP), text.clone()))?;
            root.draw(&Rectangle::new(
                [(LABEL_W + 90, TOP), (LABEL_W + 104, TOP + 12)],
                ORANGE.filled(),
            ))?;
            root.draw(&Text::new("after", (LABEL_W + 110, TOP), text.clone()))?;
            for (i, (label, before, after)) in rows.iter().enumerate() {
                let y = TOP + ROW + 2 * i as i32 * ROW;
                root.draw(&Text::new(shorten(label, 42), (10, y + 12), text.clone()))?;
                bar(root, y + 2, before / max, ROW - 6, BLUE)?;
                bar(root, y + ROW - 2, after / max, ROW - 6, ORANGE)?;
                let w = (before.max(*after) / max * f64::from(BAR_W)).round() as i32;
                root.draw(&Text::new(
                    format!("{} -> {}", human(*before, unit), human(*after, unit)),
                    (LABEL_W + w + 6, y + 12),
                    text.clone(),
                ))?;
            }
        }
        Chart::Usage { rows, .. } => {
            for (i, u) in rows.iter().enumerate() {
                let y = TOP + i as i32 * ROW;
                root.draw(&Text::new(shorten(&u.name, 42), (10, y + 3), text.clone()))?;
                root.draw(&Rectangle::new(
                    [(LABEL_W, y + 2), (LABEL_W + BAR_W, y + ROW - 3)],
                    RGBColor(235, 235, 235).filled(),
                ))?;
                let frac = u.used as f64 / u.length.max(1) as f64;
                let colour = if frac > 1.0 { RED } else { BLUE };
                bar(root, y + 2, frac, ROW - 5, colour)?;
                if let Some(budget) = u.budget {
                    let x = LABEL_W
                        + ((budget as f64 / u.length.max(1) as f64).clamp(0.0, 1.0)
                            * f64::from(BAR_W)) as i32;
                    root.draw(&Rectangle::new(
                        [(x - 1, y), (x + 1, y + ROW - 1)],
                        BLACK.filled(),
                    ))?;
                }
                root.draw(&Text::new(
                    format!("{:.1}% of {}", 100.0 * frac, human(u.length as f64, "B")),
                    (LABEL_W + BAR_W + 6, y + 3),
                    text.clone(),
                ))?;
            }
        }
        Chart::Strips { strips, .. } => {
            let max = strips
                .iter()
                .flat_map(|s| s.spans.iter().map(|p| p.heat))
                .fold(0.0, f64::max);
            for (i, s) in strips.iter().enumerate() {
                let y = TOP + 2 * i as i32 * ROW;
                root.draw(&Text::new(s.name.clone(), (10, y + 8), text.clone()))?;
                let left = 120;
                let width = WIDTH as i32 - left - 20;
                root.draw(&Rectangle::new(
                    [(left, y), (left + width, y + ROW)],
                    RGBColor(245, 245, 245).filled(),
                ))?;
                let span = (s.end - s.start).max(1) as f64;
                let x_of = |a: u64| {
                    left + ((a.saturating_sub(s.start)) as f64 / span * f64::from(width)) as i32
                };
                for p in &s.spans {
                    let t = if max > 0.0 && p.heat > 0.0 {
                        (1.0 + p.heat).ln() / (1.0 + max).ln()
                    } else {
                        0.0
                    };
                    let (x0, x1) = (x_of(p.start), x_of(p.start + p.size));
                    root.draw(&Rectangle::new(
                        [(x0, y), (x1.max(x0 + 1), y + ROW)],
                        heat_colour(t).filled(),
                    ))?;
                }
                root.draw(&Text::new(
                    format!(
                        "{:#010x} .. {:#010x} ({})",
                        s.start,
                        s.end,
                        human((s.end - s.start) as f64, "B")
                    ),
                    (left, y + ROW + 2),
                    text.clone(),
                ))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn charts() -> Vec<Chart> {
        vec![
            Chart::Bars {
                title: "ranked".into(),
                unit: "cycles".into(),
                bars: vec![("vm_run".into(), 1e6), ("gc_mark".into(), 2e5)],
            },
            Chart::BeforeAfter {
                title: "before/after".into(),
                unit: "cycles".into(),
                rows: vec![("vm_run".into(), 1e6, 4e5)],
            },
            Chart::Usage {
                title: "usage".into(),
                rows: vec![UsageBar {
                    name: "ITCM".into(),
                    used: 100,
                    length: 1000,
                    budget: Some(500),
                }],
            },
            Chart::Strips {
                title: "heat".into(),
                strips: vec![Strip {
                    name: "FLASH".into(),
                    start: 0x6000_0000,
                    end: 0x6000_1000,
                    spans: vec![
                        Span {
                            start: 0x6000_0000,
                            size: 0x100,
                            heat: 0.0,
                        },
                        Span {
                            start: 0x6000_0100,
                            size: 0x200,
                            heat: 1e6,
                        },
                    ],
                }],
            },
        ]
    }

    #[test]
    fn every_chart_draws_as_svg_with_its_text() {
        for chart in charts() {
            let svg = to_svg(&chart).unwrap();
            assert!(svg.starts_with("<svg"), "{svg}");
            assert!(svg.contains("<rect"));
            assert!(svg.contains("<text"));
        }
        let svg = to_svg(&charts()[0]).unwrap();
        assert!(
            svg.contains("vm_run") && svg.contains("1.00M cycles"),
            "{svg}"
        );
    }

    #[test]
    fn png_decodes_and_is_not_blank() {
        for chart in charts() {
            let bytes = to_png(&chart).unwrap();
            let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
            let mut reader = decoder.read_info().unwrap();
            let mut buf = vec![0; reader.output_buffer_size()];
            let info = reader.next_frame(&mut buf).unwrap();
            assert_eq!(info.width, WIDTH);
            let pixels = &buf[..info.buffer_size()];
            let first = &pixels[..3];
            assert!(pixels.chunks(3).any(|p| p != first), "blank image");
            // Text was rasterised: some dark pixels exist.
            assert!(pixels
                .chunks(3)
                .any(|p| p[0] < 60 && p[1] < 60 && p[2] < 60));
        }
    }

    #[test]
    fn heat_colours_run_from_grey_through_yellow_to_red() {
        assert_eq!(heat_colour(0.0), RGBColor(215, 215, 215));
        assert_eq!(heat_colour(1.0), RGBColor(189, 0, 38));
        let mid = heat_colour(0.5);
        assert_eq!(mid, RGBColor(253, 141, 60));
    }
}
