//! The rectification notice (整改通知书) for a venue's open hazards, built and rendered here so the
//! phone (shown to the owner to sign) and the relay (printed at the office) produce the same
//! document: the hazards with their cited basis and deadlines, the inspector and the lead
//! departments, and a QR code to the owner's self-report page.

use serde::Serialize;
use time::Date;

use crate::clock::format_date;
use crate::directory::Directory;
use crate::error::{Error, Result};
use crate::lifecycle::HazardStatus;
use crate::records::{HazardHeader, Venue};

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NoticeHazard {
    pub id: String,
    pub title_zh: String,
    pub finding_zh: String,
    pub basis: Vec<String>,
    /// general / major / major_candidate
    pub severity: String,
    pub deadline: Option<String>,
    pub departments: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Notice {
    /// 整改通知书 number: the venue's short id and the day, e.g. `LX-1a2b3c4d-20261130`.
    pub number: String,
    pub town_zh: String,
    pub venue_name: String,
    pub venue_address: String,
    pub village_zh: String,
    pub responsible_name: String,
    pub hazards: Vec<NoticeHazard>,
    pub inspector_name: String,
    /// Lead departments' names, in the order first cited.
    pub departments: Vec<String>,
    pub issued_on: String,
    /// The owner's self-report page (the QR code), when the phone or relay could sign one.
    pub owner_url: Option<String>,
}

/// The notice for `venue` listing its open hazards (soonest deadline first), issued by
/// `inspector` on `issued_on`. A venue without an open hazard has nothing to notify.
pub fn build(
    dir: &Directory,
    venue: &Venue,
    hazards: &[(HazardHeader, HazardStatus)],
    inspector: &str,
    issued_on: Date,
    owner_url: Option<String>,
) -> Result<Notice> {
    let dept_name = |code: &str| {
        dir.department(code)
            .map_or_else(|| code.to_owned(), |d| d.name_zh.clone())
    };
    let mut open: Vec<&(HazardHeader, HazardStatus)> = hazards
        .iter()
        .filter(|(h, s)| {
            h.venue_id == venue.id && s.state.is_open() && s.state.as_str() != "rectified_claimed"
        })
        .collect();
    if open.is_empty() {
        return Err(Error::invalid(format!(
            "venue {} has no open hazard awaiting rectification to notify",
            venue.name
        )));
    }
    open.sort_by(|a, b| {
        (a.1.deadline.is_none(), &a.1.deadline, a.0.found_ms).cmp(&(
            b.1.deadline.is_none(),
            &b.1.deadline,
            b.0.found_ms,
        ))
    });
    let mut departments: Vec<String> = Vec::new();
    let hazards = open
        .into_iter()
        .map(|(h, s)| {
            let depts: Vec<String> = h.lead_depts.iter().map(|d| dept_name(d)).collect();
            for d in &depts {
                if !departments.contains(d) {
                    departments.push(d.clone());
                }
            }
            NoticeHazard {
                id: h.id.clone(),
                title_zh: h.title_zh.clone(),
                finding_zh: h.finding_zh.clone(),
                basis: crate::citations::printed(h),
                severity: s.severity.clone(),
                deadline: s.deadline.clone(),
                departments: depts,
            }
        })
        .collect();
    let short: String = venue
        .id
        .chars()
        .filter(|c| c.is_ascii_hexdigit())
        .skip(8)
        .take(8)
        .collect();
    Ok(Notice {
        number: format!("LX-{short}-{}", format_date(issued_on).replace('-', "")),
        town_zh: dir.town_zh.clone(),
        venue_name: venue.name.clone(),
        venue_address: venue.address.clone(),
        village_zh: dir
            .villages
            .iter()
            .find(|v| v.code == venue.village)
            .map_or_else(|| venue.village.clone(), |v| v.name_zh.clone()),
        responsible_name: venue.responsible.name.clone(),
        hazards,
        inspector_name: dir
            .user(inspector)
            .map_or_else(|| inspector.to_owned(), |u| u.name.clone()),
        departments,
        issued_on: format_date(issued_on),
        owner_url,
    })
}

/// HTML-escapes text for the notice (element content and quoted attributes).
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The QR code of `url` as inline SVG.
pub fn qr_svg(url: &str) -> Result<String> {
    let code = qrcode::QrCode::with_error_correction_level(url.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| Error::invalid(format!("owner link does not fit a QR code: {e}")))?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(150, 150)
        .quiet_zone(true)
        .build())
}

