// Drives the official PortOne JS server SDK (@portone/server-sdk) against hanpay's FakePortOne,
// as an app developer would point it at `hanpay sandbox`. Started by
// `cargo run -p hanpay-portone-fake --example portone_compat -- node compat/portone-js/run.mjs`,
// which gives the fake's address and secrets in the environment (see that example).
//
// Every answer goes through the SDK's typed call, then is checked against the SDK's own type
// for it (typecheck.mjs); every webhook the fake sent goes through `Webhook.verify` and is
// checked against the SDK's `Webhook` type. Any mismatch, unexpected error or verification
// failure fails the run. Ends with one line `N passed, M failed`.
import { PortOneClient, RestError, Webhook } from "@portone/server-sdk";
import { mismatches, sdkVersion } from "./typecheck.mjs";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run me through the portone_compat example`);
  return v;
};
const baseUrl = env("PORTONE_API_BASE_URL");
const secret = env("PORTONE_API_SECRET");
const channelKey = env("PORTONE_CHANNEL_KEY");
const webhookSecret = env("PORTONE_WEBHOOK_SECRET");
const billingKey = env("PORTONE_BILLING_KEY");
const webhooksUrl = env("COMPAT_WEBHOOKS_URL");

const client = PortOneClient({ secret, baseUrl });
const payment = client.payment;

let passed = 0;
let failed = 0;
const accepted = [];

function report(name, problems) {
  if (problems.length === 0) {
    passed++;
    accepted.push(name);
    console.log(`ok    ${name}`);
  } else {
    failed++;
    console.log(`FAIL  ${name}`);
    for (const p of problems) console.log(`        ${p}`);
  }
}

/** Runs an SDK call that must succeed with a value of SDK type `typeName`. */
async function expectOk(name, typeName, call) {
  try {
    const value = await call();
    report(name, mismatches(value, typeName));
    return value;
  } catch (e) {
    report(name, [`the SDK threw ${e?.name}: ${e?.message} ${JSON.stringify(e?.data ?? "")}`]);
    return undefined;
  }
}

function errorTypeName(type) {
  return (
    type
      .toLowerCase()
      .split("_")
      .map((w) => w[0].toUpperCase() + w.slice(1))
      .join("") + "Error"
  );
}

/** Runs an SDK call that must throw `errorClass` whose `data` is the documented error `type`. */
async function expectError(name, errorClass, type, call) {
  try {
    const value = await call();
    report(name, [`expected ${errorClass} ${type}, got ${JSON.stringify(value)}`]);
  } catch (e) {
    const problems = [];
    if (!(e instanceof RestError)) problems.push(`not a RestError: ${e}`);
    if (e?.name !== errorClass) problems.push(`${e?.name} where ${errorClass} was expected`);
    if (e?.data?.type !== type) problems.push(`data.type ${e?.data?.type} where ${type} was expected`);
    else problems.push(...mismatches(e.data, errorTypeName(type)));
    report(name, problems);
  }
}

/** The fake's control API: plays the customer and PortOne. */
async function control(path, body) {
  const res = await fetch(new URL(path, baseUrl), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body ?? {}),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`control ${path}: ${res.status} ${text}`);
  return JSON.parse(text);
}

const run = `js-${Date.now().toString(36)}`;
const id = (name) => `${run}-${name}`;
const getPayment = (name, paymentId, status) =>
  expectOk(`getPayment ${name}`, "Payment", async () => {
    const p = await payment.getPayment({ paymentId });
    if (p.status !== status) throw new Error(`status ${p.status}, expected ${status}`);
    return p;
  });

console.log(`@portone/server-sdk ${sdkVersion} against ${baseUrl}`);

// Payments in every status the fake produces.
await control(`/__fake/payments/${id("ready")}/authenticate`, { amount: 1000 });
await getPayment("READY (manual confirm pending)", id("ready"), "READY");
await control(`/__fake/payments/${id("card")}/pay`, { amount: 10000, orderName: "셔츠" });
await getPayment("PAID (card)", id("card"), "PAID");
await control(`/__fake/payments/${id("easy")}/pay`, {
  amount: 5000,
  method: "easyPay",
  provider: "KAKAOPAY",
});
await getPayment("PAID (easy pay)", id("easy"), "PAID");
await control(`/__fake/payments/${id("va")}/virtual-account`, { amount: 15000, bank: "SHINHAN" });
await getPayment("VIRTUAL_ACCOUNT_ISSUED", id("va"), "VIRTUAL_ACCOUNT_ISSUED");
await control(`/__fake/payments/${id("failed")}/authenticate`, { amount: 1000 });
await control(`/__fake/payments/${id("failed")}/fail`, {});
await getPayment("FAILED", id("failed"), "FAILED");

// Manual confirm.
const { paymentToken } = await control(`/__fake/payments/${id("confirm")}/authenticate`, {
  amount: 7000,
});
await expectOk("confirmPayment", "ConfirmedPaymentSummary", () =>
  payment.confirmPayment({ paymentId: id("confirm"), paymentToken, totalAmount: 7000, currency: "KRW" }),
);
await getPayment("PAID (after confirm)", id("confirm"), "PAID");

// Cancels: partial, full, with a refund account, asynchronous.
await expectOk("cancelPayment partial", "CancelPaymentResponse", () =>
  payment.cancelPayment({
    paymentId: id("card"),
    amount: 3000,
    reason: "부분 환불",
    currentCancellableAmount: 10000,
  }),
);
await getPayment("PARTIAL_CANCELLED", id("card"), "PARTIAL_CANCELLED");
await expectOk("cancelPayment full (the rest)", "CancelPaymentResponse", () =>
  payment.cancelPayment({ paymentId: id("card"), reason: "전액 환불", requester: "CUSTOMER" }),
);
await getPayment("CANCELLED", id("card"), "CANCELLED");
await control(`/__fake/payments/${id("va")}/deposit`);
await getPayment("PAID (virtual account deposited)", id("va"), "PAID");
await expectOk("cancelPayment with refundAccount", "CancelPaymentResponse", () =>
  payment.cancelPayment({
    paymentId: id("va"),
    reason: "입금 환불",
    refundAccount: { bank: "KOOKMIN", number: "12345678901234", holderName: "홍길동" },
  }),
);
await getPayment("CANCELLED (virtual account refunded)", id("va"), "CANCELLED");
await control("/__fake/async-cancel", { enabled: true });
await expectOk("cancelPayment asynchronous (REQUESTED)", "CancelPaymentResponse", async () => {
  const r = await payment.cancelPayment({ paymentId: id("easy"), reason: "비동기 취소" });
  if (r.cancellation.status !== "REQUESTED") throw new Error(`cancellation ${r.cancellation.status}`);
  return r;
});
await getPayment("PAID with a REQUESTED cancellation", id("easy"), "PAID");
await control(`/__fake/payments/${id("easy")}/complete-cancellations`);
await control("/__fake/async-cancel", { enabled: false });
await getPayment("CANCELLED (asynchronous cancel completed)", id("easy"), "CANCELLED");

// Pre-registration, billing key, instant (virtual account).
await expectOk("preRegisterPayment", "PreRegisterPaymentResponse", () =>
  payment.preRegisterPayment({ paymentId: id("pre"), totalAmount: 4000, currency: "KRW" }),
);
await control(`/__fake/payments/${id("pre")}/pay`, { amount: 4000 });
await getPayment("PAID (pre-registered)", id("pre"), "PAID");
await expectOk("payWithBillingKey", "PayWithBillingKeyResponse", () =>
  payment.payWithBillingKey({
    paymentId: id("billing"),
    billingKey,
    orderName: "정기 결제",
    amount: { total: 9900 },
    currency: "KRW",
  }),
);
await getPayment("PAID (billing key)", id("billing"), "PAID");
await expectOk("payInstantly (virtual account)", "PayInstantlyResponse", () =>
  payment.payInstantly({
    paymentId: id("instant"),
    channelKey,
    orderName: "가상계좌 주문",
    amount: { total: 20000 },
    currency: "KRW",
    method: {
      virtualAccount: {
        bank: "SHINHAN",
        expiry: { validHours: 72 },
        option: { type: "NORMAL" },
        cashReceipt: { type: "PERSONAL", customerIdentityNumber: "01012345678" },
      },
    },
  }),
);
await getPayment("VIRTUAL_ACCOUNT_ISSUED (instant)", id("instant"), "VIRTUAL_ACCOUNT_ISSUED");

// Documented errors, as the fake answers them on its own.
await expectError("getPayment unknown id", "GetPaymentError", "PAYMENT_NOT_FOUND", () =>
  payment.getPayment({ paymentId: id("nope") }),
);
await expectError("wrong API secret", "GetPaymentError", "UNAUTHORIZED", () =>
  PortOneClient({ secret: "wrong-secret", baseUrl }).payment.getPayment({ paymentId: id("pre") }),
);
await expectError("cancel a cancelled payment", "CancelPaymentError", "PAYMENT_ALREADY_CANCELLED", () =>
  payment.cancelPayment({ paymentId: id("card"), reason: "again" }),
);
await expectError("cancel an unpaid payment", "CancelPaymentError", "PAYMENT_NOT_PAID", () =>
  payment.cancelPayment({ paymentId: id("ready"), reason: "r" }),
);
await expectError(
  "cancel with a stale currentCancellableAmount",
  "CancelPaymentError",
  "CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN",
  () => payment.cancelPayment({ paymentId: id("pre"), reason: "r", currentCancellableAmount: 1 }),
);
await expectError(
  "cancel more than cancellable",
  "CancelPaymentError",
  "CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT",
  () => payment.cancelPayment({ paymentId: id("pre"), reason: "r", amount: 999999 }),
);
await expectError("cancel without a reason", "CancelPaymentError", "INVALID_REQUEST", () =>
  payment.cancelPayment({ paymentId: id("pre"), reason: "" }),
);
await expectError("unknown billing key", "PayWithBillingKeyError", "BILLING_KEY_NOT_FOUND", () =>
  payment.payWithBillingKey({
    paymentId: id("billing-2"),
    billingKey: "no-such-key",
    orderName: "n",
    amount: { total: 100 },
    currency: "KRW",
  }),
);
await expectError("billing key on a paid id", "PayWithBillingKeyError", "ALREADY_PAID", () =>
  payment.payWithBillingKey({
    paymentId: id("billing"),
    billingKey,
    orderName: "n",
    amount: { total: 100 },
    currency: "KRW",
  }),
);
await expectError("confirm with a wrong token", "ConfirmPaymentError", "INVALID_PAYMENT_TOKEN", async () => {
  await control(`/__fake/payments/${id("confirm-2")}/authenticate`, { amount: 100 });
  return payment.confirmPayment({ paymentId: id("confirm-2"), paymentToken: "wrong" });
});
await expectError("keyed-in card on the instant API", "PayInstantlyError", "FORBIDDEN", () =>
  payment.payInstantly({
    paymentId: id("instant-card"),
    channelKey,
    orderName: "n",
    amount: { total: 100 },
    currency: "KRW",
    method: { card: { credential: { number: "1234", expiryYear: "29", expiryMonth: "12" } } },
  }),
);

// Errors injected by type only: the fake must fill in what each type requires.
const injected = {
  getPayment: ["GetPaymentError", () => payment.getPayment({ paymentId: id("pre") })],
  cancel: ["CancelPaymentError", () => payment.cancelPayment({ paymentId: id("pre"), reason: "r" })],
  billingKey: [
    "PayWithBillingKeyError",
    () =>
      payment.payWithBillingKey({
        paymentId: id("billing-3"),
        billingKey,
        orderName: "n",
        amount: { total: 100 },
        currency: "KRW",
      }),
  ],
};
for (const [operation, types] of Object.entries({
  getPayment: ["FORBIDDEN", "UNAUTHORIZED", "PAYMENT_NOT_FOUND", "INVALID_REQUEST"],
  cancel: ["PG_PROVIDER", "PAYMENT_NOT_PAID", "SUM_OF_PARTS_EXCEEDS_CANCEL_AMOUNT", "NEGATIVE_PROMOTION_ADJUSTED_CANCEL_AMOUNT"],
  billingKey: ["PG_PROVIDER", "CHANNEL_NOT_FOUND", "BILLING_KEY_ALREADY_DELETED", "PAYMENT_SCHEDULE_ALREADY_EXISTS"],
})) {
  for (const errorType of types) {
    await control("/__fake/faults", { operation, errorType });
    const [errorClass, call] = injected[operation];
    await expectError(`${operation}: injected ${errorType}`, errorClass, errorType, call);
  }
}
await control("/__fake/faults", { operation: "cancel", pgCode: "E1234", pgMessage: "카드사 거절" });
await expectError("cancel: injected PG_PROVIDER with pgCode", "CancelPaymentError", "PG_PROVIDER", () =>
  payment.cancelPayment({ paymentId: id("pre"), reason: "r" }),
);

// `hanpay webhook send` (when compat/run.sh gives its path): every PortOne event it builds,
// delivered to the same capturing receiver, so the SDKs' typed webhook classes check them too.
const sendEvents = [
  "Transaction.Ready",
  "Transaction.Paid",
  "Transaction.VirtualAccountIssued",
  "Transaction.PartialCancelled",
  "Transaction.Cancelled",
  "Transaction.Failed",
  "Transaction.PayPending",
  "Transaction.CancelPending",
  "Transaction.Confirm",
  "Transaction.DisputeCreated",
  "Transaction.DisputeResolved",
  "BillingKey.Ready",
  "BillingKey.Issued",
  "BillingKey.Failed",
  "BillingKey.Deleted",
  "BillingKey.Updated",
];
if (process.env.HANPAY_BIN) {
  const { spawnSync } = await import("node:child_process");
  const hookUrl = new URL("/hook", webhooksUrl).toString();
  for (const event of sendEvents) {
    const out = spawnSync(
      process.env.HANPAY_BIN,
      ["webhook", "send", "--provider", "portone", "--event", event, "--to", hookUrl, "--secret", webhookSecret],
      { encoding: "utf8", timeout: 30000 },
    );
    if (out.status !== 0) report(`hanpay webhook send ${event}`, [`exit ${out.status}: ${out.stderr}`]);
  }
}

// Webhooks: everything the fake (and `hanpay webhook send`) sent above, as the receiver got it.
let captured = [];
for (let i = 0, last = -1; i < 200; i++) {
  captured = await (await fetch(webhooksUrl)).json();
  // Deliveries may still be in flight: wait until the count stops growing.
  if (captured.length > 0 && captured.length === last) break;
  last = captured.length;
  await new Promise((r) => setTimeout(r, 100));
}
const kinds = new Map();
for (const hook of captured) {
  let parsedType = "?";
  try {
    const webhook = await Webhook.verify(webhookSecret, hook.body, hook.headers);
    parsedType = webhook.type;
    const problems = mismatches(webhook, "Webhook");
    if (problems.length > 0) report(`Webhook.verify ${parsedType}`, problems);
    else kinds.set(parsedType, (kinds.get(parsedType) ?? 0) + 1);
  } catch (e) {
    report(`Webhook.verify ${JSON.parse(hook.body).type}`, [`${e?.name}: ${e?.message}`]);
  }
}
for (const [kind, count] of kinds) report(`Webhook.verify ${kind} (${count} sent)`, []);
const tampered = captured[0];
try {
  await Webhook.verify(webhookSecret, tampered.body.replace("}", ' }'), tampered.headers);
  report("Webhook.verify rejects a changed body", ["it verified"]);
} catch (e) {
  report("Webhook.verify rejects a changed body", e?.name === "WebhookVerificationError" ? [] : [`${e}`]);
}
if (captured.length < 20) report("webhooks captured", [`only ${captured.length}`]);

console.log(`\nportone-js: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
