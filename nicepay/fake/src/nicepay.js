/*
 * hanpay sandbox: a stand-in for NICEPAY's payment window script (JS SDK v1), NOT NICEPAY's.
 * It implements AUTHNICE.requestPay({clientId, method, orderId, amount, goodsName, returnUrl,
 * mallReserved, fnError}) for the Server 승인 flow: it opens the sandbox's payment window
 * (served by the fake that serves this script), which POSTs the authentication result
 * (authResultCode, authResultMsg, tid, clientId, orderId, amount, mallReserved, authToken,
 * signature) to returnUrl as NICEPAY does. Point the storefront's script tag here instead of
 * https://pay.nicepay.co.kr/v1/js/ to test against the sandbox.
 */
(function () {
  "use strict";
  var current = document.currentScript;
  var origin = current && current.src ? new URL(current.src).origin : window.location.origin;

  function requestPay(request) {
    request = request || {};
    var fail = typeof request.fnError === "function" ? request.fnError : function () {};
    var required = ["clientId", "method", "orderId", "goodsName", "returnUrl"];
    for (var i = 0; i < required.length; i++) {
      if (typeof request[required[i]] !== "string" || request[required[i]] === "") {
        fail({ errorCode: "INVALID_PARAMETER", errorMsg: required[i] + " is required" });
        return;
      }
    }
    if (!Number.isSafeInteger(request.amount) || request.amount < 1) {
      fail({ errorCode: "INVALID_PARAMETER", errorMsg: "amount must be a whole number of won" });
      return;
    }
    var params = new URLSearchParams({
      clientId: request.clientId,
      method: request.method,
      orderId: request.orderId,
      amount: String(request.amount),
      goodsName: request.goodsName,
      returnUrl: request.returnUrl,
      mallReserved: request.mallReserved || "",
    });
    window.location.assign(origin + "/__window/nicepay?" + params.toString());
  }

  window.AUTHNICE = { requestPay: requestPay };
})();
