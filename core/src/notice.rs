//! The rectification notice (整改通知书) for a venue's open hazards, built and rendered here so the
//! phone (shown to the owner to sign) and the relay (printed at the office) produce the same
//! document: the hazards with their cited basis and deadlines, the inspector and the lead
//! departments, and a QR code to the owner's self-report page.

use serde::Serialize;
use time::Date;

use crate::clock::parse_date;
use crate::directory::Directory;
use crate::error::{Error, Result};
use crate::issuer::Issuer;
use crate::lifecycle::HazardStatus;
use crate::records::{HazardHeader, Venue};

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NoticeHazard {
    pub id: String,
    pub title_zh: String,
    /// What was found, in plain words.
    pub finding_zh: String,
    /// Printed citations (core's table).
    pub basis: Vec<String>,
    /// 一般隐患 / 重大隐患 / 重大隐患（待认定）
    pub severity_zh: String,
    /// 立即整改 or 限期整改, with the date: "立即整改" / "限期整改，2026年12月10日前".
    pub requirement_zh: String,
    /// The immediate order the checklist gives (e.g. stop using the basement), when it does.
    pub order_zh: Option<String>,
    /// Temporary control measures recorded on a major hazard.
    pub controls_zh: Vec<String>,
    pub departments: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Notice {
    /// 吕巷安改〔2026〕第0101号 (from the device's block of numbers).
    pub number: String,
    /// The issuing body (the administrator's setting; the town's name until one is set).
    pub issuer_zh: String,
    pub issuer_address: String,
    pub issuer_contact: String,
    pub town_zh: String,
    pub venue_name: String,
    pub venue_address: String,
    pub village_zh: String,
    pub grid_zh: String,
    pub responsible_name: String,
    pub responsible_phone: String,
    pub hazards: Vec<NoticeHazard>,
    pub inspector_name: String,
    /// When the venue was inspected (the first listed hazard's finding), as 2026年12月3日.
    pub inspected_on: String,
    /// Lead departments' names, in the order first cited.
    pub departments: Vec<String>,
    /// 2026年12月3日
    pub issued_on: String,
    /// When the lead department rechecks: the day after the latest deadline.
    pub recheck_on: String,
    /// The owner's self-report page (the QR code), when the phone or relay could sign one.
    pub owner_url: Option<String>,
    /// The address printed under the QR code: the public address set by the administrator.
    pub owner_caption: Option<String>,
}

/// A date as Chinese documents write it: 2026年12月3日.
pub fn date_zh(d: Date) -> String {
    format!("{}年{}月{}日", d.year(), u8::from(d.month()), d.day())
}

/// What a notice is built from: the venue and its hazards, who inspected, the issuing body and
/// the number this notice takes.
#[derive(Debug)]
pub struct NoticeInput<'a> {
    pub dir: &'a Directory,
    pub issuer: Option<&'a Issuer>,
    pub number: (i32, u32),
    pub venue: &'a Venue,
    pub hazards: &'a [(HazardHeader, HazardStatus)],
    pub inspector: &'a str,
    pub issued_on: Date,
    pub owner_url: Option<String>,
}

/// The hazards a notice lists for `venue`: open and awaiting rectification, soonest deadline
/// first. Empty: nothing to notify.
pub fn listed<'a>(
    venue: &Venue,
    hazards: &'a [(HazardHeader, HazardStatus)],
) -> Vec<&'a (HazardHeader, HazardStatus)> {
    let mut open: Vec<&(HazardHeader, HazardStatus)> = hazards
        .iter()
        .filter(|(h, s)| {
            h.venue_id == venue.id && s.state.is_open() && s.state.as_str() != "rectified_claimed"
        })
        .collect();
    open.sort_by(|a, b| {
        (a.1.deadline.is_none(), &a.1.deadline, a.0.found_ms).cmp(&(
            b.1.deadline.is_none(),
            &b.1.deadline,
            b.0.found_ms,
        ))
    });
    open
}

