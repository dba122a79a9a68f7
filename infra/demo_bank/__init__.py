"""The demo bank of the reference integration's rail: a tiny HTTP server (stdlib http.server and
SQLite) that stands for the anchor's bank account.

* `POST /transfers {"reference", "amount", "currency"}` records money that arrived from a user
  (the off-chain leg of a SEP-24 deposit, sent with the reference the instructions page showed);
  `GET /transfers?reference=...` / `?since=<id>` lists them, oldest first, for the deposit poller.
* `POST /payouts {"reference", "amount", "account"}` records money the anchor sent out (the
  off-chain leg of a withdrawal), once per reference; `GET /payouts` lists them.

Run it with `python -m infra.demo_bank serve` (the local stack does), and mark a deposit's funds
received with `python -m infra.demo_bank receive --reference MOOR-... --amount 100`.
"""
