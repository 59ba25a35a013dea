//! Horizontal bar charts as inline SVG (no script, no CDN: they print and read without either),
//! for the report and the overview.

/// One bar of a chart: its label, its coloured segments (x, width, colour) and the value shown
/// after it.
pub(crate) struct Bar {
    pub(crate) label: String,
    pub(crate) y: i64,
    pub(crate) segs: Vec<(i64, i64, &'static str)>,
    pub(crate) end: i64,
    pub(crate) value: String,
    /// The list the bar counts, where there is one.
    pub(crate) link: Option<String>,
}

pub(crate) struct Chart {
    pub(crate) height: i64,
    pub(crate) bars: Vec<Bar>,
}

/// A bar's label, its (value, colour) parts, and the text after it.
pub(crate) type BarInput = (String, Vec<(i64, &'static str)>, String);

const LABEL_W: i64 = 170;
const BAR_W: i64 = 380;
const ROW_H: i64 = 22;

impl Chart {
    /// Horizontal bars, scaled to the largest total; `parts` are (value, colour) per bar.
    pub(crate) fn new(rows: Vec<BarInput>, max: i64) -> Chart {
        let max = max.max(1);
        let bars = rows
            .into_iter()
            .enumerate()
            .map(|(i, (label, parts, value))| {
                let mut x = LABEL_W;
                let segs = parts
                    .into_iter()
                    .map(|(v, colour)| {
                        let w = v * BAR_W / max;
                        let seg = (x, w, colour);
                        x += w;
                        seg
                    })
                    .collect();
                Bar {
                    label,
                    y: i as i64 * ROW_H + 4,
                    segs,
                    end: x,
                    value,
                    link: None,
                }
            })
            .collect::<Vec<_>>();
        Chart {
            height: bars.len() as i64 * ROW_H + 8,
            bars,
        }
    }

    /// The same chart with each bar linking to the list it counts.
    pub(crate) fn linked(mut self, links: Vec<String>) -> Chart {
        for (b, l) in self.bars.iter_mut().zip(links) {
            b.link = Some(l);
        }
        self
    }
}
