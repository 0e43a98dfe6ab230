"""Drives the official PortOne Python server SDK (portone-server-sdk) against hanpay's FakePortOne.

Started by `cargo run -p hanpay-portone-fake --example portone_compat -- python compat/portone-py/run.py`,
which gives the fake's address and secrets in the environment (see that example).

This SDK deserializes every answer strictly (a missing required field raises `KeyError`, a wrong
type `ValueError`), maps each error `type` to its own exception class (`UnknownError` when the
body does not fit that type's schema) and returns a plain `dict` from `webhook.verify` when no
typed webhook class matches. Each of those counts as a failure here. Ends with one line
`portone-py: N passed, M failed`.
"""

import dataclasses
import json
import os
import sys
import time
import urllib.request

import portone_server_sdk as portone
from portone_server_sdk import errors, webhook
from importlib.metadata import version


def env(name):
    value = os.environ.get(name)
    if not value:
        sys.exit(f"{name} is not set: run me through the portone_compat example")
    return value


BASE_URL = env("PORTONE_API_BASE_URL")
SECRET = env("PORTONE_API_SECRET")
CHANNEL_KEY = env("PORTONE_CHANNEL_KEY")
WEBHOOK_SECRET = env("PORTONE_WEBHOOK_SECRET")
BILLING_KEY = env("PORTONE_BILLING_KEY")
WEBHOOKS_URL = env("COMPAT_WEBHOOKS_URL")

payment = portone.PaymentClient(secret=SECRET, base_url=BASE_URL)
results = {"passed": 0, "failed": 0}


def report(name, problems):
    if problems:
        results["failed"] += 1
        print(f"FAIL  {name}")
        for p in problems:
            print(f"        {p}")
    else:
        results["passed"] += 1
        print(f"ok    {name}")


def expect_ok(name, call, check=None):
    try:
        value = call()
    except Exception as e:  # the SDK's parse errors are KeyError / ValueError
        report(name, [f"the SDK raised {type(e).__name__}: {str(e)[:400]}"])
        return None
    problems = []
    if not dataclasses.is_dataclass(value):
        problems.append(f"not a typed SDK object: {value!r}")
    elif check is not None:
        problems.extend(check(value))
    report(name, problems)
    return value


def error_class(error_type):
    return "".join(w.capitalize() for w in error_type.split("_")) + "Error"


def expect_error(name, error_type, call):
    want = error_class(error_type)
    try:
        value = call()
    except errors.UnknownError as e:
        report(name, [f"UnknownError (the body fits no {want}): {e.error}"])
        return
    except portone.errors.PortOneError as e:
        got = type(e).__name__
        report(name, [] if got == want else [f"{got} where {want} was expected"])
        return
    except Exception as e:
        report(name, [f"{type(e).__name__}: {e}"])
        return
    report(name, [f"expected {want}, got {value!r}"])


