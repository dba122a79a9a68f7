//! Every text of the interactive pages, in one catalogue: a [`Messages`] per language (a missing
//! text is a compile error) and the human name of each status. Texts with a `{placeholder}` are
//! filled by [`fill`]. Labels of form fields come from the integration, already translated.

use crate::i18n::Lang;
use crate::model::TransactionStatus;

/// The texts of the pages in one language.
#[derive(Debug)]
pub struct Messages {
    pub deposit_title: &'static str,
    pub withdraw_title: &'static str,
    pub confirm_guidance: &'static str,
    pub submit: &'static str,
    pub confirm: &'static str,
    pub optional: &'static str,
    pub choose: &'static str,
    pub fee: &'static str,
    pub you_receive: &'static str,
    pub amount_min_help: &'static str,
    pub amount_max_help: &'static str,
    pub amount_range_help: &'static str,

    pub more_info_title: &'static str,
    pub instructions_title: &'static str,
    pub withdraw_guidance: &'static str,
    pub close_window: &'static str,
    pub kind_deposit: &'static str,
    pub kind_withdrawal: &'static str,
    pub label_id: &'static str,
    pub label_kind: &'static str,
    pub label_status: &'static str,
    pub label_asset: &'static str,
    pub label_amount_in: &'static str,
    pub label_amount_fee: &'static str,
    pub label_amount_out: &'static str,
    pub label_started_at: &'static str,
    pub label_updated_at: &'static str,
    pub label_withdraw_anchor_account: &'static str,
    pub label_withdraw_memo: &'static str,
    pub label_withdraw_memo_type: &'static str,
    /// Where a withdrawal is paid out (the masked bank account).
    pub label_payout_to: &'static str,
    pub label_message: &'static str,
    pub label_stellar_transaction_id: &'static str,
    pub label_external_transaction_id: &'static str,

    pub error_title: &'static str,
    pub link_invalid: &'static str,
    pub link_expired: &'static str,
    pub link_used: &'static str,
    pub bad_callback: &'static str,
    pub session_required: &'static str,
    pub csrf_invalid: &'static str,
    pub not_found: &'static str,
    pub bad_request: &'static str,
    pub method_not_allowed: &'static str,
    pub unavailable: &'static str,
    pub internal: &'static str,
    pub stale_step: &'static str,
    pub concurrent_change: &'static str,

    pub field_required: &'static str,
    pub field_too_long: &'static str,
    pub field_invalid_text: &'static str,
    pub field_email: &'static str,
    pub field_phone: &'static str,
    pub field_date: &'static str,
    pub field_choice: &'static str,
    pub amount_invalid: &'static str,
    pub amount_decimals: &'static str,
    pub amount_positive: &'static str,
    pub amount_min: &'static str,
    pub amount_max: &'static str,
    pub amount_below_fee: &'static str,
}

const EN: Messages = Messages {
    deposit_title: "Deposit {asset}",
    withdraw_title: "Withdraw {asset}",
    confirm_guidance: "Everything is ready. Confirm to continue.",
    submit: "Continue",
    confirm: "Confirm",
    optional: "(optional)",
    choose: "Choose…",
    fee: "Fee",
    you_receive: "You receive",
    amount_min_help: "At least {min} {asset}.",
    amount_max_help: "At most {max} {asset}.",
    amount_range_help: "Between {min} and {max} {asset}.",

    more_info_title: "Transaction details",
    instructions_title: "How to send the funds",
    withdraw_guidance: "Send the amount from your wallet to the account below, with exactly this memo.",
    close_window: "You can close this window and return to your wallet.",
    kind_deposit: "Deposit",
    kind_withdrawal: "Withdrawal",
    label_id: "Transaction",
    label_kind: "Type",
    label_status: "Status",
    label_asset: "Asset",
    label_amount_in: "Amount",
    label_amount_fee: "Fee",
    label_amount_out: "You receive",
    label_started_at: "Started",
    label_updated_at: "Updated",
    label_withdraw_anchor_account: "Send to account",
    label_withdraw_memo: "Memo",
    label_withdraw_memo_type: "Memo type",
    label_payout_to: "Paid out to",
    label_message: "Message",
    label_stellar_transaction_id: "Stellar transaction",
    label_external_transaction_id: "Reference",

    error_title: "Something went wrong",
    link_invalid: "This link is not valid. Start again from your wallet.",
    link_expired: "This link has expired. Start again from your wallet.",
    link_used: "This link was already used. Start again from your wallet.",
    bad_callback: "The wallet sent an invalid callback. Start again from your wallet.",
    session_required: "Your session is missing, has expired or belongs to another transaction. Start again from your wallet.",
    csrf_invalid: "The form could not be verified. Reload the page and try again.",
    not_found: "There is no such transaction.",
    bad_request: "The request is not valid.",
    method_not_allowed: "This page cannot be used that way.",
    unavailable: "The service is temporarily unavailable. Try again in a moment.",
    internal: "Something went wrong on our side. Try again later.",
    stale_step: "That page was out of date; this is the current step.",
    concurrent_change: "The transaction changed at the same time. Check the form and send it again.",

    field_required: "This field is required.",
    field_too_long: "At most {max} characters.",
    field_invalid_text: "This text contains characters that are not allowed.",
    field_email: "Enter an email address such as name@example.com.",
    field_phone: "Enter the number with its country code, such as +14155550100.",
    field_date: "Enter a date as YYYY-MM-DD.",
    field_choice: "Choose one of the options.",
    amount_invalid: "Enter an amount such as 100 or 100.50.",
    amount_decimals: "Use at most {decimals} decimal places.",
    amount_positive: "The amount must be more than 0.",
    amount_min: "The amount must be at least {min}.",
    amount_max: "The amount must be at most {max}.",
    amount_below_fee: "The amount must be more than the fee ({fee}).",
};

