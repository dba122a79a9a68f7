//! The HTML pages (askama templates in `shared/mooring/templates/sep24/`, escaped by default)
//! and what a request is answered with ([`Reply`]). The HTML contract the browser tests rely on
//! is in the templates: `#transaction-form`, `.field-error[data-for]`, `.form-error`,
//! `output#fee`, `output#amount-out`, `main.error-page`, `dl#transaction dd[data-field]`,
//! `#instructions dd[data-instruction]`.

use askama::Template;
use http::StatusCode;

use super::messages::{fill, messages, status_text, Messages};
use super::validate::FieldErrors;
use crate::http::body::Params;
use crate::i18n::Lang;
use crate::integrations::{FieldKind, Form, Instructions, PageContent};
use crate::model::Transaction;

/// What the service answers; [`super::routes`] turns it into HTTP with the security headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// An HTML page; its inline style and script carry `nonce` (the CSP allows only those).
    Page {
        status: StatusCode,
        html: String,
        nonce: String,
    },
    /// `303 See Other` to `location` (relative references resolve against the request's URL).
    Redirect {
        location: String,
        set_cookie: Option<String>,
    },
    /// A JSON answer (the live fee).
    Json {
        status: StatusCode,
        body: serde_json::Value,
    },
}

impl Reply {
    pub fn redirect(location: impl Into<String>) -> Self {
        Reply::Redirect {
            location: location.into(),
            set_cookie: None,
        }
    }
}

/// A fresh nonce for the page's inline style and script.
pub fn nonce() -> String {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    let mut bytes = [0u8; 16];
    if getrandom::getrandom(&mut bytes).is_err() {
        tracing::error!("the OS random number generator failed");
    }
    STANDARD.encode(bytes)
}

fn page(status: StatusCode, nonce: String, rendered: askama::Result<String>) -> Reply {
    match rendered {
        Ok(html) => Reply::Page {
            status,
            html,
            nonce,
        },
        Err(error) => {
            tracing::error!(%error, "rendering a page");
            Reply::Page {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                html: "<!DOCTYPE html><html lang=\"en\"><title>Error</title><main class=\"error-page\"><p>Internal error.</p></main></html>".into(),
                nonce,
            }
        }
    }
}

#[derive(Template)]
#[template(path = "sep24/error.html")]
struct ErrorPage<'a> {
    lang: &'static str,
    nonce: &'a str,
    m: &'static Messages,
    title: &'a str,
    message: &'a str,
}

/// `<main class="error-page">` with the message.
pub fn error(lang: Lang, status: StatusCode, message: &str) -> Reply {
    let m = messages(lang);
    let nonce = nonce();
    let rendered = ErrorPage {
        lang: lang.code(),
        nonce: &nonce,
        m,
        title: m.error_title,
        message,
    }
    .render();
    page(status, nonce, rendered)
}

struct ChoiceView {
    value: String,
    label: String,
    selected: bool,
}

struct FieldView {
    name: String,
    label: String,
    is_select: bool,
    is_amount: bool,
    input_type: &'static str,
    inputmode: Option<&'static str>,
    autocomplete: &'static str,
    required: bool,
    value: String,
    max_len: Option<usize>,
    help: Option<String>,
    error: Option<String>,
    choices: Vec<ChoiceView>,
}

#[derive(Template)]
#[template(path = "sep24/form.html")]
struct FormPage<'a> {
    lang: &'static str,
    nonce: &'a str,
    m: &'static Messages,
    title: String,
    guidance: Option<String>,
    form_error: Option<String>,
    csrf_token: &'a str,
    step: &'a str,
    fields: Vec<FieldView>,
    submit_label: &'static str,
    fee_url: String,
    asset_code: &'a str,
    fee: String,
    amount_out: String,
    has_amount: bool,
}

