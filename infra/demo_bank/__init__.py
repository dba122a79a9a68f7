"""The demo bank of the reference integration's rail: a tiny HTTP server (stdlib http.server and
SQLite) that stands for the anchor's bank account.

* `POST /transfers {"reference", "amount", "currency"}` records money that arrived from a user
  (the off-chain leg of a SEP-24 deposit, sent with the reference the instructions page showed);
  `GET /transfers?reference=...` / `?since=<id>` lists them, oldest first, for the deposit poller.
* `POST /payouts {"reference", "amount", "account"}` records money the anchor sent out (the
  off-chain leg of a withdrawal or of a SEP-31 payment to its receiver), once per reference: 201,
  then 200 for the same payout again, 409 for the reference with other details; `GET /payouts`
  lists them.
* `POST /accounts/closed {"account"}` closes an account (201; 200 when it was closed already);
  `GET /accounts/closed` lists them (`{"accounts": [{"account", "closed_at"}]}`). A new payout to
  a closed account is refused with 422 `{"error": "account <x> is closed", "code":
  "account_closed"}` and nothing is recorded, so the reference can be paid later to another
  account. Accounts are compared without whitespace, in upper case.

Run it with `python -m infra.demo_bank serve` (the local stack does), mark a deposit's funds
received with `python -m infra.demo_bank receive --reference MOOR-... --amount 100`, and close an
account with `python -m infra.demo_bank close-account DE89370400440532013000`.
"""
