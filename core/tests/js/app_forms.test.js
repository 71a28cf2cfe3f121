// static/js/app.js against a minimal stand-in for the browser's DOM (node has none):
// a double-clicked confirm form asks once and is sent once; a cancelled confirm can be retried.
"use strict";
const assert = require("node:assert");
const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");

function makeTarget() {
  const listeners = {};
  return {
    addEventListener(type, fn) { (listeners[type] = listeners[type] || []).push(fn); },
    dispatch(type, event) { (listeners[type] || []).forEach((fn) => fn(event)); },
  };
}

function makeForm(confirmText) {
  const button = { disabled: false };
  const form = Object.assign(makeTarget(), {
    dataset: confirmText ? { confirm: confirmText } : {},
    querySelectorAll: (selector) => (selector === "button[type=submit]" ? [button] : []),
    button,
    sent: 0,
  });
  // What the browser does on a click of its submit button.
  form.click = () => {
    if (button.disabled) return;
    const event = { defaultPrevented: false, preventDefault() { this.defaultPrevented = true; } };
    form.dispatch("submit", event);
    if (!event.defaultPrevented) form.sent += 1;
  };
  return form;
}

const accept = makeForm("Accept this offer?");
const plain = makeForm(null);
const forms = [accept, plain];
const doc = Object.assign(makeTarget(), {
  querySelector: () => null,
  getElementById: () => null,
  querySelectorAll: (selector) => (selector === "form" ? forms : selector === "form[data-submitting]" ? forms.filter((f) => f.dataset.submitting) : []),
});
const win = makeTarget();
const timers = [];
let answer = true;
const asked = [];
win.confirm = (text) => { asked.push(text); return answer; };

const source = fs.readFileSync(path.join(__dirname, "../../../static/js/app.js"), "utf8");
vm.runInNewContext(source, { document: doc, window: win, setTimeout: (fn) => timers.push(fn) });
doc.dispatch("DOMContentLoaded", {});

// The user says "no": nothing is sent, and the next click asks again.
answer = false;
accept.click();
assert.deepStrictEqual([asked.length, accept.sent], [1, 0]);

// A double click: the second click comes before the button is disabled (queued behind the dialog).
answer = true;
accept.click();
accept.click();
assert.strictEqual(asked.length, 2, "the confirm dialog was shown twice for one double click");
assert.strictEqual(accept.sent, 1, "the form was sent twice");
timers.splice(0).forEach((fn) => fn());
assert.strictEqual(accept.button.disabled, true);

// A form without a confirmation is sent once too.
plain.click();
plain.click();
assert.strictEqual(plain.sent, 1);

// Back to the page from the browser's cache: it can be used again.
win.dispatch("pageshow", { persisted: true });
assert.strictEqual(accept.button.disabled, false);
accept.click();
assert.deepStrictEqual([asked.length, accept.sent], [3, 2]);
console.log("ok");