/// Everything a form page shows.
pub struct FormView<'a> {
    pub lang: Lang,
    pub transaction: &'a Transaction,
    pub form: &'a Form,
    pub content: PageContent,
    pub csrf_token: &'a str,
    /// Values to show (submitted ones when the form comes back with errors).
    pub submitted: Option<&'a Params>,
    pub errors: &'a FieldErrors,
    pub form_error: Option<String>,
    /// The fee and amount out of the amount shown, when known.
    pub fee: Option<(String, String)>,
    /// Help under the amount: the limits, from the catalogue.
    pub amount_help: Option<String>,
    /// The confirmation page of a flow with nothing left to ask.
    pub confirm: bool,
}

/// The page of a form.
pub fn form(status: StatusCode, view: FormView<'_>) -> Reply {
    let m = messages(view.lang);
    let t = view.transaction;
    let asset_code = t.asset.code();
    let default_title = if t.kind.is_deposit() {
        m.deposit_title
    } else {
        m.withdraw_title
    };
    let fields: Vec<FieldView> = view
        .form
        .fields
        .iter()
        .map(|field| {
            let value = match view.submitted {
                Some(params) => params.get(&field.name).unwrap_or_default().to_owned(),
                None => field.value.clone().unwrap_or_default(),
            };
            let is_amount = field.kind == FieldKind::Amount;
            let (input_type, inputmode, autocomplete) = match &field.kind {
                FieldKind::Amount => ("text", Some("decimal"), "off"),
                FieldKind::Text { .. } => ("text", None, autocomplete_for(&field.name)),
                FieldKind::Email => ("email", Some("email"), "email"),
                FieldKind::Phone => ("tel", Some("tel"), "tel"),
                FieldKind::Date => ("date", None, autocomplete_for(&field.name)),
                FieldKind::Choice(_) => ("text", None, "off"),
            };
            let choices = match &field.kind {
                FieldKind::Choice(choices) => choices
                    .iter()
                    .map(|c| ChoiceView {
                        selected: c.value == value,
                        value: c.value.clone(),
                        label: c.label.clone(),
                    })
                    .collect(),
                _ => Vec::new(),
            };
            let help = match (&field.help, is_amount) {
                (Some(help), _) => Some(help.clone()),
                (None, true) => view.amount_help.clone(),
                (None, false) => None,
            };
            FieldView {
                name: field.name.clone(),
                label: field.label.clone(),
                is_select: matches!(field.kind, FieldKind::Choice(_)),
                is_amount,
                input_type,
                inputmode,
                autocomplete,
                required: field.required,
                value,
                max_len: match field.kind {
                    FieldKind::Text { max_len } => Some(max_len),
                    _ => None,
                },
                help,
                error: view.errors.get(&field.name).cloned(),
                choices,
            }
        })
        .collect();
    let has_amount = fields.iter().any(|f| f.is_amount);
    let (fee, amount_out) = view.fee.unwrap_or_default();
    let guidance = view
        .content
        .guidance
        .or_else(|| view.confirm.then(|| m.confirm_guidance.to_owned()));
    let nonce = nonce();
    let rendered = FormPage {
        lang: view.lang.code(),
        nonce: &nonce,
        m,
        title: view
            .content
            .title
            .unwrap_or_else(|| fill(default_title, &[("asset", asset_code)])),
        guidance,
        form_error: view.form_error,
        csrf_token: view.csrf_token,
        step: &view.form.step,
        fields,
        submit_label: if view.confirm { m.confirm } else { m.submit },
        fee_url: format!(
            "fee?transaction_id={}",
            form_urlencoded::byte_serialize(t.id.as_bytes()).collect::<String>()
        ),
        asset_code,
        fee,
        amount_out,
        has_amount,
    }
    .render();
    page(status, nonce, rendered)
}

/// Browsers fill SEP-9 names they know.
fn autocomplete_for(name: &str) -> &'static str {
    match name {
        "first_name" => "given-name",
        "last_name" => "family-name",
        "email_address" => "email",
        "mobile_number" => "tel",
        "address" => "street-address",
        "city" => "address-level2",
        "postal_code" => "postal-code",
        "address_country_code" => "country",
        "birth_date" => "bday",
        _ => "off",
    }
}

struct Row {
    field: &'static str,
    label: &'static str,
    value: String,
}

