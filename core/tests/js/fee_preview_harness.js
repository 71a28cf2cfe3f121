// Runs static/js/fee_preview.js against a stand-in DOM for each case read from stdin (JSON:
// [{"rules": {...}, "places": 2, "currency": "USD", "amount": "12.34"}, ...]) and prints what
// the preview shows ([{"hidden": bool, "commission": "...", "net": "..."}]).
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");

const source = fs.readFileSync(path.join(__dirname, "../../../static/js/fee_preview.js"), "utf8");
const cases = JSON.parse(fs.readFileSync(0, "utf8"));

const results = cases.map((c) => {
  const listeners = [];
  const input = { value: "", addEventListener: (type, fn) => listeners.push(fn) };
  const spans = { "[data-fee-commission]": { textContent: "" }, "[data-fee-net]": { textContent: "" } };
  const live = { hidden: true, querySelector: (s) => spans[s] };
  const form = { querySelector: (s) => (s === "input[name=amount]" ? input : null) };
  const preview = {
    dataset: {
      currency: c.currency,
      places: String(c.places),
      commissionPercent: c.rules.commission_percent,
      commissionMin: c.rules.commission_min,
      commissionMax: c.rules.commission_max || "",
    },
    closest: () => form,
    querySelector: (s) => (s === "[data-fee-preview-live]" ? live : null),
  };
  const document = { readyState: "complete", querySelectorAll: () => [preview] };
  vm.runInNewContext(source, { document });
  input.value = c.amount;
  listeners.forEach((fn) => fn({}));
  return { hidden: live.hidden, commission: spans["[data-fee-commission]"].textContent, net: spans["[data-fee-net]"].textContent };
});
process.stdout.write(JSON.stringify(results));