const ES: Messages = Messages {
    deposit_title: "Depositar {asset}",
    withdraw_title: "Retirar {asset}",
    confirm_guidance: "Todo está listo. Confirma para continuar.",
    submit: "Continuar",
    confirm: "Confirmar",
    optional: "(opcional)",
    choose: "Elige…",
    fee: "Comisión",
    you_receive: "Recibes",
    amount_min_help: "Como mínimo {min} {asset}.",
    amount_max_help: "Como máximo {max} {asset}.",
    amount_range_help: "Entre {min} y {max} {asset}.",

    more_info_title: "Detalles de la transacción",
    instructions_title: "Cómo enviar los fondos",
    withdraw_guidance: "Envía el importe desde tu billetera a la cuenta indicada, con exactamente este memo.",
    close_window: "Puedes cerrar esta ventana y volver a tu billetera.",
    kind_deposit: "Depósito",
    kind_withdrawal: "Retiro",
    label_id: "Transacción",
    label_kind: "Tipo",
    label_status: "Estado",
    label_asset: "Activo",
    label_amount_in: "Importe",
    label_amount_fee: "Comisión",
    label_amount_out: "Recibes",
    label_started_at: "Iniciada",
    label_updated_at: "Actualizada",
    label_withdraw_anchor_account: "Enviar a la cuenta",
    label_withdraw_memo: "Memo",
    label_withdraw_memo_type: "Tipo de memo",
    label_payout_to: "Se paga a",
    label_message: "Mensaje",
    label_stellar_transaction_id: "Transacción de Stellar",
    label_external_transaction_id: "Referencia",

    error_title: "Algo salió mal",
    link_invalid: "Este enlace no es válido. Vuelve a empezar desde tu billetera.",
    link_expired: "Este enlace ha caducado. Vuelve a empezar desde tu billetera.",
    link_used: "Este enlace ya se usó. Vuelve a empezar desde tu billetera.",
    bad_callback: "La billetera envió un callback no válido. Vuelve a empezar desde tu billetera.",
    session_required: "Tu sesión no existe, ha caducado o es de otra transacción. Vuelve a empezar desde tu billetera.",
    csrf_invalid: "No se pudo verificar el formulario. Recarga la página e inténtalo de nuevo.",
    not_found: "No existe esa transacción.",
    bad_request: "La solicitud no es válida.",
    method_not_allowed: "Esta página no se puede usar así.",
    unavailable: "El servicio no está disponible en este momento. Inténtalo de nuevo en un momento.",
    internal: "Algo falló de nuestro lado. Inténtalo más tarde.",
    stale_step: "Esa página estaba desactualizada; este es el paso actual.",
    concurrent_change: "La transacción cambió al mismo tiempo. Revisa el formulario y envíalo de nuevo.",

    field_required: "Este campo es obligatorio.",
    field_too_long: "Como máximo {max} caracteres.",
    field_invalid_text: "Este texto contiene caracteres no permitidos.",
    field_email: "Escribe un correo como nombre@ejemplo.com.",
    field_phone: "Escribe el número con el código de país, como +34912345678.",
    field_date: "Escribe la fecha como AAAA-MM-DD.",
    field_choice: "Elige una de las opciones.",
    amount_invalid: "Escribe un importe como 100 o 100.50.",
    amount_decimals: "Usa como máximo {decimals} decimales.",
    amount_positive: "El importe debe ser mayor que 0.",
    amount_min: "El importe debe ser como mínimo {min}.",
    amount_max: "El importe debe ser como máximo {max}.",
    amount_below_fee: "El importe debe ser mayor que la comisión ({fee}).",
};