/// The notice for the venue listing its open hazards. A venue without an open hazard has
/// nothing to notify.
pub fn build(i: NoticeInput<'_>) -> Result<Notice> {
    let dir = i.dir;
    let venue = i.venue;
    let dept_name = |code: &str| {
        dir.department(code)
            .map_or_else(|| "未登记的部门".to_owned(), |d| d.name_zh.clone())
    };
    let open = listed(venue, i.hazards);
    if open.is_empty() {
        return Err(Error::invalid(format!(
            "{} 没有待整改的隐患，无需出具整改通知书 / venue {} has no open hazard awaiting rectification to notify",
            venue.name, venue.name
        )));
    }
    let mut departments: Vec<String> = Vec::new();
    let mut latest: Option<Date> = None;
    let hazards = open
        .iter()
        .map(|(h, s)| {
            let depts: Vec<String> = h.lead_depts.iter().map(|d| dept_name(d)).collect();
            for d in &depts {
                if !departments.contains(d) {
                    departments.push(d.clone());
                }
            }
            let due = s.deadline.as_deref().and_then(|d| parse_date(d).ok());
            if let Some(d) = due {
                latest = Some(latest.map_or(d, |l| l.max(d)));
            }
            let requirement_zh = match (s.fix_mode.as_str(), due) {
                ("on_spot", _) | (_, None) => "立即整改".to_owned(),
                (_, Some(d)) => format!("限期整改，{}前完成", date_zh(d)),
            };
            NoticeHazard {
                id: h.id.clone(),
                title_zh: h.title_zh.clone(),
                finding_zh: h.finding_zh.clone(),
                basis: crate::citations::printed(h),
                severity_zh: match s.severity.as_str() {
                    "general" => "一般隐患",
                    "major" => "重大隐患",
                    _ => "重大隐患（待认定）",
                }
                .to_owned(),
                requirement_zh,
                order_zh: h.order_zh.clone(),
                controls_zh: s.controls.clone(),
                departments: depts,
            }
        })
        .collect();
    let first_found = open
        .iter()
        .map(|(h, _)| h.found_ms)
        .min()
        .unwrap_or_default();
    let recheck = latest
        .unwrap_or(i.issued_on)
        .next_day()
        .unwrap_or(i.issued_on);
    let prefix = i
        .issuer
        .map_or_else(|| dir.town_zh.clone(), |x| x.notice_prefix.clone());
    let caption = i.owner_url.as_ref().map(|u| {
        i.issuer
            .map(|x| x.public_url.trim().trim_end_matches('/').to_owned())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| u.split("/o/").next().unwrap_or(u).to_owned())
    });
    Ok(Notice {
        number: crate::issuer::notice_number(&prefix, i.number.0, i.number.1),
        issuer_zh: i
            .issuer
            .map_or_else(|| format!("{}人民政府", dir.town_zh), |x| x.name_zh.clone()),
        issuer_address: i.issuer.map(|x| x.address.clone()).unwrap_or_default(),
        issuer_contact: i.issuer.map(|x| x.contact.clone()).unwrap_or_default(),
        town_zh: dir.town_zh.clone(),
        venue_name: venue.name.clone(),
        venue_address: venue.address.clone(),
        village_zh: dir
            .villages
            .iter()
            .find(|v| v.code == venue.village)
            .map_or_else(String::new, |v| v.name_zh.clone()),
        grid_zh: dir
            .grid(&venue.grid_id)
            .map_or_else(String::new, |g| g.name_zh.clone()),
        responsible_name: venue.responsible.name.clone(),
        responsible_phone: venue.responsible.phone.clone(),
        hazards,
        inspector_name: dir
            .user(i.inspector)
            .map_or_else(|| "—".to_owned(), |u| u.name.clone()),
        inspected_on: date_zh(crate::clock::ms_to_date(first_found)),
        departments,
        issued_on: date_zh(i.issued_on),
        recheck_on: date_zh(recheck),
        owner_url: i.owner_url,
        owner_caption: caption,
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

/// The notice as one self-contained HTML page, laid out as a document the town issues (GB/T
/// 9704's order: issuing body, number, title, body, signatures and seal, page numbers at the
/// foot), on A4; no script, no external file, no link styling.
pub fn to_html(n: &Notice) -> Result<String> {
    let blank = |s: &str| {
        if s.trim().is_empty() {
            "＿＿＿＿＿＿＿＿".to_owned()
        } else {
            esc(s)
        }
    };
    let mut rows = String::new();
    for (i, h) in n.hazards.iter().enumerate() {
        let mut extra = String::new();
        if let Some(o) = &h.order_zh {
            extra.push_str(&format!("<br><strong>立即要求：</strong>{}", esc(o)));
        }
        if !h.controls_zh.is_empty() {
            extra.push_str(&format!(
                "<br><strong>临时管控措施：</strong>{}",
                esc(&h.controls_zh.join("；"))
            ));
        }
        rows.push_str(&format!(
            "<tr><td class=\"n\">{}</td><td><strong>{}</strong><br>{}{}</td><td>{}</td><td class=\"sev\">{}</td><td class=\"req\">{}</td><td>{}</td></tr>\n",
            i + 1,
            esc(&h.title_zh),
            esc(&h.finding_zh),
            extra,
            esc(&h.basis.join("；")),
            esc(&h.severity_zh),
            esc(&h.requirement_zh),
            esc(&h.departments.join("、")),
        ));
    }
    let qr = match (&n.owner_url, &n.owner_caption) {
        (Some(u), caption) => format!(
            "<div class=\"qr\">{}<p>整改完成后，请用手机扫码上传整改照片<br><small>或在浏览器打开 {}</small></p></div>",
            qr_svg(u)?,
            esc(caption.as_deref().unwrap_or(""))
        ),
        (None, _) => {
            "<div class=\"qr\"><p>整改完成后请告知网格员，由其拍照上报</p></div>".to_owned()
        }
    };
    let contact = match (n.issuer_address.trim(), n.issuer_contact.trim()) {
        ("", "") => String::new(),
        (a, "") => format!("<p>地址：{}</p>", esc(a)),
        ("", c) => format!("<p>联系电话：{}</p>", esc(c)),
        (a, c) => format!("<p>地址：{}　联系电话：{}</p>", esc(a), esc(c)),
    };
    Ok(format!(
        r#"<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>隐患整改通知书 {number}</title>
<style>
 body {{ font-family: "Noto Serif CJK SC", "Songti SC", "SimSun", serif; margin: 24px; color: #000; font-size: 14px; line-height: 1.6; }}
 .issuer {{ text-align: center; font-size: 20px; letter-spacing: 2px; margin: 0; }}
 h1 {{ text-align: center; letter-spacing: 6px; margin: 4px 0; font-size: 24px; }}
 .no {{ text-align: center; margin: 0 0 12px; }}
 table {{ border-collapse: collapse; width: 100%; }}
 th, td {{ border: 1px solid #000; padding: 4px 6px; vertical-align: top; text-align: left; }}
 td.n, td.sev {{ text-align: center; white-space: nowrap; }}
 td.req {{ min-width: 7em; }}
 th {{ white-space: nowrap; }}
 tr {{ page-break-inside: avoid; }}
 .head {{ display: flex; justify-content: space-between; gap: 16px; }}
 .qr {{ text-align: center; min-width: 170px; }} .qr svg {{ width: 160px; height: 160px; }}
 .sign {{ margin-top: 24px; display: flex; justify-content: space-between; gap: 24px; page-break-inside: avoid; }}
 .seal {{ text-align: right; min-width: 260px; }}
 .seal .area {{ display: inline-block; width: 120px; height: 120px; border: 1px dashed #999; border-radius: 50%; text-align: center; line-height: 120px; color: #999; }}
 a {{ color: inherit; text-decoration: none; }}
 @page {{ size: A4; margin: 25mm 20mm 20mm 25mm;
   @bottom-center {{ content: "— " counter(page) " —"; font-size: 12px; }} }}
 @media print {{ body {{ margin: 0; }} }}
</style></head>
<body>
<p class="issuer">{issuer}</p>
<h1>隐患整改通知书</h1>
<p class="no">{number}</p>
<div class="head"><div>
<p><strong>{venue}</strong>：</p>
<p>地址：{address}（{village}{grid}）<br>主要负责人/实际控制人：{responsible}　联系电话：{phone}</p>
<p>{inspected}，{inspector}对你单位（场所）进行了安全检查，发现下列安全隐患。依据所列规定，请按下表要求整改：标明“立即整改”的，应当场或当日整改完毕；限期整改的，应在期限内整改完毕。整改期间应采取必要的防范措施，确保安全。</p>
</div>{qr}</div>
<table><thead><tr><th>序号</th><th>隐患</th><th>依据</th><th>等级</th><th>整改要求</th><th>牵头部门</th></tr></thead>
<tbody>
{rows}</tbody></table>
<p>整改完成后，请扫码上传整改照片或告知网格员。牵头部门将于{recheck}起复查；逾期未整改或整改不合格的，将依法移交执法部门处理，并纳入重点监管。</p>
{contact}
<div class="sign"><div><p>检查人（网格员）：{inspector}<br>牵头部门：{departments}<br>送达日期：{issued}</p>
<p>被检查单位签收人：＿＿＿＿＿＿＿＿　日期：＿＿＿＿年＿＿月＿＿日<br>拒绝签收的，由见证人签名：＿＿＿＿＿＿＿＿</p></div>
<div class="seal"><p>{issuer}<br>{issued}</p><span class="area">（盖章）</span></div></div>
</body></html>
"#,
        number = esc(&n.number),
        issuer = esc(&n.issuer_zh),
        venue = esc(&n.venue_name),
        village = esc(&n.village_zh),
        grid = if n.grid_zh.is_empty() {
            String::new()
        } else {
            format!("·{}", esc(&n.grid_zh))
        },
        address = blank(&n.venue_address),
        responsible = blank(&n.responsible_name),
        phone = blank(&n.responsible_phone),
        inspected = esc(&n.inspected_on),
        inspector = esc(&n.inspector_name),
        departments = esc(&n.departments.join("、")),
        issued = esc(&n.issued_on),
        recheck = esc(&n.recheck_on),
    ))
}
