// The official TypeScript wallet SDK (@stellar/typescript-wallet-sdk, pinned in package.json)
// against a running Mooring anchor, through the SDK's own API only: SEP-1 (stellar.toml), SEP-10
// (a login without and with a memo), SEP-12 (add, get, update, delete a customer), SEP-24 (a
// deposit and a withdrawal: interactive URL, transaction, transaction list), SEP-38 (info,
// prices, a price, a firm quote read back, a SEP-24 deposit bound to it) and SEP-6 (info; a
// deposit and a withdrawal with funding_method, held in pending_customer_info_update by KYC; the
// deprecated 403 non_interactive_customer_info_needed without it, which the SDK returns as its
// answer; the transaction list with kind; a deposit-exchange at a firm SEP-38 quote).
//
//   node tests/wallet-sdk/check.mjs localhost:8000 [--asset USDC] [--horizon http://127.0.0.1:8001]
//
// Prints one line per check; exits 1 with `FAIL ...` at the first failed check (2 on bad
// arguments). Run by tests/e2e/stack/test_wallet_sdk_deployed.py.
//
// The anchor must run with the testnet passphrase and web_auth_domain "localhost" (the SDK allows
// plain http only on testnet, and compares web_auth_domain with the host WITHOUT the port):
//   NETWORK_PASSPHRASE="Test SDF Network ; September 2015" WEB_AUTH_DOMAIN=localhost bash infra/local.sh
// The SDK's StellarConfiguration refuses an http Horizon URL, so its Horizon is the SDF testnet
// one, never reached: SEP-1, 10 (a fresh keypair), 12, 24, 38 and 6 need no Horizon on the
// wallet's side; the anchor reads its own (the local ledger). With --horizon <the local ledger>
// the SDK's Horizon client is swapped for one that allows http (the Config's public `server`
// field), and the SDK funds an account there (friendbot), adds a trustline to the asset and logs
// in with the now-existing account (the anchor then checks its signers on the ledger).

import { Horizon } from "@stellar/stellar-sdk";
import walletSdk from "@stellar/typescript-wallet-sdk";

const { Wallet, StellarConfiguration, ApplicationConfiguration, IssuedAssetId, Exceptions } = walletSdk;

const TESTNET_PASSPHRASE = "Test SDF Network ; September 2015";

class CheckFailed extends Error {}

let section = "setup";
let passed = 0;

function show(value) {
  return JSON.stringify(value ?? null);
}

function check(condition, what, actual) {
  if (!condition) {
    throw new CheckFailed(arguments.length > 2 ? `${what} (got ${show(actual)})` : what);
  }
  passed += 1;
  console.log(`ok    ${section}: ${what}`);
}

function equal(actual, expected, what) {
  check(actual === expected, `${what} is ${show(expected)}`, actual);
}

// Amounts as exact decimals: strings ("48.75") or JSON numbers (0.5) -> stroops (10^-7).
function stroops(value) {
  const text = String(value).trim();
  const match = /^(-?)(\d+)(?:\.(\d{1,7}))?$/.exec(text);
  if (!match) throw new CheckFailed(`${show(value)} is not a decimal amount`);
  const units = BigInt(match[2]) * 10_000_000n + BigInt((match[3] ?? "").padEnd(7, "0"));
  return match[1] ? -units : units;
}

function sameAmount(actual, expected, what) {
  check(actual != null && stroops(actual) === stroops(expected), `${what} is ${expected}`, actual);
}

// Two lists of strings, in order.
function sameList(actual, expected, what) {
  check(Array.isArray(actual) && show(actual) === show(expected), `${what} is ${show(expected)}`, actual);
}

function decimal(units) {
  const whole = units / 10_000_000n;
  const fraction = (units % 10_000_000n).toString().padStart(7, "0").replace(/0+$/, "");
  return fraction ? `${whole}.${fraction}` : `${whole}`;
}

// A call the SDK must refuse: returns the error (or fails the check when it succeeds).
async function refused(promise, what) {
  try {
    const value = await promise;
    throw new CheckFailed(`${what} (the call succeeded: ${show(value)})`);
  } catch (error) {
    if (error instanceof CheckFailed) throw error;
    return error;
  }
}

