//! JSON fixtures shaped after the V2 OpenAPI and the examples in PortOne's docs (constructed
//! from the schema; not captured API responses).

/// A paid card payment (the reference's illustrative PAID payment).
pub const PAID_CARD: &str = r#"{
  "status": "PAID",
  "id": "order-20240425-0001",
  "transactionId": "55451513-9763-4a7a-bb43-78a4c65be843",
  "merchantId": "merchant-1",
  "storeId": "store-ae356798-3d20-4969-b739-14c6b0e1a667",
  "method": { "type": "PaymentMethodCard",
              "card": { "brand": "LOCAL", "type": "CREDIT", "number": "5365********1234",
                        "publisher": "KOOKMIN", "issuer": "KOOKMIN", "name": "KB국민카드" },
              "approvalNumber": "12345678",
              "installment": { "month": 0, "isInterestFree": false } },
  "channel": { "type": "LIVE", "id": "ch-1", "key": "channel-key-1", "name": "toss",
               "pgProvider": "TOSSPAYMENTS", "pgMerchantId": "tosstest" },
  "version": "V2",
  "requestedAt": "2024-04-25T09:59:30Z", "updatedAt": "2024-04-25T10:00:00Z",
  "statusChangedAt": "2024-04-25T10:00:00Z", "paidAt": "2024-04-25T10:00:00Z",
  "orderName": "나이키 와플 트레이너 2 SD",
  "amount": { "total": 1000, "taxFree": 0, "vat": 91, "supply": 909, "discount": 0,
              "paid": 1000, "cancelled": 0, "cancelledTaxFree": 0 },
  "currency": "KRW",
  "customer": {},
  "pgTxId": "pg-tx-1", "receiptUrl": "https://receipt.example/1",
  "disputes": []
}"#;

/// A virtual account waiting for its deposit.
pub const VIRTUAL_ACCOUNT_ISSUED: &str = r#"{
  "status": "VIRTUAL_ACCOUNT_ISSUED",
  "id": "order-va-0001",
  "transactionId": "tx-va-1",
  "merchantId": "merchant-1",
  "storeId": "store-1",
  "method": { "type": "PaymentMethodVirtualAccount", "bank": "SHINHAN",
              "accountNumber": "56211105948400", "accountType": "NORMAL",
              "remitteeName": "포트원상점", "remitterName": "홍길동",
              "expiredAt": "2024-04-28T23:59:59+09:00", "issuedAt": "2024-04-25T10:00:00+09:00" },
  "channel": { "type": "TEST", "pgProvider": "TOSSPAYMENTS", "pgMerchantId": "tosstest" },
  "version": "V2",
  "requestedAt": "2024-04-25T01:00:00Z", "updatedAt": "2024-04-25T01:00:00Z",
  "statusChangedAt": "2024-04-25T01:00:00Z",
  "orderName": "책 세 권",
  "amount": { "total": 15000, "taxFree": 0, "discount": 0, "paid": 0, "cancelled": 0,
              "cancelledTaxFree": 0 },
  "currency": "KRW",
  "customer": { "name": "홍길동" }
}"#;

/// A partially cancelled card payment: 10,000 paid, 3,000 cancelled.
pub const PARTIAL_CANCELLED: &str = r#"{
  "status": "PARTIAL_CANCELLED",
  "id": "order-pc-0001",
  "transactionId": "tx-pc-1",
  "merchantId": "merchant-1",
  "storeId": "store-1",
  "method": { "type": "PaymentMethodCard", "approvalNumber": "00112233" },
  "channel": { "type": "LIVE", "pgProvider": "INICIS_V2", "pgMerchantId": "m" },
  "version": "V2",
  "requestedAt": "2024-04-25T01:00:00Z", "updatedAt": "2024-04-25T02:00:00Z",
  "statusChangedAt": "2024-04-25T02:00:00Z", "paidAt": "2024-04-25T01:00:05Z",
  "orderName": "셔츠",
  "amount": { "total": 10000, "taxFree": 0, "vat": 909, "supply": 9091, "discount": 0,
              "paid": 10000, "cancelled": 3000, "cancelledTaxFree": 0 },
  "currency": "KRW",
  "customer": {},
  "cancellations": [
    { "status": "SUCCEEDED", "id": "cancel-1", "pgCancellationId": "pgc-1",
      "totalAmount": 3000, "taxFreeAmount": 0, "vatAmount": 273, "reason": "고객 요청",
      "cancelledAt": "2024-04-25T02:00:00Z", "requestedAt": "2024-04-25T02:00:00Z",
      "trigger": "API", "receiptUrl": "https://receipt.example/c1" }
  ],
  "cancelledAt": "2024-04-25T02:00:00Z"
}"#;

/// A failed payment.
pub const FAILED: &str = r#"{
  "status": "FAILED",
  "id": "order-f-0001",
  "transactionId": "tx-f-1",
  "merchantId": "merchant-1",
  "storeId": "store-1",
  "version": "V2",
  "requestedAt": "2024-04-25T01:00:00Z", "updatedAt": "2024-04-25T01:00:01Z",
  "statusChangedAt": "2024-04-25T01:00:01Z", "failedAt": "2024-04-25T01:00:01Z",
  "orderName": "셔츠",
  "amount": { "total": 10000, "taxFree": 0, "discount": 0, "paid": 0, "cancelled": 0,
              "cancelledTaxFree": 0 },
  "currency": "KRW",
  "customer": {},
  "failure": { "reason": "한도 초과", "pgCode": "CARD_LIMIT", "pgMessage": "한도초과 거절" }
}"#;

/// A payment with the given status and only the required common fields (total 5,000 KRW).
pub fn minimal_payment(status: &str) -> String {
    format!(
        r#"{{"status":"{status}","id":"pay-min-1","transactionId":"tx-min-1",
        "merchantId":"m","storeId":"s","version":"V2","orderName":"n",
        "requestedAt":"2024-04-25T01:00:00Z","updatedAt":"2024-04-25T01:00:00Z",
        "statusChangedAt":"2024-04-25T01:00:00Z",
        "amount":{{"total":5000,"taxFree":0,"discount":0,"paid":5000,"cancelled":0,
        "cancelledTaxFree":0}},"currency":"KRW","customer":{{}}}}"#
    )
}
