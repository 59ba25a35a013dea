//! What the worker typed or tapped, checked against the question it answers, with a refusal in
//! words: the question by its label and what it takes ("「软管长度」须填写数字（米）"), never a field
//! key or an item code. The shells pass what was typed into a number or count box as it is
//! ([`Input::Typed`]): reading it is a rule, so it is the core's.

use crate::error::{Error, Result};
use crate::eval::{MAX_COUNT, MAX_MEASURE, MAX_TEXT};
use crate::field::walk::Input;
use crate::labels::{Labels, Lang};

/// A refusal in words for question `label`.
pub(super) fn refuse(l: &Labels<'_>, label: &str, zh: &str, en: &str) -> Error {
    Error::Words(match l.lang {
        Lang::Zh => format!("「{label}」{zh}"),
        Lang::En => format!("{label}: {en}"),
    })
}

/// Digits as typed on a Chinese keyboard (full-width), a decimal comma, spaces around.
fn normalise(text: &str) -> String {
    text.trim()
        .chars()
        .map(|c| match c {
            '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
            '．' | '，' | ',' => '.',
            '－' => '-',
            other => other,
        })
        .collect()
}

/// What a figure box takes, for its refusals: "数字（米）" / "数字", "a number (米)" / "a number".
struct Takes<'a> {
    zh: &'a str,
    zh_noun: &'a str,
    en: &'a str,
}

/// The figure given (`given`: a typed answer that is already a figure), or what was typed, read.
fn figure<T: std::str::FromStr>(
    l: &Labels<'_>,
    label: &str,
    input: &Input,
    given: Option<T>,
    takes: Takes<'_>,
) -> Result<T> {
    if let Some(n) = given {
        return Ok(n);
    }
    let Input::Typed(t) = input else {
        return Err(refuse(
            l,
            label,
            &format!("须填写{}", takes.zh),
            &format!("takes {}", takes.en),
        ));
    };
    normalise(t).parse::<T>().map_err(|_| {
        let t = t.trim();
        refuse(
            l,
            label,
            &format!("须填写{}，“{t}”不是{}", takes.zh, takes.zh_noun),
            &format!("takes {}; \"{t}\" is not one", takes.en),
        )
    })
}

/// A measurement, at least 0 and at most `max`.
pub(super) fn number(
    l: &Labels<'_>,
    label: &str,
    unit: &str,
    input: &Input,
    max: f64,
) -> Result<f64> {
    let given = match input {
        Input::Number(n) => Some(*n),
        _ => None,
    };
    let (zh, en) = (format!("数字（{unit}）"), format!("a number ({unit})"));
    let n = figure(
        l,
        label,
        input,
        given,
        Takes {
            zh: &zh,
            zh_noun: "数字",
            en: &en,
        },
    )?;
    if !n.is_finite() || n < 0.0 || n > max {
        return Err(refuse(
            l,
            label,
            &format!("须在 0 到 {max} {unit}之间，{n} 超出范围，请核对后重新填写"),
            &format!(
                "must be between 0 and {max} {unit}; {n} is out of range: check and enter it again"
            ),
        ));
    }
    Ok(n)
}

/// A whole number of things, at least 0 and at most `max`.
pub(super) fn count(l: &Labels<'_>, label: &str, input: &Input, max: i64) -> Result<i64> {
    let given = match input {
        Input::Count(n) => Some(*n),
        _ => None,
    };
    let takes = Takes {
        zh: "整数",
        zh_noun: "整数",
        en: "a whole number",
    };
    let n = figure(l, label, input, given, takes)?;
    if !(0..=max).contains(&n) {
        return Err(refuse(
            l,
            label,
            &format!("须在 0 到 {max} 之间，{n} 超出范围"),
            &format!("must be between 0 and {max}; {n} is out of range"),
        ));
    }
    Ok(n)
}

/// Free text, at most [`MAX_TEXT`] characters.
pub(super) fn text(l: &Labels<'_>, label: &str, input: &Input) -> Result<String> {
    match input {
        Input::Text(s) | Input::Typed(s) if s.chars().count() <= MAX_TEXT => {
            Ok(s.trim().to_owned())
        }
        Input::Text(_) | Input::Typed(_) => Err(refuse(
            l,
            label,
            &format!("最多 {MAX_TEXT} 字"),
            &format!("takes at most {MAX_TEXT} characters"),
        )),
        _ => Err(refuse(l, label, "须填写文字", "takes text")),
    }
}

/// One option's key, from `options` (key, label).
pub(super) fn choice(
    l: &Labels<'_>,
    label: &str,
    input: &Input,
    options: &[String],
) -> Result<String> {
    match input {
        Input::Choice(k) if options.contains(k) => Ok(k.clone()),
        _ => Err(refuse(
            l,
            label,
            "请从给出的选项中选择",
            "choose one of the options",
        )),
    }
}

/// Any of `options`' keys.
pub(super) fn multi(
    l: &Labels<'_>,
    label: &str,
    input: &Input,
    options: &[String],
) -> Result<Vec<String>> {
    match input {
        Input::Multi(ks) if ks.iter().all(|k| options.contains(k)) => Ok(ks.clone()),
        _ => Err(refuse(
            l,
            label,
            "请从给出的选项中勾选",
            "tick options from the list",
        )),
    }
}

/// 是 / 否 (`None`: 不适用, where `na` allows it).
pub(super) fn yes_no(l: &Labels<'_>, label: &str, input: &Input, na: bool) -> Result<Option<bool>> {
    match input {
        Input::Yes => Ok(Some(true)),
        Input::No => Ok(Some(false)),
        Input::NotApplicable if na => Ok(None),
        _ if na => Err(refuse(
            l,
            label,
            "请选择是、否或不适用",
            "answer yes, no or not applicable",
        )),
        _ => Err(refuse(l, label, "请选择是或否", "answer yes or no")),
    }
}

/// The limits the evaluator holds answers to, for the walk's checks.
pub(super) const MEASURE_MAX: f64 = MAX_MEASURE;
pub(super) const COUNT_MAX: i64 = MAX_COUNT;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_figures_are_read_or_refused_in_words() {
        let zh = Labels::new(None, Lang::Zh);
        let typed = |s: &str| Input::Typed(s.into());
        assert_eq!(
            number(&zh, "软管长度", "米", &typed(" ２．４ "), 100.0).unwrap(),
            2.4
        );
        assert_eq!(
            number(&zh, "软管长度", "米", &typed("2,4"), 100.0).unwrap(),
            2.4
        );
        assert_eq!(count(&zh, "气瓶数量", &typed("３"), 10).unwrap(), 3);
        let words = |e: Error| e.to_string();
        assert_eq!(
            words(number(&zh, "软管长度", "米", &typed("两米"), 100.0).unwrap_err()),
            "「软管长度」须填写数字（米），“两米”不是数字"
        );
        assert_eq!(
            words(number(&zh, "软管长度", "米", &Input::Number(-3.0), 100.0).unwrap_err()),
            "「软管长度」须在 0 到 100 米之间，-3 超出范围，请核对后重新填写"
        );
        assert_eq!(
            words(count(&zh, "气瓶数量", &typed("三个"), 10).unwrap_err()),
            "「气瓶数量」须填写整数，“三个”不是整数"
        );
        assert!(words(count(&zh, "气瓶数量", &typed("2.5"), 10).unwrap_err()).contains("整数"));
        let en = Labels::new(None, Lang::En);
        assert_eq!(
            words(yes_no(&en, "Alarm fitted", &Input::Count(1), false).unwrap_err()),
            "Alarm fitted: answer yes or no"
        );
    }
}
