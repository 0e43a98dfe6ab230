/*
 * hanpay sandbox: a stand-in for PortOne's browser SDK (V2), NOT PortOne's SDK.
 * It implements PortOne.requestPayment({storeId, channelKey, paymentId, orderName,
 * totalAmount, currency, payMethod, redirectUrl}) in redirect mode: it opens the sandbox's
 * payment window (served by the fake that serves this script), which redirects to
 * redirectUrl?paymentId=… (and code=…&message=… on failure). Point the storefront's script
 * tag here instead of https://cdn.portone.io/v2/browser-sdk.js to test against the sandbox.
 */
(function () {
  "use strict";
  var current = document.currentScript;
  var origin = current && current.src ? new URL(current.src).origin : window.location.origin;

  function requestPayment(request) {
    request = request || {};
    var required = ["storeId", "paymentId", "orderName", "currency", "payMethod", "redirectUrl"];
    for (var i = 0; i < required.length; i++) {
      if (typeof request[required[i]] !== "string" || request[required[i]] === "") {
        return Promise.resolve({
          code: "FAILURE_TYPE_INVALID_PARAMETER",
          message: required[i] + " is required (the sandbox supports redirect mode only)",
        });
      }
    }
    if (!Number.isSafeInteger(request.totalAmount) || request.totalAmount < 1) {
      return Promise.resolve({
        code: "FAILURE_TYPE_INVALID_PARAMETER",
        message: "totalAmount must be a whole number in the currency's minor unit",
      });
    }
    var params = new URLSearchParams({
      storeId: request.storeId,
      channelKey: request.channelKey || "",
      paymentId: request.paymentId,
      orderName: request.orderName,
      totalAmount: String(request.totalAmount),
      currency: request.currency,
      payMethod: request.payMethod,
      redirectUrl: request.redirectUrl,
    });
    window.location.assign(origin + "/__window/portone?" + params.toString());
    return new Promise(function () {});
  }

  window.PortOne = { requestPayment: requestPayment };
})();
