// The tasker's commission and net for the price being typed in the offer form. Progressive
// enhancement: without this file the form shows the same figures for the task's budget.
// Same arithmetic as payments/fees.py (fee_breakdown), in whole minor units: the commission is
// the percentage rounded half-up, clamped to the policy's min/max, never more than the price.
(function () {
  "use strict";

  function toMinor(text, places) {
    const match = /^\s*(\d{1,9})(?:\.(\d*))?\s*$/.exec(text || "");
    if (!match) return null;
    const fraction = match[2] || "";
    if (fraction.length > places) return null;
    return Number(match[1]) * 10 ** places + Number((fraction + "0".repeat(places)).slice(0, places) || 0);
  }

  function format(minor, places, currency) {
    const scale = 10 ** places;
    const whole = String(Math.floor(minor / scale)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    const fraction = places ? "." + String(minor % scale).padStart(places, "0") : "";
    return whole + fraction + " " + currency;
  }

  function commission(amountMinor, preview, places) {
    // Percent with two decimals -> basis points, so the product stays an exact integer.
    const basisPoints = Math.round(Number(preview.dataset.commissionPercent) * 100);
    let value = Math.floor((amountMinor * basisPoints + 5000) / 10000);
    const low = toMinor(preview.dataset.commissionMin, places) || 0;
    const high = preview.dataset.commissionMax ? toMinor(preview.dataset.commissionMax, places) : null;
    value = Math.max(value, low);
    if (high !== null) value = Math.min(value, high);
    return Math.min(value, amountMinor);
  }

  function setUp(preview) {
    const form = preview.closest("form");
    const input = form && form.querySelector("input[name=amount]");
    if (!input) return;
    const places = Number(preview.dataset.places);
    const currency = preview.dataset.currency;
    const live = preview.querySelector("[data-fee-preview-live]");
    const update = () => {
      const amount = toMinor(input.value, places);
      if (amount === null || amount <= 0) {
        live.hidden = true;
        return;
      }
      const fee = commission(amount, preview, places);
      live.querySelector("[data-fee-commission]").textContent = format(fee, places, currency);
      live.querySelector("[data-fee-net]").textContent = format(amount - fee, places, currency);
      live.hidden = false;
    };
    input.addEventListener("input", update);
    update();
  }

  function start() {
    document.querySelectorAll("[data-fee-preview]").forEach(setUp);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