def control(path, body=None):
    request = urllib.request.Request(
        BASE_URL + path,
        data=json.dumps(body or {}).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


RUN = f"py-{int(time.time() * 1000):x}"


def pid(name):
    return f"{RUN}-{name}"


def get_payment(name, payment_id, cls):
    def check(p):
        return [] if type(p).__name__ == cls else [f"{type(p).__name__} where {cls} was expected"]

    expect_ok(f"get_payment {name}", lambda: payment.get_payment(payment_id=payment_id), check)


print(f"portone-server-sdk {version('portone-server-sdk')} against {BASE_URL}")

control(f"/__fake/payments/{pid('ready')}/authenticate", {"amount": 1000})
get_payment("READY", pid("ready"), "ReadyPayment")
control(f"/__fake/payments/{pid('card')}/pay", {"amount": 10000, "orderName": "셔츠"})
get_payment("PAID (card)", pid("card"), "PaidPayment")
control(f"/__fake/payments/{pid('easy')}/pay", {"amount": 5000, "method": "easyPay"})
get_payment("PAID (easy pay)", pid("easy"), "PaidPayment")
control(f"/__fake/payments/{pid('va')}/virtual-account", {"amount": 15000})
get_payment("VIRTUAL_ACCOUNT_ISSUED", pid("va"), "VirtualAccountIssuedPayment")
control(f"/__fake/payments/{pid('failed')}/authenticate", {"amount": 1000})
control(f"/__fake/payments/{pid('failed')}/fail", {})
get_payment("FAILED", pid("failed"), "FailedPayment")

token = control(f"/__fake/payments/{pid('confirm')}/authenticate", {"amount": 7000})["paymentToken"]
expect_ok(
    "confirm_payment",
    lambda: payment.confirm_payment(payment_id=pid("confirm"), payment_token=token, total_amount=7000),
)

expect_ok(
    "cancel_payment partial",
    lambda: payment.cancel_payment(
        payment_id=pid("card"), amount=3000, reason="부분 환불", current_cancellable_amount=10000
    ),
)
get_payment("PARTIAL_CANCELLED", pid("card"), "PartialCancelledPayment")
expect_ok("cancel_payment full", lambda: payment.cancel_payment(payment_id=pid("card"), reason="전액"))
get_payment("CANCELLED", pid("card"), "CancelledPayment")
control(f"/__fake/payments/{pid('va')}/deposit")
expect_ok(
    "cancel_payment with refund_account",
    lambda: payment.cancel_payment(
        payment_id=pid("va"),
        reason="입금 환불",
        refund_account={"bank": "KOOKMIN", "number": "12345678901234", "holderName": "홍길동"},
    ),
)
get_payment("CANCELLED (virtual account refunded)", pid("va"), "CancelledPayment")
control("/__fake/async-cancel", {"enabled": True})
expect_ok("cancel_payment asynchronous", lambda: payment.cancel_payment(payment_id=pid("easy"), reason="r"))
get_payment("PAID with a REQUESTED cancellation", pid("easy"), "PaidPayment")
control(f"/__fake/payments/{pid('easy')}/complete-cancellations")
control("/__fake/async-cancel", {"enabled": False})

expect_ok(
    "pre_register_payment",
    lambda: payment.pre_register_payment(payment_id=pid("pre"), total_amount=4000, currency="KRW"),
)
control(f"/__fake/payments/{pid('pre')}/pay", {"amount": 4000})
expect_ok(
    "pay_with_billing_key",
    lambda: payment.pay_with_billing_key(
        payment_id=pid("billing"),
        billing_key=BILLING_KEY,
        order_name="정기 결제",
        amount={"total": 9900},
        currency="KRW",
    ),
)
get_payment("PAID (billing key)", pid("billing"), "PaidPayment")
expect_ok(
    "pay_instantly (virtual account)",
    lambda: payment.pay_instantly(
        payment_id=pid("instant"),
        channel_key=CHANNEL_KEY,
        order_name="가상계좌 주문",
        amount={"total": 20000},
        currency="KRW",
        method={
            "virtualAccount": {
                "bank": "SHINHAN",
                "expiry": {"validHours": 72},
                "option": {"type": "NORMAL"},
                "cashReceipt": {"type": "PERSONAL", "customerIdentityNumber": "01012345678"},
            }
        },
    ),
)

expect_error("unknown payment", "PAYMENT_NOT_FOUND", lambda: payment.get_payment(payment_id=pid("nope")))
expect_error(
    "wrong API secret",
    "UNAUTHORIZED",
    lambda: portone.PaymentClient(secret="wrong", base_url=BASE_URL).get_payment(payment_id=pid("pre")),
)
expect_error(
    "cancel a cancelled payment",
    "PAYMENT_ALREADY_CANCELLED",
    lambda: payment.cancel_payment(payment_id=pid("card"), reason="again"),
)
expect_error(
    "stale current_cancellable_amount",
    "CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN",
    lambda: payment.cancel_payment(payment_id=pid("pre"), reason="r", current_cancellable_amount=1),
)
expect_error(
    "cancel more than cancellable",
    "CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT",
    lambda: payment.cancel_payment(payment_id=pid("pre"), reason="r", amount=999999),
)
expect_error(
    "unknown billing key",
    "BILLING_KEY_NOT_FOUND",
    lambda: payment.pay_with_billing_key(
        payment_id=pid("billing-2"), billing_key="nope", order_name="n", amount={"total": 1}, currency="KRW"
    ),
)
for error_type in ["PG_PROVIDER", "PAYMENT_NOT_PAID", "FORBIDDEN", "INVALID_REQUEST"]:
    control("/__fake/faults", {"operation": "cancel", "errorType": error_type})
    expect_error(
        f"cancel: injected {error_type}",
        error_type,
        lambda: payment.cancel_payment(payment_id=pid("pre"), reason="r"),
    )
for error_type in ["PG_PROVIDER", "BILLING_KEY_ALREADY_DELETED", "PAYMENT_SCHEDULE_ALREADY_EXISTS"]:
    control("/__fake/faults", {"operation": "billingKey", "errorType": error_type})
    expect_error(
        f"billing key: injected {error_type}",
        error_type,
        lambda: payment.pay_with_billing_key(
            payment_id=pid("billing-3"), billing_key=BILLING_KEY, order_name="n", amount={"total": 1}, currency="KRW"
        ),
    )

# `hanpay webhook send` (when compat/run.sh gives its path): every PortOne event it builds.
SEND_EVENTS = [
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
]
if os.environ.get("HANPAY_BIN"):
    import subprocess
    from urllib.parse import urljoin

    hook_url = urljoin(WEBHOOKS_URL, "/hook")
    for event in SEND_EVENTS:
        out = subprocess.run(
            [os.environ["HANPAY_BIN"], "webhook", "send", "--provider", "portone", "--event", event,
             "--to", hook_url, "--secret", WEBHOOK_SECRET],
            capture_output=True, text=True, timeout=30,
        )
        if out.returncode != 0:
            report(f"hanpay webhook send {event}", [f"exit {out.returncode}: {out.stderr}"])

captured, last = [], -1
for _ in range(200):
    with urllib.request.urlopen(WEBHOOKS_URL, timeout=10) as answer:
        captured = json.loads(answer.read())
    if captured and len(captured) == last:
        break
    last = len(captured)
    time.sleep(0.1)
kinds = {}
for hook in captured:
    sent_type = json.loads(hook["body"])["type"]
    try:
        parsed = webhook.verify(WEBHOOK_SECRET, hook["body"], hook["headers"])
    except Exception as e:
        report(f"webhook.verify {sent_type}", [f"{type(e).__name__}: {e}"])
        continue
    if isinstance(parsed, dict):
        report(f"webhook.verify {sent_type}", [f"no typed webhook class matched: {parsed}"])
    else:
        kinds[type(parsed).__name__] = kinds.get(type(parsed).__name__, 0) + 1
for kind, count in kinds.items():
    report(f"webhook.verify {kind} ({count} sent)", [])
if len(captured) < 15:
    report("webhooks captured", [f"only {len(captured)}"])

print(f"\nportone-py: {results['passed']} passed, {results['failed']} failed")
sys.exit(0 if results["failed"] == 0 and results["passed"] > 0 else 1)