/// The catalogue of a language.
pub fn messages(lang: Lang) -> &'static Messages {
    match lang {
        Lang::En => &EN,
        Lang::Es => &ES,
    }
}

/// A text with its `{name}` placeholders replaced.
pub fn fill(text: &str, values: &[(&str, &str)]) -> String {
    values.iter().fold(text.to_owned(), |text, (name, value)| {
        text.replace(&format!("{{{name}}}"), value)
    })
}

/// What a status means for the user.
pub fn status_text(lang: Lang, status: TransactionStatus) -> &'static str {
    use TransactionStatus as S;
    match (lang, status) {
        (Lang::En, S::Incomplete) => "Waiting for you to complete the form.",
        (Lang::En, S::PendingUserTransferStart) => "Waiting for you to send the funds.",
        (Lang::En, S::PendingUserTransferComplete) => "Funds received; ready for pick-up.",
        (Lang::En, S::PendingExternal) => "Being processed by the bank or payment network.",
        (Lang::En, S::PendingAnchor) => "Being processed by us.",
        (Lang::En, S::OnHold) => "On hold for additional checks.",
        (Lang::En, S::PendingStellar) => "Being sent on the Stellar network.",
        (Lang::En, S::PendingTrust) => "Waiting for you to add a trustline for the asset.",
        (Lang::En, S::PendingUser) => "Waiting for an action on your side.",
        (Lang::En, S::PendingCustomerInfoUpdate) => "Waiting for more customer information.",
        (Lang::En, S::PendingTransactionInfoUpdate) => "Waiting for more transaction information.",
        (Lang::En, S::PendingSender) => "Waiting for the sender.",
        (Lang::En, S::PendingReceiver) => "Being paid out to the receiver.",
        (Lang::En, S::Completed) => "Completed.",
        (Lang::En, S::Refunded) => "Refunded.",
        (Lang::En, S::Expired) => "Expired: the funds did not arrive in time.",
        (Lang::En, S::NoMarket) => "No market is available for this transaction.",
        (Lang::En, S::TooSmall) => "The amount was too small.",
        (Lang::En, S::TooLarge) => "The amount was too large.",
        (Lang::En, S::Error) => "The transaction failed.",
        (Lang::Es, S::Incomplete) => "Esperando a que completes el formulario.",
        (Lang::Es, S::PendingUserTransferStart) => "Esperando a que envíes los fondos.",
        (Lang::Es, S::PendingUserTransferComplete) => "Fondos recibidos; listos para retirar.",
        (Lang::Es, S::PendingExternal) => "En proceso en el banco o la red de pago.",
        (Lang::Es, S::PendingAnchor) => "En proceso por nuestra parte.",
        (Lang::Es, S::OnHold) => "Retenida para comprobaciones adicionales.",
        (Lang::Es, S::PendingStellar) => "Enviándose en la red Stellar.",
        (Lang::Es, S::PendingTrust) => {
            "Esperando a que añadas una línea de confianza para el activo."
        }
        (Lang::Es, S::PendingUser) => "Esperando una acción por tu parte.",
        (Lang::Es, S::PendingCustomerInfoUpdate) => "Esperando más información del cliente.",
        (Lang::Es, S::PendingTransactionInfoUpdate) => {
            "Esperando más información de la transacción."
        }
        (Lang::Es, S::PendingSender) => "Esperando al remitente.",
        (Lang::Es, S::PendingReceiver) => "Pagándose al destinatario.",
        (Lang::Es, S::Completed) => "Completada.",
        (Lang::Es, S::Refunded) => "Reembolsada.",
        (Lang::Es, S::Expired) => "Caducada: los fondos no llegaron a tiempo.",
        (Lang::Es, S::NoMarket) => "No hay mercado disponible para esta transacción.",
        (Lang::Es, S::TooSmall) => "El importe era demasiado pequeño.",
        (Lang::Es, S::TooLarge) => "El importe era demasiado grande.",
        (Lang::Es, S::Error) => "La transacción falló.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_and_every_status_has_a_text_in_every_language() {
        assert_eq!(
            fill(messages(Lang::Es).amount_min, &[("min", "10")]),
            "El importe debe ser como mínimo 10."
        );
        for lang in Lang::ALL {
            for status in TransactionStatus::ALL {
                assert!(!status_text(lang, status).is_empty());
            }
        }
        assert_ne!(
            status_text(Lang::En, TransactionStatus::Completed),
            status_text(Lang::Es, TransactionStatus::Completed)
        );
    }
}
