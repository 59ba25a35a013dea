//! The notice as one self-contained HTML page, laid out as a document the town issues (GB/T
//! 9704's order: issuing body, number, title, body, signatures and seal, page numbers at the
//! foot), on A4; no script, no external file, no link styling. Chinese is the document; the
//! English rendering serves staff reading in English.

use super::Notice;
use crate::error::{Error, Result};
use crate::labels::Lang;

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

/// The notice in Chinese: the document the owner receives.
pub fn to_html(n: &Notice) -> Result<String> {
    to_html_in(n, Lang::Zh)
}

/// The notice in `lang`.
pub fn to_html_in(n: &Notice, lang: Lang) -> Result<String> {
    let en = lang == Lang::En;
    let t = |zh: &'static str, en_text: &'static str| if en { en_text } else { zh };
    let pick = |zh: &str, en_text: &str| {
        if en && !en_text.trim().is_empty() {
            esc(en_text)
        } else {
            esc(zh)
        }
    };
    let blank = |s: &str| {
        if s.trim().is_empty() {
            "＿＿＿＿＿＿＿＿".to_owned()
        } else {
            esc(s)
        }
    };
    let list = t("、", ", ");
    let mut rows = String::new();
    for (i, h) in n.hazards.iter().enumerate() {
        let mut extra = String::new();
        if let Some(o) = &h.order_zh {
            extra.push_str(&format!(
                "<br><strong>{}</strong>{}",
                t("立即要求：", "Immediate order: "),
                esc(o)
            ));
        }
        if !h.controls_zh.is_empty() {
            extra.push_str(&format!(
                "<br><strong>{}</strong>{}",
                t("临时管控措施：", "Interim measures: "),
                esc(&h.controls_zh.join("；"))
            ));
        }
        rows.push_str(&format!(
            "<tr><td class=\"n\">{}</td><td><strong>{}</strong><br>{}{}</td><td>{}</td><td class=\"sev\">{}</td><td class=\"req\">{}</td><td>{}</td></tr>\n",
            i + 1,
            pick(&h.title_zh, &h.title_en),
            pick(&h.finding_zh, &h.finding_en),
            extra,
            esc(&h.basis.join("；")),
            pick(&h.severity_zh, &h.severity_en),
            pick(&h.requirement_zh, &h.requirement_en),
            esc(&h.departments.join(list)),
        ));
    }
    let qr = match (&n.owner_url, &n.owner_caption) {
        (Some(u), caption) => format!(
            "<div class=\"qr\">{}<p>{}<br><small>{} {}</small></p></div>",
            qr_svg(u)?,
            t(
                "整改完成后，请用手机扫码上传整改照片",
                "Once fixed, scan with a phone to send a photo of the fix"
            ),
            t("或在浏览器打开", "or open"),
            esc(caption.as_deref().unwrap_or(""))
        ),
        (None, _) => format!(
            "<div class=\"qr\"><p>{}</p></div>",
            t(
                "整改完成后请告知网格员，由其拍照上报",
                "Once fixed, tell the grid worker, who photographs it"
            )
        ),
    };
    let (addr_l, tel_l) = (t("地址：", "Address: "), t("联系电话：", "Telephone: "));
    let contact = match (n.issuer_address.trim(), n.issuer_contact.trim()) {
        ("", "") => String::new(),
        (a, "") => format!("<p>{addr_l}{}</p>", esc(a)),
        ("", c) => format!("<p>{tel_l}{}</p>", esc(c)),
        (a, c) => format!("<p>{addr_l}{}　{tel_l}{}</p>", esc(a), esc(c)),
    };
    let issuer = pick(&n.issuer_zh, &n.issuer_en);
    let (inspected, issued, recheck) = if en {
        (&n.inspected_day, &n.issued_day, &n.recheck_day)
    } else {
        (&n.inspected_on, &n.issued_on, &n.recheck_on)
    };
    let grid = if n.grid_zh.is_empty() {
        String::new()
    } else {
        format!("·{}", esc(&n.grid_zh))
    };
    let body = if en {
        format!(
            "On {}, {} inspected your premises and found the hazards below. Fix them as the table requires, by the rules cited: “Fix at once” means on the spot or the same day; the others by their date. Keep the premises safe while the work is done.",
            esc(inspected),
            esc(&n.inspector_name)
        )
    } else {
        format!(
            "{}，{}对你单位（场所）进行了安全检查，发现下列安全隐患。依据所列规定，请按下表要求整改：标明“立即整改”的，应当场或当日整改完毕；限期整改的，应在期限内整改完毕。整改期间应采取必要的防范措施，确保安全。",
            esc(inspected),
            esc(&n.inspector_name)
        )
    };
    let next = if en {
        format!(
            "Once fixed, scan the code to send a photo or tell the grid worker. The lead department rechecks from {}; hazards not fixed in time, or not fixed properly, are referred for enforcement and placed under close supervision.",
            esc(recheck)
        )
    } else {
        format!(
            "整改完成后，请扫码上传整改照片或告知网格员。牵头部门将于{}起复查；逾期未整改或整改不合格的，将依法移交执法部门处理，并纳入重点监管。",
            esc(recheck)
        )
    };
    let head = format!(
        "<th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th>",
        t("序号", "No."),
        t("隐患", "Hazard"),
        t("依据", "Basis"),
        t("等级", "Severity"),
        t("整改要求", "Requirement"),
        t("牵头部门", "Lead department")
    );
    let sign = format!(
        "<p>{}{}<br>{}{}<br>{}{}</p><p>{}＿＿＿＿＿＿＿＿　{}<br>{}＿＿＿＿＿＿＿＿</p>",
        t("检查人（网格员）：", "Inspector (grid worker): "),
        esc(&n.inspector_name),
        t("牵头部门：", "Lead departments: "),
        esc(&n.departments.join(list)),
        t("送达日期：", "Served on: "),
        esc(issued),
        t("被检查单位签收人：", "Received by: "),
        t("日期：＿＿＿＿年＿＿月＿＿日", "Date: ＿＿＿＿＿＿"),
        t("拒绝签收的，由见证人签名：", "If refused, witness: ")
    );
    Ok(format!(
        r#"<!doctype html>
<html lang="{html_lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} {number}</title>
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
<h1>{title}</h1>
<p class="no">{number}</p>
<div class="head"><div>
<p><strong>{venue}</strong>{colon}</p>
<p>{addr_l}{address}（{village}{grid}）<br>{resp_l}{responsible}　{tel_l}{phone}</p>
<p>{body}</p>
</div>{qr}</div>
<table><thead><tr>{head}</tr></thead>
<tbody>
{rows}</tbody></table>
<p>{next}</p>
{contact}
<div class="sign"><div>{sign}</div>
<div class="seal"><p>{issuer}<br>{issued}</p><span class="area">{seal}</span></div></div>
</body></html>
"#,
        html_lang = t("zh-CN", "en"),
        title = t("隐患整改通知书", "Hazard Rectification Notice"),
        colon = t("：", ":"),
        resp_l = t("主要负责人/实际控制人：", "Responsible person: "),
        seal = t("（盖章）", "(seal)"),
        number = esc(&n.number),
        venue = esc(&n.venue_name),
        village = esc(&n.village_zh),
        address = blank(&n.venue_address),
        responsible = blank(&n.responsible_name),
        phone = blank(&n.responsible_phone),
        issued = esc(issued),
    ))
}