// Polls `read` until it succeeds (a ledger closes a moment after a submission).
async function eventually(read, seconds = 20) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    try {
      return await read();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

function httpStatus(error) {
  return error?.response?.status ?? error?.data?.status;
}

function describe(error) {
  if (error instanceof CheckFailed) return error.message;
  const status = httpStatus(error);
  const body = error?.response?.data ?? error?.data?.responseData;
  const detail = status ? ` [HTTP ${status} ${show(body)}]` : "";
  return `${error?.constructor?.name ?? "Error"}: ${error?.message ?? error}${detail}`;
}

function parseArgs(argv) {
  const args = { homeDomain: null, asset: "USDC", horizon: null };
  for (let i = 0; i < argv.length; i += 1) {
    if (argv[i] === "--asset") args.asset = argv[++i];
    else if (argv[i] === "--horizon") args.horizon = argv[++i]?.replace(/\/+$/, "");
    else if (argv[i] === "--help" || argv[i] === "-h") args.help = true;
    else if (!args.homeDomain) args.homeDomain = argv[i];
    else args.bad = argv[i];
  }
  return args;
}

// GET the interactive URL as the wallet's webview would: the one-time link answers with a
// redirect to the form and a session cookie; the form is an HTML page.
async function opensInteractivePage(url, base) {
  const first = await fetch(url, { redirect: "manual" });
  check([200, 302, 303].includes(first.status), "the interactive URL opens (200, or 302/303 to the page)", first.status);
  if (first.status === 200) {
    check((first.headers.get("content-type") ?? "").includes("text/html"), "it is an HTML page", first.headers.get("content-type"));
    return;
  }
  const location = new URL(first.headers.get("location") ?? "", url);
  check(location.href.startsWith(`${base}/sep24/`), `it redirects to the anchor's page ${location.pathname}`, location.href);
  const cookies = first.headers.getSetCookie().map((cookie) => cookie.split(";")[0]);
  check(cookies.length > 0, "with a session cookie");
  const page = await fetch(location, { headers: { cookie: cookies.join("; ") }, redirect: "manual" });
  equal(page.status, 200, "the page's HTTP status");
  check((page.headers.get("content-type") ?? "").includes("text/html"), "the page is HTML", page.headers.get("content-type"));
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.help || !args.homeDomain || args.bad) {
    console.error(
      "usage: node tests/wallet-sdk/check.mjs <home domain, e.g. localhost:8000> [--asset USDC] [--horizon http://127.0.0.1:8001]",
    );
    process.exit(args.help ? 0 : 2);
  }
  const homeDomain = args.homeDomain.replace(/^https?:\/\//, "").replace(/\/+$/, "");
  const base = `http://${homeDomain}`;
  const assetCode = args.asset;
  console.log(`@stellar/typescript-wallet-sdk against ${base} (asset ${assetCode})`);

  // --- the wallet: testnet configuration, plain http allowed for this anchor ------------------
  const stellarConfiguration = StellarConfiguration.TestNet();
  if (args.horizon) {
    stellarConfiguration.horizonUrl = args.horizon;
    stellarConfiguration.server = new Horizon.Server(args.horizon, { allowHttp: true });
  }
  const wallet = new Wallet({ stellarConfiguration, applicationConfiguration: new ApplicationConfiguration() });
  const anchor = wallet.anchor({ homeDomain, allowHttp: true });

  // --- SEP-1 ----------------------------------------------------------------------------------
  section = "SEP-1";
  const toml = await anchor.sep1();
  equal(toml.networkPassphrase, TESTNET_PASSPHRASE, "NETWORK_PASSPHRASE");
  check(/^G[A-Z2-7]{55}$/.test(toml.signingKey ?? ""), `SIGNING_KEY is an account (${toml.signingKey})`, toml.signingKey);
  equal(toml.webAuthEndpoint, `${base}/auth`, "WEB_AUTH_ENDPOINT");
  equal(toml.kycServer, `${base}/kyc`, "KYC_SERVER");
  equal(toml.transferServerSep24, `${base}/sep24`, "TRANSFER_SERVER_SEP0024");
  equal(toml.anchorQuoteServer, `${base}/sep38`, "ANCHOR_QUOTE_SERVER");
  equal(toml.transferServer, `${base}/sep6`, "TRANSFER_SERVER");
  check(Boolean(toml.documentation?.orgName), `ORG_NAME is set (${toml.documentation?.orgName})`, toml.documentation?.orgName);
  const currency = toml.currencies.find((c) => c.code === assetCode);
  check(Boolean(currency), `CURRENCIES lists ${assetCode}`, toml.currencies.map((c) => c.code));
  check(/^G[A-Z2-7]{55}$/.test(currency.issuer ?? ""), `${assetCode} has an issuer (${currency.issuer})`, currency.issuer);
  const info = await anchor.getInfo();
  check(info === toml, "getInfo() returns the same (cached) stellar.toml");

  // --- SEP-10 ---------------------------------------------------------------------------------
  section = "SEP-10";
  const account = wallet.stellar().account().createKeypair(); // fresh, not on any ledger
  const auth = await anchor.sep10();
  const token = await auth.authenticate({ accountKp: account });
  check(token.token.split(".").length === 3, "authenticate() without a memo returns a JWT");
  equal(token.account, account.publicKey, "its account");
  equal(token.memo, null, "its memo");
  equal(token.issuer, `${base}/auth`, "its issuer");
  check(Number(token.expiresAt) > Date.now() / 1000, "it has not expired", token.expiresAt);

  const memo = String(1_000_000 + Math.floor(Math.random() * 1_000_000_000));
  const memoToken = await auth.authenticate({ accountKp: account, memoId: memo });
  equal(memoToken.account, account.publicKey, `authenticate({memoId: "${memo}"}): its account`);
  equal(memoToken.memo, memo, "its memo");
  const badMemo = await refused(auth.authenticate({ accountKp: account, memoId: "-1" }), "a negative memo is refused");
  check(badMemo instanceof Exceptions.InvalidMemoError, "the SDK refuses a negative memo (InvalidMemoError)", describe(badMemo));

  // --- the SDK on the local ledger (--horizon) -----------------------------------------------
  if (args.horizon) {
    section = "Horizon";
    const funded = wallet.stellar().account().createKeypair();
    const friendbot = await fetch(`${args.horizon}/friendbot?addr=${funded.publicKey}`);
    equal(friendbot.status, 200, `the local ledger's friendbot funds ${funded.publicKey}: HTTP status`);
    const record = await eventually(() => wallet.stellar().account().getInfo({ accountAddress: funded.publicKey }));
    check(record.balances.some((b) => b.asset_type === "native" && Number(b.balance) > 0), "account().getInfo(): it holds XLM", record.balances);
    const builder = await wallet.stellar().transaction({ sourceAddress: funded, timebounds: 120 });
    const trustline = funded.sign(builder.addAssetSupport(new IssuedAssetId(assetCode, currency.issuer)).build());
    check(await wallet.stellar().submitTransaction(trustline), `submitTransaction(): a trustline to ${assetCode}`);
    const trusted = await eventually(async () => {
      const info = await wallet.stellar().account().getInfo({ accountAddress: funded.publicKey });
      if (!info.balances.some((b) => b.asset_code === assetCode && b.asset_issuer === currency.issuer)) throw new Error("no trustline yet");
      return info;
    });
    check(Boolean(trusted), `account().getInfo(): the account trusts ${assetCode}`);
    const fundedToken = await auth.authenticate({ accountKp: funded });
    equal(fundedToken.account, funded.publicKey, "SEP-10 login of the existing account (signers read from the ledger): its account");
  }

  // --- SEP-12 ---------------------------------------------------------------------------------
  section = "SEP-12";
  const kyc = await anchor.sep12(token);
  const unknown = await refused(kyc.getCustomer({}), "a new user has no customer id");
  check(unknown instanceof Exceptions.CustomerNotFoundError, "getCustomer() of a new user: no id yet (CustomerNotFoundError)", describe(unknown));

  const added = await kyc.add({ sep9Info: { first_name: "Ada", last_name: "Lovelace" } });
  check(typeof added.id === "string" && added.id.length > 0, `add() returns a customer id (${added.id})`, added.id);
  let customer = await kyc.getCustomer({ id: added.id });
  equal(customer.id, added.id, "getCustomer({id}): the id");
  equal(customer.status, "NEEDS_INFO", "the status");
  equal(customer.provided_fields?.first_name?.status, "ACCEPTED", "first_name's status");
  check("email_address" in (customer.fields ?? {}), "email_address is still asked for", Object.keys(customer.fields ?? {}));

  const updated = await kyc.update({ id: added.id, sep9Info: { email_address: "ada@example.com" } });
  equal(updated.id, added.id, "update({id}): the id");
  customer = await kyc.getCustomer({ id: added.id });
  check(!("email_address" in (customer.fields ?? {})), "email_address is no longer asked for", Object.keys(customer.fields ?? {}));
  check(Boolean(customer.provided_fields?.email_address), `email_address is provided (${customer.provided_fields?.email_address?.status})`, customer.provided_fields);
  const byDefault = await kyc.getCustomer({});
  equal(byDefault.id, added.id, "getCustomer() without an id: the token's customer");

  const memoKyc = await anchor.sep12(memoToken);
  const memoUnknown = await refused(memoKyc.getCustomer({ memo }), "the memo user has no customer yet");
  check(memoUnknown instanceof Exceptions.CustomerNotFoundError, "the same account with a memo is another customer (none yet)", describe(memoUnknown));
  const memoAdded = await memoKyc.add({ sep9Info: { first_name: "Grace", last_name: "Hopper" }, memo });
  check(memoAdded.id !== added.id, "add() with the memo token and memo creates a separate customer", memoAdded.id);
  equal((await memoKyc.getCustomer({ id: memoAdded.id, memo })).id, memoAdded.id, "getCustomer({id, memo}): the id");
  await memoKyc.delete(account.publicKey, memo);
  const memoGone = await refused(memoKyc.getCustomer({ id: memoAdded.id, memo }), "the deleted memo customer is gone");
  equal(httpStatus(memoGone), 404, "delete(account, memo), then getCustomer({id, memo}): HTTP status");
  equal((await kyc.getCustomer({ id: added.id })).id, added.id, "the customer without the memo remains: getCustomer({id}).id");

  await kyc.delete();
  const gone = await refused(kyc.getCustomer({ id: added.id }), "the deleted customer is gone");
  equal(httpStatus(gone), 404, "delete(), then getCustomer({id}): HTTP status");

  // --- SEP-24 ---------------------------------------------------------------------------------
  section = "SEP-24";
  const sep24 = anchor.sep24();
  const services = await sep24.info();
  check(services.deposit?.[assetCode]?.enabled === true, `info(): deposits of ${assetCode} are enabled`, services.deposit);
  check(services.withdraw?.[assetCode]?.enabled === true, `info(): withdrawals of ${assetCode} are enabled`, services.withdraw);

  const flows = [
    { name: "deposit", kind: "deposit", amount: "50", start: (extra) => sep24.deposit(extra), limits: services.deposit[assetCode] },
    { name: "withdraw", kind: "withdrawal", amount: "30", start: (extra) => sep24.withdraw(extra), limits: services.withdraw[assetCode] },
  ];
  for (const flow of flows) {
    const opened = await flow.start({ assetCode, authToken: token, extraFields: { amount: flow.amount } });
    equal(opened.type, "interactive_customer_info_needed", `${flow.name}(): the response type`);
    check(typeof opened.id === "string" && opened.id.length > 0, `${flow.name}(): a transaction id (${opened.id})`, opened.id);
    check((opened.url ?? "").startsWith(`${base}/sep24/interactive?`), `${flow.name}(): an interactive URL of the anchor`, opened.url);

    const transaction = await sep24.getTransactionBy({ authToken: token, id: opened.id });
    equal(transaction.id, opened.id, `getTransactionBy({id}) of the ${flow.name}: the id`);
    equal(transaction.kind, flow.kind, "its kind");
    equal(transaction.status, "incomplete", "its status");
    sameAmount(transaction.amount_in, flow.amount, "its amount_in");
    const fee =
      stroops(flow.limits.fee_fixed ?? 0) + (stroops(flow.amount) * stroops(flow.limits.fee_percent ?? 0)) / (100n * 10_000_000n);
    sameAmount(transaction.amount_fee, decimal(fee), "its amount_fee (fee_fixed + fee_percent of /info)");
    sameAmount(transaction.amount_out, decimal(stroops(flow.amount) - fee), "its amount_out");
    check(Boolean(transaction.started_at), `it has started_at (${transaction.started_at})`, transaction.started_at);
    check((transaction.more_info_url ?? "").startsWith(`${base}/sep24/more-info`), "its more_info_url is the anchor's", transaction.more_info_url);
    const moreInfo = await fetch(transaction.more_info_url);
    equal(moreInfo.status, 200, "the more_info_url's HTTP status");

    await opensInteractivePage(opened.url, base);
    flow.id = opened.id;
  }

  const all = await sep24.getTransactionsForAsset({ authToken: token, assetCode });
  const ids = all.map((t) => t.id);
  check(ids.includes(flows[0].id) && ids.includes(flows[1].id), "getTransactionsForAsset() lists the deposit and the withdrawal", ids);
  // started_at has whole seconds: transactions of the same second may come in either order.
  const times = all.map((t) => Date.parse(t.started_at));
  check(times.every((time, i) => i === 0 || times[i - 1] >= time), "newest first (started_at never increases)", all.map((t) => t.started_at));
  const deposits = await sep24.getTransactionsForAsset({ authToken: token, assetCode, kind: "deposit" });
  check(deposits.length > 0 && deposits.every((t) => t.kind === "deposit") && deposits.some((t) => t.id === flows[0].id), "kind: \"deposit\" lists only deposits", deposits.map((t) => [t.id, t.kind]));
  const withdrawals = await sep24.getTransactionsForAsset({ authToken: token, assetCode, kind: "withdrawal" });
  check(withdrawals.length > 0 && withdrawals.every((t) => t.kind === "withdrawal") && withdrawals.some((t) => t.id === flows[1].id), "kind: \"withdrawal\" lists only withdrawals", withdrawals.map((t) => [t.id, t.kind]));
  const limited = await sep24.getTransactionsForAsset({ authToken: token, assetCode, limit: 1 });
  check(limited.length === 1 && limited[0].id === all[0].id, "limit: 1 lists the first of them only", limited.map((t) => t.id));

  const memoDeposit = await sep24.deposit({ assetCode, authToken: memoToken });
  const memoList = await sep24.getTransactionsForAsset({ authToken: memoToken, assetCode });
  check(memoList.length === 1 && memoList[0].id === memoDeposit.id, "the memo user sees only its own deposit", memoList.map((t) => t.id));
  const notMine = await refused(sep24.getTransactionBy({ authToken: memoToken, id: flows[0].id }), "another user's transaction is not found");
  equal(httpStatus(notMine), 404, "getTransactionBy() of another user's transaction: HTTP status");

  // --- SEP-38 ---------------------------------------------------------------------------------
  section = "SEP-38";
  const stellarAsset = `stellar:${assetCode}:${currency.issuer}`;
  const quotes = anchor.sep38(token);
  const quoted = await quotes.info();
  const ids38 = quoted.assets.map((a) => a.asset);
  check(ids38.includes(stellarAsset) && ids38.includes("iso4217:USD"), `info() lists ${stellarAsset} and iso4217:USD`, ids38);
  const prices = await quotes.prices({ sellAsset: "iso4217:USD", sellAmount: "100" });
  const offer = prices.buy_assets.find((b) => b.asset === stellarAsset);
  check(Boolean(offer) && Number(offer.price) > 0 && Number.isInteger(offer.decimals), "prices() offers the Stellar asset for US dollars", prices);
  const priced = await quotes.price({ sellAsset: "iso4217:USD", buyAsset: stellarAsset, sellAmount: "100", context: "sep24" });
  sameAmount(priced.sell_amount, "100", "price(): sell_amount");
  // sell_amount = total_price × buy_amount (total_price cut to 7 places: a few stroops under).
  const [whole, fraction = ""] = priced.total_price.split(".");
  const totalPrice = stroops(fraction ? `${whole}.${fraction.slice(0, 7)}` : whole);
  const product = (totalPrice * stroops(priced.buy_amount)) / 10_000_000n;
  check(product <= stroops(priced.sell_amount) && stroops(priced.sell_amount) - product < 10_000n, "price(): total_price × buy_amount is sell_amount", [priced.total_price, priced.buy_amount]);
  const quote = await quotes.requestQuote({ sell_asset: "iso4217:USD", buy_asset: stellarAsset, sell_amount: "100", context: "sep24" });
  check(typeof quote.id === "string" && Date.parse(quote.expires_at) > Date.now(), `requestQuote(): a quote (${quote.id}) that has not expired`, quote);
  sameAmount(quote.buy_amount, priced.buy_amount, "requestQuote(): buy_amount, as price() said");
  const readBack = await quotes.getQuote(quote.id);
  equal(JSON.stringify(readBack), JSON.stringify(quote), "getQuote(id): the same quote");
  const strangers = await refused(anchor.sep38(memoToken).getQuote(quote.id), "another user's quote is not found");
  equal(httpStatus(strangers), 404, "getQuote() of another user's quote: HTTP status");
  const bound = await sep24.deposit({ assetCode, authToken: token, extraFields: { quote_id: quote.id, amount: "100" } });
  const boundTransaction = await sep24.getTransactionBy({ authToken: token, id: bound.id });
  equal(boundTransaction.quote_id, quote.id, "a SEP-24 deposit with quote_id: its quote_id");
  sameAmount(boundTransaction.amount_out, quote.buy_amount, "its amount_out is the quote's buy_amount");

  // --- SEP-6 ----------------------------------------------------------------------------------
  // A fresh user without a SEP-12 customer: the reference anchor needs first_name, last_name and
  // a verified email_address (a code the SDK cannot read), so its transactions stay in KYC.
  // The SDK (1.10.0) types SEP-6 as it was before v4.2; the anchor follows SEP-6 v4.3, and the
  // SDK checks none of these types at run time, so they do not fail here:
  // - its request types (Sep6DepositParams, Sep6WithdrawParams, Sep6ExchangeParams) know only
  //   `type`, the deprecated name of `funding_method` (Sep6WithdrawParams even requires `type`);
  //   the SDK passes any other key through to the query string, so funding_method is sent as is;
  // - Sep6DepositInfo/Sep6WithdrawInfo have the deprecated `fields`/`types`, no `funding_methods`;
  // - TransactionStatus has no `pending_customer_info_update`/`pending_transaction_info_update`;
  // - Sep6Transaction requires SEP-24's `more_info_url` (optional in SEP-6, not sent here) and
  //   `withdraw_memo_type` (null until the anchor names its account and memo), and types
  //   `instructions` as one {value, description}, where SEP-6 has a map of them by field name;
  // - GetTransactionsParams.kind is one string, SEP-6's `kind` a list (comma-separated below).
  section = "SEP-6";
  const sep6 = anchor.sep6();
  const transfer = await sep6.info();
  for (const direction of ["deposit", "withdraw", "deposit-exchange", "withdraw-exchange"]) {
    const entry = transfer[direction]?.[assetCode];
    check(entry?.enabled === true, `info(): ${direction} of ${assetCode} is enabled`, transfer[direction]);
    equal(entry.authentication_required, true, `info(): ${direction}'s authentication_required`);
    sameList(entry.funding_methods, ["bank_transfer"], `info(): ${direction}'s funding_methods`);
  }
  for (const direction of ["deposit", "withdraw"]) {
    const entry = transfer[direction][assetCode];
    const limits = ["fee_fixed", "fee_percent", "min_amount", "max_amount"];
    check(limits.every((key) => entry[key] === undefined || typeof entry[key] === "number"), `info(): ${direction}'s fees and limits are numbers`, entry);
  }
  check(typeof transfer.fee?.enabled === "boolean" && typeof transfer.fee?.description === "string", "info(): fee is {enabled, description}", transfer.fee);
  for (const endpoint of ["transaction", "transactions"]) {
    check(transfer[endpoint]?.enabled === true && transfer[endpoint]?.authentication_required === true, `info(): ${endpoint} is enabled, with authentication`, transfer[endpoint]);
  }
  check(["account_creation", "claimable_balances"].every((key) => typeof transfer.features?.[key] === "boolean"), "info(): features {account_creation, claimable_balances} are booleans", transfer.features);

  const sep6Account = wallet.stellar().account().createKeypair();
  const sep6Token = await auth.authenticate({ accountKp: sep6Account });
  const depositLimits = transfer.deposit[assetCode];
  const depositAmount = "50";
  const deposited = await sep6.deposit({
    authToken: sep6Token,
    params: { asset_code: assetCode, account: sep6Account.publicKey, funding_method: "bank_transfer", amount: depositAmount },
  });
  check(typeof deposited.id === "string" && deposited.id.length > 0, `deposit({funding_method: "bank_transfer"}): a transaction id (${deposited.id})`, deposited);
  check(typeof deposited.how === "string" && deposited.how.length > 0, "deposit(): how", deposited);
  check(deposited.type === undefined, "deposit(): not a KYC answer (no type)", deposited);
  const sep6Deposit = await sep6.getTransactionBy({ authToken: sep6Token, id: deposited.id });
  equal(sep6Deposit.id, deposited.id, "getTransactionBy({id}) of the deposit: the id");
  equal(sep6Deposit.kind, "deposit", "its kind");
  equal(sep6Deposit.status, "pending_customer_info_update", "its status (KYC not complete)");
  sameAmount(sep6Deposit.amount_in, depositAmount, "its amount_in");
  const depositFee =
    stroops(depositLimits.fee_fixed ?? 0) + (stroops(depositAmount) * stroops(depositLimits.fee_percent ?? 0)) / (100n * 10_000_000n);
  sameAmount(sep6Deposit.amount_fee, decimal(depositFee), "its amount_fee (fee_fixed + fee_percent of /info)");
  sameAmount(sep6Deposit.amount_out, decimal(stroops(depositAmount) - depositFee), "its amount_out");
  equal(sep6Deposit.to, sep6Account.publicKey, "its to (the account)");

  // Without funding_method (the asset has one, so the anchor takes the older wallets' way): the
  // deprecated 403 non_interactive_customer_info_needed. The SDK's flow() catches a 403 of that
  // type (or customer_info_status) and returns its body as the answer (Sep6MissingKYC).
  const asked = await sep6.deposit({
    authToken: sep6Token,
    params: { asset_code: assetCode, account: sep6Account.publicKey, amount: depositAmount },
  });
  equal(asked.type, "non_interactive_customer_info_needed", "deposit() without funding_method: the SDK returns the 403's type");
  sameList(asked.fields, ["email_address", "first_name", "last_name"], "its fields");
  check(asked.id === undefined, "no transaction id (nothing stored)", asked);
  const askedRaw = await fetch(`${base}/sep6/deposit?asset_code=${assetCode}&account=${sep6Account.publicKey}&amount=${depositAmount}`, {
    headers: { authorization: `Bearer ${sep6Token.token}` },
  });
  equal(askedRaw.status, 403, "the same request without the SDK: HTTP status");

  const withdrawAmount = "30";
  const withdrawn = await sep6.withdraw({
    authToken: sep6Token,
    params: { asset_code: assetCode, funding_method: "bank_transfer", amount: withdrawAmount },
  });
  check(typeof withdrawn.id === "string" && withdrawn.id.length > 0, `withdraw({funding_method: "bank_transfer"}): a transaction id (${withdrawn.id})`, withdrawn);
  check(withdrawn.type === undefined, "withdraw(): not a KYC answer (no type)", withdrawn);
  const sep6Withdrawal = await sep6.getTransactionBy({ authToken: sep6Token, id: withdrawn.id });
  equal(sep6Withdrawal.id, withdrawn.id, "getTransactionBy({id}) of the withdrawal: the id");
  equal(sep6Withdrawal.kind, "withdrawal", "its kind");
  equal(sep6Withdrawal.status, "pending_customer_info_update", "its status (KYC not complete)");
  sameAmount(sep6Withdrawal.amount_in, withdrawAmount, "its amount_in");
  const withdrawLimits = transfer.withdraw[assetCode];
  const withdrawFee =
    stroops(withdrawLimits.fee_fixed ?? 0) + (stroops(withdrawAmount) * stroops(withdrawLimits.fee_percent ?? 0)) / (100n * 10_000_000n);
  sameAmount(sep6Withdrawal.amount_fee, decimal(withdrawFee), "its amount_fee (fee_fixed + fee_percent of /info)");
  sameAmount(sep6Withdrawal.amount_out, decimal(stroops(withdrawAmount) - withdrawFee), "its amount_out");
  equal(sep6Withdrawal.from, sep6Account.publicKey, "its from (the token's account)");

  const sep6All = await sep6.getTransactionsForAsset({ authToken: sep6Token, assetCode });
  const sep6Ids = sep6All.map((t) => t.id);
  check(sep6Ids.length === 2 && sep6Ids.includes(deposited.id) && sep6Ids.includes(withdrawn.id), "getTransactionsForAsset() lists the deposit and the withdrawal (only)", sep6Ids);
  const sep6Deposits = await sep6.getTransactionsForAsset({ authToken: sep6Token, assetCode, kind: "deposit" });
  check(sep6Deposits.length === 1 && sep6Deposits[0].id === deposited.id, "kind: \"deposit\" lists only the deposit", sep6Deposits.map((t) => [t.id, t.kind]));
  const sep6Withdrawals = await sep6.getTransactionsForAsset({ authToken: sep6Token, assetCode, kind: "withdrawal" });
  check(sep6Withdrawals.length === 1 && sep6Withdrawals[0].id === withdrawn.id, "kind: \"withdrawal\" lists only the withdrawal", sep6Withdrawals.map((t) => [t.id, t.kind]));
  // The SDK types kind as one string; SEP-6's kind is a list, which the anchor also takes comma-separated.
  const both = await sep6.getTransactionsForAsset({ authToken: sep6Token, assetCode, kind: "deposit,withdrawal" });
  check(both.length === 2 && both.every((t) => sep6Ids.includes(t.id)), "kind: \"deposit,withdrawal\" lists both", both.map((t) => [t.id, t.kind]));
  const sep24Seen = await sep6.getTransactionsForAsset({ authToken: token, assetCode });
  check(!sep24Seen.some((t) => flows.some((flow) => flow.id === t.id)), "the SEP-24 user's SEP-24 transactions are not SEP-6's", sep24Seen.map((t) => t.id));

  // deposit-exchange at a firm quote made for SEP-6 (the SDK's depositExchange()).
  const sep6Quote = await anchor.sep38(sep6Token).requestQuote({
    sell_asset: "iso4217:USD",
    buy_asset: stellarAsset,
    sell_amount: "100.50",
    sell_delivery_method: "bank_transfer",
    context: "sep6",
  });
  check(typeof sep6Quote.id === "string" && Date.parse(sep6Quote.expires_at) > Date.now(), `requestQuote({context: "sep6"}): a quote (${sep6Quote.id})`, sep6Quote);
  const exchanged = await sep6.depositExchange({
    authToken: sep6Token,
    params: {
      destination_asset: assetCode,
      source_asset: "iso4217:USD",
      amount: sep6Quote.sell_amount,
      quote_id: sep6Quote.id,
      account: sep6Account.publicKey,
      funding_method: "bank_transfer",
    },
  });
  check(typeof exchanged.id === "string" && exchanged.id.length > 0, `depositExchange() at the quote: a transaction id (${exchanged.id})`, exchanged);
  const exchange = await sep6.getTransactionBy({ authToken: sep6Token, id: exchanged.id });
  equal(exchange.kind, "deposit-exchange", "getTransactionBy({id}) of the deposit-exchange: its kind");
  equal(exchange.quote_id, sep6Quote.id, "its quote_id");
  sameAmount(exchange.amount_in, sep6Quote.sell_amount, "its amount_in (the quote's sell_amount)");
  sameAmount(exchange.amount_out, sep6Quote.buy_amount, "its amount_out (the quote's buy_amount)");
  equal(exchange.amount_in_asset, "iso4217:USD", "its amount_in_asset");
  equal(exchange.amount_out_asset, stellarAsset, "its amount_out_asset");
  const exchanges = await sep6.getTransactionsForAsset({ authToken: sep6Token, assetCode, kind: "deposit-exchange" });
  check(exchanges.length === 1 && exchanges[0].id === exchanged.id, "kind: \"deposit-exchange\" lists only the deposit-exchange", exchanges.map((t) => [t.id, t.kind]));

  console.log(`\nall ${passed} checks passed`);
}

main().catch((error) => {
  console.log(`FAIL  ${section}: ${describe(error)}`);
  if (!(error instanceof CheckFailed) && error?.stack) console.error(error.stack);
  console.log(`(${passed} checks passed before)`);
  process.exit(1);
});