/// The notice as one self-contained HTML page (A4, prints cleanly; no script, no external file).
pub fn to_html(n: &Notice) -> Result<String> {
    let mut rows = String::new();
    for (i, h) in n.hazards.iter().enumerate() {
        let sev = match h.severity.as_str() {
            "general" => "一般",
            "major" => "重大",
            _ => "重大(待认定)",
        };
        rows.push_str(&format!(
            "<tr><td>{}</td><td><strong>{}</strong><br>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            i + 1,
            esc(&h.title_zh),
            esc(&h.finding_zh),
            esc(&h.basis.join("；")),
            sev,
            esc(h.deadline.as_deref().unwrap_or("立即")),
            esc(&h.departments.join("、")),
        ));
    }
    let qr = match &n.owner_url {
        Some(u) => format!(
            "<div class=\"qr\">{}<p>扫码上传整改照片<br><small>{}</small></p></div>",
            qr_svg(u)?,
            esc(u.split("/o/").next().unwrap_or(u))
        ),
        None => "<div class=\"qr\"><p>自查上报二维码待手机同步后生成</p></div>".to_owned(),
    };
    Ok(format!(
        r#"<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>整改通知书 {number}</title>
<style>
 body {{ font-family: "Noto Serif CJK SC", "Songti SC", "SimSun", serif; margin: 24px; color: #000; font-size: 14px; }}
 h1 {{ text-align: center; letter-spacing: 6px; margin: 0 0 4px; }}
 .no {{ text-align: center; margin-bottom: 16px; }}
 table {{ border-collapse: collapse; width: 100%; }}
 th, td {{ border: 1px solid #000; padding: 4px 6px; vertical-align: top; text-align: left; }}
 .head {{ display: flex; justify-content: space-between; gap: 16px; }}
 .qr {{ text-align: center; min-width: 160px; }} .qr svg {{ width: 150px; height: 150px; }}
 .sign {{ margin-top: 24px; display: flex; justify-content: space-between; }}
 @page {{ size: A4; margin: 15mm; }}
</style></head>
<body>
<h1>整改通知书</h1>
<p class="no">{town} · 编号 {number}</p>
<div class="head"><div>
<p><strong>{venue}</strong>（{village}）<br>地址：{address}<br>主要负责人/实际控制人：{responsible}</p>
<p>经检查，你单位（场所）存在下列安全隐患。依据所列规定，请按期整改，整改完成后拍照上报或告知网格员，由牵头部门审核销号。逾期未整改的，将依法移交执法部门处理。</p>
</div>{qr}</div>
<table><thead><tr><th>序号</th><th>隐患</th><th>依据</th><th>等级</th><th>整改期限</th><th>牵头部门</th></tr></thead>
<tbody>
{rows}</tbody></table>
<div class="sign"><p>检查人（网格员）：{inspector}<br>牵头部门：{departments}<br>送达日期：{issued}</p>
<p>被检查单位负责人签收：＿＿＿＿＿＿＿＿<br><br>日期：＿＿＿＿年＿＿月＿＿日</p></div>
</body></html>
"#,
        number = esc(&n.number),
        town = esc(&n.town_zh),
        venue = esc(&n.venue_name),
        village = esc(&n.village_zh),
        address = esc(&n.venue_address),
        responsible = esc(&n.responsible_name),
        inspector = esc(&n.inspector_name),
        departments = esc(&n.departments.join("、")),
        issued = esc(&n.issued_on),
    ))
}