struct InstructionRow {
    key: String,
    value: String,
    description: String,
}

#[derive(Template)]
#[template(path = "sep24/more_info.html")]
struct MoreInfoPage<'a> {
    lang: &'static str,
    nonce: &'a str,
    m: &'static Messages,
    title: String,
    guidance: Option<String>,
    status_text: &'static str,
    rows: Vec<Row>,
    instructions: Vec<InstructionRow>,
    post_message: Option<String>,
}

/// The more-info page: status and details of a transaction; with `post_message` (the SEP-24
/// transaction object as JSON), a script posts it to the window that opened the page.
pub fn more_info(
    lang: Lang,
    transaction: &Transaction,
    content: PageContent,
    post_message: Option<String>,
) -> Reply {
    let m = messages(lang);
    let t = transaction;
    let code = t.asset.code();
    let mut rows = vec![
        Row {
            field: "id",
            label: m.label_id,
            value: t.id.clone(),
        },
        Row {
            field: "kind",
            label: m.label_kind,
            value: if t.kind.is_deposit() {
                m.kind_deposit
            } else {
                m.kind_withdrawal
            }
            .to_owned(),
        },
        Row {
            field: "status",
            label: m.label_status,
            value: t.status.as_str().to_owned(),
        },
        Row {
            field: "asset",
            label: m.label_asset,
            value: code.to_owned(),
        },
    ];
    let mut push = |field, label, value: Option<String>| {
        if let Some(value) = value {
            rows.push(Row {
                field,
                label,
                value,
            });
        }
    };
    push(
        "amount_in",
        m.label_amount_in,
        t.amount_in.map(|a| a.to_string()),
    );
    push(
        "amount_fee",
        m.label_amount_fee,
        t.fee_details.as_ref().map(|f| f.total.to_string()),
    );
    push(
        "amount_out",
        m.label_amount_out,
        t.amount_out.map(|a| a.to_string()),
    );
    if !t.kind.is_deposit() {
        push(
            "withdraw_anchor_account",
            m.label_withdraw_anchor_account,
            t.receiving_account.map(|a| a.to_string()),
        );
        push(
            "withdraw_memo",
            m.label_withdraw_memo,
            t.receiving_memo.clone(),
        );
        push(
            "withdraw_memo_type",
            m.label_withdraw_memo_type,
            t.receiving_memo_type.clone(),
        );
        push("to", m.label_payout_to, t.to.clone());
    }
    push("message", m.label_message, t.status_message.clone());
    push(
        "stellar_transaction_id",
        m.label_stellar_transaction_id,
        t.stellar_transaction_id.clone(),
    );
    push(
        "external_transaction_id",
        m.label_external_transaction_id,
        t.external_transaction_id.clone(),
    );
    push(
        "started_at",
        m.label_started_at,
        Some(t.started_at.to_string()),
    );
    push(
        "updated_at",
        m.label_updated_at,
        Some(t.updated_at.to_string()),
    );

    let instructions: Vec<InstructionRow> = t
        .instructions
        .as_ref()
        .and_then(|value| serde_json::from_value::<Instructions>(value.clone()).ok())
        .unwrap_or_default()
        .into_iter()
        .map(|(key, instruction)| InstructionRow {
            key,
            value: instruction.value,
            description: instruction.description,
        })
        .collect();
    let guidance = content.guidance.or_else(|| {
        (!t.kind.is_deposit() && t.receiving_memo.is_some()).then(|| m.withdraw_guidance.to_owned())
    });
    let nonce = nonce();
    let rendered = MoreInfoPage {
        lang: lang.code(),
        nonce: &nonce,
        m,
        title: content
            .title
            .unwrap_or_else(|| m.more_info_title.to_owned()),
        guidance,
        status_text: status_text(lang, t.status),
        rows,
        instructions,
        post_message,
    }
    .render();
    page(StatusCode::OK, nonce, rendered)
}

/// JSON that can sit inside a `<script>` element: no `<`, `>`, `&` or line separators that
/// could end the element or the string.
pub fn script_json(value: &serde_json::Value) -> String {
    value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}
