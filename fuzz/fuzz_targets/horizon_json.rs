//! Horizon's JSON answers (accounts, transactions, payments pages, problems, fee stats): a
//! misbehaving or hostile Horizon is an error, never a panic. The first byte picks the parser.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mooring::horizon::{
    base_fee_from_fee_stats, payments_from_horizon_json, rejection_from_problem, AccountRecord,
    TransactionRecord,
};

fuzz_target!(|data: &[u8]| {
    let Some((selector, body)) = data.split_first() else {
        return;
    };
    match selector % 5 {
        0 => {
            if let Ok(account) = AccountRecord::from_horizon_json(body) {
                let _ = account.ed25519_signers().count();
            }
        }
        1 => drop(TransactionRecord::from_horizon_json(body)),
        2 => drop(payments_from_horizon_json(body)),
        3 => drop(rejection_from_problem(body)),
        _ => drop(base_fee_from_fee_stats(body)),
    }
});
