/*
 * hanpay sandbox: a stand-in for the Toss Payments browser SDK (widgets, v2), NOT Toss's SDK.
 * It implements the calls a storefront makes for the widget checkout:
 *   loadTossPayments(clientKey) -> .widgets({customerKey}) -> setAmount({currency, value}),
 *   renderPaymentMethods({selector}), renderAgreement({selector}),
 *   requestPayment({orderId, orderName, successUrl, failUrl})
 * and opens the sandbox's payment window (served by the fake that serves this script), which
 * redirects to successUrl?paymentKey=&orderId=&amount=&paymentType= or
 * failUrl?code=&message=&orderId= as Toss does. Point the storefront's script tag here instead
 * of https://js.tosspayments.com/v2/standard to test against the sandbox.
 */
(function () {
  "use strict";
  var current = document.currentScript;
  var origin = current && current.src ? new URL(current.src).origin : window.location.origin;

  function sdkError(code, message) {
    var e = new Error(message);
    e.code = code;
    return e;
  }

  function won(value) {
    return String(value).replace(/\B(?=(\d{3})+(?!\d))/g, ",") + "원";
  }

  function target(selector) {
    var el = typeof selector === "string" ? document.querySelector(selector) : null;
    if (!el) {
      throw sdkError("INVALID_SELECTOR", "selector " + selector + " matches no element");
    }
    return el;
  }

  var METHODS = [
    ["CARD", "카드 · Card"],
    ["VIRTUAL_ACCOUNT", "가상계좌 · Virtual account"],
  ];

  function Widgets(clientKey, customerKey) {
    this._clientKey = clientKey;
    this._customerKey = customerKey;
    this._amount = null;
    this._methods = null;
    this._agreement = null;
  }

  Widgets.prototype.setAmount = function (amount) {
    if (!amount || amount.currency !== "KRW") {
      return Promise.reject(sdkError("INVALID_CURRENCY", "currency must be KRW"));
    }
    if (!Number.isSafeInteger(amount.value) || amount.value < 1) {
      return Promise.reject(sdkError("INVALID_AMOUNT", "value must be a whole number of won"));
    }
    this._amount = amount.value;
    var shown = document.querySelectorAll("[data-hanpay-amount]");
    for (var i = 0; i < shown.length; i++) shown[i].textContent = won(amount.value);
    return Promise.resolve();
  };

  Widgets.prototype.renderPaymentMethods = function (options) {
    try {
      var el = target(options && options.selector);
      var html = '<fieldset class="hanpay-sandbox-methods"><legend>결제 수단 · Payment method ' +
        "(hanpay sandbox)</legend>";
      for (var i = 0; i < METHODS.length; i++) {
        html += '<label><input type="radio" name="hanpay-toss-method" value="' + METHODS[i][0] +
          '"' + (i === 0 ? " checked" : "") + "> " + METHODS[i][1] + "</label> ";
      }
      html += "<p>결제 금액 · Amount: <b data-hanpay-amount>" +
        (this._amount === null ? "-" : won(this._amount)) + "</b></p></fieldset>";
      el.innerHTML = html;
      this._methods = el;
      var self = this;
      return Promise.resolve({
        on: function () {},
        getSelectedPaymentMethod: function () {
          return Promise.resolve({ code: self._selectedMethod() });
        },
      });
    } catch (e) {
      return Promise.reject(e);
    }
  };

  Widgets.prototype.renderAgreement = function (options) {
    try {
      var el = target(options && options.selector);
      el.innerHTML = '<label class="hanpay-sandbox-agreement"><input type="checkbox" ' +
        'name="hanpay-toss-agreement" checked> [필수] 결제 서비스 이용 약관 동의 · I agree to ' +
        "the payment terms (sandbox)</label>";
      this._agreement = el;
      return Promise.resolve({ on: function () {} });
    } catch (e) {
      return Promise.reject(e);
    }
  };

  Widgets.prototype._selectedMethod = function () {
    var checked = this._methods && this._methods.querySelector("input[name=hanpay-toss-method]:checked");
    return checked ? checked.value : "CARD";
  };

  Widgets.prototype.requestPayment = function (request) {
    request = request || {};
    if (this._amount === null) {
      return Promise.reject(sdkError("NEED_AMOUNT", "call setAmount before requestPayment"));
    }
    if (this._methods === null) {
      return Promise.reject(sdkError("NEED_RENDER_PAYMENT_METHODS", "call renderPaymentMethods first"));
    }
    var agreed = this._agreement && this._agreement.querySelector("input[name=hanpay-toss-agreement]");
    if (agreed && !agreed.checked) {
      return Promise.reject(sdkError("NEED_AGREEMENT_WITH_REQUIRED_TERMS", "필수 약관에 동의해주세요."));
    }
    var required = ["orderId", "orderName", "successUrl", "failUrl"];
    for (var i = 0; i < required.length; i++) {
      if (typeof request[required[i]] !== "string" || request[required[i]] === "") {
        return Promise.reject(sdkError("INVALID_PARAMETERS", required[i] + " is required"));
      }
    }
    var params = new URLSearchParams({
      clientKey: this._clientKey,
      customerKey: this._customerKey || "",
      orderId: request.orderId,
      orderName: request.orderName,
      amount: String(this._amount),
      method: this._selectedMethod(),
      successUrl: request.successUrl,
      failUrl: request.failUrl,
    });
    window.location.assign(origin + "/__window/toss?" + params.toString());
    // Redirect mode: the page leaves, the promise never settles.
    return new Promise(function () {});
  };

  window.loadTossPayments = function (clientKey) {
    if (typeof clientKey !== "string" || clientKey === "") {
      return Promise.reject(sdkError("INVALID_CLIENT_KEY", "clientKey is required"));
    }
    return Promise.resolve({
      widgets: function (options) {
        return new Widgets(clientKey, options && options.customerKey);
      },
    });
  };
})();
